// C: [M,N] = alpha * op(A) * op(B) + beta * C
// op(A): [M,K] (A stored [M,K] with row stride lda, or [K,M] when transA)
// op(B): [K,N] (B stored [K,N] with row stride ldb, or [N,K] when transB)
// Strides are in elements; pointers in bytes; row-major. beta == 0 never reads
// C (it may hold NaN); alpha == 0 or K == 0 never reads A or B.
//
// Design (BLIS style): one register-blocked micro-kernel computes a 4x8 tile
// of C from a 4-row sliver of op(A) and an 8-column sliver of op(B). Big
// problems pack op(B) into KC x 8 column panels and op(A) into 4 x KC row
// panels (zero-padded), so all four transpose variants cost only O(n^2)
// packing and share the same inner loop. Small M (recurrent steps: M = batch)
// avoids packing B: A*B reads B where it lies (A, M*K values, is still
// packed), and A*B^T uses dot products along K's contiguous rows instead.
// Large problems (M, N, K >= STRASSEN_MIN; N >= 128 suffices in the SIMD
// build) take one level of Strassen: seven half-size products
// through the same packed loops (gemm_strassen).
import { madd } from "./math";

// Register tile: 4 x 8 = eight f32x4 accumulators, plus two B vectors, four
// A vectors (V8 schedules all loads of the loop body at its top) and one mul
// temporary = 15 of the 16 xmm registers of x64 (V8 keeps one as scratch), so
// the inner loop does not spill; any larger tile or an unrolled body does.
const MR = 4;
const NR = 8;
// Cache blocks: a KC x NR panel of packed B (8 KiB) stays in L1 while the
// kernel walks down MC rows of packed A (128 KiB plain with MC = 128, or
// 256 KiB pre-broadcast with MC = 64: L2); a KC x NC block of packed B
// (256 KiB) stays in L2/L3 across MC row blocks. Static scratch must fit the
// module's 1 MiB initial memory with everyone else's data.
const KC = 256;
const MC: i32 = ASC_FEATURE_RELAXED_SIMD ? 64 : 128;
const NC = 256;
// Where packing costs more than it saves (measured, bench/README.md): A*B
// reads B in place for M <= 3 at any size, and up to M = 8 while B is small
// (K*N <= 64 Ki values, e.g. an LSTM step's 64 x 256); beyond that the
// strided walk down B's columns loses to packed panels. A*B^T uses dot
// products along K up to M = 16.
const DIRECT_MAX_M = 8;
const DIRECT_ANY_SIZE_MAX_M = 3;
const DIRECT_MAX_KN = 65536;
const DOT_MAX_M = 16;
// One level of Strassen (gemm_strassen) when M, N and K all reach this: below
// it the operand sums cost what the saved eighth of multiply-adds gains
// (SIMD breaks even at 256^3, relaxed loses there; timings: bench/README.md,
// "Figures that sat in kernel comments").
const STRASSEN_MIN: i32 = ASC_FEATURE_RELAXED_SIMD ? 384 : 320;
// N may go down to this in the SIMD build when the products take K/2 in one
// block (see gemm_strassen): the narrow dx and weight-gradient products gain
// there; the relaxed build's pre-broadcast packing reads A^T value by value
// and loses (timings: bench/README.md, "Figures that sat in kernel comments").
const STRASSEN_MIN_N: i32 = ASC_FEATURE_RELAXED_SIMD ? STRASSEN_MIN : 128;

// Packed A holds each value broadcast to 4 lanes (64 bytes per k of a 4-row
// panel: plain v128.loads with folded offsets, 3 instructions fewer per k) or
// plain (16 bytes per k, broadcast by load32_splat in the kernel: 4x less L2
// traffic, so MC can double). Measured per build, paired A/B runs: relaxed
// is 4-6% faster pre-broadcast with MC = 64, SIMD 4-8% faster plain with
// MC = 128 (bench/README.md).
const A_PREBROADCAST: bool = ASC_FEATURE_RELAXED_SIMD;
const A_K_BYTES: usize = A_PREBROADCAST ? 64 : 16;
const PACK_A_FLOATS: i32 = MC * KC * <i32>(A_K_BYTES >> 4);
const PACK_A: usize = memory.data(PACK_A_FLOATS * 4, 64);
const PACK_B: usize = memory.data(KC * NC * 4, 64);
// Partial tiles at the right edge of C go through here.
const EDGE: usize = memory.data(MR * NR * 4, 64);

