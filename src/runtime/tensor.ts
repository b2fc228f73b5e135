import { ShapeError, shapeSize } from './check.js';
import type { LinearMemory } from './memory.js';

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

  constructor(readonly mem: LinearMemory, specs: ParameterSpec[]) {
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
    this.valuesPtr = mem.alloc(count * 4);
    this.gradsPtr = mem.alloc(count * 4);
  }

  private offsetOf(name: string): number {
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
    return this.mem.f32(this.valuesPtr, this.count);
  }

  gradsView(): Float32Array {
    return this.mem.f32(this.gradsPtr, this.count);
  }

  zeroGrad(): void {
    this.gradsView().fill(0);
  }

  dispose(): void {
    this.mem.free(this.valuesPtr);
    this.mem.free(this.gradsPtr);
  }
}
