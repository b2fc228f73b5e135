/**
 * Plain TypeScript references for src/kernels/loss.ts: row softmax (with an
 * optional mask, nonzero = valid), log-softmax, and softmax cross-entropy with
 * integer targets. Double precision math; rows have stride ld (elements).
 */
import type { Floats } from './elementwise.js';

export function softmaxReference(
  x: ArrayLike<number>, y: Floats, mask: ArrayLike<number> | null, ld: number, rows: number, cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ld;
    const valid = (j: number) => mask === null || mask[o + j] !== 0;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (valid(j)) m = Math.max(m, x[o + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) if (valid(j)) s += Math.exp(x[o + j] - m);
    for (let j = 0; j < cols; j++) y[o + j] = valid(j) ? Math.exp(x[o + j] - m) / s : 0;
  }
}

export function softmaxBackwardReference(
  y: ArrayLike<number>, dy: ArrayLike<number>, dx: Floats, ld: number, rows: number, cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ld;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += y[o + j] * dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

export function logSoftmaxReference(x: ArrayLike<number>, y: Floats, ld: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ld;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[o + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) y[o + j] = x[o + j] - lse;
  }
}

export function logSoftmaxBackwardReference(
  y: ArrayLike<number>, dy: ArrayLike<number>, dx: Floats, ld: number, rows: number, cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ld;
    let s = 0;
    for (let j = 0; j < cols; j++) s += dy[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - Math.exp(y[o + j]) * s;
  }
}

/**
 * Cross-entropy of softmax(logits[r]) against targets[r], over the rows that
 * count (rowMask[r] != 0 and targets[r] != ignoreIndex); mean over them or sum.
 * Writes dlogits (zero on rows that do not count); returns the loss (0 if no row counts).
 */
export function softmaxCrossEntropyReference(
  logits: ArrayLike<number>, targets: ArrayLike<number>, rowMask: ArrayLike<number> | null, ignoreIndex: number,
  dlogits: Floats | null, ld: number, rows: number, cols: number, mean: boolean,
): number {
  const counts = (r: number) => (rowMask === null || rowMask[r] !== 0) && targets[r] !== ignoreIndex;
  let count = 0;
  for (let r = 0; r < rows; r++) if (counts(r)) count++;
  const w = mean && count > 0 ? 1 / count : 1;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * ld;
    if (!counts(r)) {
      if (dlogits) for (let j = 0; j < cols; j++) dlogits[o + j] = 0;
      continue;
    }
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, logits[o + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(logits[o + j] - m);
    const t = targets[r];
    total += m + Math.log(s) - logits[o + t];
    if (dlogits) {
      for (let j = 0; j < cols; j++) dlogits[o + j] = (Math.exp(logits[o + j] - m) / s - (j === t ? 1 : 0)) * w;
    }
  }
  return mean ? (count > 0 ? total / count : 0) : total;
}
