// Tensor ops on the tape for models to compose (attention, seq2seq, DMN):
// products, elementwise arithmetic, masked softmax, feature concat/split, row
// gathers, reductions and argmax. Each op checks its inputs in TypeScript
// (throwing before any memory is touched), runs its forward through the
// checked kernel entry points in src/kernels, and records a backward entry
// that adds into the inputs' gradients, so a variable may feed several ops.
// Shapes are row-major; "features" is the last axis.
//
//   matmul(tape, a, b, { transA?, transB? })        op(a) [M, K] . op(b) [K, N] -> [M, N]; a may be [..., K]
//   batchedMatmul(tape, a, b, { transA?, transB? }) a [S, M, K] . b [S, K, N] -> [S, M, N] per batch entry
//   add(tape, a, b)        same shape, or b [N] added to every row of a [..., N] (a bias)
//   subtract(tape, a, b)   same shape
//   multiply(tape, a, b)   same shape, elementwise
//   scale(tape, x, alpha)  alpha * x
//   softmax(tape, x, { mask? }) / logSoftmax(tape, x, { mask? })  over the last axis
//   concat(tape, parts) / split(tape, x, widths)    along the last axis
//   stack(tape, parts)               parts [...shape] each -> [n, ...shape] (per-step outputs into one tensor)
//   parameter(tape, block, name)     a model parameter as a Variable; its gradient lands in the block's
//   gatherRows(tape, x, rows)        x [N, ...rest], rows [n] -> [n, ...rest]
//   selectSteps(tape, x, steps)      x [T, B, H], steps [B] -> [B, H]: step steps[b] of batch entry b
//   swapLeadingAxes(tape, x)         [A, B, ...rest] -> [B, A, ...rest] (time-major <-> batch-major)
//   reshape(tape, x, shape)          same values, another shape
//   sumLastAxis / meanLastAxis(tape, x)   [..., N] -> [...]
//   sumAll / meanAll(tape, x)        any shape -> [1]
//   argmax(x)                        [..., N] -> Int32Array of the last axis' argmax (no gradient)
import { ShapeError, checkSize, describe, shapeSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor, type ParameterBlock } from '../runtime/tensor.js';
import { gemm } from '../kernels/gemm.js';
import {
  axpy, biasAddRows, biasAddRowsBackward, checkFloat32, copyBuffer, copyRows, elementwiseAdd, elementwiseMul, elementwiseMulBackward,
  fillBuffer, scaleBuffer,
} from '../kernels/elementwise.js';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.js';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../kernels/loss.js';
import { Variable, type Tape } from '../train/tape.js';

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Throws unless v is a live variable of this tape. */
function checkVariable(op: string, name: string, tape: Tape, v: unknown): Variable {
  if (!(v instanceof Variable)) throw new TypeError(`${op}: ${name} must be a Variable (tape.input or another op's output), got ${describe(v)}`);
  tape.checkLive(v);
  return v;
}

/** The output of an op: it needs a gradient when any input does. */
function output(tape: Tape, shape: number[], inputs: Variable[]): Variable {
  return tape.variable(shape, inputs.some((v) => v.requiresGrad));
}

/** Checks an elementwise op's two inputs (live, same shape) and makes its output. */
function sameShapeOutput(op: string, tape: Tape, a: Variable, b: Variable): Variable {
  checkVariable(op, 'a', tape, a);
  checkVariable(op, 'b', tape, b);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${op}: b must have a's shape ${shapeText(a.shape)}, got ${shapeText(b.shape)}`);
  }
  return output(tape, a.shape, [a, b]);
}

/**
 * Adds a kernel-written gradient into x's gradient: straight into x.grad()
 * when nothing was accumulated yet, else through a scratch buffer and axpy.
 */
export function accumulateInto(tape: Tape, x: Variable, write: (dst: number) => void): void {
  if (!x.requiresGrad) return;
  if (!x.hasGrad) {
    write(x.grad().ptr);
    return;
  }
  const tmp = tape.tensor(x.shape);
  write(tmp.ptr);
  axpy(tape.rt, { alpha: 1, x: tmp.ptr, y: x.grad().ptr, n: x.size });
}

