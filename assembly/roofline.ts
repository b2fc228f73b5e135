// Register-only compute peak, the denominator of every bench's "% of peak".
import { madd } from "./math";

// roofline_f32x4(iters) -> f32
// 12 independent accumulator chains, each `acc = acc*m + c` per iteration:
// 12 chains cover the latency of mul+add (SIMD build, ~6 cycles) and of a
// fused madd (relaxed build, ~4 cycles) at two madds per cycle, and leave
// registers for m, c and a temporary (x64 has 16 xmm). The chains converge to
// c/(1-m), so values stay normal (no denormal slowdowns). Flops per call:
// iters * 12 chains * 4 lanes * 2 (multiply and add). The lane sum is returned
// so that nothing can be optimised away.
export function roofline_f32x4(iters: i32): f32 {
  // one == 1 at run time, but the optimiser cannot see it: this keeps m and c
  // in registers instead of re-materialised v128 constants inside the loop.
  const one = <f32>(iters | 1) / <f32>(iters | 1);
  const m = f32x4.splat(0.999 * one);
  const c = f32x4.splat(0.001 * one);
  let a0 = f32x4.splat(0.1), a1 = f32x4.splat(0.2), a2 = f32x4.splat(0.3), a3 = f32x4.splat(0.4);
  let a4 = f32x4.splat(0.5), a5 = f32x4.splat(0.6), a6 = f32x4.splat(0.7), a7 = f32x4.splat(0.8);
  let a8 = f32x4.splat(0.9), a9 = f32x4.splat(1.0), a10 = f32x4.splat(1.1), a11 = f32x4.splat(1.2);
  for (let i = 0; i < iters; i++) {
    a0 = madd(a0, m, c); a1 = madd(a1, m, c); a2 = madd(a2, m, c); a3 = madd(a3, m, c);
    a4 = madd(a4, m, c); a5 = madd(a5, m, c); a6 = madd(a6, m, c); a7 = madd(a7, m, c);
    a8 = madd(a8, m, c); a9 = madd(a9, m, c); a10 = madd(a10, m, c); a11 = madd(a11, m, c);
  }
  const s = f32x4.add(
    f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7))),
    f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)),
  );
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
