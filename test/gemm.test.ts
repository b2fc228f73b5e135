import { beforeAll, describe, expect, it } from 'vitest';
import { gemm, gemmWorkFloats } from '../src/kernels/gemm.js';
import { gemmReference } from '../src/reference/gemm.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';

interface Case {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  /** Extra elements per stored row beyond the tight stride (lda > cols etc.). */
  padA?: number;
  padB?: number;
  padC?: number;
  /** Fill C with NaN before the call (only meaningful with beta = 0). */
  nanC?: boolean;
}

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

/** Float32 accumulation over k terms of size <= 1 versus the float64 reference. */
const tolerance = (k: number) => 2e-6 * (k + 8);

/** Runs one GEMM in wasm and in the float64 TypeScript reference on the same inputs. */
function runGemm(rt: Runtime, c: Case, seed: number): { got: Float32Array; ref: Float32Array; a: Float32Array; b: Float32Array; cInit: Float32Array } {
  const { transA, transB, m, n, k, alpha, beta } = c;
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const lda = aCols + (c.padA ?? 0), ldb = bCols + (c.padB ?? 0), ldc = n + (c.padC ?? 0);
  const a = randomArray(Math.max(1, aRows * lda), seed);
  const b = randomArray(Math.max(1, bRows * ldb), seed + 1);
  const cInit = randomArray(m * ldc, seed + 2);
  if (c.nanC) {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) cInit[i * ldc + j] = NaN;
  }
  const pa = rt.mem.alloc(a.length * 4), pb = rt.mem.alloc(b.length * 4), pc = rt.mem.alloc(cInit.length * 4);
  try {
    rt.mem.f32(pa, a.length).set(a);
    rt.mem.f32(pb, b.length).set(b);
    rt.mem.f32(pc, cInit.length).set(cInit);
    gemm(rt, { transA, transB, m, n, k, alpha, a: pa, lda, b: pb, ldb, beta, c: pc, ldc });
    const ref = cInit.slice();
    gemmReference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, ref, ldc);
    return { got: rt.mem.f32(pc, cInit.length).slice(), ref, a, b, cInit };
  } finally {
    rt.mem.free(pa);
    rt.mem.free(pb);
    rt.mem.free(pc);
  }
}

/**
 * The worst relative error over all of C (padding columns included: they must
 * come back untouched).
 */
function runCase(rt: Runtime, c: Case, seed: number): number {
  const { got, ref } = runGemm(rt, c, seed);
  return maxRelError(got, ref);
}

/** Largest |got-ref| over all of C (NaN anywhere counts as Infinity). */
function maxAbsError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - ref[i]);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

const maxAbs = (x: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) if (!(Math.abs(x[i]) <= m)) m = Math.abs(x[i]);
  return m;
};

/**
 * Tolerance for one level of Strassen in float32 (u = 2^-24), in norm-wise form:
 * |C - ref| <= c u K max|A| max|B| |alpha| + 2 u |beta| max|C|, with c = 16.
 * Strassen's error is norm-wise, not componentwise: an entry of a C block is a
 * signed sum of up to 4 products whose operands are sums of two blocks (up to
 * 2 max|A| and 2 max|B|) over K/2 terms, so its intermediate values reach
 * 4 * 4 * K/2 = 8 K max|A| max|B|, against K max|A| max|B| for the ordinary
 * product; c = 16 allows 2 u on that scale (a worst-case bound grows like
 * K^2 u, rounding errors of random data like sqrt(K) u). Measured on these
 * shapes: 0.07-0.17 of the bound, about twice the ordinary path's error; a
 * wrong sign or block in the plan errs by ~sqrt(K), 10^4-10^5 times the bound.
 */
function strassenBound(k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, cInit: Float32Array): number {
  const u = 2 ** -24;
  return 16 * u * k * maxAbs(a) * maxAbs(b) * Math.abs(alpha) + (beta === 0 ? 0 : 2 * u * Math.abs(beta) * maxAbs(cInit)) + 1e-30;
}

const label = (c: Case) =>
  `${c.m}x${c.n}x${c.k} ${c.transA ? 'At' : 'A'}*${c.transB ? 'Bt' : 'B'} alpha=${c.alpha} beta=${c.beta}` +
  (c.padA || c.padB || c.padC ? ` pad=${c.padA ?? 0}/${c.padB ?? 0}/${c.padC ?? 0}` : '') +
  (c.nanC ? ' C=NaN' : '');

