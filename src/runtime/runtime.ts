import { Arena, LinearMemory } from './memory.js';
import { compileWasm, type BuildName, type RuntimeOptions } from './load.js';

export type { RuntimeOptions, BuildName };

import type { KernelExports } from './exports.generated.js';

/** Raw kernel exports, typed from the AssemblyScript sources (scripts/gen-kernel-exports.mjs). */
export type { KernelExports };

export interface RuntimeFeatures {
  simd: true;
  relaxedSimd: boolean;
  build: BuildName;
}

/**
 * One wasm instance, its memory and allocators. Everything (layers, models,
 * optimizers) made with a runtime lives in its memory.
 */
export class Runtime {
  readonly mem: LinearMemory;
  /** Activations kept for backprop; reset per training step. */
  readonly arena: Arena;
  /** Scratch for one kernel-level call (reset by whoever uses it, never held across calls). */
  readonly scratch: Arena;

  constructor(
    readonly instance: WebAssembly.Instance,
    readonly features: RuntimeFeatures,
  ) {
    const ex = instance.exports as unknown as { memory: WebAssembly.Memory; heap_base(): number };
    this.mem = new LinearMemory(ex.memory, ex.heap_base());
    this.arena = new Arena(this.mem);
    this.scratch = new Arena(this.mem);
  }

  get exports(): KernelExports {
    return this.instance.exports as unknown as KernelExports;
  }

  /** Bytes of wasm linear memory in use by the whole runtime. */
  get memoryBytes(): number {
    return this.mem.byteLength;
  }
}

/** Loads and instantiates the wasm kernels for this platform (see RuntimeOptions). */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const module = await compileWasm(options);
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`rnn-wasm kernel aborted at ${line}:${col}`);
      },
    },
  });
  const relaxed = (instance.exports as unknown as { build_is_relaxed(): number }).build_is_relaxed() === 1;
  if (options.relaxedSimd === false && relaxed) {
    throw new Error('relaxedSimd: false was requested but the module passed is the relaxed-SIMD build');
  }
  return new Runtime(instance, { simd: true, relaxedSimd: relaxed, build: relaxed ? 'relaxed' : 'simd' });
}
