/**
 * Activation kernels over wasm memory (flat float32 buffers of n values,
 * byte pointers). Backward passes take the saved forward output y and write dx
 * (dx may alias dy; y may alias x in the forward).
 *
 *   sigmoidForward(rt, { x, y, n })        y = 1 / (1 + exp(-x))
 *   sigmoidBackward(rt, { y, dy, dx, n })  dx = dy * y * (1 - y)
 *   tanhForward(rt, { x, y, n })           y = tanh(x)
 *   tanhBackward(rt, { y, dy, dx, n })     dx = dy * (1 - y^2)
 *   reluForward(rt, { x, y, n })           y = max(x, 0)
 *   reluBackward(rt, { y, dy, dx, n })     dx = y > 0 ? dy : 0
 *
 * Accuracy: sigmoid and tanh are within 2e-7 absolute of the exact functions
 * (assembly/math.ts, test/math.test.ts).
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkVector } from './elementwise.js';

export interface ActivationForwardArgs {
  x: number;
  y: number;
  n: number;
}

export interface ActivationBackwardArgs {
  /** the saved forward output */
  y: number;
  dy: number;
  dx: number;
  n: number;
}

function forward(rt: Runtime, name: string, kernel: 'sigmoid_forward' | 'tanh_forward' | 'relu_forward', args: ActivationForwardArgs): void {
  const n = checkSize(`${name} n`, args.n);
  checkVector(rt, `${name} x`, args.x, n);
  checkVector(rt, `${name} y`, args.y, n);
  rt.exports[kernel](args.x, args.y, n);
}

function backward(rt: Runtime, name: string, kernel: 'sigmoid_backward' | 'tanh_backward' | 'relu_backward', args: ActivationBackwardArgs): void {
  const n = checkSize(`${name} n`, args.n);
  checkVector(rt, `${name} y`, args.y, n);
  checkVector(rt, `${name} dy`, args.dy, n);
  checkVector(rt, `${name} dx`, args.dx, n);
  rt.exports[kernel](args.y, args.dy, args.dx, n);
}

export const sigmoidForward = (rt: Runtime, args: ActivationForwardArgs): void =>
  forward(rt, 'sigmoidForward', 'sigmoid_forward', args);
export const sigmoidBackward = (rt: Runtime, args: ActivationBackwardArgs): void =>
  backward(rt, 'sigmoidBackward', 'sigmoid_backward', args);
export const tanhForward = (rt: Runtime, args: ActivationForwardArgs): void =>
  forward(rt, 'tanhForward', 'tanh_forward', args);
export const tanhBackward = (rt: Runtime, args: ActivationBackwardArgs): void =>
  backward(rt, 'tanhBackward', 'tanh_backward', args);
export const reluForward = (rt: Runtime, args: ActivationForwardArgs): void =>
  forward(rt, 'reluForward', 'relu_forward', args);
export const reluBackward = (rt: Runtime, args: ActivationBackwardArgs): void =>
  backward(rt, 'reluBackward', 'relu_backward', args);
