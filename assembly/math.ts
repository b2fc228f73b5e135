// Vector math shared by every kernel (not exported from the module).
// exp follows the Cephes expf recipe: 2^n * p(r) with r = x - n*ln2 split in
// two parts, then a degree-5 polynomial; max relative error about 3e-7 over [-87, 88] (test/math.test.ts).
// sigmoid and tanh use a shorter 2^z form (below); max absolute error ~1.1e-7 (bound tested: 2e-7).
// Scalar tails call the same vector code on lane 0 so that tails and bodies agree bit for bit.

// a*b + c: fused (relaxed_madd) in the relaxed build, mul+add in the SIMD build.
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

// @ts-ignore: decorator
@inline
export function exp_f32x4(x: v128, nonPositive: bool = false): v128 {
  // pmin/pmax map to single minps/maxps (wasm's min/max need NaN fix-ups);
  // operand order makes a NaN x come out as NaN. (nonPositive: the caller guarantees
  // x <= 0, e.g. tanh's -2|x|, so the upper clamp is skipped.)
  x = f32x4.pmax(f32x4.splat(-87.33654), x);
  if (!nonPositive) x = f32x4.pmin(f32x4.splat(88.37626), x);
  // Round x*log2(e) to the nearest integer n by adding 1.5*2^23: n then sits
  // in the low mantissa bits, which also gives the integer without a
  // (slow) float-to-int conversion.
  const magic = f32x4.splat(12582912.0);
  const t = madd(x, f32x4.splat(1.44269504088896341), magic);
  const n = f32x4.sub(t, magic);
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  // Degree-5 polynomial (relative-error fit on [-ln2/2, ln2/2], ~1e-7 before rounding).
  let p = f32x4.splat(8.312507532536983e-3);
  p = madd(p, r, f32x4.splat(4.189034178853035e-2));
  p = madd(p, r, f32x4.splat(1.6667115688323975e-1));
  p = madd(p, r, f32x4.splat(4.99992311000824e-1));
  const r2 = f32x4.mul(r, r);
  const y = f32x4.add(madd(p, r2, r), f32x4.splat(1.0));
  // 2^n: the bits of t are those of magic (0x4B400000, low 9 bits zero) plus n (in
  // [-126, 127] after the clamp); adding the exponent bias and shifting left by 23 drops
  // magic's bits and leaves (n + 127) in the exponent field.
  const e = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(y, e);
}

// c - a*b: fused (relaxed_nmadd) in the relaxed build.
// @ts-ignore: decorator
@inline
function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_nmadd(a, b, c);
  } else {
    return f32x4.sub(c, f32x4.mul(a, b));
  }
}

// sigmoid and tanh are built on 2^z = 2^n * 2^f (n = round(z), f = z - n in [-0.5, 0.5]) with
// 2^f - 1 = f * r(f), r of degree 5 evaluated in Estrin's form. z comes from one multiply
// (no two-step range reduction: the rounding of z moves the result by at most ~0.4 ulp
// here), which keeps each vector's dependency chain short.
//
// V8 (TurboFan, Node 20) builds each v128 constant with three instructions at the common
// dominator of its uses: a loop that is the only user rebuilds them in every iteration,
// while code with two loops using the same math (a vector loop and its tail, or two tanh
// loops) gets them built once in front. The cell kernels are laid out for that.

// t = z + 1.5*2^23 + 127 rounds z to the nearest integer n and leaves n + 127 in the low
// mantissa bits of t (|z| < 2^22).
// @ts-ignore: decorator
@inline
function exp2_round(z: v128): v128 {
  return f32x4.add(z, f32x4.splat(12583039.0));
}

// 2^n from t = exp2_round(z): shifting n + 127 into the exponent field drops the rest of
// t's bits. n = -127 gives +0 and n = 128 gives +inf, which the callers rely on.
// @ts-ignore: decorator
@inline
function exp2_scale(t: v128): v128 {
  return i32x4.shl(t, 23);
}

// f = z - n for t = exp2_round(z) (exact).
// @ts-ignore: decorator
@inline
function exp2_f(z: v128, t: v128): v128 {
  return f32x4.sub(z, f32x4.sub(t, f32x4.splat(12583039.0)));
}

