// The loader's decisions and error messages, in-process (the real runtimes are covered by
// the other files here): which build it picks, and the Error for each unusable setup.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import { supportsRelaxedSimd, supportsSimd } from '../../src/runtime/load.js';
import { ROOT, requireDist } from './harness.js';

const validate = WebAssembly.validate.bind(WebAssembly);
/** True when the bytes use f32x4.relaxed_madd (prefix 0xfd, opcode 0x105 as LEB128). */
function usesRelaxedMadd(bytes: BufferSource): boolean {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes instanceof ArrayBuffer ? bytes : bytes.buffer);
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xfd && b[i + 1] === 0x85 && b[i + 2] === 0x02) return true;
  return false;
}

function wasmBytes(build: 'simd' | 'relaxed'): Uint8Array<ArrayBuffer> {
  requireDist();
  return new Uint8Array(readFileSync(join(ROOT, `dist/wasm/${build}.wasm`))) as Uint8Array<ArrayBuffer>;
}

const navigatorDescriptor = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
afterEach(() => {
  vi.restoreAllMocks();
  if (navigatorDescriptor) Object.defineProperty(globalThis, 'navigator', navigatorDescriptor);
  else delete (globalThis as { navigator?: unknown }).navigator;
});

describe('runtime loading', () => {
  it('picks relaxed wherever it validates (this process: Node with --experimental-wasm-relaxed-simd), SIMD on request', async () => {
    expect(supportsSimd()).toBe(true);
    expect((await createRuntime()).features.build).toBe(supportsRelaxedSimd() ? 'relaxed' : 'simd');
    expect((await createRuntime({ relaxedSimd: false })).features.build).toBe('simd');
  });

  it('without SIMD: an Error that names the missing feature', async () => {
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    expect(supportsSimd()).toBe(false);
    await expect(createRuntime()).rejects.toThrow(/needs WebAssembly SIMD \(fixed-width 128-bit SIMD, the simd128 feature\)/);
  });

  it('without relaxed SIMD: the SIMD build, and a clear Error if relaxed is demanded', async () => {
    vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => !usesRelaxedMadd(bytes) && validate(bytes));
    expect(supportsRelaxedSimd()).toBe(false);
    expect((await createRuntime()).features.build).toBe('simd');
    await expect(createRuntime({ relaxedSimd: true })).rejects.toThrow(/rejects relaxed SIMD .*--experimental-wasm-relaxed-simd/);
    await expect(createRuntime({ bytes: wasmBytes('relaxed') })).rejects.toThrow(/pass simd.wasm instead/);
  });

  it('passed bytes or module: the build they hold runs', async () => {
    expect((await createRuntime({ bytes: wasmBytes('simd') })).features.build).toBe('simd');
    const module = await WebAssembly.compile(wasmBytes('relaxed'));
    expect((await createRuntime({ module })).features.build).toBe('relaxed');
    await expect(createRuntime({ module, relaxedSimd: false })).rejects.toThrow(/relaxedSimd: false was requested but the module passed is the relaxed-SIMD build/);
  });

  it('rejects modules and bytes that are not rnn-wasm builds', async () => {
    // The smallest valid module: no exports at all.
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await expect(createRuntime({ bytes: empty })).rejects.toThrow(/not an rnn-wasm build/);
    await expect(createRuntime({ module: new WebAssembly.Module(empty) })).rejects.toThrow(/not an rnn-wasm build/);
    await expect(createRuntime({ module: wasmBytes('simd') as unknown as WebAssembly.Module })).rejects.toThrow(/module must be a WebAssembly.Module/);
    await expect(createRuntime({ bytes: new Uint8Array([1, 2, 3]) })).rejects.toThrow(/not a valid WebAssembly module/);
  });

  it('in Cloudflare Workers, without { module }: an Error that shows the import to use', async () => {
    Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Cloudflare-Workers' }, configurable: true });
    await expect(createRuntime()).rejects.toThrow(/Cloudflare Workers do not allow compiling WebAssembly from bytes.*import wasm from 'rnn-wasm\/wasm\/relaxed.wasm'/);
  });
});
