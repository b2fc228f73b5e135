// Vector math shared by every kernel (not exported from the module).
// exp follows the Cephes expf recipe: 2^n * p(r) with r = x - n*ln2 split in
// two parts, then a degree-5 polynomial; max relative error about 3e-7 over [-87, 88] (test/math.test.ts).
// tanh and sigmoid are built on it; scalar tails call the same vector code on
// lane 0 so that tails and bodies agree bit for bit.

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

// exp(-x) without negating x (a negation costs V8 three instructions): exp_f32x4's steps
// with the sign folded into the constants, s = -r, and the polynomial's odd coefficients
// negated; every intermediate is exactly the negation of exp_f32x4(-x)'s, so the results
// are bit-identical. nonNegative: the caller guarantees x >= 0 (one clamp less).
// @ts-ignore: decorator
@inline
function exp_neg_f32x4(x: v128, nonNegative: bool = false): v128 {
  x = f32x4.pmin(f32x4.splat(87.33654), x);
  if (!nonNegative) x = f32x4.pmax(f32x4.splat(-88.37626), x);
  const magic = f32x4.splat(12582912.0);
  const t = madd(x, f32x4.splat(-1.44269504088896341), magic);
  const n = f32x4.sub(t, magic);
  let s = f32x4.add(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  s = f32x4.add(s, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(-8.312507532536983e-3);
  p = madd(p, s, f32x4.splat(4.189034178853035e-2));
  p = madd(p, s, f32x4.splat(-1.6667115688323975e-1));
  p = madd(p, s, f32x4.splat(4.99992311000824e-1));
  const y = f32x4.sub(f32x4.splat(1.0), nmadd(p, f32x4.mul(s, s), s));
  const e = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(y, e);
}

// 1 / (1 + exp(-x))
// @ts-ignore: decorator
@inline
export function sigmoid_f32x4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, exp_neg_f32x4(x)));
}

// sign(x) * (1 - e) / (1 + e), e = exp(-2|x|): never overflows.
// @ts-ignore: decorator
@inline
export function tanh_f32x4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  const ax = f32x4.abs(x);
  const e = exp_neg_f32x4(f32x4.add(ax, ax), true);
  const t = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  // Copy the sign bit of x onto t.
  const signBit = v128.and(x, i32x4.splat(0x80000000));
  return v128.or(t, signBit);
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
