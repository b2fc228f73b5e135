import { ShapeError, shapeSize } from './check.js';
import { formatBytes, type LinearMemory } from './memory.js';
import { AllocationOwner, forgetRelease, isDisposed, markDisposed, releaseWhenCollected } from './lifecycle.js';

/** What users pass in and get back: plain data, never a view into wasm memory. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * A handle to a float32 tensor in wasm memory: an offset and a shape. It stays
 * valid across memory.grow because it never holds an ArrayBuffer; view() makes
 * a fresh Float32Array at each use.
 */
export class Tensor {
  readonly size: number;
  constructor(
    readonly mem: LinearMemory,
    readonly ptr: number,
    readonly shape: number[],
  ) {
    this.size = shapeSize(shape);
  }

  get bytes(): number {
    return this.size * 4;
  }

  /** A live view; do not keep it across calls that may grow memory. */
  view(): Float32Array {
    return this.mem.f32(this.ptr, this.size);
  }

  /** A copy for the user (allocate and set: V8's TypedArray slice costs ~1.3x more, ~0.3 us per small tensor). */
  toHost(): HostTensor {
    const data = new Float32Array(this.size);
    data.set(this.view());
    return { shape: [...this.shape], data };
  }

  set(data: ArrayLike<number>): void {
    if (data.length !== this.size) {
      throw new ShapeError(`expected ${this.size} values for shape [${this.shape.join(', ')}], got ${data.length}`);
    }
    this.view().set(data);
  }
}

export interface ParameterSpec {
  name: string;
  shape: number[];
}

/**
 * All parameters of a model in one contiguous block, their gradients in a
 * second block of the same layout (llm.c style), so that optimizers and
 * gradient clipping are single kernel calls over whole blocks.
 */
export class ParameterBlock {
  readonly names: string[] = [];
  readonly shapes = new Map<string, number[]>();
  readonly offsets = new Map<string, number>();
  /** Total number of float32 values. */
  readonly count: number;
  readonly valuesPtr: number;
  readonly gradsPtr: number;
  /** The allocator's owner of both halves (see AllocationOwner). */
  private readonly owner: AllocationOwner;

  /**
   * `label` names the block's user in errors, e.g. 'LSTM(hiddenSize 30000)' or a model's
   * class: out of memory, use after dispose. Default: the first parameter names.
   */
  constructor(readonly mem: LinearMemory, specs: ParameterSpec[], readonly label = defaultLabel(specs)) {
    let count = 0;
    for (const { name, shape } of specs) {
      if (this.shapes.has(name)) throw new Error(`duplicate parameter name '${name}'`);
      this.names.push(name);
      this.shapes.set(name, [...shape]);
      this.offsets.set(name, count);
      // Keep every tensor 16-float (64-byte) aligned inside the block.
      count += Math.ceil(shapeSize(shape) / 16) * 16;
    }
    this.count = count;
    // Both halves checked before either is taken, and the first returned if the second
    // fails anyway (fragmentation, a host limit): a failed constructor leaks nothing.
    this.owner = new AllocationOwner(`the parameters of ${label}`);
    const purpose = `parameters and gradients (2 x ${formatBytes(count * 4)} for ${count} values)`;
    mem.checkFits(2 * Math.ceil(count / 16) * 64, label, purpose);
    this.valuesPtr = mem.alloc(count * 4, this.owner, label, purpose);
    try {
      this.gradsPtr = mem.alloc(count * 4, this.owner, label, purpose);
    } catch (e) {
      mem.free(this.valuesPtr, this.owner);
      throw e;
    }
    releaseWhenCollected(this, mem, this.owner);
  }

  get disposed(): boolean {
    return isDisposed(this);
  }

  /** Throws once the block (or its runtime) was disposed; `what` names the caller. */
  checkLive(what: string): void {
    if (isDisposed(this)) {
      throw new Error(`${what}: the parameters of ${this.label} were disposed; their memory may already belong to another object`);
    }
    this.mem.checkLive(what);
  }

  private offsetOf(name: string): number {
    this.checkLive(`parameter '${name}'`);
    const off = this.offsets.get(name);
    if (off === undefined) throw new Error(`unknown parameter '${name}'; known: ${this.names.join(', ')}`);
    return off;
  }

  value(name: string): Tensor {
    return new Tensor(this.mem, this.valuesPtr + this.offsetOf(name) * 4, this.shapes.get(name)!);
  }

  grad(name: string): Tensor {
    return new Tensor(this.mem, this.gradsPtr + this.offsetOf(name) * 4, this.shapes.get(name)!);
  }

  /** The whole value block (padding included) as one flat view. */
  valuesView(): Float32Array {
    this.checkLive('ParameterBlock.valuesView');
    return this.mem.f32(this.valuesPtr, this.count);
  }

  gradsView(): Float32Array {
    this.checkLive('ParameterBlock.gradsView');
    return this.mem.f32(this.gradsPtr, this.count);
  }

  zeroGrad(): void {
    this.gradsView().fill(0);
  }

  /** Frees both halves; a second dispose is a no-op, every other later use throws. */
  dispose(): void {
    if (!markDisposed(this)) return;
    forgetRelease(this);
    if (this.mem.disposed) return;
    this.mem.free(this.valuesPtr, this.owner);
    this.mem.free(this.gradsPtr, this.owner);
  }
}

function defaultLabel(specs: ParameterSpec[]): string {
  const names = specs.slice(0, 3).map((s) => s.name).join(', ');
  return `ParameterBlock(${names}${specs.length > 3 ? ', ...' : ''})`;
}