export function gemm_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (transB && M <= DOT_MAX_M && (!transA || <i64>M * <i64>K <= <i64>PACK_A_FLOATS)) {
    if (transA) {
      // The dot products want rows of op(A) contiguous: copy A^T (M*K values,
      // 1/N of the work) into PACK_A as [M, K].
      for (let i = 0; i < M; i++) {
        const dst = PACK_A + (<usize>(i * K) << 2);
        for (let p = 0; p < K; p++) {
          store<f32>(dst + (<usize>p << 2), load<f32>(A + ((<usize>p * <usize>lda + <usize>i) << 2)));
        }
      }
      gemm_dot(M, N, K, alpha, PACK_A, K, B, ldb, beta, C, ldc);
    } else {
      gemm_dot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
    return;
  }
  // op(A)[i][p] lives at A + i*aRs + p*aCs (bytes).
  const aRs: usize = transA ? 4 : <usize>lda << 2;
  const aCs: usize = transA ? <usize>lda << 2 : 4;
  const ldcB: usize = <usize>ldc << 2;
  if (!transB && (M <= DIRECT_ANY_SIZE_MAX_M || (M <= DIRECT_MAX_M && <i64>K * <i64>N <= DIRECT_MAX_KN))) {
    gemm_direct(transA, M, N, K, alpha, A, lda, aRs, aCs, B, ldb, beta, C, ldcB);
    return;
  }
  if (M >= STRASSEN_MIN && K >= STRASSEN_MIN && N >= STRASSEN_MIN_N) {
    gemm_strassen(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemm_blocked(transA, transB, M, N, K, alpha, A, lda, 0, 0, B, ldb, 0, 0, C, ldcB, beta, 0, 0, 0, KC);
}

// count products C_i = alpha * op(A_i) * op(B_i) + beta * C_i, i = 0..count-1, with
// A_i = A + i*strideA (elements; likewise B_i, C_i): attention's per-sequence QKᵀ and ·V.
// A stride of 0 reuses one operand for every product (a shared weight); C_i must not
// overlap each other. Each product is one gemm_f32 (its static scratch is reused in turn).
// op(A_i): [M,K]  op(B_i): [K,N]  C_i: [M,N] (row strides lda, ldb, ldc as in gemm_f32)
export function gemm_batched_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, count: i32,
  alpha: f32, A: usize, lda: i32, strideA: i32, B: usize, ldb: i32, strideB: i32,
  beta: f32, C: usize, ldc: i32, strideC: i32,
): void {
  for (let i = 0; i < count; i++) {
    gemm_f32(transA, transB, M, N, K, alpha,
      A + (<usize>i * <usize>strideA << 2), lda, B + (<usize>i * <usize>strideB << 2), ldb,
      beta, C + (<usize>i * <usize>strideC << 2), ldc);
  }
}

// The BLIS loops over packed panels. Strassen's products pass operand sums and
// a second destination: op(A) here is X + aS*Y with Y at byte offset aD from X
// (aS = 0: X alone), op(B) likewise; the product goes to C (scaled by alpha,
// C's old values by beta) and, when cS != 0, also to C + cD (scaled by
// cS*alpha, old values by beta2).
function gemm_blocked(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, aD: usize, aS: f32, B: usize, ldb: i32, bD: usize, bS: f32,
  C: usize, ldcB: usize, beta: f32, cD: usize, cS: f32, beta2: f32, kb: i32,
): void {
  // K blocks of kb rows (KC, or up to 2*KC when N <= NC/2: the same scratch),
  // so PACK_A holds MC*KC/kb rows of op(A).
  const mb = (MC * KC / kb) & ~(MR - 1);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += kb) {
      const kc = min(kb, K - pc);
      // Later K blocks accumulate onto what the first one wrote.
      const betaBlock: f32 = pc == 0 ? beta : 1;
      const beta2Block: f32 = pc == 0 ? beta2 : 1;
      pack_b(transB, B, ldb, bD, bS, pc, kc, jc, nc);
      for (let ic = 0; ic < M; ic += mb) {
        const mc = min(mb, M - ic);
        pack_a(transA, A, lda, aD, aS, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const b = PACK_B + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const c = C + (<usize>(ic + ir) * ldcB) + (<usize>(jc + jr) << 2);
            kernel_packed(kc, PACK_A + <usize>(ir * kc) * (A_K_BYTES >> 2), b, NR << 2, c, ldcB, rows, cols, alpha, betaBlock, cD, cS * alpha, beta2Block);
          }
        }
      }
    }
  }
}

