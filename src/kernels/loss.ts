/**
 * Row softmax, log-softmax and softmax cross-entropy over wasm memory.
 * Matrices are row-major [rows, cols] float32 with one row stride ld (elements,
 * default cols) shared by every matrix of a call; pointers are byte offsets.
 *
 *   softmaxForward(rt, { x, y, rows, cols, ld?, mask? })
 *       y = softmax of each row; mask ([rows, cols] float32 of 0/1): entries with
 *       mask 0 get weight exactly 0 and every row needs at least one 1.
 *   softmaxBackward(rt, { y, dy, dx, rows, cols, ld? })   dx = y * (dy - sum(dy * y))
 *   logSoftmaxForward(rt, { x, y, rows, cols, ld? })      y = x - logsumexp(x)
 *   logSoftmaxBackward(rt, { y, dy, dx, rows, cols, ld? }) dx = dy - exp(y) * sum(dy)
 *   softmaxCrossEntropy(rt, { logits, targets, dlogits, rows, cols, ld?, rowMask?,
 *                             ignoreIndex? = -100, reduction? = 'mean' }) -> loss
 *       torch.nn.functional.cross_entropy over rows with Int32 class ids; rows with
 *       rowMask 0 ([rows] float32 of 0/1) or target == ignoreIndex do not count.
 *       'mean' divides by the number of counted rows (torch would give NaN when
 *       none counts; this returns 0 with zero gradients). dlogits gets
 *       d(loss)/d(logits) in the same pass.
 *
 * Accuracy: exp has relative error <= ~2e-7 (assembly/math.ts); softmax weights
 * and log-probabilities carry that plus float32 summation error (see assembly/loss.ts).
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkLeadingDim, checkVector, matrixBytes } from './elementwise.js';

interface RowsArgs {
  rows: number;
  cols: number;
  ld?: number;
}

function checkRows(name: string, args: RowsArgs): { rows: number; cols: number; ld: number } {
  const rows = checkSize(`${name} rows`, args.rows);
  const cols = checkSize(`${name} cols`, args.cols, 1);
  const ld = checkLeadingDim(`${name} ld`, args.ld, cols);
  return { rows, cols, ld };
}

export interface SoftmaxForwardArgs extends RowsArgs {
  x: number;
  y: number;
  /** optional [rows, cols] float32 mask of 0 (excluded) and 1 (kept), same stride ld */
  mask?: number;
}

export function softmaxForward(rt: Runtime, args: SoftmaxForwardArgs): void {
  const { rows, cols, ld } = checkRows('softmaxForward', args);
  const bytes = matrixBytes(rows, cols, ld);
  rt.mem.checkRange('softmaxForward x', args.x, bytes);
  rt.mem.checkRange('softmaxForward y', args.y, bytes);
  let mask = 0;
  if (args.mask !== undefined) {
    rt.mem.checkRange('softmaxForward mask', args.mask, bytes);
    if (args.mask === 0) throw new RangeError('softmaxForward mask: pointer 0 is not an allocation (omit mask for none)');
    mask = args.mask;
    const m = rt.mem.f32(mask, bytes / 4);
    for (let r = 0; r < rows; r++) {
      let valid = 0;
      for (let j = 0; j < cols; j++) {
        const v = m[r * ld + j];
        if (v !== 0 && v !== 1) {
          throw new RangeError(`softmaxForward mask[${r}, ${j}] must be 0 or 1, got ${v}`);
        }
        valid += v;
      }
      if (valid === 0) {
        throw new RangeError(`softmaxForward mask row ${r} has no valid entry (every row needs at least one 1)`);
      }
    }
  }
  rt.exports.softmax_forward(args.x, args.y, mask, ld, rows, cols);
}

export interface RowsBackwardArgs extends RowsArgs {
  /** the saved forward output */
  y: number;
  dy: number;
  dx: number;
}