/** x.grad += alpha * g (g a pointer to x.size values). */
function addGrad(tape: Tape, x: Variable, g: number, alpha = 1): void {
  if (x.requiresGrad) axpy(tape.rt, { alpha, x: g, y: x.grad().ptr, n: x.size });
}

// ---------------------------------------------------------------- products

export interface MatmulOptions {
  /** a is stored transposed: [K, M] (matmul) or [S, K, M] (batchedMatmul). */
  transA?: boolean;
  /** b is stored transposed: [N, K] or [S, N, K]. */
  transB?: boolean;
}

interface Product {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

/** c (+)= op(a) op(b) for one [M, N] product; pointers in bytes. */
function productForward(rt: Runtime, p: Product, a: number, b: number, c: number): void {
  gemm(rt, { transA: p.transA, transB: p.transB, m: p.M, n: p.N, k: p.K, a, b, c });
}

/**
 * Y = op(A) op(B), dY given: dA += dY op(B)^T (or its transpose when A is
 * stored transposed), dB += op(A)^T dY (likewise). Null pointers skip a side.
 */
function productBackward(rt: Runtime, p: Product, a: number, b: number, dy: number, da: number | null, db: number | null): void {
  const { transA, transB, M, N, K } = p;
  if (da !== null) {
    if (!transA) gemm(rt, { transB: !transB, m: M, n: K, k: N, a: dy, b, beta: 1, c: da }); // [M, K] = dY [M, N] . op(B)^T [N, K]
    else gemm(rt, { transA: transB, transB: true, m: K, n: M, k: N, a: b, b: dy, beta: 1, c: da }); // [K, M] = op(B) [K, N] . dY^T [N, M]
  }
  if (db !== null) {
    if (!transB) gemm(rt, { transA: !transA, m: K, n: N, k: M, a, b: dy, beta: 1, c: db }); // [K, N] = op(A)^T [K, M] . dY [M, N]
    else gemm(rt, { transA: true, transB: transA, m: N, n: K, k: M, a: dy, b: a, beta: 1, c: db }); // [N, K] = dY^T [N, M] . op(A) [M, K]
  }
}

/**
 * op(a) . op(b). a: [..., K] (leading axes are rows) or, with transA, [K, M];
 * b: [K, N] or, with transB, [N, K]. y: [..., N] (or [M, N]).
 */
export function matmul(tape: Tape, a: Variable, b: Variable, options: MatmulOptions = {}): Variable {
  checkVariable('matmul', 'a', tape, a);
  checkVariable('matmul', 'b', tape, b);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.shape.length < 1 || (transA && a.shape.length !== 2)) {
    throw new ShapeError(`matmul: a must be ${transA ? '[K, M] (transA)' : '[..., K]'}, got ${shapeText(a.shape)}`);
  }
  if (b.shape.length !== 2) throw new ShapeError(`matmul: b must be ${transB ? '[N, K] (transB)' : '[K, N]'}, got ${shapeText(b.shape)}`);
  const K = transA ? a.shape[0] : a.shape[a.shape.length - 1];
  if (!(K >= 1)) throw new ShapeError(`matmul: the inner dimension K of a ${shapeText(a.shape)} must be >= 1`);
  const M = a.size / K;
  const lead = transA ? [a.shape[1]] : a.shape.slice(0, -1);
  const [bK, N] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (bK !== K) {
    throw new ShapeError(`matmul: b must be ${transB ? `[N, ${K}] (transB)` : `[${K}, N]`} to match a ${shapeText(a.shape)}, got ${shapeText(b.shape)}`);
  }
  const p: Product = { transA, transB, M: transA ? a.shape[1] : M, N, K };
  const y = output(tape, [...lead, N], [a, b]);
  productForward(tape.rt, p, a.ptr, b.ptr, y.ptr);
  tape.record('matmul', () => {
    if (!y.hasGrad) return;
    productBackward(tape.rt, p, a.ptr, b.ptr, y.grad().ptr, a.requiresGrad ? a.grad().ptr : null, b.requiresGrad ? b.grad().ptr : null);
  });
  return y;
}