// One level of Strassen ("Strassen reloaded", Huang et al., SC16) on the even
// part: with op(A), op(B), C split into 2x2 blocks of M/2 x K/2, K/2 x N/2 and
// M/2 x N/2, seven half-size products replace eight (12.5% fewer multiply-adds):
//   P1 = (A00+A11)(B00+B11): C00 += P1, C11 += P1
//   P2 = (A10+A11) B00:      C10 += P2, C11 -= P2
//   P3 = A00 (B01-B11):      C01 += P3, C11 += P3
//   P4 = A11 (B10-B00):      C00 += P4, C10 += P4
//   P5 = (A00+A01) B11:      C01 += P5, C00 -= P5
//   P6 = (A10-A00)(B00+B01): C11 += P6
//   P7 = (A01-A11)(B10+B11): C00 += P7
// No temporaries: the operand sums happen while packing, the products are
// added into their C blocks by the micro-kernel's store, and beta is applied
// by the first product to write each block (P1: C00, C11; P2: C10; P3: C01).
// An odd last row, column or k-slice runs through the ordinary paths.
// Per product, 9 bytes: A blocks x, y and y's sign; the same for B; then the
// C blocks that receive +P and cS*P. Block b = 2*row + column; sign 0 = unused.
const STRASSEN_PLAN: usize = memory.data<i8>([
  0, 3, 1, 0, 3, 1, 0, 3, 1,
  2, 3, 1, 0, 0, 0, 2, 3, -1,
  0, 0, 0, 1, 3, -1, 1, 3, 1,
  3, 3, 0, 2, 0, -1, 0, 2, 1,
  0, 1, 1, 3, 3, 0, 1, 0, -1,
  2, 0, -1, 0, 1, 1, 3, 3, 0,
  1, 3, -1, 2, 3, 1, 0, 0, 0,
]);

function gemm_strassen(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32,
): void {
  const m = M >> 1, n = N >> 1, k = K >> 1;
  const ldcB: usize = <usize>ldc << 2;
  // op(A)[i][p] at A + i*aRs + p*aCs, op(B)[p][j] at B + p*bRs + j*bCs (bytes).
  const aRs: usize = transA ? 4 : <usize>lda << 2;
  const aCs: usize = transA ? <usize>lda << 2 : 4;
  const bRs: usize = transB ? 4 : <usize>ldb << 2;
  const bCs: usize = transB ? <usize>ldb << 2 : 4;
  const aRow = <usize>m * aRs, aCol = <usize>k * aCs;
  const bRow = <usize>k * bRs, bCol = <usize>n * bCs;
  const cRow = <usize>m * ldcB, cCol = <usize>n << 2;
  // Narrow products take all of K/2 (up to 2*KC) in one block, so each C
  // block is read and written once per product rather than twice (A*B
  // 1024x128x1024 and 1024x256x1024, SIMD: Strassen 1.00-1.06 -> 0.92-0.975).
  const kb = k > KC && k <= KC << 1 && n <= NC >> 1 ? k : KC;
  for (let t = 0; t < 7; t++) {
    const e = STRASSEN_PLAN + <usize>(t * 9);
    const ax = block_offset(e, aRow, aCol), ay = block_offset(e + 1, aRow, aCol);
    const bx = block_offset(e + 3, bRow, bCol), by = block_offset(e + 4, bRow, bCol);
    const c1 = block_offset(e + 6, cRow, cCol), c2 = block_offset(e + 7, cRow, cCol);
    gemm_blocked(
      transA, transB, m, n, k, alpha,
      A + ax, lda, ay - ax, <f32>load<i8>(e, 2), B + bx, ldb, by - bx, <f32>load<i8>(e, 5),
      C + c1, ldcB, t < 3 ? beta : 1, c2 - c1, <f32>load<i8>(e, 8), t == 0 ? beta : 1, kb,
    );
  }
  const M2 = m << 1, N2 = n << 1, K2 = k << 1;
  if (K2 < K) gemm_f32(transA, transB, M2, N2, 1, alpha, A + <usize>K2 * aCs, lda, B + <usize>K2 * bRs, ldb, 1, C, ldc);
  if (M2 < M) gemm_f32(transA, transB, 1, N, K, alpha, A + <usize>M2 * aRs, lda, B, ldb, beta, C + <usize>M2 * ldcB, ldc);
  if (N2 < N) gemm_f32(transA, transB, M2, 1, K, alpha, A, lda, B + <usize>N2 * bCs, ldb, beta, C + (<usize>N2 << 2), ldc);
}

// Byte offset of block load<u8>(e) (2*row + column) of a 2x2 split.
function block_offset(e: usize, row: usize, col: usize): usize {
  const b = load<u8>(e);
  return (b & 2 ? row : 0) + (b & 1 ? col : 0);
}

