import { describe, expect, it } from 'vitest';
import { gemm } from '../src/kernels/gemm.js';
import { gemmReference } from '../src/reference/gemm.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';

describe.each(BUILDS)('gemm (%s build)', (build) => {
  const sizes: [number, number, number][] = [[1, 1, 1], [3, 7, 13], [17, 33, 7], [100, 17, 33]];
  for (const [m, n, k] of sizes) {
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      it(`m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`, async () => {
        const rt = await runtimeFor(build);
        const a = randomArray(m * k, 1), b = randomArray(k * n, 2), c = randomArray(m * n, 3);
        const pa = rt.mem.alloc(a.length * 4), pb = rt.mem.alloc(b.length * 4), pc = rt.mem.alloc(c.length * 4);
        rt.mem.f32(pa, a.length).set(a); rt.mem.f32(pb, b.length).set(b); rt.mem.f32(pc, c.length).set(c);
        gemm(rt, { transA, transB, m, n, k, alpha: 0.5, a: pa, b: pb, beta: 0.25, c: pc });
        const ref = c.slice();
        gemmReference(transA, transB, m, n, k, 0.5, a, transA ? m : k, b, transB ? k : n, 0.25, ref, n);
        expect(maxRelError(rt.mem.f32(pc, c.length), ref)).toBeLessThan(1e-5);
      });
    }
  }
});