/**
 * One product per batch entry s: y[s] = op(a[s]) . op(b[s]).
 * a: [S, M, K] ([S, K, M] with transA)  b: [S, K, N] ([S, N, K] with transB)  y: [S, M, N]
 */
export function batchedMatmul(tape: Tape, a: Variable, b: Variable, options: MatmulOptions = {}): Variable {
  checkVariable('batchedMatmul', 'a', tape, a);
  checkVariable('batchedMatmul', 'b', tape, b);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.shape.length !== 3) throw new ShapeError(`batchedMatmul: a must be ${transA ? '[S, K, M] (transA)' : '[S, M, K]'}, got ${shapeText(a.shape)}`);
  const [S, a1, a2] = a.shape;
  const [M, K] = transA ? [a2, a1] : [a1, a2];
  const want = transB ? `[${S}, N, ${K}] (transB)` : `[${S}, ${K}, N]`;
  if (b.shape.length !== 3 || b.shape[0] !== S || b.shape[transB ? 2 : 1] !== K) {
    throw new ShapeError(`batchedMatmul: b must be ${want} to match a ${shapeText(a.shape)}, got ${shapeText(b.shape)}`);
  }
  const N = transB ? b.shape[1] : b.shape[2];
  const p: Product = { transA, transB, M, N, K };
  const y = output(tape, [S, M, N], [a, b]);
  const aStep = M * K * 4, bStep = K * N * 4, yStep = M * N * 4;
  // One gemm per batch entry: the products are small (a decoder step against its encoder states).
  for (let s = 0; s < S; s++) productForward(tape.rt, p, a.ptr + s * aStep, b.ptr + s * bStep, y.ptr + s * yStep);
  tape.record('batchedMatmul', () => {
    if (!y.hasGrad) return;
    const dy = y.grad().ptr;
    const da = a.requiresGrad ? a.grad().ptr : null;
    const db = b.requiresGrad ? b.grad().ptr : null;
    for (let s = 0; s < S; s++) {
      productBackward(tape.rt, p, a.ptr + s * aStep, b.ptr + s * bStep, dy + s * yStep, da === null ? null : da + s * aStep, db === null ? null : db + s * bStep);
    }
  });
  return y;
}

// ---------------------------------------------------------------- elementwise

/**
 * a + b. b has a's shape, or is a bias [N] added to every row of a [..., N].
 */
export function add(tape: Tape, a: Variable, b: Variable): Variable {
  checkVariable('add', 'a', tape, a);
  checkVariable('add', 'b', tape, b);
  const N = a.shape[a.shape.length - 1];
  const broadcast = b.shape.length === 1 && a.shape.length > 1 && b.shape[0] === N;
  if (!broadcast) {
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
      throw new ShapeError(`add: b must have a's shape ${shapeText(a.shape)} or be a bias [${N}], got ${shapeText(b.shape)}`);
    }
  }
  const rt = tape.rt;
  const y = output(tape, a.shape, [a, b]);
  const rows = a.size / Math.max(1, N);
  if (broadcast) {
    copyBuffer(rt, { x: a.ptr, y: y.ptr, n: a.size });
    biasAddRows(rt, { y: y.ptr, b: b.ptr, rows, cols: N });
  } else elementwiseAdd(rt, { a: a.ptr, b: b.ptr, y: y.ptr, n: a.size });
  tape.record('add', () => {
    if (!y.hasGrad) return;
    const dy = y.grad().ptr;
    addGrad(tape, a, dy);
    if (!b.requiresGrad) return;
    if (broadcast) biasAddRowsBackward(rt, { dy, db: b.grad().ptr, rows, cols: N });
    else addGrad(tape, b, dy);
  });
  return y;
}

/** a - b, same shapes. */
export function subtract(tape: Tape, a: Variable, b: Variable): Variable {
  const y = sameShapeOutput('subtract', tape, a, b);
  const rt = tape.rt;
  copyBuffer(rt, { x: a.ptr, y: y.ptr, n: a.size });
  axpy(rt, { alpha: -1, x: b.ptr, y: y.ptr, n: a.size });
  tape.record('subtract', () => {
    if (!y.hasGrad) return;
    const dy = y.grad().ptr;
    addGrad(tape, a, dy);
    addGrad(tape, b, dy, -1);
  });
  return y;
}