// Small M with op(B) = B: B is read in place (only its ragged right edge is
// copied, zero-padded, so no load runs past a row); op(A) is packed, which
// costs M*K copies, 4/N of the work. A single leftover row (M = 1, 5) would
// waste 3/4 of a 4-row tile, so it gets a 1x32 row kernel instead.
function gemm_direct(
  transA: i32, M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32, aRs: usize, aCs: usize,
  B: usize, ldb: i32, beta: f32, C: usize, ldcB: usize,
): void {
  const ldbB: usize = <usize>ldb << 2;
  const singleRow = (M & 3) == 1;
  const tileRows = singleRow ? M - 1 : M;
  const n32 = singleRow ? N & ~31 : 0;
  const lastA = A + <usize>(M - 1) * aRs;
  const lastC = C + <usize>(M - 1) * ldcB;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    const betaBlock: f32 = pc == 0 ? beta : 1;
    const bBlock = B + <usize>pc * ldbB;
    // Packs all M rows (the lone row's panel serves its ragged right edge);
    // M = 1 with N a multiple of 32 needs no packed A at all.
    if (tileRows > 0 || n32 < N) pack_a(transA, A, lda, 0, 0, 0, M, pc, kc);
    for (let jr = tileRows > 0 ? 0 : n32; jr < N; jr += NR) {
      const cols = min(NR, N - jr);
      let b = bBlock + (<usize>jr << 2);
      let bRs = ldbB;
      if (cols < NR) {
        pack_b_panel_n(B, ldb, 0, 0, pc, kc, jr, cols, PACK_B);
        b = PACK_B;
        bRs = NR << 2;
      }
      for (let ir = 0; ir < tileRows; ir += MR) {
        const rows = min(MR, tileRows - ir);
        const c = C + <usize>ir * ldcB + (<usize>jr << 2);
        kernel_packed(kc, PACK_A + <usize>(ir * kc) * (A_K_BYTES >> 2), b, bRs, c, ldcB, rows, cols, alpha, betaBlock);
      }
      if (singleRow && jr >= n32) {
        // The last 4-row panel of PACK_A holds the single row (rows 1..3 zero).
        kernel_packed(kc, PACK_A + <usize>(tileRows * kc) * (A_K_BYTES >> 2), b, bRs, lastC + (<usize>jr << 2), ldcB, 1, cols, alpha, betaBlock);
      }
    }
    if (singleRow) {
      for (let j = 0; j < n32; j += 32) {
        kernel_row32(kc, lastA + <usize>pc * aCs, aCs, bBlock + (<usize>j << 2), ldbB, lastC + (<usize>j << 2), alpha, betaBlock);
      }
    }
  }
}

// One row of C, 32 columns: c[0:32] = alpha * sum_p a[p] * b[p][0:32] + beta*c.
// Eight accumulators hide the madd latency as a 4x8 tile does.
function kernel_row32(k: i32, a: usize, aCs: usize, b: usize, bRs: usize, c: usize, alpha: f32, beta: f32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const av = v128.load32_splat(a);
    c0 = madd(av, v128.load(b), c0);
    c1 = madd(av, v128.load(b, 16), c1);
    c2 = madd(av, v128.load(b, 32), c2);
    c3 = madd(av, v128.load(b, 48), c3);
    c4 = madd(av, v128.load(b, 64), c4);
    c5 = madd(av, v128.load(b, 80), c5);
    c6 = madd(av, v128.load(b, 96), c6);
    c7 = madd(av, v128.load(b, 112), c7);
    a += aCs;
    b += bRs;
  }
  const al = f32x4.splat(alpha);
  store_row8(c, beta, f32x4.mul(c0, al), f32x4.mul(c1, al));
  store_row8(c + 32, beta, f32x4.mul(c2, al), f32x4.mul(c3, al));
  store_row8(c + 64, beta, f32x4.mul(c4, al), f32x4.mul(c5, al));
  store_row8(c + 96, beta, f32x4.mul(c6, al), f32x4.mul(c7, al));
}

// C = beta * C (beta == 0 writes zeros without reading C).
function scale_c(M: i32, N: i32, beta: f32, C: usize, ldc: i32): void {
  const bv = f32x4.splat(beta);
  for (let i = 0; i < M; i++) {
    const row = C + (<usize>i * <usize>ldc << 2);
    let j = 0;
    if (beta == 0) {
      for (; j + 4 <= N; j += 4) v128.store(row + (<usize>j << 2), f32x4.splat(0));
      for (; j < N; j++) store<f32>(row + (<usize>j << 2), 0);
    } else {
      for (; j + 4 <= N; j += 4) {
        const p = row + (<usize>j << 2);
        v128.store(p, f32x4.mul(v128.load(p), bv));
      }
      for (; j < N; j++) {
        const p = row + (<usize>j << 2);
        store<f32>(p, load<f32>(p) * beta);
      }
    }
  }
}

