/**
 * Elementwise kernels over wasm memory. Every argument is validated (sizes,
 * finite scalars that fit in float32, pointer ranges) before wasm runs.
 * Pointers are byte offsets from rt.mem.alloc / arenas; sizes and leading
 * dimensions are in elements (row-major). Outputs may alias inputs.
 *
 *   biasAddRows(rt, { y, b, rows, cols, ldy? })           y[r, :] += b
 *   biasAddRowsBackward(rt, { dy, db, rows, cols, lddy? }) db += column sums of dy
 *   elementwiseAdd(rt, { a, b, y, n })                    y = a + b
 *   elementwiseMul(rt, { a, b, y, n })                    y = a * b
 *   elementwiseMulBackward(rt, { a, b, dy, da, db, n })   da += dy * b, db += dy * a
 *   axpy(rt, { alpha, x, y, n })                          y += alpha * x
 *   scaleBuffer(rt, { alpha, x, n })                      x *= alpha
 *   fillBuffer(rt, { value, x, n })                       x[:] = value
 *   copyBuffer(rt, { x, y, n })                           y = x (overlap allowed)
 */
import { checkFinite, checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';

/** A finite number that stays finite in float32 (wasm f32 parameters round to it). */
export function checkFloat32(name: string, value: unknown): number {
  checkFinite(name, value);
  if (!Number.isFinite(Math.fround(value as number))) {
    throw new RangeError(`${name} must fit in float32 (|value| <= 3.4e38), got ${value}`);
  }
  return value as number;
}

/** Bytes spanned by a row-major [rows, cols] float32 matrix with row stride ld. */
export function matrixBytes(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : ((rows - 1) * ld + cols) * 4;
}

/** Validates a leading dimension (defaults to cols) and returns it. */
export function checkLeadingDim(name: string, ld: number | undefined, cols: number): number {
  const value = checkSize(name, ld ?? cols);
  if (value < cols) throw new RangeError(`${name} must be >= cols = ${cols}, got ${value}`);
  return value;
}

/**
 * rt.mem.checkRange for many buffers of one call: memory's size is read once and the message
 * (prefixed by fn) is only built for a range that fails, which then throws checkRange's error.
 */
export function rangeChecker(rt: Runtime, fn: string): (name: string, ptr: number, bytes: number) => void {
  const mem = rt.mem;
  const limit = mem.byteLength, base = mem.heapBase;
  return (name, ptr, bytes) => {
    if (Number.isInteger(ptr) && Number.isInteger(bytes) && bytes >= 0 && ptr >= base && ptr + bytes <= limit && (ptr & 3) === 0) return;
    mem.checkRange(`${fn} ${name}`, ptr, bytes);
  };
}

/** Validates that `ptr` holds n float32 values inside wasm memory. */
export function checkVector(rt: Runtime, name: string, ptr: number, n: number): void {
  rt.mem.checkRange(name, ptr, n * 4);
}

export interface BiasAddRowsArgs {
  /** [rows, cols], row stride ldy (default cols) */
  y: number;
  /** [cols] */
  b: number;
  rows: number;
  cols: number;
  ldy?: number;
}

export function biasAddRows(rt: Runtime, args: BiasAddRowsArgs): void {
  const rows = checkSize('biasAddRows rows', args.rows);
  const cols = checkSize('biasAddRows cols', args.cols);
  const ldy = checkLeadingDim('biasAddRows ldy', args.ldy, cols);
  rt.mem.checkRange('biasAddRows y', args.y, matrixBytes(rows, cols, ldy));
  checkVector(rt, 'biasAddRows b', args.b, cols);
  rt.exports.bias_add_rows_forward(args.y, ldy, args.b, rows, cols);
}

export interface BiasAddRowsBackwardArgs {
  /** [rows, cols], row stride lddy (default cols) */
  dy: number;
  /** [cols], accumulated into */
  db: number;
  rows: number;
  cols: number;
  lddy?: number;
}

export function biasAddRowsBackward(rt: Runtime, args: BiasAddRowsBackwardArgs): void {
  const rows = checkSize('biasAddRowsBackward rows', args.rows);
  const cols = checkSize('biasAddRowsBackward cols', args.cols);
  const lddy = checkLeadingDim('biasAddRowsBackward lddy', args.lddy, cols);
  rt.mem.checkRange('biasAddRowsBackward dy', args.dy, matrixBytes(rows, cols, lddy));
  checkVector(rt, 'biasAddRowsBackward db', args.db, cols);
  rt.exports.bias_add_rows_backward(args.dy, lddy, args.db, rows, cols);
}

export interface BinaryArgs {
  a: number;
  b: number;
  y: number;
  n: number;
}

export function elementwiseAdd(rt: Runtime, args: BinaryArgs): void {
  const n = checkSize('elementwiseAdd n', args.n);
  checkVector(rt, 'elementwiseAdd a', args.a, n);
  checkVector(rt, 'elementwiseAdd b', args.b, n);
  checkVector(rt, 'elementwiseAdd y', args.y, n);
  rt.exports.add_forward(args.a, args.b, args.y, n);
}

export function elementwiseMul(rt: Runtime, args: BinaryArgs): void {
  const n = checkSize('elementwiseMul n', args.n);
  checkVector(rt, 'elementwiseMul a', args.a, n);
  checkVector(rt, 'elementwiseMul b', args.b, n);
  checkVector(rt, 'elementwiseMul y', args.y, n);
  rt.exports.mul_forward(args.a, args.b, args.y, n);
}

export interface MulBackwardArgs {
  a: number;
  b: number;
  dy: number;
  /** accumulated into */
  da: number;
  /** accumulated into */
  db: number;
  n: number;
}

export function elementwiseMulBackward(rt: Runtime, args: MulBackwardArgs): void {
  const n = checkSize('elementwiseMulBackward n', args.n);
  for (const key of ['a', 'b', 'dy', 'da', 'db'] as const) checkVector(rt, `elementwiseMulBackward ${key}`, args[key], n);
  rt.exports.mul_backward(args.a, args.b, args.dy, args.da, args.db, n);
}

export function axpy(rt: Runtime, args: { alpha: number; x: number; y: number; n: number }): void {
  const n = checkSize('axpy n', args.n);
  const alpha = checkFloat32('axpy alpha', args.alpha);
  checkVector(rt, 'axpy x', args.x, n);
  checkVector(rt, 'axpy y', args.y, n);
  rt.exports.axpy_f32(n, alpha, args.x, args.y);
}

export function scaleBuffer(rt: Runtime, args: { alpha: number; x: number; n: number }): void {
  const n = checkSize('scaleBuffer n', args.n);
  const alpha = checkFloat32('scaleBuffer alpha', args.alpha);
  checkVector(rt, 'scaleBuffer x', args.x, n);
  rt.exports.scale_f32(n, alpha, args.x);
}

export function fillBuffer(rt: Runtime, args: { value: number; x: number; n: number }): void {
  const n = checkSize('fillBuffer n', args.n);
  const value = checkFloat32('fillBuffer value', args.value);
  checkVector(rt, 'fillBuffer x', args.x, n);
  rt.exports.fill_f32(n, value, args.x);
}

/**
 * Inverted-dropout mask out [n]: each value 0 with probability p, else 1 / (1 − p), drawn in
 * wasm (xoshiro128**, one 32-bit draw per value) from four seed words (not all zero).
 */
export function dropoutMask(rt: Runtime, args: { n: number; p: number; seeds: [number, number, number, number]; out: number }): void {
  const n = checkSize('dropoutMask n', args.n);
  if (!(args.p >= 0 && args.p < 1)) throw new RangeError(`dropoutMask p must be in [0, 1), got ${args.p}`);
  const seeds = args.seeds;
  if (!Array.isArray(seeds) || seeds.length !== 4 || !seeds.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) || seeds.every((w) => w === 0)) {
    throw new RangeError(`dropoutMask seeds must be four unsigned 32-bit integers, not all zero, got ${JSON.stringify(seeds)}`);
  }
  checkVector(rt, 'dropoutMask out', args.out, n);
  const threshold = Math.min(2 ** 32 - 1, Math.floor(args.p * 2 ** 32));
  rt.exports.dropout_mask_f32(n, threshold | 0, 1 / (1 - args.p), seeds[0] | 0, seeds[1] | 0, seeds[2] | 0, seeds[3] | 0, args.out);
}

