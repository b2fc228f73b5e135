// Shared by the layer, tape and model tests: float64 central differences and
// vector-Jacobian comparison.

/** d f / d v[i] for every i by central differences in float64. */
export function numericalGradient(f: () => number, v: Float64Array, eps = 1e-4): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + eps;
    const up = f();
    v[i] = keep - eps;
    const down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

/** Largest |a-b| / (atol + |b|) style error: |a-b| / max(scale, |b|) where scale is the largest |b|*0.01 floor. */
export function gradError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let refMax = 0;
  for (let i = 0; i < ref.length; i++) refMax = Math.max(refMax, Math.abs(ref[i]));
  const floor = Math.max(1e-3, refMax * 1e-2);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / Math.max(floor, Math.abs(ref[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

/** sum_i r[i] * y[i] in float64. */
export function dot(r: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i] * y[i];
  return s;
}

/** Seeded uniform in [0,1) as an InitRandom-compatible source (mulberry32). */
export function testRandom(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform: next,
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}