// Writes one 4x8 register tile: C = alpha*acc + beta*C for `rows` x `cols`.
// @ts-ignore: decorator
@inline
function store_tile(
  c: usize, ldcB: usize, rows: i32, cols: i32, alpha: f32, beta: f32,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
): void {
  const av = f32x4.splat(alpha);
  c00 = f32x4.mul(c00, av); c01 = f32x4.mul(c01, av);
  c10 = f32x4.mul(c10, av); c11 = f32x4.mul(c11, av);
  c20 = f32x4.mul(c20, av); c21 = f32x4.mul(c21, av);
  c30 = f32x4.mul(c30, av); c31 = f32x4.mul(c31, av);
  if (cols == NR) {
    store_row8(c, beta, c00, c01);
    if (rows > 1) store_row8(c + ldcB, beta, c10, c11);
    if (rows > 2) store_row8(c + 2 * ldcB, beta, c20, c21);
    if (rows > 3) store_row8(c + 3 * ldcB, beta, c30, c31);
  } else {
    v128.store(EDGE, c00); v128.store(EDGE, c01, 16);
    v128.store(EDGE, c10, 32); v128.store(EDGE, c11, 48);
    v128.store(EDGE, c20, 64); v128.store(EDGE, c21, 80);
    v128.store(EDGE, c30, 96); v128.store(EDGE, c31, 112);
    for (let r = 0; r < rows; r++) {
      const crow = c + <usize>r * ldcB;
      const erow = EDGE + (<usize>r << 5);
      for (let j = 0; j < cols; j++) {
        const p = crow + (<usize>j << 2);
        const v = load<f32>(erow + (<usize>j << 2));
        store<f32>(p, beta == 0 ? v : v + beta * load<f32>(p));
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function store_row8(p: usize, beta: f32, lo: v128, hi: v128): void {
  if (beta == 0) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  } else {
    const bv = f32x4.splat(beta);
    v128.store(p, madd(v128.load(p), bv, lo));
    v128.store(p, madd(v128.load(p, 16), bv, hi), 16);
  }
}

// Micro-kernel over packed A: per k, op(A)[ir..ir+3][p] are stored
// pre-broadcast (4 x f32x4, 64 bytes) and op(B)[p][jr..jr+7] are 8
// contiguous values (packed B: bRs = 32; B read in place: bRs = ldb*4), so
// every load is a plain v128.load with a
// constant offset (V8 does not fold offsets into load32_splat: one extra
// instruction per broadcast). Not unrolled: V8 hoists every load of an
// unrolled body to its top and then spills accumulators (measured: -35%).
function kernel_packed(
  k: i32, a: usize, b: usize, bRs: usize,
  c: usize, ldcB: usize, rows: i32, cols: i32, alpha: f32, beta: f32,
  cD: usize = 0, alpha2: f32 = 0, beta2: f32 = 0,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const aEnd = a + <usize>k * A_K_BYTES;
  while (a < aEnd) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = A_PREBROADCAST ? v128.load(a) : v128.load32_splat(a);
    c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
    av = A_PREBROADCAST ? v128.load(a, 16) : v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
    av = A_PREBROADCAST ? v128.load(a, 32) : v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
    av = A_PREBROADCAST ? v128.load(a, 48) : v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
    a += A_K_BYTES;
    b += bRs;
  }
  // A Strassen product also goes to a second C block (alpha2 = +-alpha).
  while (true) {
    store_tile(c, ldcB, rows, cols, alpha, beta, c00, c01, c10, c11, c20, c21, c30, c31);
    if (alpha2 == 0) break;
    c += cD;
    alpha = alpha2;
    beta = beta2;
    alpha2 = 0;
  }
}

// Strassen's products pack operand sums X + s*Y (Y at byte offset d from X;
// s = 0: X alone, Y not read). Packed A's loops over 4 or 1 values per step
// come in two copies so that the plain one keeps its few instructions; 4x4
// transposes and B's rows test s once per 8 or 16 values, edges per value.
// @ts-ignore: decorator
@inline
function add_scaled(x: v128, y: usize, sv: v128): v128 {
  return madd(v128.load(y), sv, x);
}
// @ts-ignore: decorator
@inline
function sum_f32(p: usize, d: usize, s: f32): f32 {
  const x = load<f32>(p);
  return s != 0 ? x + s * load<f32>(p + d) : x;
}

// Packs op(B)[pc:pc+kc, jc:jc+nc] (+ bS * the same block at bD) into PACK_B
// as NR-column panels: panel q holds kc rows of 8 contiguous values (zero
// beyond nc).
function pack_b(transB: i32, B: usize, ldb: i32, bD: usize, bS: f32, pc: i32, kc: i32, jc: i32, nc: i32): void {
  for (let q = 0; q < nc; q += NR) {
    const cols = min(NR, nc - q);
    const dst = PACK_B + (<usize>(q * kc) << 2);
    if (transB) pack_b_panel_t(B, ldb, bD, bS, pc, kc, jc + q, cols, dst);
    else pack_b_panel_n(B, ldb, bD, bS, pc, kc, jc + q, cols, dst);
  }
}

// op(B) = B: rows of B are already contiguous runs of columns.
function pack_b_panel_n(B: usize, ldb: i32, bD: usize, bS: f32, pc: i32, kc: i32, j0: i32, cols: i32, dst: usize): void {
  const ldbB: usize = <usize>ldb << 2;
  let src = B + <usize>pc * ldbB + (<usize>j0 << 2);
  const dstEnd = dst + (<usize>kc << 5);
  if (cols == NR) {
    const sv = f32x4.splat(bS);
    for (; dst < dstEnd; dst += NR << 2) {
      let lo = v128.load(src), hi = v128.load(src, 16);
      if (bS != 0) {
        lo = add_scaled(lo, src + bD, sv);
        hi = add_scaled(hi, src + bD + 16, sv);
      }
      v128.store(dst, lo);
      v128.store(dst, hi, 16);
      src += ldbB;
    }
  } else {
    for (; dst < dstEnd; dst += NR << 2) {
      v128.store(dst, f32x4.splat(0));
      v128.store(dst, f32x4.splat(0), 16);
      for (let j = 0; j < cols; j++) store<f32>(dst + (<usize>j << 2), sum_f32(src + (<usize>j << 2), bD, bS));
      src += ldbB;
    }
  }
}

// op(B) = B^T: column j of op(B) is row j of B. Full panels transpose 4x4
// blocks in registers; the K tail and partial panels go element by element.
function pack_b_panel_t(B: usize, ldb: i32, bD: usize, bS: f32, pc: i32, kc: i32, j0: i32, cols: i32, dst: usize): void {
  const ldbB: usize = <usize>ldb << 2;
  const src = B + <usize>j0 * ldbB + (<usize>pc << 2);
  let p = 0;
  if (cols == NR) {
    const sv = f32x4.splat(bS);
    for (; p + 4 <= kc; p += 4) {
      const s = src + (<usize>p << 2);
      const d = dst + (<usize>p << 5);
      transpose4_store(s, ldbB, d, 32, bD, bS, sv);
      transpose4_store(s + 4 * ldbB, ldbB, d + 16, 32, bD, bS, sv);
    }
  }
  for (; p < kc; p++) {
    const d = dst + (<usize>p << 5);
    for (let j = 0; j < NR; j++) {
      const v: f32 = j < cols ? sum_f32(src + <usize>j * ldbB + (<usize>p << 2), bD, bS) : 0;
      store<f32>(d + (<usize>j << 2), v);
    }
  }
}

// Reads 4 rows of 4 floats (src, src+srcStride, ...; each plus s times the
// row at byte offset yD when s != 0, sv = splat(s)) and writes their
// transpose as 4 vectors at dst, dst+dstStride, ...
// @ts-ignore: decorator
@inline
function transpose4_store(src: usize, srcStride: usize, dst: usize, dstStride: usize, yD: usize, s: f32, sv: v128): void {
  let r0 = v128.load(src);
  let r1 = v128.load(src + srcStride);
  let r2 = v128.load(src + 2 * srcStride);
  let r3 = v128.load(src + 3 * srcStride);
  if (s != 0) {
    r0 = add_scaled(r0, src + yD, sv);
    r1 = add_scaled(r1, src + srcStride + yD, sv);
    r2 = add_scaled(r2, src + 2 * srcStride + yD, sv);
    r3 = add_scaled(r3, src + 3 * srcStride + yD, sv);
  }
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + dstStride, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * dstStride, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * dstStride, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// Packs op(A)[ic:ic+mc, pc:pc+kc] (+ aS * the same block at aD) into PACK_A
// as MR-row panels: panel q holds, for each p, op(A)[q*4+r][p] for r = 0..3,
// plain or broadcast to 4 lanes (A_PREBROADCAST), zero beyond mc.
function pack_a(transA: i32, A: usize, lda: i32, aD: usize, aS: f32, ic: i32, mc: i32, pc: i32, kc: i32): void {
  const ldaB: usize = <usize>lda << 2;
  // op(A)[i][p] lives at A + i*aRs + p*aCs (bytes).
  const aRs: usize = transA ? 4 : ldaB;
  const aCs: usize = transA ? ldaB : 4;
  const sv = f32x4.splat(aS);
  let q0 = 0;
  if (transA && !A_PREBROADCAST) {
    // op(A) = A^T: 16 rows of op(A) are one 64-byte line of a row of A, so
    // four panels are filled per pass and each line is read once (the last
    // 1-15 rows go value by value below).
    const panelBytes: usize = <usize>kc << 4;
    for (; q0 + 16 <= mc; q0 += 16) {
      let src = A + (<usize>(ic + q0) << 2) + <usize>pc * ldaB;
      let dst = PACK_A + (<usize>(q0 * kc) << 2);
      const dstEnd = dst + panelBytes;
      for (; dst < dstEnd; dst += 16) {
        let v0 = v128.load(src), v1 = v128.load(src, 16), v2 = v128.load(src, 32), v3 = v128.load(src, 48);
        if (aS != 0) {
          v0 = add_scaled(v0, src + aD, sv);
          v1 = add_scaled(v1, src + aD + 16, sv);
          v2 = add_scaled(v2, src + aD + 32, sv);
          v3 = add_scaled(v3, src + aD + 48, sv);
        }
        v128.store(dst, v0);
        v128.store(dst + panelBytes, v1);
        v128.store(dst + 2 * panelBytes, v2);
        v128.store(dst + 3 * panelBytes, v3);
        src += ldaB;
      }
    }
  }
  for (let q = q0; q < mc; q += MR) {
    const rows = min(MR, mc - q);
    let src = A + <usize>(ic + q) * aRs + <usize>pc * aCs;
    let dst = PACK_A + <usize>(q * kc) * (A_K_BYTES >> 2);
    const dstEnd = dst + <usize>kc * A_K_BYTES;
    if (rows == MR && !transA && !A_PREBROADCAST) {
      // op(A) = A: 4 rows x 4 values of p transposed in registers at a time.
      const dst4 = dst + (<usize>(kc & ~3) << 4);
      for (; dst < dst4; dst += 4 * A_K_BYTES) {
        transpose4_store(src, aRs, dst, 16, aD, aS, sv);
        src += 16;
      }
      for (; dst < dstEnd; dst += A_K_BYTES) {
        for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), sum_f32(src + <usize>r * aRs, aD, aS));
        src += 4;
      }
    } else if (rows == MR && A_PREBROADCAST) {
      // Pre-broadcast: one value per 16 bytes, op(A)[i][p] for either layout.
      const r1 = aRs, r2 = aRs << 1, r3 = aRs * <usize>3;
      if (aS != 0) {
        for (; dst < dstEnd; dst += A_K_BYTES) {
          const y = src + aD;
          v128.store(dst, f32x4.splat(load<f32>(src) + aS * load<f32>(y)));
          v128.store(dst, f32x4.splat(load<f32>(src + r1) + aS * load<f32>(y + r1)), 16);
          v128.store(dst, f32x4.splat(load<f32>(src + r2) + aS * load<f32>(y + r2)), 32);
          v128.store(dst, f32x4.splat(load<f32>(src + r3) + aS * load<f32>(y + r3)), 48);
          src += aCs;
        }
      } else {
        for (; dst < dstEnd; dst += A_K_BYTES) {
          v128.store(dst, v128.load32_splat(src));
          v128.store(dst, v128.load32_splat(src + r1), 16);
          v128.store(dst, v128.load32_splat(src + r2), 32);
          v128.store(dst, v128.load32_splat(src + r3), 48);
          src += aCs;
        }
      }
    } else {
      for (; dst < dstEnd; dst += A_K_BYTES) {
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < rows ? sum_f32(src + <usize>r * aRs, aD, aS) : 0;
          if (A_PREBROADCAST) v128.store(dst + (<usize>r << 4), f32x4.splat(v));
          else store<f32>(dst + (<usize>r << 2), v);
        }
        src += aCs;
      }
    }
  }
}

