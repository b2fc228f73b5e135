// gemmBatched (assembly/gemm.ts gemm_batched_f32): count strided products against the
// float64 reference product by product, every transpose, padded strides, a shared (stride 0)
// operand, and the argument checks.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { expectRejected } from './kernel-helpers.js';
import { gemm, gemmBatched } from '../src/kernels/gemm.js';
import { gemmReference } from '../src/reference/gemm.js';
import type { Runtime } from '../src/runtime/runtime.js';

interface BatchCase { transA: boolean; transB: boolean; m: number; n: number; k: number; count: number; alpha: number; beta: number; shareB?: boolean; gap?: number }

describe.each(BUILDS)('gemmBatched (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  const cases: BatchCase[] = [];
  for (const transA of [false, true]) for (const transB of [false, true]) {
    cases.push({ transA, transB, m: 7, n: 5, k: 9, count: 4, alpha: 1, beta: 0 });
    cases.push({ transA, transB, m: 33, n: 17, k: 40, count: 3, alpha: 0.5, beta: 1.5, gap: 3 });
  }
  cases.push({ transA: false, transB: true, m: 12, n: 20, k: 16, count: 5, alpha: 1, beta: 0, shareB: true }); // one key matrix for every query block
  cases.push({ transA: false, transB: false, m: 1, n: 64, k: 8, count: 6, alpha: 1, beta: 0 }); // one query row per sequence
  // A shared B on the blocked path (M > 16): packed once for all products.
  for (const transA of [false, true]) for (const transB of [false, true]) {
    cases.push({ transA, transB, m: 37, n: 19, k: 45, count: 3, alpha: 0.5, beta: 1.5, shareB: true, gap: 2 });
  }
  cases.push({ transA: false, transB: false, m: 40, n: 300, k: 30, count: 2, alpha: 1, beta: 0, shareB: true }); // N over one block

  it.each(cases)('transA=$transA transB=$transB m=$m n=$n k=$k count=$count gap=$gap shareB=$shareB', (c) => {
    const aRows = c.transA ? c.k : c.m, aCols = c.transA ? c.m : c.k;
    const bRows = c.transB ? c.n : c.k, bCols = c.transB ? c.k : c.n;
    const gap = c.gap ?? 0;
    const strideA = aRows * aCols + gap, strideB = c.shareB ? 0 : bRows * bCols + gap, strideC = c.m * c.n + gap;
    const a = randomArray((c.count - 1) * strideA + aRows * aCols, 1 + c.m);
    const b = randomArray(c.shareB ? bRows * bCols : (c.count - 1) * strideB + bRows * bCols, 2 + c.n);
    const cInit = randomArray((c.count - 1) * strideC + c.m * c.n, 3 + c.k);
    const pa = rt.mem.alloc(a.length * 4), pb = rt.mem.alloc(b.length * 4), pc = rt.mem.alloc(cInit.length * 4);
    rt.mem.f32(pa, a.length).set(a);
    rt.mem.f32(pb, b.length).set(b);
    rt.mem.f32(pc, cInit.length).set(cInit);
    gemmBatched(rt, { ...c, a: pa, b: pb, c: pc, strideA, strideB, strideC });
    const got = rt.mem.f32(pc, cInit.length).slice();
    const ref = cInit.slice();
    for (let i = 0; i < c.count; i++) {
      const out = ref.subarray(i * strideC, i * strideC + c.m * c.n);
      gemmReference(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a.subarray(i * strideA), aCols, b.subarray(i * strideB), bCols, c.beta, out, c.n);
    }
    expect(maxRelError(got, ref)).toBeLessThan(2e-6 * (c.k + 8));
    // Bit for bit what count separate gemm calls give (one path choice, a shared B packed once).
    const one = rt.mem.alloc(c.m * c.n * 4);
    for (let i = 0; i < c.count; i++) {
      rt.mem.f32(one, c.m * c.n).set(cInit.subarray(i * strideC, i * strideC + c.m * c.n));
      gemm(rt, { ...c, a: pa + i * strideA * 4, lda: aCols, b: pb + i * strideB * 4, ldb: bCols, c: one });
      expect(Array.from(rt.mem.f32(one, c.m * c.n)), `product ${i}`).toEqual(Array.from(got.subarray(i * strideC, i * strideC + c.m * c.n)));
    }
    rt.mem.free(one);
    // The gaps between the C_i are untouched.
    for (let i = 0; i + 1 < c.count; i++) for (let j = 0; j < gap; j++) expect(got[i * strideC + c.m * c.n + j]).toBe(cInit[i * strideC + c.m * c.n + j]);
    for (const p of [pa, pb, pc]) rt.mem.free(p);
  });

  it('default strides store the matrices back to back, and bad arguments are refused', () => {
    const m = 3, n = 4, k = 5, count = 2;
    const pa = rt.mem.alloc(count * m * k * 4), pb = rt.mem.alloc(count * k * n * 4), pc = rt.mem.alloc(count * m * n * 4);
    const a = randomArray(count * m * k, 7), b = randomArray(count * k * n, 8);
    rt.mem.f32(pa, a.length).set(a);
    rt.mem.f32(pb, b.length).set(b);
    gemmBatched(rt, { m, n, k, count, a: pa, b: pb, c: pc });
    const ref = new Float32Array(count * m * n);
    for (let i = 0; i < count; i++) gemmReference(false, false, m, n, k, 1, a.subarray(i * m * k), k, b.subarray(i * k * n), n, 0, ref.subarray(i * m * n), n);
    expect(maxRelError(rt.mem.f32(pc, count * m * n), ref)).toBeLessThan(1e-5);
    const base = { m, n, k, count, a: pa, b: pb, c: pc };
    expectRejected(rt, () => gemmBatched(rt, { ...base, strideC: 11 }), /strideC must be >= 12/);
    expectRejected(rt, () => gemmBatched(rt, { ...base, count: -1 }), /gemmBatched count must be an integer >= 0/);
    expectRejected(rt, () => gemmBatched(rt, { ...base, count: 2, a: rt.mem.byteLength - 64 }), /gemmBatched A: byte range/);
    expectRejected(rt, () => gemmBatched(rt, { ...base, lda: 4 }), /gemmBatched lda must be >= 5/);
    for (const p of [pa, pb, pc]) rt.mem.free(p);
  });
});