/** a * b elementwise, same shapes. */
export function multiply(tape: Tape, a: Variable, b: Variable): Variable {
  const y = sameShapeOutput('multiply', tape, a, b);
  const rt = tape.rt;
  elementwiseMul(rt, { a: a.ptr, b: b.ptr, y: y.ptr, n: a.size });
  tape.record('multiply', () => {
    if (!y.hasGrad) return;
    // The kernel accumulates into both sides; a side without a gradient gets a scratch buffer.
    const da = a.requiresGrad ? a.grad().ptr : tape.tensor(a.shape).ptr;
    const db = b.requiresGrad ? b.grad().ptr : tape.tensor(b.shape).ptr;
    elementwiseMulBackward(rt, { a: a.ptr, b: b.ptr, dy: y.grad().ptr, da, db, n: a.size });
  });
  return y;
}

/** alpha * x (alpha a finite float32). */
export function scale(tape: Tape, x: Variable, alpha: number): Variable {
  checkVariable('scale', 'x', tape, x);
  checkFloat32('scale alpha', alpha);
  const rt = tape.rt;
  const y = output(tape, x.shape, [x]);
  copyBuffer(rt, { x: x.ptr, y: y.ptr, n: x.size });
  scaleBuffer(rt, { alpha, x: y.ptr, n: x.size });
  tape.record('scale', () => {
    if (y.hasGrad) addGrad(tape, x, y.grad().ptr, alpha);
  });
  return y;
}

// ---------------------------------------------------------------- softmax

export interface SoftmaxOptions {
  /**
   * 1 = valid, 0 = excluded; x.size values, or (for x [S, ..., N]) S*N values
   * shared by every row of one leading entry (a [B, Tx] mask for scores
   * [B, Ty, Tx]). Every row needs at least one valid entry.
   */
  mask?: ArrayLike<number>;
}

/** The mask expanded to x's shape as float32 0/1 in the arena, checked first. */
function maskTensor(op: string, tape: Tape, x: Variable, mask: ArrayLike<number>): Tensor {
  const N = x.shape[x.shape.length - 1];
  const rows = x.size / N;
  const S = x.shape[0];
  const full = mask.length === x.size;
  if (!full && !(x.shape.length >= 3 && mask.length === S * N)) {
    const shared = x.shape.length >= 3 ? ` or ${S * N} ([${S}, ${N}], shared by the middle axes)` : '';
    throw new ShapeError(`${op}: mask must have ${x.size} values (x ${shapeText(x.shape)})${shared}, got ${mask.length}`);
  }
  const rowsPerEntry = full ? 1 : rows / S;
  for (let r = 0; r < rows; r++) {
    const base = (full ? r : Math.floor(r / rowsPerEntry)) * N;
    let valid = 0;
    for (let j = 0; j < N; j++) {
      const v = mask[base + j];
      if (v !== 0 && v !== 1) throw new RangeError(`${op}: mask[${base + j}] must be 0 or 1, got ${v}`);
      valid += v;
    }
    if (valid === 0) throw new RangeError(`${op}: mask row ${r} has no valid entry (every row needs at least one 1)`);
  }
  const t = tape.tensor(x.shape);
  const view = t.view();
  if (full) view.set(mask);
  else {
    for (let r = 0; r < rows; r++) {
      const base = Math.floor(r / rowsPerEntry) * N;
      for (let j = 0; j < N; j++) view[r * N + j] = mask[base + j];
    }
  }
  return t;
}

function checkRowsInput(op: string, tape: Tape, x: Variable): { rows: number; cols: number } {
  checkVariable(op, 'x', tape, x);
  const cols = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || !(cols >= 1)) throw new ShapeError(`${op}: x must be [..., N] with N >= 1, got ${shapeText(x.shape)}`);
  return { rows: x.size / cols, cols };
}

