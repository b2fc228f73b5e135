// Finding and compiling the package's wasm on each platform (DESIGN.md, Runtimes):
// - Node and Deno read the bytes that ship beside this module (dist/wasm/);
// - browsers fetch them from beside the bundle, compiling while streaming;
// - the inlined browser bundle decodes the copies rollup embedded in it;
// - Cloudflare Workers forbid compiling from bytes, so the caller imports the
//   .wasm file (a WebAssembly.Module) and passes { module }.

export type BuildName = 'simd' | 'relaxed';

export interface RuntimeOptions {
  /** A compiled module (Workers: `import wasm from 'rnn-wasm/wasm/relaxed.wasm'`). */
  module?: WebAssembly.Module;
  /** The bytes of simd.wasm or relaxed.wasm. */
  bytes?: BufferSource;
  /** true: require the relaxed-SIMD build; false: use the plain SIMD build; unset: relaxed where supported. */
  relaxedSimd?: boolean;
  /**
   * Most bytes of wasm memory this runtime may use (default and maximum: 4 GiB, wasm32's
   * limit). An allocation past it throws a MemoryError naming the layer and the sizes,
   * instead of growing until the host refuses.
   */
  maxMemory?: number;
}

/**
 * Base64 of both builds in dist/rnn-wasm.inline.js only: rollup.config.js
 * replaces this exact declaration. Everywhere else it stays undefined and the
 * branch using it is dropped by tree-shaking.
 */
const INLINED_WASM: Record<BuildName, string> | undefined = undefined;

/** Smallest module using f32x4.relaxed_madd: validates only where relaxed SIMD runs. */
function relaxedProbe(): Uint8Array<ArrayBuffer> {
  // body: v128.const 0 ; v128.const 0 ; v128.const 0 ; f32x4.relaxed_madd ; end
  const c = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0x00, ...c, ...c, ...c, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00,
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]);
}
function simdProbe(): Uint8Array<ArrayBuffer> {
  const c = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0x00, ...c, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00,
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]);
}

export function supportsSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(simdProbe());
}

export function supportsRelaxedSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(relaxedProbe());
}

interface PlatformGlobals {
  Deno?: { readFile(u: URL): Promise<Uint8Array> };
  process?: { versions?: { node?: string } };
  navigator?: { userAgent?: string };
}
const platform = globalThis as unknown as PlatformGlobals;

function isCloudflareWorkers(): boolean {
  return platform.navigator?.userAgent === 'Cloudflare-Workers';
}

/**
 * Where a build ships relative to this module. The URLs are literal so that
 * bundlers (Vite, webpack 5, Parcel, esbuild with a file loader) see them,
 * copy the .wasm files and rewrite the paths.
 */
function besideBundle(build: BuildName): URL {
  return build === 'relaxed' ? new URL('./wasm/relaxed.wasm', import.meta.url) : new URL('./wasm/simd.wasm', import.meta.url);
}

/** Node and Deno: the bytes from the installed package (or from dist/ when running from source). */
async function readLocalFile(build: BuildName): Promise<Uint8Array | undefined> {
  // Bundled: dist/index.js beside dist/wasm/. From source (tests): src/runtime/wasm/x.wasm
  // does not exist, so go up to the repository's dist/wasm/. (Relative to the first URL,
  // not import.meta.url, so that bundlers do not mistake it for an asset to copy.)
  const beside = besideBundle(build);
  const candidates = [beside, new URL(`../../../dist/wasm/${build}.wasm`, beside)];
  const tried: string[] = [];
  for (const url of candidates) {
    if (url.protocol !== 'file:') continue;
    tried.push(url.pathname);
    try {
      if (platform.Deno) return await platform.Deno.readFile(url);
      const fs = await import(/* webpackIgnore: true */ 'node:fs/promises');
      return new Uint8Array(await fs.readFile(url));
    } catch (err) {
      // Permission systems: say which flag is missing instead of "not found".
      const { name, code } = err as { name?: string; code?: string };
      if (name === 'NotCapable' || name === 'PermissionDenied') {
        throw new Error(`rnn-wasm could not read ${url.pathname}: run deno with --allow-read (${(err as Error).message})`);
      }
      if (code === 'ERR_ACCESS_DENIED') {
        throw new Error(`rnn-wasm could not read ${url.pathname}: Node's permission model denies it (add --allow-fs-read for it)`);
      }
    }
  }
  if (tried.length === 0) return undefined;
  throw new Error(
    `rnn-wasm could not find ${build}.wasm beside its module (${tried[0]}) nor in a source checkout's dist/ (${tried[1]}); ` +
      'run `npm run build`, or pass { module } or { bytes } to createRuntime',
  );
}

