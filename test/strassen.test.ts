// The pre-packed-B mode of assembly/gemm.ts (the recurrent step products): gemm_pack_b +
// gemm_packed_b take one level of Strassen (gemm_pack_b_strassen + gemm_packed_b_strassen)
// where gemm_packed_b_uses_strassen says, the 4x8 tiles or single-row kernels elsewhere; both against a
// float64 reference at awkward sizes, both builds, with the path each shape takes pinned.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';

interface Case {
  M: number; K: number; N: number;
  /** W given transposed ([N, K] in memory), as the forward passes W_hh. */
  trans: boolean;
  accumulate: boolean;
  /** Extra elements per stored row of A, W and C. */
  pad: number;
}

const F32_EPS = 2 ** -23;

/**
 * Norm-wise forward error bound: Strassen's error is not element-wise, so every element of C
 * is compared against eps * K * max|A| * max|W| times a small constant (one level: the
 * combinations at most double each operand, and each quadrant of C sums at most 4 products).
 */
const bound = (K: number, maxA: number, maxW: number) => 8 * F32_EPS * K * maxA * maxW;

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

interface Run {
  /** C as the kernel left it (padding included). */
  c: Float32Array;
  /** float64 reference of the same C. */
  ref: Float64Array;
  tol: number;
  c0: Float32Array;
}

/** Packs W and runs one product: path chosen by shape ('auto') or forced through Strassen's kernels. */
function runProduct(rt: Runtime, c: Case, via: 'auto' | 'strassen', seed: number): Run {
  const { M, K, N, trans, accumulate, pad } = c;
  const ex = rt.exports;
  const lda = K + pad, ldc = N + pad, ldw = (trans ? K : N) + pad;
  const A = randomArray(M * lda, seed);
  const W = randomArray((trans ? N : K) * ldw, seed + 1, 0.5);
  const c0 = randomArray(M * ldc, seed + 2);
  // Generous: 7 quadrant combinations or whole groups of 3 panels of 8 columns; scratch for
  // the broadcast (one v128 per element of up to 16 rows) and the 7 half products.
  const packedFloats = Math.max(7 * Math.ceil(K / 2) * Math.ceil(N / 2), Math.ceil(N / 24) * 24 * K);
  const scratchFloats = 4 * 16 * K + 7 * Math.ceil(M / 2) * Math.ceil(N / 2);
  const pA = rt.mem.alloc(A.length * 4), pW = rt.mem.alloc(W.length * 4), pC = rt.mem.alloc(c0.length * 4);
  const pP = rt.mem.alloc(packedFloats * 4), pBuf = rt.mem.alloc(scratchFloats * 4);
  try {
    rt.mem.f32(pA, A.length).set(A);
    rt.mem.f32(pW, W.length).set(W);
    rt.mem.f32(pC, c0.length).set(c0);
    const t = trans ? 1 : 0, acc = accumulate ? 1 : 0;
    if (via === 'auto') {
      ex.gemm_pack_b(K, N, pW, ldw, t, pP, M);
      ex.gemm_packed_b(M, N, K, pA, lda, pP, pC, ldc, acc, pBuf);
    } else {
      ex.gemm_pack_b_strassen(K, N, pW, ldw, t, pP);
      ex.gemm_packed_b_strassen(M, N, K, pA, lda, pP, pC, ldc, acc, pBuf);
    }
    const out = rt.mem.f32(pC, c0.length).slice();
    const ref = Float64Array.from(c0);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = accumulate ? c0[i * ldc + j] : 0;
        for (let k = 0; k < K; k++) s += A[i * lda + k] * (trans ? W[j * ldw + k] : W[k * ldw + j]);
        ref[i * ldc + j] = s;
      }
    }
    return { c: out, ref, tol: bound(K, maxAbs(A), maxAbs(W)), c0 };
  } finally {
    for (const p of [pA, pW, pC, pP, pBuf]) rt.mem.free(p);
  }
}

/** Largest |C - ref| over the product's columns; padding columns must come back untouched. */
function maxError(c: Case, r: Run): number {
  const ldc = c.N + c.pad;
  let worst = 0;
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < ldc; j++) {
      const k = i * ldc + j;
      if (j >= c.N) {
        if (!Object.is(r.c[k], r.c0[k])) return Infinity;
        continue;
      }
      const e = Math.abs(r.c[k] - r.ref[k]);
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
  }
  return worst;
}