/** Softmax over the last axis; masked entries get weight exactly 0. */
export function softmax(tape: Tape, x: Variable, options: SoftmaxOptions = {}): Variable {
  const { rows, cols } = checkRowsInput('softmax', tape, x);
  const mask = options.mask === undefined ? undefined : maskTensor('softmax', tape, x, options.mask);
  const rt = tape.rt;
  const y = output(tape, x.shape, [x]);
  softmaxForward(rt, { x: x.ptr, y: y.ptr, rows, cols, mask: mask?.ptr });
  tape.record('softmax', () => {
    if (y.hasGrad) accumulateInto(tape, x, (dx) => softmaxBackward(rt, { y: y.ptr, dy: y.grad().ptr, dx, rows, cols }));
  });
  return y;
}

/**
 * Log-softmax over the last axis. Masked entries come out as -Infinity (as
 * torch's log_softmax of a -inf filled input) and pass no gradient back.
 */
export function logSoftmax(tape: Tape, x: Variable, options: SoftmaxOptions = {}): Variable {
  const { rows, cols } = checkRowsInput('logSoftmax', tape, x);
  const mask = options.mask === undefined ? undefined : maskTensor('logSoftmax', tape, x, options.mask);
  const rt = tape.rt;
  const y = output(tape, x.shape, [x]);
  let input = x.ptr;
  if (mask) {
    // Masked entries become -inf, which the kernel's max and exp sum ignore.
    const filled = tape.tensor(x.shape);
    copyBuffer(rt, { x: x.ptr, y: filled.ptr, n: x.size });
    const m = mask.view(), f = filled.view();
    for (let i = 0; i < m.length; i++) if (m[i] === 0) f[i] = -Infinity;
    input = filled.ptr;
  }
  logSoftmaxForward(rt, { x: input, y: y.ptr, rows, cols });
  tape.record('logSoftmax', () => {
    if (!y.hasGrad) return;
    let dy = y.grad().ptr;
    if (mask) {
      // The kernel sums dy over the whole row; the masked outputs are constants, so their dy must not count.
      const kept = tape.tensor(x.shape);
      elementwiseMul(rt, { a: dy, b: mask.ptr, y: kept.ptr, n: x.size });
      dy = kept.ptr;
    }
    accumulateInto(tape, x, (dx) => {
      logSoftmaxBackward(rt, { y: y.ptr, dy, dx, rows, cols });
      if (mask) elementwiseMul(rt, { a: dx, b: mask.ptr, y: dx, n: x.size });
    });
  });
  return y;
}

// ---------------------------------------------------------------- moving rows

/** dst rows (stride ldDst) (+)= src rows (stride ldSrc), cols values each: one kernel call. */
function moveRows(rt: Runtime, accumulate: boolean, src: number, ldSrc: number, dst: number, ldDst: number, rows: number, cols: number): void {
  if ((ldSrc === cols && ldDst === cols) || rows === 1) {
    if (accumulate) axpy(rt, { alpha: 1, x: src, y: dst, n: rows * cols });
    else copyBuffer(rt, { x: src, y: dst, n: rows * cols });
  } else copyRows(rt, { rows, cols, src, ldSrc, dst, ldDst, accumulate });
}

/**
 * Concatenates along the last axis. parts: [..., H_i] with equal leading axes
 * -> [..., sum H_i]. `name` is the tape entry's name.
 */