// Small M with op(B) = B^T (the recurrent step h * W^T): C[i][j] is the dot
// product of row i of A and row j of B, both contiguous along K. Tiles of
// 2 rows x 4 columns keep 8 vector accumulators; a 4x4 transpose-add folds
// them into one vector of 4 results per row. Ragged rows and columns re-read
// the last valid one and are not stored.
function gemm_dot(
  M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32,
): void {
  const ldaB: usize = <usize>lda << 2;
  const ldbB: usize = <usize>ldb << 2;
  const ldcB: usize = <usize>ldc << 2;
  const K4 = K & ~3;
  const av = f32x4.splat(alpha);
  const bv = f32x4.splat(beta);
  for (let i = 0; i < M; i += 2) {
    const rows = min(2, M - i);
    const a0 = A + <usize>i * ldaB;
    const a1 = rows > 1 ? a0 + ldaB : a0;
    // A single row (odd M) would waste half of a 2x4 tile: 1x8 tiles instead.
    const j8 = rows == 1 ? N & ~7 : 0;
    for (let j = 0; j < j8; j += 8) {
      dot_row8(K, a0, B + <usize>j * ldbB, ldbB, C + <usize>i * ldcB + (<usize>j << 2), alpha, beta);
    }
    for (let j = j8; j < N; j += 4) {
      const cols = min(4, N - j);
      const b0 = B + <usize>j * ldbB;
      const b1 = cols > 1 ? b0 + ldbB : b0;
      const b2 = cols > 2 ? b1 + ldbB : b1;
      const b3 = cols > 3 ? b2 + ldbB : b2;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let p = 0; p < K4; p += 4) {
        const o = <usize>p << 2;
        const x0 = v128.load(a0 + o), x1 = v128.load(a1 + o);
        let w = v128.load(b0 + o);
        s00 = madd(x0, w, s00); s10 = madd(x1, w, s10);
        w = v128.load(b1 + o);
        s01 = madd(x0, w, s01); s11 = madd(x1, w, s11);
        w = v128.load(b2 + o);
        s02 = madd(x0, w, s02); s12 = madd(x1, w, s12);
        w = v128.load(b3 + o);
        s03 = madd(x0, w, s03); s13 = madd(x1, w, s13);
      }
      let r0 = hsum4(s00, s01, s02, s03);
      let r1 = hsum4(s10, s11, s12, s13);
      for (let p = K4; p < K; p++) {
        const o = <usize>p << 2;
        let w = f32x4.splat(load<f32>(b0 + o));
        w = f32x4.replace_lane(w, 1, load<f32>(b1 + o));
        w = f32x4.replace_lane(w, 2, load<f32>(b2 + o));
        w = f32x4.replace_lane(w, 3, load<f32>(b3 + o));
        r0 = madd(f32x4.splat(load<f32>(a0 + o)), w, r0);
        r1 = madd(f32x4.splat(load<f32>(a1 + o)), w, r1);
      }
      r0 = f32x4.mul(r0, av);
      r1 = f32x4.mul(r1, av);
      const c0 = C + <usize>i * ldcB + (<usize>j << 2);
      if (cols == 4) {
        v128.store(c0, beta == 0 ? r0 : madd(v128.load(c0), bv, r0));
        if (rows > 1) v128.store(c0 + ldcB, beta == 0 ? r1 : madd(v128.load(c0 + ldcB), bv, r1));
      } else {
        v128.store(EDGE, r0);
        v128.store(EDGE, r1, 16);
        for (let r = 0; r < rows; r++) {
          for (let jj = 0; jj < cols; jj++) {
            const p = c0 + <usize>r * ldcB + (<usize>jj << 2);
            const v = load<f32>(EDGE + (<usize>(r * 4 + jj) << 2));
            store<f32>(p, beta == 0 ? v : v + beta * load<f32>(p));
          }
        }
      }
    }
  }
}

