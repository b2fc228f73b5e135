/**
 * Straightforward TypeScript versions of torch.optim.SGD, Adam, AdamW and
 * torch.nn.utils.clip_grad_norm_ (double precision math), written from the
 * formulas in the PyTorch documentation, to test src/kernels/optim.ts against.
 */
import type { Floats } from './elementwise.js';

export interface SgdReferenceOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** One SGD step; `state.buf` is created on the first step when momentum != 0. */
export function sgdStepReference(
  params: Floats, grads: ArrayLike<number>, state: { buf?: Float64Array }, o: SgdReferenceOptions,
): void {
  const first = state.buf === undefined;
  if (o.momentum !== 0) state.buf ??= new Float64Array(params.length);
  for (let i = 0; i < params.length; i++) {
    let d = grads[i] + o.weightDecay * params[i];
    if (o.momentum !== 0) {
      const buf = state.buf!;
      buf[i] = first ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
    }
    params[i] -= o.lr * d;
  }
}

export interface AdamReferenceOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW (decoupled weight decay); false: Adam (L2 added to the gradient). */
  decoupled: boolean;
}

/** One Adam/AdamW step with bias correction; `state.t` counts steps. */
export function adamStepReference(
  params: Floats, grads: ArrayLike<number>, state: { m?: Float64Array; v?: Float64Array; t?: number },
  o: AdamReferenceOptions,
): void {
  const n = params.length;
  state.m ??= new Float64Array(n);
  state.v ??= new Float64Array(n);
  const t = (state.t = (state.t ?? 0) + 1);
  const bc1 = 1 - Math.pow(o.beta1, t);
  const bc2 = 1 - Math.pow(o.beta2, t);
  for (let i = 0; i < n; i++) {
    if (o.decoupled) params[i] *= 1 - o.lr * o.weightDecay;
    const g = o.decoupled ? grads[i] : grads[i] + o.weightDecay * params[i];
    state.m[i] = o.beta1 * state.m[i] + (1 - o.beta1) * g;
    state.v[i] = o.beta2 * state.v[i] + (1 - o.beta2) * g * g;
    const mHat = state.m[i] / bc1;
    const vHat = state.v[i] / bc2;
    // torch: eps is added after the square root (of the bias-corrected second moment).
    params[i] -= (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
  }
}

/** clip_grad_norm_(norm_type=2): one global norm over all tensors; returns it. */
export function clipGradNormReference(grads: Floats[], maxNorm: number): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  const total = Math.sqrt(s);
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return total;
}