// The packing space is the caller's (assembly/gemm.ts keeps no scratch of its own):
// gemm_work_floats must cover what every path writes. Each shape below takes one path; the
// work given is exactly gemm_work_floats long between two guard zones, filled with NaN
// (stale scratch must never leak into C), and C must equal the product through the
// runtime's own scratch bit for bit.
const WORK_CASES: [string, Case][] = [
  ['dot (A*Bt, M <= 16)', { transA: false, transB: true, m: 5, n: 37, k: 70, alpha: 1, beta: 0 }],
  ['dot over a copy of A^T', { transA: true, transB: true, m: 13, n: 9, k: 300, alpha: 0.5, beta: 1 }],
  ['direct (B read in place)', { transA: false, transB: false, m: 5, n: 45, k: 300, alpha: 1, beta: 0.5 }],
  ['blocked, K and N over their cache blocks', { transA: true, transB: false, m: 70, n: 300, k: 600, alpha: 1, beta: 0 }],
  ['blocked, A^T B^T ragged', { transA: true, transB: true, m: 131, n: 29, k: 77, alpha: -1, beta: 1 }],
  ['Strassen', { transA: false, transB: true, m: 401, n: 390, k: 400, alpha: 1, beta: 0 }],
];

describe.each(BUILDS)('gemm work (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });
  it.each(WORK_CASES.map(([name, c]) => ({ name, c })))('$name: stays inside gemm_work_floats, ignores stale work', ({ c }) => {
    const { transA, transB, m, n, k, alpha, beta } = c;
    const a = randomArray(m * k, 11), b = randomArray(k * n, 12), cInit = randomArray(m * n, 13);
    const floats = gemmWorkFloats(rt, m, n, k);
    const guard = 64;
    const pa = rt.mem.alloc(a.length * 4), pb = rt.mem.alloc(b.length * 4), pc = rt.mem.alloc(m * n * 4);
    const pw = rt.mem.alloc((floats + 2 * guard) * 4);
    try {
      rt.mem.f32(pa, a.length).set(a);
      rt.mem.f32(pb, b.length).set(b);
      const run = (work?: number) => {
        rt.mem.f32(pc, m * n).set(cInit);
        gemm(rt, { transA, transB, m, n, k, alpha, a: pa, b: pb, beta, c: pc, work });
        return rt.mem.f32(pc, m * n).slice();
      };
      const viaScratch = run();
      rt.mem.f32(pw, floats + 2 * guard).fill(NaN);
      const viaWork = run(pw + guard * 4);
      expect(Array.from(viaWork)).toEqual(Array.from(viaScratch));
      const w = rt.mem.f32(pw, floats + 2 * guard);
      for (let i = 0; i < guard; i++) {
        expect(w[i], `guard before work, float ${i}`).toBeNaN();
        expect(w[guard + floats + i], `guard after work, float ${i}`).toBeNaN();
      }
      expect(() => gemm(rt, { transA, transB, m, n, k, a: pa, b: pb, c: pc, work: rt.mem.byteLength - 4 * floats + 4 })).toThrow(/gemm work: byte range/);
    } finally {
      for (const p of [pa, pb, pc, pw]) rt.mem.free(p);
    }
  });
});