// c[0:8] = alpha * (a . b_j for the 8 rows b_j = b + j*ldbB) + beta * c[0:8]
function dot_row8(K: i32, a: usize, b: usize, ldbB: usize, c: usize, alpha: f32, beta: f32): void {
  const b1 = b + ldbB, b2 = b1 + ldbB, b3 = b2 + ldbB, b4 = b3 + ldbB;
  const b5 = b4 + ldbB, b6 = b5 + ldbB, b7 = b6 + ldbB;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
  const K4 = K & ~3;
  for (let p = 0; p < K4; p += 4) {
    const o = <usize>p << 2;
    const x = v128.load(a + o);
    s0 = madd(x, v128.load(b + o), s0);
    s1 = madd(x, v128.load(b1 + o), s1);
    s2 = madd(x, v128.load(b2 + o), s2);
    s3 = madd(x, v128.load(b3 + o), s3);
    s4 = madd(x, v128.load(b4 + o), s4);
    s5 = madd(x, v128.load(b5 + o), s5);
    s6 = madd(x, v128.load(b6 + o), s6);
    s7 = madd(x, v128.load(b7 + o), s7);
  }
  let r0 = hsum4(s0, s1, s2, s3);
  let r1 = hsum4(s4, s5, s6, s7);
  for (let p = K4; p < K; p++) {
    const o = <usize>p << 2;
    const x = f32x4.splat(load<f32>(a + o));
    let w = f32x4.splat(load<f32>(b + o));
    w = f32x4.replace_lane(w, 1, load<f32>(b1 + o));
    w = f32x4.replace_lane(w, 2, load<f32>(b2 + o));
    w = f32x4.replace_lane(w, 3, load<f32>(b3 + o));
    r0 = madd(x, w, r0);
    w = f32x4.splat(load<f32>(b4 + o));
    w = f32x4.replace_lane(w, 1, load<f32>(b5 + o));
    w = f32x4.replace_lane(w, 2, load<f32>(b6 + o));
    w = f32x4.replace_lane(w, 3, load<f32>(b7 + o));
    r1 = madd(x, w, r1);
  }
  const al = f32x4.splat(alpha);
  store_row8(c, beta, f32x4.mul(r0, al), f32x4.mul(r1, al));
}

// [sum(x0), sum(x1), sum(x2), sum(x3)]
// @ts-ignore: decorator
@inline
function hsum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s01 = f32x4.add(f32x4.shuffle(x0, x1, 0, 4, 1, 5), f32x4.shuffle(x0, x1, 2, 6, 3, 7));
  const s23 = f32x4.add(f32x4.shuffle(x2, x3, 0, 4, 1, 5), f32x4.shuffle(x2, x3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(s01, s23, 0, 1, 4, 5), f32x4.shuffle(s01, s23, 2, 3, 6, 7));
}