// 2^f - 1 = f * r(f) for f in [-0.5, 0.5]: r of degree 5, a minimax fit of relative error
// 2.1e-8 (float32 coefficients), so that the result keeps its relative accuracy as f -> 0
// (tanh of tiny x).
// @ts-ignore: decorator
@inline
function exp2m1_poly(f: v128): v128 {
  const f2 = f32x4.mul(f, f);
  const lo = madd(f32x4.splat(0.24022649), f, f32x4.splat(0.6931472));
  const mid = madd(f32x4.splat(0.009618238), f, f32x4.splat(0.055503573));
  const hi = madd(f32x4.splat(0.00015403512), f, f32x4.splat(0.0013390735));
  return madd(f32x4.mul(f2, f), madd(f2, hi, mid), f32x4.mul(f, lo));
}

// 2^f for f in [-0.5, 0.5]: 1 + degree-5 polynomial, relative error 1.1e-7 (float32
// coefficients); sigmoid needs no more (its error is at most a quarter of it) and this
// is two operations shorter than 1 + exp2m1_poly.
// @ts-ignore: decorator
@inline
function exp2_poly(f: v128): v128 {
  const f2 = f32x4.mul(f, f);
  const a = madd(f32x4.splat(0.693147), f, f32x4.splat(1.0));
  const b = madd(f32x4.splat(0.055507336), f, f32x4.splat(0.24022242));
  const c = madd(f32x4.splat(0.0013264727), f, f32x4.splat(0.009671513));
  return madd(f32x4.mul(f2, f2), c, madd(f2, b, a));
}

// 1 / (1 + 2^z), z = -x*log2(e) clamped to [-127, 128]: 2^z is then exactly 0 for
// x >= ~88 (result 1) and +inf for x <= ~-88.7 (result 0); NaN stays NaN (operand order).
// @ts-ignore: decorator
@inline
export function sigmoid_f32x4(x: v128): v128 {
  let z = f32x4.mul(x, f32x4.splat(-1.4426950408889634));
  z = f32x4.pmin(f32x4.pmax(z, f32x4.splat(-127.0)), f32x4.splat(128.0));
  const t = exp2_round(z);
  const one = f32x4.splat(1.0);
  return f32x4.div(one, madd(exp2_scale(t), exp2_poly(exp2_f(z, t)), one));
}

// sign(x) * (1 - e) / (1 + e), e = 2^z = exp(-2|x|), written with q = 2^f - 1 and s = 2^n as
// (1 - s - s*q) / (1 + s + s*q) so that tiny |x| keeps its relative accuracy (n = 0: the
// numerator is exactly -q). z >= -64: e is then below half an ulp of 1 and the result is 1.
// |x| and the sign bit through a -0.0 mask: one instruction each (f32x4.abs builds its
// mask in-line).
// @ts-ignore: decorator
@inline
export function tanh_f32x4(x: v128): v128 {
  const signBit = f32x4.splat(-0.0);
  const z = f32x4.pmax(f32x4.mul(v128.andnot(x, signBit), f32x4.splat(-2.8853900817779268)), f32x4.splat(-64.0));
  const t = exp2_round(z);
  const s = exp2_scale(t);
  const q = exp2m1_poly(exp2_f(z, t));
  const one = f32x4.splat(1.0);
  const r = f32x4.div(nmadd(s, q, f32x4.sub(one, s)), madd(s, q, f32x4.add(one, s)));
  // Copy the sign bit of x onto r (r >= 0, or NaN).
  return v128.or(r, v128.and(x, signBit));
}

// @ts-ignore: decorator
@inline
export function exp_f32(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline
export function sigmoid_f32(x: f32): f32 {
  return f32x4.extract_lane(sigmoid_f32x4(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline
export function tanh_f32(x: f32): f32 {
  return f32x4.extract_lane(tanh_f32x4(f32x4.splat(x)), 0);
}

// a[j] = sigmoid(a[j] + b[j] (+ c[j] if c != 0)) for j in [0, n): the gate activations of
// the recurrent cells, computed in a loop of their own rather than inside a cell body that
// also runs tanh: one transcendental per loop leaves V8 registers enough to keep every
// value of an iteration in them (the fused bodies spilled). The tail runs the same vector
// code on lane 0, so a unit's result does not depend on its position (and, using the same
// constants, gets them built once in front of both loops).
export function sigmoid_gate_rows(a: usize, b: usize, c: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const jo = <usize>j << 2;
    let v = f32x4.add(v128.load(a + jo), v128.load(b + jo));
    if (c != 0) v = f32x4.add(v, v128.load(c + jo));
    v128.store(a + jo, sigmoid_f32x4(v));
  }
  for (; j < n; j++) {
    const jo = <usize>j << 2;
    let v = load<f32>(a + jo) + load<f32>(b + jo);
    if (c != 0) v += load<f32>(c + jo);
    store<f32>(a + jo, sigmoid_f32(v));
  }
}