function rowsBackward(rt: Runtime, name: string, kernel: 'softmax_backward' | 'log_softmax_backward', args: RowsBackwardArgs): void {
  const { rows, cols, ld } = checkRows(name, args);
  const bytes = matrixBytes(rows, cols, ld);
  rt.mem.checkRange(`${name} y`, args.y, bytes);
  rt.mem.checkRange(`${name} dy`, args.dy, bytes);
  rt.mem.checkRange(`${name} dx`, args.dx, bytes);
  rt.exports[kernel](args.y, args.dy, args.dx, ld, rows, cols);
}

export function softmaxBackward(rt: Runtime, args: RowsBackwardArgs): void {
  rowsBackward(rt, 'softmaxBackward', 'softmax_backward', args);
}

export function logSoftmaxForward(rt: Runtime, args: RowsArgs & { x: number; y: number }): void {
  const { rows, cols, ld } = checkRows('logSoftmaxForward', args);
  const bytes = matrixBytes(rows, cols, ld);
  rt.mem.checkRange('logSoftmaxForward x', args.x, bytes);
  rt.mem.checkRange('logSoftmaxForward y', args.y, bytes);
  rt.exports.log_softmax_forward(args.x, args.y, ld, rows, cols);
}

export function logSoftmaxBackward(rt: Runtime, args: RowsBackwardArgs): void {
  rowsBackward(rt, 'logSoftmaxBackward', 'log_softmax_backward', args);
}

export interface SoftmaxCrossEntropyArgs extends RowsArgs {
  /** [rows, cols] float32 */
  logits: number;
  /** [rows] Int32 class ids in [0, cols) (or ignoreIndex) */
  targets: number;
  /** [rows, cols] float32, written */
  dlogits: number;
  /** optional [rows] float32 of 0 (row skipped) and 1 (row counts) */
  rowMask?: number;
  /** targets equal to this do not count (torch default -100) */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum';
}

/** Returns the loss and writes dlogits (the gradient of that loss). */
export function softmaxCrossEntropy(rt: Runtime, args: SoftmaxCrossEntropyArgs): number {
  const name = 'softmaxCrossEntropy';
  const { rows, cols, ld } = checkRows(name, args);
  const ignoreIndex = args.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) || ignoreIndex >= 2 ** 31) {
    throw new RangeError(`${name} ignoreIndex must be a 32-bit integer, got ${ignoreIndex}`);
  }
  const reduction = args.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new RangeError(`${name} reduction must be 'mean' or 'sum', got ${String(reduction)}`);
  }
  const bytes = matrixBytes(rows, cols, ld);
  rt.mem.checkRange(`${name} logits`, args.logits, bytes);
  rt.mem.checkRange(`${name} dlogits`, args.dlogits, bytes);
  rt.mem.checkRange(`${name} targets`, args.targets, rows * 4);
  let rowMask = 0;
  let mask: Float32Array | undefined;
  if (args.rowMask !== undefined) {
    if (args.rowMask === 0) throw new RangeError(`${name} rowMask: pointer 0 is not an allocation (omit rowMask for none)`);
    checkVector(rt, `${name} rowMask`, args.rowMask, rows);
    rowMask = args.rowMask;
    mask = rt.mem.f32(rowMask, rows);
    for (let r = 0; r < rows; r++) {
      if (mask[r] !== 0 && mask[r] !== 1) throw new RangeError(`${name} rowMask[${r}] must be 0 or 1, got ${mask[r]}`);
    }
  }
  const targets = rt.mem.i32(args.targets, rows);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex || (mask && mask[r] === 0)) continue;
    if (t < 0 || t >= cols) {
      throw new RangeError(
        `${name} targets[${r}] = ${t} is out of range: class ids must lie in [0, ${cols}) or equal ignoreIndex ${ignoreIndex}`,
      );
    }
  }
  return rt.exports.softmax_cross_entropy(
    args.logits, args.targets, rowMask, ignoreIndex, args.dlogits, ld, rows, cols, reduction === 'mean' ? 1 : 0,
  );
}