const label = (c: Case) => `${c.M}x${c.K}x${c.N}${c.trans ? ' Wt' : ''}${c.accumulate ? ' +C' : ''}${c.pad ? ` pad ${c.pad}` : ''}`;

/** Shapes with the path each must take (Strassen: true). */
const STEP_CASES: [Case, boolean][] = [
  // Strassen: M even >= 8, K even and >= 256, N a multiple of 16 and >= 256 (see gemm_packed_b_uses_strassen).
  ...([
    [8, 256, 256], [16, 256, 1024], [16, 1024, 256], [18, 256, 512], [32, 512, 256], [16, 256, 768], [40, 300, 272],
  ] as const).flatMap(([M, K, N], i): [Case, boolean][] => [
    [{ M, K, N, trans: i % 2 === 0, accumulate: false, pad: 0 }, true],
    [{ M, K, N, trans: i % 2 === 1, accumulate: true, pad: i % 3 }, true],
  ]),
  // Plain: odd M, M < 8, odd K, N not two halves of whole 8-column panels, or too small to pay.
  ...([
    [1, 256, 1024], [3, 256, 256], [7, 256, 256], [13, 256, 256], [17, 256, 256], [6, 256, 256],
    [16, 257, 256], [16, 256, 264], [16, 256, 100], [16, 128, 512], [16, 512, 128], [16, 33, 17], [100, 7, 13],
    // M < 4 (groups of 3 panels of 8 columns): last group of 1, 2 or 3 panels, whole or partial.
    [1, 64, 256], [1, 7, 1], [2, 13, 8], [3, 17, 9], [1, 33, 16], [2, 3, 17], [1, 100, 24], [3, 1, 25], [1, 13, 33], [2, 7, 100], [1, 17, 40],
  ] as const).map(([M, K, N], i): [Case, boolean] => [{ M, K, N, trans: i % 2 === 0, accumulate: i % 3 === 1, pad: i % 2 }, false]),
];

/** Shapes for the Strassen kernels called directly (their preconditions, sizes below the thresholds too). */
const STRASSEN_CASES: Case[] = ([
  [8, 2, 16], [8, 6, 32], [10, 14, 48], [12, 34, 16], [16, 64, 64], [34, 66, 96], [100, 40, 32],
] as const).flatMap(([M, K, N], i) => [
  { M, K, N, trans: false, accumulate: i % 2 === 0, pad: 0 },
  { M, K, N, trans: true, accumulate: i % 2 === 1, pad: 1 + (i % 3) },
]);

describe.each(BUILDS)('recurrent step products (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(STEP_CASES.map(([c, strassen]) => ({ c, strassen, name: `${label(c)}: ${strassen ? 'Strassen' : 'plain'}` })))(
    '$name', ({ c, strassen }) => {
      expect(rt.exports.gemm_packed_b_uses_strassen(c.M, c.K, c.N), 'path').toBe(strassen ? 1 : 0);
      const seed = c.M * 7 + c.K * 3 + c.N;
      const r = runProduct(rt, c, 'auto', seed);
      expect(maxError(c, r), `tolerance ${r.tol}`).toBeLessThanOrEqual(r.tol);
      if (strassen) {
        // Strassen's kernels called directly give bit for bit the same C.
        const same = runProduct(rt, c, 'strassen', seed);
        expect(Array.from(same.c)).toEqual(Array.from(r.c));
      }
    },
  );

  it('the layer shape of recurrent-grad.test.ts that covers Strassen (B 8, H 256) takes the path in every step product', () => {
    const [B, H] = [8, 256];
    // G*H gate columns: RNN 1, GRU reset-before 2 (then 1), GRU 3, LSTM 4; forward [H, G*H], BPTT [G*H, H].
    for (const G of [1, 2, 3, 4]) {
      expect(rt.exports.gemm_packed_b_uses_strassen(B, H, G * H), `forward G=${G}`).toBe(1);
      expect(rt.exports.gemm_packed_b_uses_strassen(B, G * H, H), `BPTT G=${G}`).toBe(1);
    }
  });

  it.each(STRASSEN_CASES.map((c) => ({ c, name: label(c) })))('Strassen kernels directly: $name', ({ c }) => {
    const r = runProduct(rt, c, 'strassen', c.M + c.K * 5 + c.N * 11);
    expect(maxError(c, r), `tolerance ${r.tol}`).toBeLessThanOrEqual(r.tol);
  });

});
