// Register-only compute peak, the denominator of every bench's "% of peak".
import { madd } from "./math";

// roofline_f32x4(iters) -> f32
// The best case of a GEMM inner loop: per iteration 8 independent
// multiply-adds acc_ij += x_i * y_j whose products do not depend on the
// accumulators (as in a GEMM, where A and B values are loaded), so only the
// add (SIMD build, 3 cycles) or the fused madd (relaxed build, 4 cycles) is on
// each chain, and 8 chains keep two madd units busy. x_0 and x_1 are loaded
// from memory in every iteration (2 loads per 8 madds; the load ports are
// otherwise idle): constant or recomputable inputs would be hoisted out of the
// loop by V8, and flipping a sign in registers costs a vector add slot
// (measured 10% lower in the SIMD build). 8 accumulators + 4 y + 2 x + 1 mul
// temporary = 15 xmm registers.
// Flops per call: iters * 8 madds * 4 lanes * 2. The lane sum is returned so
// that nothing can be optimised away; the sums grow by at most 0.002 per
// iteration, far from overflow.
// y0..y3, x0, x1 as f32x4 each.
const ROOFLINE_INPUTS = memory.data<f32>([
  0.001, 0.001, 0.001, 0.001, -0.002, -0.002, -0.002, -0.002,
  0.003, 0.003, 0.003, 0.003, -0.004, -0.004, -0.004, -0.004,
  0.5, 0.5, 0.5, 0.5,
  -0.25, -0.25, -0.25, -0.25,
], 16);

export function roofline_f32x4(iters: i32): f32 {
  // y is loaded once, before the loop: v128 constants (or values the
  // compiler can recompute) get re-materialised inside the loop.
  const y0 = v128.load(ROOFLINE_INPUTS), y1 = v128.load(ROOFLINE_INPUTS, 16);
  const y2 = v128.load(ROOFLINE_INPUTS, 32), y3 = v128.load(ROOFLINE_INPUTS, 48);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  for (let i = 0; i < iters; i++) {
    const x0 = v128.load(ROOFLINE_INPUTS, 64);
    const x1 = v128.load(ROOFLINE_INPUTS, 80);
    a0 = madd(x0, y0, a0); a1 = madd(x0, y1, a1);
    a2 = madd(x0, y2, a2); a3 = madd(x0, y3, a3);
    a4 = madd(x1, y0, a4); a5 = madd(x1, y1, a5);
    a6 = madd(x1, y2, a6); a7 = madd(x1, y3, a7);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