export function concat(tape: Tape, parts: Variable[], name = 'concat'): Variable {
  if (!Array.isArray(parts) || parts.length === 0) throw new ShapeError(`${name}: needs at least one input`);
  parts.forEach((p, i) => checkVariable(name, `parts[${i}]`, tape, p));
  const lead = parts[0].shape.slice(0, -1);
  for (const p of parts) {
    const l = p.shape.slice(0, -1);
    if (p.shape.length !== parts[0].shape.length || p.shape.length < 1 || l.some((d, i) => d !== lead[i])) {
      throw new ShapeError(`${name}: leading dims differ: [${parts.map((q) => q.shape.join(', ')).join('] vs [')}]`);
    }
  }
  const rows = shapeSize(lead);
  const widths = parts.map((p) => p.shape[p.shape.length - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const rt = tape.rt;
  const y = output(tape, [...lead, total], parts);
  let col = 0;
  parts.forEach((p, i) => {
    moveRows(rt, false, p.ptr, widths[i], y.ptr + col * 4, total, rows, widths[i]);
    col += widths[i];
  });
  tape.record(name, () => {
    if (!y.hasGrad) return;
    const dy = y.grad().ptr;
    let c = 0;
    parts.forEach((p, i) => {
      if (p.requiresGrad) moveRows(rt, true, dy + c * 4, total, p.grad().ptr, widths[i], rows, widths[i]);
      c += widths[i];
    });
  });
  return y;
}

/**
 * Stacks equal-shaped parts along a new leading axis: parts [...shape] each -> [n, ...shape]
 * (a decoder's per-step outputs [B, H] into [T, B, H] for one output product). One contiguous
 * copy per part each way.
 */
export function stack(tape: Tape, parts: Variable[]): Variable {
  if (!Array.isArray(parts) || parts.length === 0) throw new ShapeError('stack: needs at least one input');
  parts.forEach((p, i) => checkVariable('stack', `parts[${i}]`, tape, p));
  const shape = parts[0].shape;
  for (const [i, p] of parts.entries()) {
    if (p.shape.length !== shape.length || p.shape.some((d, k) => d !== shape[k])) {
      throw new ShapeError(`stack: parts[${i}] must have parts[0]'s shape ${shapeText(shape)}, got ${shapeText(p.shape)}`);
    }
  }
  const n = parts[0].size;
  const rt = tape.rt;
  const y = output(tape, [parts.length, ...shape], parts);
  parts.forEach((p, i) => copyBuffer(rt, { x: p.ptr, y: y.ptr + i * n * 4, n }));
  tape.record('stack', () => {
    if (!y.hasGrad) return;
    const dy = y.grad().ptr;
    parts.forEach((p, i) => addGrad(tape, p, dy + i * n * 4));
  });
  return y;
}

/**
 * A parameter of a ParameterBlock as a Variable, for models that use a weight in a tape op
 * (a tied output projection: logits = o E^T). Uses anywhere on the tape add into the Variable's
 * gradient; this entry, recorded before them and so replayed after them, adds it into the
 * block's gradient once.
 */
export function parameter(tape: Tape, block: ParameterBlock, name: string): Variable {
  tape.checkOp('parameter', {});
  const value = block.value(name);
  if (value.mem !== tape.rt.mem) throw new Error(`parameter: the block of ${name} belongs to another runtime than the tape`);
  const v = new Variable(tape, value, true);
  tape.record('parameter', () => {
    if (v.hasGrad) axpy(tape.rt, { alpha: 1, x: v.grad().ptr, y: block.grad(name).ptr, n: v.size });
  });
  return v;
}

/** Splits the last axis into pieces of the given widths: x [..., sum widths] -> [..., w_i] each. */
export function split(tape: Tape, x: Variable, widths: number[]): Variable[] {
  checkVariable('split', 'x', tape, x);
  if (!Array.isArray(widths) || widths.length === 0) throw new ShapeError('split: widths must be a non-empty array');
  widths.forEach((w, i) => checkSize(`split widths[${i}]`, w, 1));
  const total = x.shape[x.shape.length - 1];
  const sum = widths.reduce((a, b) => a + b, 0);
  if (x.shape.length < 1 || sum !== total) {
    throw new ShapeError(`split: widths [${widths.join(', ')}] must add up to x's last axis ${total} (x ${shapeText(x.shape)}), got ${sum}`);
  }
  const lead = x.shape.slice(0, -1);
  const rows = shapeSize(lead);
  const rt = tape.rt;
  let col = 0;
  return widths.map((w) => {
    const at = col;
    col += w;
    const y = output(tape, [...lead, w], [x]);
    moveRows(rt, false, x.ptr + at * 4, total, y.ptr, w, rows, w);
    tape.record('split', () => {
      if (y.hasGrad && x.requiresGrad) moveRows(rt, true, y.grad().ptr, w, x.grad().ptr + at * 4, total, rows, w);
    });
    return y;
  });
}

/** Checks row indices against [0, n) and copies them into the arena (Int32). */
function indexBuffer(op: string, name: string, tape: Tape, indices: ArrayLike<number>, n: number): number {
  if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
    throw new TypeError(`${op}: ${name} must be an array of integers, got ${describe(indices)}`);
  }
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= n) throw new RangeError(`${op}: ${name}[${i}] = ${k} must be an integer in [0, ${n})`);
  }
  return tape.int32(indices);
}

