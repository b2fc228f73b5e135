// Finding and compiling the package's wasm on each platform. Node and Deno read
// the bytes that ship beside this module; elsewhere the caller passes a
// WebAssembly.Module (Cloudflare Workers forbid compiling from bytes) or bytes.

export type BuildName = 'simd' | 'relaxed';

export interface RuntimeOptions {
  /** A compiled module (Workers: `import wasm from 'rnn-wasm/wasm/relaxed.wasm'`). */
  module?: WebAssembly.Module;
  /** The bytes of simd.wasm or relaxed.wasm. */
  bytes?: BufferSource;
  /** true: require the relaxed-SIMD build; false: use the plain SIMD build; unset: relaxed where supported. */
  relaxedSimd?: boolean;
}

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

/** Reads a file that ships with the package (Node or Deno); undefined elsewhere. */
async function readPackageFile(name: string): Promise<Uint8Array | undefined> {
  // Bundled: dist/index.js beside dist/wasm/. From source (tests): src/runtime/ -> dist/wasm/.
  const candidates = [new URL(`./wasm/${name}`, import.meta.url), new URL(`../../dist/wasm/${name}`, import.meta.url)];
  const g = globalThis as unknown as {
    Deno?: { readFile(u: URL): Promise<Uint8Array> };
    process?: { versions?: { node?: string } };
  };
  for (const url of candidates) {
    if (url.protocol !== 'file:') continue;
    try {
      if (g.Deno) return await g.Deno.readFile(url);
      if (g.process?.versions?.node) {
        const fs = await import(/* webpackIgnore: true */ 'node:fs/promises');
        return new Uint8Array(await fs.readFile(url));
      }
    } catch {
      // try the next location
    }
  }
  // Browsers: fetch beside the bundle, compiled while streaming by the caller.
  if (typeof fetch === 'function' && candidates[0].protocol !== 'file:') {
    const res = await fetch(candidates[0]);
    if (!res.ok) throw new Error(`could not fetch ${candidates[0]}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  return undefined;
}

export async function compileWasm(options: RuntimeOptions): Promise<WebAssembly.Module> {
  if (!supportsSimd()) {
    throw new Error('rnn-wasm needs WebAssembly SIMD (fixed-width 128-bit), which this runtime does not support');
  }
  const relaxedOk = supportsRelaxedSimd();
  if (options.relaxedSimd === true && !relaxedOk) {
    throw new Error(
      'relaxedSimd: true was requested but this runtime rejects relaxed SIMD (on Node 20 run node with --experimental-wasm-relaxed-simd)',
    );
  }
  if (options.module) {
    checkIsOurs(options.module);
    return options.module;
  }
  if (options.bytes) {
    if (!WebAssembly.validate(options.bytes)) {
      throw new Error(
        relaxedOk ? 'the bytes passed are not a valid WebAssembly module' : 'the bytes passed do not validate here; if they are relaxed.wasm, pass simd.wasm instead (this runtime has no relaxed SIMD)',
      );
    }
    const module = await WebAssembly.compile(options.bytes);
    checkIsOurs(module);
    return module;
  }
  const build: BuildName = options.relaxedSimd === false ? 'simd' : relaxedOk ? 'relaxed' : 'simd';
  const bytes = await readPackageFile(`${build}.wasm`);
  if (!bytes) {
    throw new Error(
      `could not locate ${build}.wasm on this platform; pass { module } or { bytes } to createRuntime (see the README for your runtime)`,
    );
  }
  return WebAssembly.compile(bytes as BufferSource);
}

function checkIsOurs(module: WebAssembly.Module): void {
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  if (!names.includes('heap_base') || !names.includes('build_is_relaxed')) {
    throw new Error('the WebAssembly module passed is not an rnn-wasm build (it lacks the heap_base and build_is_relaxed exports)');
  }
}
