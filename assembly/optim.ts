// Optimizer updates and gradient clipping, each one call over a whole flat
// block (params, grads and state share one layout: [n] float32).
// Formulas follow torch.optim (1.13, single-tensor path) operation by operation
// so that float32 results round the same way; the hyperparameters that depend
// on the step counter (bias corrections) are computed in f64 by TypeScript.
// Tails run the same vector formulas on lane 0 (splat, compute, extract), so
// an element's result does not depend on its position in the block.
import { scale_f32 } from "./elementwise";

// @ts-ignore: decorator
@inline
function lane0(v: v128): f32 {
  return f32x4.extract_lane(v, 0);
}

// p, g, buf: [n]
// torch.optim.SGD: d = g + weightDecay * p;
//   with momentum: buf = first ? d : momentum * buf + (1 - dampening) * d;
//                  d = nesterov ? d + momentum * buf : buf
//   p -= lr * d. buf is untouched (may be 0) when momentum == 0. g is read only.
export function sgd_step(
  p: usize, g: usize, buf: usize, n: i32,
  lr: f32, momentum: f32, dampening: f32, weightDecay: f32, nesterov: i32, first: i32,
): void {
  const vlr = f32x4.splat(lr), vwd = f32x4.splat(weightDecay);
  if (momentum == 0) {
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      v128.store(p + off, sgdPlain(v128.load(p + off), v128.load(g + off), vlr, vwd));
    }
    for (; i < n; i++) {
      const off = <usize>i << 2;
      store<f32>(p + off, lane0(sgdPlain(f32x4.splat(load<f32>(p + off)), f32x4.splat(load<f32>(g + off)), vlr, vwd)));
    }
    return;
  }
  const vmom = f32x4.splat(momentum), vdamp = f32x4.splat(<f32>1.0 - dampening);
  // Uniform lane masks instead of branches keep the loop body straight-line.
  const firstMask = i32x4.splat(first ? -1 : 0), nesterovMask = i32x4.splat(nesterov ? -1 : 0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const pv = v128.load(p + off);
    const d = f32x4.add(v128.load(g + off), f32x4.mul(vwd, pv));
    const b = v128.bitselect(d, f32x4.add(f32x4.mul(v128.load(buf + off), vmom), f32x4.mul(d, vdamp)), firstMask);
    v128.store(buf + off, b);
    const step = v128.bitselect(f32x4.add(d, f32x4.mul(b, vmom)), b, nesterovMask);
    v128.store(p + off, f32x4.sub(pv, f32x4.mul(vlr, step)));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const pv = f32x4.splat(load<f32>(p + off));
    const d = f32x4.add(f32x4.splat(load<f32>(g + off)), f32x4.mul(vwd, pv));
    const b = v128.bitselect(d, f32x4.add(f32x4.mul(f32x4.splat(load<f32>(buf + off)), vmom), f32x4.mul(d, vdamp)), firstMask);
    store<f32>(buf + off, lane0(b));
    const step = v128.bitselect(f32x4.add(d, f32x4.mul(b, vmom)), b, nesterovMask);
    store<f32>(p + off, lane0(f32x4.sub(pv, f32x4.mul(vlr, step))));
  }
}

// p - lr * (g + weightDecay * p)
// @ts-ignore: decorator
@inline
function sgdPlain(pv: v128, gv: v128, vlr: v128, vwd: v128): v128 {
  return f32x4.sub(pv, f32x4.mul(vlr, f32x4.add(gv, f32x4.mul(vwd, pv))));
}

