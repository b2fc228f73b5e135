// Argument checks shared by every TypeScript entry point. Each throws an Error
// that names the argument, what was expected and what was given, before any
// kernel runs.

export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  return typeof value;
}

/** A non-negative integer (sizes, counts, strides). */
export function checkSize(name: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number (learning rates, scale factors, norms). */
export function checkFinite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

export function checkPositive(name: string, value: unknown): number {
  checkFinite(name, value);
  if ((value as number) <= 0) throw new RangeError(`${name} must be > 0, got ${value}`);
  return value as number;
}

export function checkShape(name: string, shape: readonly number[], expected: readonly number[]): void {
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`${name} must have shape [${expected.join(', ')}], got [${shape.join(', ')}]`);
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Every element finite; reports the first offender. */
export function checkAllFinite(name: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`${name} contains a non-finite value (${data[i]}) at flat index ${i}`);
    }
  }
}

/** What a host tensor is: a shape and float32 data (runtime/tensor.ts's HostTensor). */
interface HostTensorLike {
  shape: readonly number[];
  data: Float32Array;
}

/** A { shape, data: Float32Array } whose data has exactly the shape's size. */
export function checkHostTensor(name: string, t: HostTensorLike | undefined): void {
  if (!t || !Array.isArray(t.shape) || !(t.data instanceof Float32Array)) {
    throw new TypeError(`${name} must be { shape: number[], data: Float32Array }, got ${t ? `shape ${describe(t.shape)}, data ${describe(t.data)}` : describe(t)}`);
  }
  if (t.data.length !== shapeSize(t.shape)) {
    throw new ShapeError(`${name} has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${shapeSize(t.shape)}`);
  }
}

/** A host tensor of exactly this shape with finite values. */
export function checkHost(name: string, t: HostTensorLike | undefined, shape: readonly number[]): void {
  checkHostTensor(name, t);
  checkShape(name, t!.shape, shape);
  checkAllFinite(name, t!.data);
}
