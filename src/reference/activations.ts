/**
 * Plain TypeScript references for src/kernels/activations.ts (double
 * precision math, Float32Array or Float64Array outputs). Backward passes take
 * the saved forward output y, like the kernels.
 */
import type { Floats } from './elementwise.js';

export function sigmoidReference(x: ArrayLike<number>, y: Floats): void {
  for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
}

export function sigmoidBackwardReference(y: ArrayLike<number>, dy: ArrayLike<number>, dx: Floats): void {
  for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
}

export function tanhReference(x: ArrayLike<number>, y: Floats): void {
  for (let i = 0; i < y.length; i++) y[i] = Math.tanh(x[i]);
}

export function tanhBackwardReference(y: ArrayLike<number>, dy: ArrayLike<number>, dx: Floats): void {
  for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
}

export function reluReference(x: ArrayLike<number>, y: Floats): void {
  for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

export function reluBackwardReference(y: ArrayLike<number>, dy: ArrayLike<number>, dx: Floats): void {
  for (let i = 0; i < dx.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}
