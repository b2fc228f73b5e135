import { Arena, LinearMemory, WASM32_MAX_BYTES, formatBytes } from './memory.js';
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

  private wasmInstance: WebAssembly.Instance | null;

  constructor(
    instance: WebAssembly.Instance,
    readonly features: RuntimeFeatures,
    /** Most bytes of wasm memory (createRuntime's maxMemory); 4 GiB by default. */
    maxMemory: number = WASM32_MAX_BYTES,
  ) {
    this.wasmInstance = instance;
    const ex = instance.exports as unknown as { memory: WebAssembly.Memory; heap_base(): number };
    this.mem = new LinearMemory(ex.memory, ex.heap_base(), maxMemory);
    this.arena = new Arena(this.mem, 0, 'the runtime arena');
    // Reserved up front for the GEMM packing space of kernel calls without a work buffer
    // (src/kernels/gemm.ts gemmScratch), so that such a call never grows memory.
    const gemmWorkFloats = (instance.exports as unknown as KernelExports).gemm_work_max_floats();
    this.scratch = new Arena(this.mem, gemmWorkFloats * 4, 'the runtime scratch');
  }

  get instance(): WebAssembly.Instance {
    this.mem.checkLive('Runtime');
    return this.wasmInstance!;
  }

  get exports(): KernelExports {
    return this.instance.exports as unknown as KernelExports;
  }

  /** Most bytes of wasm memory this runtime may use. */
  get maxMemory(): number {
    return this.mem.maxBytes;
  }

  /** Bytes held by live allocations (parameters, optimizer state, arenas). */
  get liveBytes(): number {
    return this.mem.liveBytes;
  }

  get disposed(): boolean {
    return this.mem.disposed;
  }

  /**
   * Releases the instance and its memory (wasm memory cannot shrink, so this is how a page
   * gets its gigabytes back). Every layer, model and optimizer of this runtime then throws
   * on use. A second dispose is a no-op.
   */
  dispose(): void {
    if (this.mem.disposed) return;
    this.mem.dispose();
    this.wasmInstance = null;
  }

  /** Bytes of wasm linear memory in use by the whole runtime. */
  get memoryBytes(): number {
    return this.mem.byteLength;
  }
}

/** Loads and instantiates the wasm kernels for this platform (see RuntimeOptions). */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const maxMemory = checkMaxMemory(options.maxMemory);
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
  const initial = (instance.exports as unknown as { memory: WebAssembly.Memory }).memory.buffer.byteLength;
  if (maxMemory < initial) {
    throw new RangeError(`maxMemory must be at least the kernels' initial memory (${initial} bytes, ${formatBytes(initial)}), got ${maxMemory}`);
  }
  return new Runtime(instance, { simd: true, relaxedSimd: relaxed, build: relaxed ? 'relaxed' : 'simd' }, maxMemory);
}

function checkMaxMemory(value: unknown): number {
  if (value === undefined) return WASM32_MAX_BYTES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > WASM32_MAX_BYTES) {
    throw new RangeError(`maxMemory must be a number of bytes in 1..${WASM32_MAX_BYTES} (4 GiB, wasm32's limit), got ${String(value)}`);
  }
  return value;
}
