import { describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';

const EXP = 0, SIGMOID = 1, TANH = 2;
const sigmoidRef = (x: number) => 1 / (1 + Math.exp(-x));

// Runs math_eval_f32 (y[i] = f(x[i]) through the SIMD code every kernel uses) over xs.
async function evalMath(build: (typeof BUILDS)[number], which: number, xs: ArrayLike<number>): Promise<Float32Array> {
  const rt = await runtimeFor(build);
  const n = xs.length;
  const px = rt.mem.alloc(n * 4), py = rt.mem.alloc(n * 4);
  rt.mem.f32(px, n).set(xs);
  rt.exports.math_eval_f32(which, px, py, n);
  return rt.mem.f32(py, n).slice();
}

// The SIMD transcendentals every kernel uses: their worst error over a dense grid.
describe.each(BUILDS)('vector math (%s build)', (build) => {
  const n = 200001;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = -40 + (80 * i) / (n - 1);
  const cases: [string, number, (x: number) => number, number][] = [
    ['exp (relative)', EXP, Math.exp, 4e-7],
    ['sigmoid', SIGMOID, sigmoidRef, 2e-7],
    ['tanh', TANH, Math.tanh, 2e-7],
  ];
  for (const [name, which, ref, tol] of cases) {
    it(`${name} within ${tol}`, async () => {
      const y = await evalMath(build, which, xs);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const r = ref(xs[i]);
        const err = which === EXP ? Math.abs(y[i] - r) / r : Math.abs(y[i] - r);
        worst = Math.max(worst, err);
      }
      expect(worst).toBeLessThan(tol);
    });
  }

  // The edge cases the 2^z forms of sigmoid and tanh rely on (clamps, the 2^n bit trick
  // giving 0 and +inf, the sign copy, the expm1-style numerator).
  const huge = [40.5, 50, 87, 88.5, 89, 100, 1e4, 1e30, 3.4e38, Infinity];
  const edges = [0, ...huge, ...huge.map((v) => -v)];

  it('sigmoid at 0, large |x| and +-inf', async () => {
    const y = await evalMath(build, SIGMOID, edges);
    expect(y[0]).toBe(0.5);
    for (let i = 0; i < edges.length; i++) expect(Math.abs(y[i] - sigmoidRef(edges[i]))).toBeLessThan(2e-7);
    expect(y[edges.indexOf(Infinity)]).toBe(1);
    expect(y[edges.indexOf(-Infinity)]).toBe(0);
    expect(y[edges.indexOf(-3.4e38)]).toBe(0);
  });

  it('tanh at +-0, large |x| and +-inf', async () => {
    const y = await evalMath(build, TANH, [...edges, -0]);
    expect(Object.is(y[0], 0)).toBe(true);
    expect(Object.is(y[edges.length], -0)).toBe(true);
    for (let i = 1; i < edges.length; i++) expect(y[i]).toBe(Math.sign(edges[i]));
  });

  it('NaN in, NaN out', async () => {
    for (const which of [SIGMOID, TANH]) {
      const y = await evalMath(build, which, [NaN, -NaN, 1, NaN]);
      expect([Number.isNaN(y[0]), Number.isNaN(y[1]), Number.isNaN(y[2]), Number.isNaN(y[3])]).toEqual([true, true, false, true]);
    }
  });

  it('tanh is odd, bit for bit', async () => {
    const pos = xs.filter((v) => v > 0);
    const y = await evalMath(build, TANH, pos);
    const yn = await evalMath(build, TANH, pos.map((v) => -v));
    let mismatches = 0;
    for (let i = 0; i < pos.length; i++) if (!Object.is(yn[i], -y[i])) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('tanh(x) ~ x for tiny |x| (relative error within 4e-7)', async () => {
    const tiny: number[] = [];
    for (let e = -30; e <= -3; e += 0.01) tiny.push(10 ** e, -(10 ** e));
    const x32 = Float32Array.from(tiny);
    const y = await evalMath(build, TANH, x32);
    let worst = 0;
    for (let i = 0; i < x32.length; i++) worst = Math.max(worst, Math.abs(y[i] / Math.tanh(x32[i]) - 1));
    expect(worst).toBeLessThan(4e-7);
  });
});