// p, g, m, v: [n]
// torch.optim.Adam / AdamW:
//   p *= paramScale                      (AdamW: 1 - lr * weightDecay; Adam: 1)
//   d = g + l2Decay * p                  (Adam: weightDecay; AdamW: 0)
//   m = beta1 * m + (1 - beta1) * d
//   v = beta2 * v + (1 - beta2) * d * d
//   p -= stepSize * m / (sqrt(v) / bc2Sqrt + eps)
// with stepSize = lr / (1 - beta1^t), bc2Sqrt = sqrt(1 - beta2^t) from TypeScript.
// sqrt is correctly rounded (IEEE), so the only rounding differences from torch
// are the order of float32 operations, which we keep.
export function adam_step(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  beta1: f32, beta2: f32, stepSize: f32, bc2Sqrt: f32, eps: f32, l2Decay: f32, paramScale: f32,
): void {
  const vb1 = f32x4.splat(beta1), vb1c = f32x4.splat(<f32>1.0 - beta1);
  const vb2 = f32x4.splat(beta2), vb2c = f32x4.splat(<f32>1.0 - beta2);
  const vstep = f32x4.splat(stepSize), vbc2 = f32x4.splat(bc2Sqrt), veps = f32x4.splat(eps);
  const vl2 = f32x4.splat(l2Decay), vscale = f32x4.splat(paramScale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const pv = f32x4.mul(v128.load(p + off), vscale);
    const d = f32x4.add(v128.load(g + off), f32x4.mul(vl2, pv));
    const mv = f32x4.add(f32x4.mul(v128.load(m + off), vb1), f32x4.mul(d, vb1c));
    const vv = f32x4.add(f32x4.mul(v128.load(v + off), vb2), f32x4.mul(f32x4.mul(d, d), vb2c));
    v128.store(m + off, mv);
    v128.store(v + off, vv);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
    v128.store(p + off, f32x4.sub(pv, f32x4.mul(vstep, f32x4.div(mv, denom))));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const pv = f32x4.mul(f32x4.splat(load<f32>(p + off)), vscale);
    const d = f32x4.add(f32x4.splat(load<f32>(g + off)), f32x4.mul(vl2, pv));
    const mv = f32x4.add(f32x4.mul(f32x4.splat(load<f32>(m + off)), vb1), f32x4.mul(d, vb1c));
    const vv = f32x4.add(f32x4.mul(f32x4.splat(load<f32>(v + off)), vb2), f32x4.mul(f32x4.mul(d, d), vb2c));
    store<f32>(m + off, lane0(mv));
    store<f32>(v + off, lane0(vv));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
    store<f32>(p + off, lane0(f32x4.sub(pv, f32x4.mul(vstep, f32x4.div(mv, denom)))));
  }
}

// g: [n]
// Sum of g[i]^2 in f64: each f32 square is exact in f64 and the running sums
// carry 53 bits, so even blocks of 1e8 values lose under 1e-8 relative.
export function grad_sumsq(g: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = v128.load(g + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(x);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; i < n; i++) {
    const x = <f64>load<f32>(g + (<usize>i << 2));
    s += x * x;
  }
  return s;
}

// torch.nn.utils.clip_grad_norm_ coefficient: min(1, maxNorm / (norm + 1e-6)),
// NaN when the norm is NaN (torch's clamp keeps NaN).
// @ts-ignore: decorator
@inline
function clipCoef(norm: f64, maxNorm: f64): f64 {
  const c = maxNorm / (norm + 1e-6);
  return c >= 1.0 ? 1.0 : c;
}

// g: [n], one flat gradient block
// total = ||g||_2; g *= min(1, maxNorm / (total + 1e-6)); returns total.
// With scaleIfNonfinite == 0 a NaN or infinite total leaves g untouched (for
// torch's error_if_nonfinite, which TypeScript then raises).
export function clip_grad_norm(g: usize, n: i32, maxNorm: f32, scaleIfNonfinite: i32): f64 {
  const total = Math.sqrt(grad_sumsq(g, n));
  if (!isFinite(total) && scaleIfNonfinite == 0) return total;
  const c = clipCoef(total, <f64>maxNorm);
  if (c != 1.0) scale_f32(n, <f32>c, g);
  return total;
}

// list: [count, 2] i32 pairs (byte pointer, number of floats), one per tensor.
// One global norm over all tensors, then every tensor scaled by the same coef.
export function clip_grad_norm_list(list: usize, count: i32, maxNorm: f32, scaleIfNonfinite: i32): f64 {
  let sumsq: f64 = 0;
  for (let k = 0; k < count; k++) {
    const e = list + (<usize>k << 3);
    sumsq += grad_sumsq(<usize>load<i32>(e), load<i32>(e, 4));
  }
  const total = Math.sqrt(sumsq);
  if (!isFinite(total) && scaleIfNonfinite == 0) return total;
  const c = clipCoef(total, <f64>maxNorm);
  if (c == 1.0) return total;
  for (let k = 0; k < count; k++) {
    const e = list + (<usize>k << 3);
    scale_f32(load<i32>(e, 4), <f32>c, <usize>load<i32>(e));
  }
  return total;
}