/**
 * Strided block copy: dst rows (stride ldDst floats) = (or, with accumulate, +=) src rows
 * (stride ldSrc), `cols` floats each, in one kernel call. dst must not overlap src.
 */
export function copyRows(rt: Runtime, args: { rows: number; cols: number; src: number; ldSrc: number; dst: number; ldDst: number; accumulate?: boolean }): void {
  const rows = checkSize('copyRows rows', args.rows), cols = checkSize('copyRows cols', args.cols);
  const lds = checkSize('copyRows ldSrc', args.ldSrc), ldd = checkSize('copyRows ldDst', args.ldDst);
  if (rows > 0 && (lds < cols || ldd < cols)) throw new RangeError(`copyRows: row strides (ldSrc ${lds}, ldDst ${ldd}) must be >= cols ${cols}`);
  const span = (ld: number) => (rows === 0 ? 0 : ((rows - 1) * ld + cols) * 4);
  rt.mem.checkRange('copyRows src', args.src, span(lds));
  rt.mem.checkRange('copyRows dst', args.dst, span(ldd));
  if (rows > 0 && cols > 0 && args.dst < args.src + span(lds) && args.src < args.dst + span(ldd)) throw new RangeError('copyRows: dst must not overlap src');
  rt.exports.copy_rows_f32(rows, cols, args.src, lds, args.dst, ldd, args.accumulate ? 1 : 0);
}

export function copyBuffer(rt: Runtime, args: { x: number; y: number; n: number }): void {
  const n = checkSize('copyBuffer n', args.n);
  checkVector(rt, 'copyBuffer x', args.x, n);
  checkVector(rt, 'copyBuffer y', args.y, n);
  rt.exports.copy_f32(n, args.x, args.y);
}