describe.each(BUILDS)('gemm (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  // Square sizes that are not multiples of the 4x8 tile, and shapes that cross
  // every blocking boundary (KC = 256, MC = 128, NC = 256) and every path
  // (direct small M, dot product for small-M A*B^T, packed).
  const shapes: [number, number, number][] = [
    [1, 1, 1], [3, 3, 3], [7, 7, 7], [13, 13, 13], [17, 17, 17], [33, 33, 33], [100, 100, 100],
    [1, 256, 64], [4, 256, 64], [16, 256, 64], [17, 256, 64], [5, 13, 7], [2, 3, 300], [9, 1, 5],
    [64, 13, 100], [20, 3, 7], [1, 520, 300], [40, 520, 300], [300, 40, 20], [131, 263, 259],
    [16, 9, 4200], // A^T*B^T with M*K beyond the dot path's A copy: packed path
    [5, 70, 20], [6, 300, 260], // lone fifth row with 1x32 kernels and a ragged tail; M = 6 beyond the in-place B limit
  ];
  const scalars: [number, number][] = [[1, 0], [0.5, 0.25], [-2, 1], [1.5, -0.75]];
  shapes.forEach(([m, n, k], s) => {
    for (const [transA, transB] of TRANSPOSES) {
      const [alpha, beta] = scalars[s % scalars.length];
      const c: Case = { transA, transB, m, n, k, alpha, beta };
      it(label(c), () => {
        expect(runCase(rt, c, 10 + s)).toBeLessThan(tolerance(k));
      });
    }
  });

  describe('leading dimensions larger than the rows', () => {
    const padded: [number, number, number][] = [[3, 5, 7], [17, 33, 13], [100, 37, 29], [13, 300, 9]];
    padded.forEach(([m, n, k], s) => {
      for (const [transA, transB] of TRANSPOSES) {
        const c: Case = { transA, transB, m, n, k, alpha: 0.75, beta: 0.5, padA: 3, padB: 5, padC: 7 };
        it(label(c), () => {
          expect(runCase(rt, c, 50 + s)).toBeLessThan(tolerance(k));
        });
      }
    });
  });

  describe('alpha and beta', () => {
    for (const [transA, transB] of TRANSPOSES) {
      for (const [m, n, k] of [[7, 13, 17], [33, 40, 100]] as const) {
        // beta = 0 must not read C: NaN there must not leak into the result.
        const nan: Case = { transA, transB, m, n, k, alpha: 1.25, beta: 0, nanC: true };
        it(label(nan), () => {
          expect(runCase(rt, nan, 70)).toBeLessThan(tolerance(k));
        });
        // beta = 1 accumulates onto C.
        const acc: Case = { transA, transB, m, n, k, alpha: 1, beta: 1, padC: 1 };
        it(label(acc), () => {
          expect(runCase(rt, acc, 71)).toBeLessThan(tolerance(k));
        });
        // alpha = 0: C = beta*C without touching A or B.
        const zero: Case = { transA, transB, m, n, k, alpha: 0, beta: -0.5 };
        it(label(zero), () => {
          expect(runCase(rt, zero, 72)).toBe(0);
        });
      }
    }

    it('K = 0 scales C by beta, and beta = 0 then clears NaN', () => {
      expect(runCase(rt, { transA: false, transB: false, m: 5, n: 9, k: 0, alpha: 1, beta: 3 }, 80)).toBe(0);
      expect(runCase(rt, { transA: true, transB: true, m: 5, n: 9, k: 0, alpha: 1, beta: 0, nanC: true }, 81)).toBe(0);
    });

    it('beta = 0 accumulation equals one call with beta = 1 after a zero fill', () => {
      const m = 19, n = 21, k = 300;
      const a = randomArray(m * k, 90), b = randomArray(k * n, 91);
      const pa = rt.mem.alloc(a.length * 4), pb = rt.mem.alloc(b.length * 4);
      const p0 = rt.mem.alloc(m * n * 4), p1 = rt.mem.alloc(m * n * 4);
      rt.mem.f32(pa, a.length).set(a);
      rt.mem.f32(pb, b.length).set(b);
      rt.mem.f32(p0, m * n).fill(NaN);
      gemm(rt, { m, n, k, a: pa, b: pb, c: p0 });
      gemm(rt, { m, n, k, a: pa, b: pb, c: p1, beta: 1 });
      expect(Array.from(rt.mem.f32(p0, m * n))).toEqual(Array.from(rt.mem.f32(p1, m * n)));
      for (const p of [pa, pb, p0, p1]) rt.mem.free(p);
    });
  });

  // Large products take one level of Strassen (assembly/gemm.ts, gemm_strassen)
  // once M, N and K reach its threshold (320 in the SIMD build, 384 in the
  // relaxed one; in the SIMD build N >= 128 suffices): seven
  // half-size products on operand sums, an odd last row, column or k-slice by
  // the ordinary paths. Sizes straddle the thresholds and cover every parity
  // of M, N and K; the narrow ones take K/2 > 256 in one block.
  describe('large products (Strassen path)', () => {
    const big: [number, number, number][] = [
      [384, 384, 384], [383, 385, 384], [385, 384, 383], [384, 383, 385], [385, 385, 385],
      [321, 320, 322], [320, 319, 321], [511, 400, 386], [1023, 384, 384], [384, 1023, 384], [384, 384, 1023],
      [600, 129, 1023], [511, 128, 700], [320, 127, 640],
    ];
    const scalars: [number, number][] = [[1, 0], [-0.75, 1], [1.5, 0.5]];
    big.forEach(([m, n, k], s) => {
      TRANSPOSES.forEach(([transA, transB], t) => {
        // The largest shapes (slow in the float64 reference) take two transpose pairs each, all four between them.
        if (m * n * k > 1.2e8 && (s + t) % 2) return;
        const [alpha, beta] = scalars[(s + t) % scalars.length];
        const c: Case = { transA, transB, m, n, k, alpha, beta, nanC: beta === 0, padC: s % 2 ? 3 : 0, padA: t === 1 ? 2 : 0 };
        it(label(c), () => {
          const { got, ref, a, b, cInit } = runGemm(rt, c, 200 + 4 * s + t);
          expect(maxAbsError(got, ref)).toBeLessThan(strassenBound(k, alpha, a, b, beta, cInit));
        });
      });
    });
  });

  it('gives the same results after memory grows between calls', () => {
    const m = 37, n = 45, k = 29;
    const a = randomArray(m * k, 100), b = randomArray(n * k, 101);
    const pa = rt.mem.alloc(a.length * 4), pb = rt.mem.alloc(b.length * 4), pc = rt.mem.alloc(m * n * 4);
    rt.mem.f32(pa, a.length).set(a);
    rt.mem.f32(pb, b.length).set(b);
    gemm(rt, { m, n, k, a: pa, b: pb, transB: true, c: pc });
    const before = rt.mem.f32(pc, m * n).slice();
    const bytesBefore = rt.mem.byteLength;
    const big = rt.mem.alloc(bytesBefore + (16 << 20)); // forces memory.grow, detaching old views
    expect(rt.mem.byteLength).toBeGreaterThan(bytesBefore);
    rt.mem.f32(pc, m * n).fill(NaN);
    gemm(rt, { m, n, k, a: pa, b: pb, transB: true, c: pc });
    expect(Array.from(rt.mem.f32(pc, m * n))).toEqual(Array.from(before));
    const ref = new Float32Array(m * n);
    gemmReference(false, true, m, n, k, 1, a, k, b, k, 0, ref, n);
    expect(maxRelError(before, ref)).toBeLessThan(tolerance(k));
    for (const p of [pa, pb, pc, big]) rt.mem.free(p);
  });

  it('roofline_f32x4 runs its multiply-adds (sum = iters * 4 lanes * (0.5 - 0.25) * (0.001 - 0.002 + 0.003 - 0.004))', () => {
    for (const iters of [0, 1, 1000]) {
      const expected = -0.002 * iters; // float32 sums: relative tolerance
      expect(Math.abs(rt.exports.roofline_f32x4(iters) - expected)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
    }
  });

  describe('argument validation (throws before any kernel runs)', () => {
    let pa = 0, pb = 0, pc = 0;
    beforeAll(() => {
      pa = rt.mem.alloc(64 * 4);
      pb = rt.mem.alloc(64 * 4);
      pc = rt.mem.alloc(64 * 4);
    });
    const base = () => ({ m: 4, n: 4, k: 4, a: pa, b: pb, c: pc });
    // Each case must throw and leave C exactly as it was.
    const bad: [string, () => object, RegExp][] = [
      ['negative m', () => ({ ...base(), m: -1 }), /gemm m must be an integer >= 0, got -1/],
      ['fractional n', () => ({ ...base(), n: 2.5 }), /gemm n must be an integer >= 0, got 2.5/],
      ['NaN k', () => ({ ...base(), k: NaN }), /gemm k must be an integer >= 0, got NaN/],
      ['NaN alpha', () => ({ ...base(), alpha: NaN }), /gemm alpha must be a finite number, got NaN/],
      ['infinite beta', () => ({ ...base(), beta: Infinity }), /gemm beta must be a finite number, got Infinity/],
      ['lda too small', () => ({ ...base(), lda: 3 }), /gemm lda must be >= 4/],
      ['lda too small for A^T', () => ({ ...base(), m: 6, transA: true, lda: 5 }), /gemm lda must be >= 6/],
      ['ldb too small for B^T', () => ({ ...base(), k: 8, transB: true, ldb: 7 }), /gemm ldb must be >= 8/],
      ['ldc too small', () => ({ ...base(), ldc: 2 }), /gemm ldc must be >= n = 4, got 2/],
      ['A outside memory', () => ({ ...base(), a: rt.mem.byteLength - 16 }), /gemm A: byte range .* lies outside wasm memory/],
      ['B negative pointer', () => ({ ...base(), b: -64 }), /gemm B: byte range .* lies outside wasm memory/],
      ['C too long for memory', () => ({ ...base(), m: 1 << 20, n: 1 << 10, ldc: 1 << 10, k: 1, lda: 1 }), /gemm (A|C): byte range/],
      ['unaligned C', () => ({ ...base(), c: pc + 2 }), /gemm C: pointer .* must be 4-byte aligned/],
      // Inside memory but below heap_base: the kernels' constants (Strassen's plan) and scratch.
      ['C over the kernels\' own data', () => ({ ...base(), c: 0 }), /gemm C: byte range \[0, 64\) lies outside wasm memory's heap/],
      ['work outside memory', () => ({ ...base(), work: rt.mem.byteLength - 16 }), /gemm work: byte range .* lies outside wasm memory/],
    ];
    for (const [name, args, message] of bad) {
      it(name, () => {
        const c = rt.mem.f32(pc, 16);
        c.set(randomArray(16, 7));
        const before = Array.from(c);
        expect(() => gemm(rt, args() as Parameters<typeof gemm>[1])).toThrow(message);
        expect(Array.from(rt.mem.f32(pc, 16))).toEqual(before);
      });
    }
  });
});