/** Browsers: fetch beside the bundle and compile while the bytes arrive. */
async function fetchAndCompile(build: BuildName): Promise<WebAssembly.Module> {
  const url = besideBundle(build);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`rnn-wasm could not fetch ${url}: HTTP ${response.status}`);
  // compileStreaming insists on Content-Type: application/wasm; servers that send
  // something else still work, just without streaming.
  const type = response.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.split(';')[0].trim() === 'application/wasm') {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The build's module when the caller passed neither module nor bytes. */
async function defaultModule(build: BuildName): Promise<WebAssembly.Module> {
  if (INLINED_WASM) return WebAssembly.compile(decodeBase64((INLINED_WASM as Record<BuildName, string>)[build]));
  if (isCloudflareWorkers()) {
    throw new Error(
      "Cloudflare Workers do not allow compiling WebAssembly from bytes at run time: import the module and pass it, " +
        "e.g. `import wasm from 'rnn-wasm/wasm/relaxed.wasm'; const rt = await createRuntime({ module: wasm });`",
    );
  }
  if (platform.Deno || platform.process?.versions?.node) {
    const bytes = await readLocalFile(build);
    if (bytes) return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  }
  if (typeof fetch === 'function') return fetchAndCompile(build);
  throw new Error(
    `rnn-wasm cannot locate ${build}.wasm on this platform; pass { module } or { bytes } to createRuntime (see the README for your runtime)`,
  );
}

export async function compileWasm(options: RuntimeOptions): Promise<WebAssembly.Module> {
  if (typeof WebAssembly !== 'object') {
    throw new Error('rnn-wasm needs WebAssembly, which this runtime does not provide');
  }
  if (!supportsSimd()) {
    throw new Error(
      'rnn-wasm needs WebAssembly SIMD (fixed-width 128-bit SIMD, the simd128 feature), which this runtime does not support; ' +
        'it ships in Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+, Deno and Cloudflare Workers',
    );
  }
  const relaxedOk = supportsRelaxedSimd();
  if (options.relaxedSimd === true && !relaxedOk) {
    throw new Error(
      'relaxedSimd: true was requested but this runtime rejects relaxed SIMD (on Node 20 run node with --experimental-wasm-relaxed-simd)',
    );
  }
  if (options.module) {
    if (!(options.module instanceof WebAssembly.Module)) {
      throw new TypeError('module must be a WebAssembly.Module (Workers: `import wasm from "rnn-wasm/wasm/relaxed.wasm"`)');
    }
    checkIsOurs(options.module);
    return options.module;
  }
  if (options.bytes) {
    if (!WebAssembly.validate(options.bytes)) {
      throw new Error(
        relaxedOk
          ? 'the bytes passed are not a valid WebAssembly module'
          : 'the bytes passed do not validate here; if they are relaxed.wasm, pass simd.wasm instead (this runtime has no relaxed SIMD)',
      );
    }
    const module = await WebAssembly.compile(options.bytes);
    checkIsOurs(module);
    return module;
  }
  const build: BuildName = options.relaxedSimd === false ? 'simd' : relaxedOk ? 'relaxed' : 'simd';
  return defaultModule(build);
}

function checkIsOurs(module: WebAssembly.Module): void {
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  if (!names.includes('heap_base') || !names.includes('build_is_relaxed')) {
    throw new Error('the WebAssembly module passed is not an rnn-wasm build (it lacks the heap_base and build_is_relaxed exports)');
  }
}