/** Rows of x by index (repeats allowed): x [N, ...rest], rows [n] -> [n, ...rest]; gradients add back into the rows picked. */
function gatherFlat(op: string, tape: Tape, x: Variable, N: number, rest: number[], ids: number, n: number): Variable {
  const rt = tape.rt;
  const dim = shapeSize(rest);
  const y = output(tape, [n, ...rest], [x]);
  embeddingForward(rt, { table: x.ptr, vocabSize: N, dim, ids, n, out: y.ptr });
  tape.record(op, () => {
    if (y.hasGrad && x.requiresGrad) embeddingBackward(rt, { dout: y.grad().ptr, ids, n, dtable: x.grad().ptr, vocabSize: N, dim });
  });
  return y;
}

/** Rows of x by index (repeats allowed): x [N, ...rest], rows [n] -> [n, ...rest]. */
export function gatherRows(tape: Tape, x: Variable, rows: ArrayLike<number>): Variable {
  checkVariable('gatherRows', 'x', tape, x);
  if (x.shape.length < 2) throw new ShapeError(`gatherRows: x must be [N, ...rest] with at least 2 axes, got ${shapeText(x.shape)}`);
  const N = x.shape[0];
  const ids = indexBuffer('gatherRows', 'rows', tape, rows, N);
  return gatherFlat('gatherRows', tape, x, N, x.shape.slice(1), ids, rows.length);
}

/** One time step per batch entry: x [T, B, H], steps [B] in [0, T) -> y [B, H], y[b] = x[steps[b], b]. */
export function selectSteps(tape: Tape, x: Variable, steps: ArrayLike<number>): Variable {
  checkVariable('selectSteps', 'x', tape, x);
  if (x.shape.length !== 3) throw new ShapeError(`selectSteps: x must be [T, B, H], got ${shapeText(x.shape)}`);
  const [T, B, H] = x.shape;
  if (steps?.length !== B) throw new ShapeError(`selectSteps: steps must have ${B} entries (one per batch entry), got ${steps?.length}`);
  for (let b = 0; b < B; b++) {
    if (!Number.isInteger(steps[b]) || steps[b] < 0 || steps[b] >= T) throw new RangeError(`selectSteps: steps[${b}] = ${steps[b]} must be an integer in [0, ${T})`);
  }
  const flat = Int32Array.from({ length: B }, (_, b) => steps[b] * B + b);
  return gatherFlat('selectSteps', tape, x, T * B, [H], tape.int32(flat), B);
}

/** [A, B, ...rest] -> [B, A, ...rest]: time-major [T, B, H] to batch-major [B, T, H] and back. */
export function swapLeadingAxes(tape: Tape, x: Variable): Variable {
  checkVariable('swapLeadingAxes', 'x', tape, x);
  if (x.shape.length < 2) throw new ShapeError(`swapLeadingAxes: x must have at least 2 axes, got ${shapeText(x.shape)}`);
  const [A, B, ...rest] = x.shape;
  const inner = shapeSize(rest);
  const rt = tape.rt;
  const y = output(tape, [B, A, ...rest], [x]);
  // Row a of x's block b goes to row b of y's block a: one strided copy per a.
  for (let a = 0; a < A; a++) moveRows(rt, false, x.ptr + a * B * inner * 4, inner, y.ptr + a * inner * 4, A * inner, B, inner);
  tape.record('swapLeadingAxes', () => {
    if (!y.hasGrad || !x.requiresGrad) return;
    const dy = y.grad().ptr, dx = x.grad().ptr;
    for (let a = 0; a < A; a++) moveRows(rt, true, dy + a * inner * 4, A * inner, dx + a * B * inner * 4, inner, B, inner);
  });
  return y;
}

