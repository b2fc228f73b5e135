import { describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';

// The SIMD transcendentals every kernel uses: their worst error over a dense grid.
describe.each(BUILDS)('vector math (%s build)', (build) => {
  const n = 200001;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = -40 + (80 * i) / (n - 1);
  const cases: [string, number, (x: number) => number, number][] = [
    ['exp (relative)', 0, Math.exp, 4e-7],
    ['sigmoid', 1, (x) => 1 / (1 + Math.exp(-x)), 2e-7],
    ['tanh', 2, Math.tanh, 2e-7],
  ];
  for (const [name, which, ref, tol] of cases) {
    it(`${name} within ${tol}`, async () => {
      const rt = await runtimeFor(build);
      const px = rt.mem.alloc(n * 4), py = rt.mem.alloc(n * 4);
      rt.mem.f32(px, n).set(xs);
      rt.exports.math_eval_f32(which, px, py, n);
      const y = rt.mem.f32(py, n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const r = ref(xs[i]);
        const err = which === 0 ? Math.abs(y[i] - r) / r : Math.abs(y[i] - r);
        worst = Math.max(worst, err);
      }
      expect(worst).toBeLessThan(tol);
    });
  }
});