/** The same values under another shape of the same size. */
export function reshape(tape: Tape, x: Variable, shape: number[]): Variable {
  checkVariable('reshape', 'x', tape, x);
  shape.forEach((d, i) => checkSize(`reshape shape[${i}]`, d));
  if (shapeSize(shape) !== x.size) throw new ShapeError(`reshape: shape ${shapeText(shape)} holds ${shapeSize(shape)} values, x ${shapeText(x.shape)} has ${x.size}`);
  // Shares x's values; the gradient is its own buffer, added back on backward.
  const y = new Variable(tape, new Tensor(x.value.mem, x.ptr, [...shape]), x.requiresGrad);
  tape.record('reshape', () => {
    if (y.hasGrad) addGrad(tape, x, y.grad().ptr);
  });
  return y;
}

// ---------------------------------------------------------------- reductions

/** sum (or mean) over the last axis through one gemm against a ones vector. */
function reduceLastAxis(op: string, tape: Tape, x: Variable, outShape: number[], rows: number, cols: number, mean: boolean): Variable {
  const rt = tape.rt;
  const alpha = mean ? 1 / cols : 1;
  const ones = tape.tensor([cols]);
  fillBuffer(rt, { value: 1, x: ones.ptr, n: cols });
  const y = output(tape, outShape, [x]);
  gemm(rt, { m: rows, n: 1, k: cols, alpha, a: x.ptr, b: ones.ptr, c: y.ptr }); // y [rows, 1] = x [rows, cols] . 1 [cols, 1]
  tape.record(op, () => {
    // dx [rows, cols] += alpha * dy [rows, 1] . 1 [1, cols]
    if (y.hasGrad && x.requiresGrad) gemm(rt, { m: rows, n: cols, k: 1, alpha, a: y.grad().ptr, b: ones.ptr, beta: 1, c: x.grad().ptr });
  });
  return y;
}

function lastAxis(op: string, tape: Tape, x: Variable, mean: boolean): Variable {
  const { rows, cols } = checkRowsInput(op, tape, x);
  return reduceLastAxis(op, tape, x, x.shape.length > 1 ? x.shape.slice(0, -1) : [1], rows, cols, mean);
}

/** Sum over the last axis: [..., N] -> [...] ([1] for a vector). */
export const sumLastAxis = (tape: Tape, x: Variable): Variable => lastAxis('sumLastAxis', tape, x, false);
/** Mean over the last axis: [..., N] -> [...] ([1] for a vector). */
export const meanLastAxis = (tape: Tape, x: Variable): Variable => lastAxis('meanLastAxis', tape, x, true);

function all(op: string, tape: Tape, x: Variable, mean: boolean): Variable {
  checkVariable(op, 'x', tape, x);
  if (x.size < 1) throw new ShapeError(`${op}: x must hold at least one value, got ${shapeText(x.shape)}`);
  return reduceLastAxis(op, tape, x, [1], 1, x.size, mean);
}

/** Sum of every value: any shape -> [1]. */
export const sumAll = (tape: Tape, x: Variable): Variable => all('sumAll', tape, x, false);
/** Mean of every value: any shape -> [1]. */
export const meanAll = (tape: Tape, x: Variable): Variable => all('meanAll', tape, x, true);

/**
 * Index of the largest value along the last axis (the first one on ties):
 * x [..., N] -> Int32Array of x.size / N. No gradient; nothing recorded.
 */
export function argmax(x: Variable): Int32Array {
  if (!(x instanceof Variable)) throw new TypeError(`argmax: x must be a Variable, got ${describe(x)}`);
  const N = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || !(N >= 1)) throw new ShapeError(`argmax: x must be [..., N] with N >= 1, got ${shapeText(x.shape)}`);
  return argmaxRows(x.value.view(), N);
}

/** Row argmax of host values [rows, n] (shared with the models' host-side sampling). */
export function argmaxRows(values: Float32Array, n: number): Int32Array {
  const rows = values.length / n;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = r * n;
    for (let j = r * n + 1; j < (r + 1) * n; j++) if (values[j] > values[best]) best = j;
    out[r] = best - r * n;
  }
  return out;
}
