// The one matrix-product stack of the module: every product (Linear, attention, the
// recurrent input projections, per-step products and weight gradients) runs here.
//
// C: [M,N] = alpha * op(A) * op(B) + beta * C
// op(A): [M,K] (A stored [M,K] with row stride lda, or [K,M] when transA)
// op(B): [K,N] (B stored [K,N] with row stride ldb, or [N,K] when transB)
// Strides are in elements; pointers in bytes; row-major. beta == 0 never reads
// C (it may hold NaN); alpha == 0 or K == 0 never reads A or B.
//
// Scratch: the caller's. Every entry point takes `work` (gemm_work_floats(M, N, K) floats
// for gemm_f32, gemm_packed_b_work_floats for the pre-packed mode); nothing in this file
// keeps state between calls, so nested and interleaved products cannot clobber each other.
//
// Design (BLIS style), in layers:
// - packing: pack_a (4-row panels of op(A), plain or pre-broadcast, optionally the sum of
//   two blocks) and pack_b_panel_n/_t (8-column panels of op(B), optionally a sum), built on
//   one 4x4 register transpose (transpose4);
// - micro-kernels (XNNPACK-style names: op, tile, ISA, variant):
//   gemm_4x8_simd_packed_a (4x8 tile, A packed, B packed or read in place),
//   gemm_1x24_simd_grouped_b (one row, 24 columns of pre-packed grouped panels),
//   gemm_1x32_simd_b_in_place, gemm_2x4_simd_dot and gemm_1x8_simd_dot (A*B^T as dot products);
//   all store through store_row8 / store_lanes (explicit tails: partial tiles are stored
//   lane by lane, never through a scratch tile);
// - drivers: gemm (general; chooses dot, direct, blocked or Strassen once per call),
//   gemm_batched_f32 (count strided products, one choice for all), and the pre-packed-B
//   mode (gemm_pack_b once, gemm_packed_b many times: the recurrent step products, whose
//   weight is constant over a sequence);
// - one Strassen (STRASSEN_PLAN): the general driver adds each product into its C blocks,
//   the pre-packed mode packs the 7 weight combinations once and combines products after.
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
// (256 KiB) stays in L2/L3 across MC row blocks.
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
// MC = 128 (bench/README.md). The pre-packed-B mode always pre-broadcasts
// (its row chunks are small; see gemm_packed_b_4x8).
const A_PREBROADCAST: bool = ASC_FEATURE_RELAXED_SIMD;
const A_K_BYTES: usize = A_PREBROADCAST ? 64 : 16;
const PACK_A_FLOATS: i32 = MC * KC * <i32>(A_K_BYTES >> 4);
const PACK_B_FLOATS: i32 = KC * NC;

// ---- scratch ------------------------------------------------------------------------------

// Floats of work gemm_f32 needs for one [M,N,K] product (any transposes): packed B, then
// packed A (64-byte aligned). An upper bound that grows with each size up to the cache
// blocks, so kernels that do not know a size (the rows of a whole sequence) may pass a
// large value: gemm_work_floats(1 << 30, 1 << 30, 1 << 30) is the most any product needs.
export function gemm_work_floats(M: i32, N: i32, K: i32): i32 {
  return align16(pack_b_floats(N, K)) + pack_a_floats(M, K);
}

// The most gemm_work_floats gives for any product.
export function gemm_work_max_floats(): i32 {
  return gemm_work_floats(1 << 30, 1 << 30, 1 << 30);
}

// Packed B: rows min(K, 2*KC) (Strassen's narrow products take up to 2*KC rows in one
// block, see gemm_strassen) of min(N, NC) columns rounded to whole panels, at most one
// KC x NC block (kb * nc <= KC * NC by construction).
// @ts-ignore: decorator
@inline
function pack_b_floats(N: i32, K: i32): i32 {
  const cols = <i64>min((N + NR - 1) & ~(NR - 1), NC);
  return <i32>min(cols * <i64>min(K, 2 * KC), <i64>PACK_B_FLOATS);
}

// Packed A: min(M, the row block) rows rounded to 4 by min(K, the K block) (the dot path's
// copy of A^T is M*K, taken only when it fits PACK_A_FLOATS).
// @ts-ignore: decorator
@inline
function pack_a_floats(M: i32, K: i32): i32 {
  const rows = <i64>((min(M, 1 << 29) + MR - 1) & ~(MR - 1));
  return <i32>min(rows * <i64>K * <i64>(A_K_BYTES >> 4), <i64>PACK_A_FLOATS);
}

// @ts-ignore: decorator
@inline
function align16(n: i32): i32 {
  return (n + 15) & ~15;
}

// ---- general products -----------------------------------------------------------------------

// Paths gemm takes (chosen once per call, or once for all products of gemm_batched_f32).
const PATH_SCALE = 0;
const PATH_DOT = 1;
const PATH_DOT_TRANS_A = 2;
const PATH_DIRECT = 3;
const PATH_STRASSEN = 4;
const PATH_BLOCKED = 5;

function gemm_path(transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32): i32 {
  if (K <= 0 || alpha == 0) return PATH_SCALE;
  if (transB && M <= DOT_MAX_M && (!transA || <i64>M * <i64>K <= <i64>PACK_A_FLOATS)) {
    return transA ? PATH_DOT_TRANS_A : PATH_DOT;
  }
  if (!transB && (M <= DIRECT_ANY_SIZE_MAX_M || (M <= DIRECT_MAX_M && <i64>K * <i64>N <= DIRECT_MAX_KN))) return PATH_DIRECT;
  if (M >= STRASSEN_MIN && K >= STRASSEN_MIN && N >= STRASSEN_MIN_N) return PATH_STRASSEN;
  return PATH_BLOCKED;
}

// work: gemm_work_floats(M, N, K) floats
export function gemm_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  gemm_run(gemm_path(transA, transB, M, N, K, alpha), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, work);
}

// count products C_i = alpha * op(A_i) * op(B_i) + beta * C_i, i = 0..count-1, with
// A_i = A + i*strideA (elements; likewise B_i, C_i): attention's per-sequence QKᵀ and ·V.
// A stride of 0 reuses one operand for every product (a shared weight); C_i must not
// overlap each other. The path is chosen once for all products, and a shared op(B)
// (strideB = 0) on the blocked path is packed once for all of them.
// op(A_i): [M,K]  op(B_i): [K,N]  C_i: [M,N] (row strides lda, ldb, ldc as in gemm_f32)
// work: gemm_work_floats(M, N, K) floats
export function gemm_batched_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, count: i32,
  alpha: f32, A: usize, lda: i32, strideA: i32, B: usize, ldb: i32, strideB: i32,
  beta: f32, C: usize, ldc: i32, strideC: i32, work: usize,
): void {
  if (M <= 0 || N <= 0 || count <= 0) return;
  const path = gemm_path(transA, transB, M, N, K, alpha);
  const sA = <usize>strideA << 2, sB = <usize>strideB << 2, sC = <usize>strideC << 2;
  if (path == PATH_BLOCKED && strideB == 0 && count > 1 && N <= NC && K <= KC) {
    // One packed B block serves every product: only A is packed per product.
    const pb = work, pa = work + (<usize>align16(pack_b_floats(N, K)) << 2);
    pack_b(transB, B, ldb, 0, 0, 0, K, 0, N, pb);
    for (let i = 0; i < count; i++) {
      gemm_blocked_packed_b(transA, M, N, K, alpha, A + <usize>i * sA, lda, C + <usize>i * sC, <usize>ldc << 2, beta, pa, pb);
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    gemm_run(path, transA, transB, M, N, K, alpha, A + <usize>i * sA, lda, B + <usize>i * sB, ldb, beta, C + <usize>i * sC, ldc, work);
  }
}

function gemm_run(
  path: i32, transA: i32, transB: i32, M: i32, N: i32, K: i32,
  alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32, work: usize,
): void {
  const ldcB: usize = <usize>ldc << 2;
  if (path == PATH_SCALE) {
    scale_c(M, N, beta, C, ldc);
  } else if (path == PATH_DOT) {
    gemm_dot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  } else if (path == PATH_DOT_TRANS_A) {
    // The dot products want rows of op(A) contiguous: copy A^T (M*K values, 1/N of the
    // work) into the work as [M, K].
    for (let i = 0; i < M; i++) {
      const dst = work + (<usize>(i * K) << 2);
      for (let p = 0; p < K; p++) {
        store<f32>(dst + (<usize>p << 2), load<f32>(A + ((<usize>p * <usize>lda + <usize>i) << 2)));
      }
    }
    gemm_dot(M, N, K, alpha, work, K, B, ldb, beta, C, ldc);
  } else {
    const pb = work, pa = work + (<usize>align16(pack_b_floats(N, K)) << 2);
    if (path == PATH_DIRECT) {
      // op(A)[i][p] lives at A + i*aRs + p*aCs (bytes).
      const aRs: usize = transA ? 4 : <usize>lda << 2;
      const aCs: usize = transA ? <usize>lda << 2 : 4;
      gemm_direct(transA, M, N, K, alpha, A, lda, aRs, aCs, B, ldb, beta, C, ldcB, pa, pb);
    } else if (path == PATH_STRASSEN) {
      gemm_strassen(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, work, pa, pb);
    } else {
      gemm_blocked(transA, transB, M, N, K, alpha, A, lda, 0, 0, B, ldb, 0, 0, C, ldcB, beta, 0, 0, 0, KC, pa, pb);
    }
  }
}

// The BLIS loops over packed panels. Strassen's products pass operand sums and
// a second destination: op(A) here is X + aS*Y with Y at byte offset aD from X
// (aS = 0: X alone), op(B) likewise; the product goes to C (scaled by alpha,
// C's old values by beta) and, when cS != 0, also to C + cD (scaled by
// cS*alpha, old values by beta2). pa, pb: packing space (gemm_work_floats).
function gemm_blocked(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, aD: usize, aS: f32, B: usize, ldb: i32, bD: usize, bS: f32,
  C: usize, ldcB: usize, beta: f32, cD: usize, cS: f32, beta2: f32, kb: i32, pa: usize, pb: usize,
): void {
  // K blocks of kb rows (KC, or up to 2*KC when N <= NC/2: the same space),
  // so the packed A holds MC*KC/kb rows of op(A).
  const mb = (MC * KC / kb) & ~(MR - 1);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += kb) {
      const kc = min(kb, K - pc);
      // Later K blocks accumulate onto what the first one wrote.
      const betaBlock: f32 = pc == 0 ? beta : 1;
      const beta2Block: f32 = pc == 0 ? beta2 : 1;
      pack_b(transB, B, ldb, bD, bS, pc, kc, jc, nc, pb);
      for (let ic = 0; ic < M; ic += mb) {
        const mc = min(mb, M - ic);
        pack_a(transA, A, lda, aD, aS, ic, mc, pc, kc, pa, A_PREBROADCAST);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const b = pb + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const c = C + (<usize>(ic + ir) * ldcB) + (<usize>(jc + jr) << 2);
            gemm_4x8_simd_packed_a(kc, pa + <usize>(ir * kc) * (A_K_BYTES >> 2), b, NR << 2, c, ldcB, rows, cols, alpha, betaBlock, cD, cS * alpha, beta2Block);
          }
        }
      }
    }
  }
}

// gemm_blocked's loops for one K and N block (K <= KC, N <= NC) whose B is packed already
// (gemm_batched_f32's shared operand).
function gemm_blocked_packed_b(transA: i32, M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32, C: usize, ldcB: usize, beta: f32, pa: usize, pb: usize): void {
  for (let ic = 0; ic < M; ic += MC) {
    const mc = min(MC, M - ic);
    pack_a(transA, A, lda, 0, 0, ic, mc, 0, K, pa, A_PREBROADCAST);
    for (let jr = 0; jr < N; jr += NR) {
      const cols = min(NR, N - jr);
      const b = pb + (<usize>(jr * K) << 2);
      for (let ir = 0; ir < mc; ir += MR) {
        const c = C + (<usize>(ic + ir) * ldcB) + (<usize>jr << 2);
        gemm_4x8_simd_packed_a(K, pa + <usize>(ir * K) * (A_K_BYTES >> 2), b, NR << 2, c, ldcB, min(MR, mc - ir), cols, alpha, beta);
      }
    }
  }
}

// ---- Strassen -------------------------------------------------------------------------------

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
// Error: norm-wise rather than element-wise, a small constant times the classical bound.
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

// Byte offset of block load<u8>(e) (2*row + column) of a 2x2 split.
function block_offset(e: usize, row: usize, col: usize): usize {
  const b = load<u8>(e);
  return (b & 2 ? row : 0) + (b & 1 ? col : 0);
}

// The general driver's Strassen. No temporaries: the operand sums happen while
// packing, the products are added into their C blocks by the micro-kernel's
// store, and beta is applied by the first product to write each block (P1: C00,
// C11; P2: C10; P3: C01). An odd last row, column or k-slice runs through the
// ordinary paths.
function gemm_strassen(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32, work: usize, pa: usize, pb: usize,
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
      C + c1, ldcB, t < 3 ? beta : 1, c2 - c1, <f32>load<i8>(e, 8), t == 0 ? beta : 1, kb, pa, pb,
    );
  }
  const M2 = m << 1, N2 = n << 1, K2 = k << 1;
  if (K2 < K) gemm_f32(transA, transB, M2, N2, 1, alpha, A + <usize>K2 * aCs, lda, B + <usize>K2 * bRs, ldb, 1, C, ldc, work);
  if (M2 < M) gemm_f32(transA, transB, 1, N, K, alpha, A + <usize>M2 * aRs, lda, B, ldb, beta, C + <usize>M2 * ldcB, ldc, work);
  if (N2 < N) gemm_f32(transA, transB, M2, 1, K, alpha, A, lda, B + <usize>N2 * bCs, ldb, beta, C + (<usize>N2 << 2), ldc, work);
}

// ---- small M ------------------------------------------------------------------------------

// Small M with op(B) = B: B is read in place (only its ragged right edge is
// copied, zero-padded, so no load runs past a row); op(A) is packed, which
// costs M*K copies, 4/N of the work. A single leftover row (M = 1, 5) would
// waste 3/4 of a 4-row tile, so it gets a 1x32 row kernel instead.
function gemm_direct(
  transA: i32, M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32, aRs: usize, aCs: usize,
  B: usize, ldb: i32, beta: f32, C: usize, ldcB: usize, pa: usize, pb: usize,
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
    if (tileRows > 0 || n32 < N) pack_a(transA, A, lda, 0, 0, 0, M, pc, kc, pa, A_PREBROADCAST);
    for (let jr = tileRows > 0 ? 0 : n32; jr < N; jr += NR) {
      const cols = min(NR, N - jr);
      let b = bBlock + (<usize>jr << 2);
      let bRs = ldbB;
      if (cols < NR) {
        pack_b_panel_n(B, ldb, 0, 0, pc, kc, jr, cols, pb, NR << 2);
        b = pb;
        bRs = NR << 2;
      }
      for (let ir = 0; ir < tileRows; ir += MR) {
        const rows = min(MR, tileRows - ir);
        const c = C + <usize>ir * ldcB + (<usize>jr << 2);
        gemm_4x8_simd_packed_a(kc, pa + <usize>(ir * kc) * (A_K_BYTES >> 2), b, bRs, c, ldcB, rows, cols, alpha, betaBlock);
      }
      if (singleRow && jr >= n32) {
        // The last 4-row panel of the packed A holds the single row (rows 1..3 zero).
        gemm_4x8_simd_packed_a(kc, pa + <usize>(tileRows * kc) * (A_K_BYTES >> 2), b, bRs, lastC + (<usize>jr << 2), ldcB, 1, cols, alpha, betaBlock);
      }
    }
    if (singleRow) {
      for (let j = 0; j < n32; j += 32) {
        gemm_1x32_simd_b_in_place(kc, lastA + <usize>pc * aCs, aCs, bBlock + (<usize>j << 2), ldbB, lastC + (<usize>j << 2), alpha, betaBlock);
      }
    }
  }
}

// Small M with op(B) = B^T (h * W^T): C[i][j] is the dot product of row i of A and row j
// of B, both contiguous along K. Tiles of 2 rows x 4 columns (gemm_2x4_simd_dot); a single
// row (odd M) would waste half of a 2x4 tile: 1x8 tiles (gemm_1x8_simd_dot) instead.
function gemm_dot(
  M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32,
): void {
  const ldaB: usize = <usize>lda << 2;
  const ldbB: usize = <usize>ldb << 2;
  const ldcB: usize = <usize>ldc << 2;
  for (let i = 0; i < M; i += 2) {
    const rows = min(2, M - i);
    const a0 = A + <usize>i * ldaB;
    const j8 = rows == 1 ? N & ~7 : 0;
    for (let j = 0; j < j8; j += 8) {
      gemm_1x8_simd_dot(K, a0, B + <usize>j * ldbB, ldbB, C + <usize>i * ldcB + (<usize>j << 2), alpha, beta);
    }
    for (let j = j8; j < N; j += 4) {
      gemm_2x4_simd_dot(K, a0, rows > 1 ? a0 + ldaB : a0, B + <usize>j * ldbB, ldbB, min(4, N - j), C + <usize>i * ldcB + (<usize>j << 2), ldcB, rows, alpha, beta);
    }
  }
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

// ---- the pre-packed-B mode (recurrent step products) ---------------------------------------

// A weight operand is packed once per sequence call (gemm_pack_b) and multiplied at every
// step (gemm_packed_b), so every step reads its panels linearly; row-strided panels of a
// [K, 1024] matrix alias the same L1 sets. The layout depends on the row count M of the
// products it will serve:
// - M >= 4: 8-column panels, each [K, 8] contiguous (the 4x8 tiles stream one panel at a time);
// - M < 4 ("grouped"): panels interleaved in groups of 3, group g = [K, 24] contiguous
//   (panels 3g..3g+2 side by side per k; a missing last panel is zeros), so a single row
//   walks 24 columns from one pointer (gemm_1x24_simd_grouped_b). (Grouped for every M cost
//   the 4x8 tiles 10-20% in the relaxed build: a group's k rows spread one panel over 3x the
//   cache lines.)
// - gemm_packed_b_uses_strassen(M, K, N): the 7 weight combinations of Strassen's plan, each
//   [K/2, N/2] in the M >= 4 layout.

// Bytes of one k row of a panel group (3 panels x 8 floats).
// @ts-ignore: decorator
@lazy const GROUP_ROW_BYTES: usize = 96;
// Rows of A that gemm_packed_b_4x8 broadcasts at once (bounds its scratch).
const BCAST_ROWS = 16;

// Panels gemm_pack_b writes for N columns: rounded up to whole groups of 3.
// @ts-ignore: decorator
@inline
function packed_panels(N: i32): i32 {
  return ((N + 23) / 24) * 3;
}

// Start of panel p (its k = 0 row) in a pre-packed [K, *] operand.
// @ts-ignore: decorator
@inline
function panel_at(P: usize, K: i32, p: i32, grouped: bool): usize {
  if (!grouped) return P + (<usize>p * <usize>K << 5);
  return P + (<usize>(p / 3) * <usize>K * GROUP_ROW_BYTES) + (<usize>(p % 3) << 5);
}

// Whether products with M rows on a pre-packed [K, N] operand take Strassen's path: whole
// halves (M, K even, each half of N whole 8-column panels), at least 4 rows per half (the
// 4x8 tiles: M >= 8), and K, N >= 256. With K or N = 128 nothing is gained, and at 64 it
// loses: a half product's 4x8 tiles then run only 64 k steps per store, and the extra
// broadcasts and the combining pass eat the eighth saved (timings: bench/README.md,
// "Figures that sat in kernel comments").
export function gemm_packed_b_uses_strassen(M: i32, K: i32, N: i32): bool {
  return (M & 1) == 0 && M >= 8 && (K & 1) == 0 && (N & 15) == 0 && K >= 256 && N >= 256;
}

// Floats gemm_pack_b writes for products with M rows.
export function gemm_pack_b_floats(M: i32, K: i32, N: i32): i32 {
  return gemm_packed_b_uses_strassen(M, K, N) ? 7 * (K >> 1) * (N >> 1) : packed_panels(N) * 8 * K;
}

// Floats of the work gemm_packed_b needs for M rows (the broadcast A; Strassen: the
// broadcast of half of A and the 7 half products).
export function gemm_packed_b_work_floats(M: i32, K: i32, N: i32): i32 {
  const m = M >> 1;
  return gemm_packed_b_uses_strassen(M, K, N) ? bcast_floats(m, K >> 1) + 7 * m * (N >> 1) : bcast_floats(M, K);
}

// Floats of the broadcast A for M rows of depth K (one v128 per element, BCAST_ROWS at once).
// @ts-ignore: decorator
@inline
function bcast_floats(M: i32, K: i32): i32 {
  return M < 4 ? 0 : 4 * min((M + 3) & ~3, BCAST_ROWS) * K;
}

// P = op(B) packed for products with M rows: op(B): [K, N], element (k, n) = B[k*ldb + n],
// or B[n*ldb + k] when transB. P: gemm_pack_b_floats(M, K, N) floats.
export function gemm_pack_b(K: i32, N: i32, B: usize, ldb: i32, transB: i32, P: usize, M: i32): void {
  if (gemm_packed_b_uses_strassen(M, K, N)) {
    gemm_pack_b_strassen(K, N, B, ldb, transB, P);
    return;
  }
  const grouped = M < 4;
  const padded = grouped ? packed_panels(N) : (N + 7) >> 3;
  const rowBytes: usize = grouped ? GROUP_ROW_BYTES : NR << 2;
  for (let p = 0; p < padded; p++) {
    const n0 = p << 3;
    const w = max(0, min(NR, N - n0));
    const d = panel_at(P, K, p, grouped);
    if (w == 0) {
      // A group's padding panel (see packed_panels).
      for (let k = 0; k < K; k++) {
        v128.store(d + <usize>k * rowBytes, f32x4.splat(0));
        v128.store(d + <usize>k * rowBytes, f32x4.splat(0), 16);
      }
    } else if (transB) {
      pack_b_panel_t(B, ldb, 0, 0, 0, K, n0, w, d, rowBytes);
    } else {
      pack_b_panel_n(B, ldb, 0, 0, 0, K, n0, w, d, rowBytes);
    }
  }
}

// Packs Strassen's 7 combinations of op(B) (K even, N a multiple of 16) into 7 consecutive
// slots of (K/2)*(N/2) floats, slot t = B_x + s B_y of STRASSEN_PLAN's product t (the sums
// formed while packing). Exported for tests (gemm_pack_b calls it where
// gemm_packed_b_uses_strassen says).
export function gemm_pack_b_strassen(K: i32, N: i32, B: usize, ldb: i32, transB: i32, P: usize): void {
  const k = K >> 1, n = N >> 1;
  const slot = <usize>(k * n) << 2;
  const bRs: usize = transB ? 4 : <usize>ldb << 2;
  const bCs: usize = transB ? <usize>ldb << 2 : 4;
  const bRow = <usize>k * bRs, bCol = <usize>n * bCs;
  for (let t = 0; t < 7; t++) {
    const e = STRASSEN_PLAN + <usize>(t * 9);
    const bx = block_offset(e + 3, bRow, bCol), by = block_offset(e + 4, bRow, bCol);
    const bS = <f32>load<i8>(e, 5);
    for (let q = 0; q < n; q += NR) {
      const d = P + <usize>t * slot + (<usize>(q * k) << 2);
      if (transB) pack_b_panel_t(B + bx, ldb, by - bx, bS, 0, k, q, NR, d, NR << 2);
      else pack_b_panel_n(B + bx, ldb, by - bx, bS, 0, k, q, NR, d, NR << 2);
    }
  }
}

// C: [M,N] = A: [M,K] · P (+ C when accumulate), P = gemm_pack_b of op(B) for M rows;
// C must not overlap A. work: gemm_packed_b_work_floats(M, K, N) floats.
export function gemm_packed_b(M: i32, N: i32, K: i32, A: usize, lda: i32, P: usize, C: usize, ldc: i32, accumulate: i32, work: usize): void {
  if (M <= 0 || N <= 0) return;
  const beta: f32 = accumulate ? 1 : 0;
  if (M < 4) {
    gemm_1x24_simd_grouped_b(M, N, K, A, lda, P, C, ldc, beta);
  } else if (gemm_packed_b_uses_strassen(M, K, N)) {
    gemm_packed_b_strassen(M, N, K, A, lda, P, C, ldc, accumulate, work);
  } else {
    gemm_packed_b_4x8(M, N, K, A, lda, 0, 0, P, C, <usize>ldc << 2, beta, work);
  }
}

// C: [M,N] (row stride ldcB bytes) = (A + aS*A', A' at byte offset aD; A alone when
// aS = 0) · P + beta*C, M >= 4, P in the M >= 4 layout; abuf: bcast_floats(M, K).
// 4x8 tiles over chunks of BCAST_ROWS rows: each chunk of A is first broadcast into abuf
// (pack_a, pre-broadcast), so the inner loop is plain loads at fixed offsets from one
// pointer; splat-loads there cost vector-unit slots (timings: bench/README.md, "Figures that
// sat in kernel comments"). The tile is inlined here (gemm_4x8_tile): a call per tile
// costs the short K of the step products.
function gemm_packed_b_4x8(
  M: i32, N: i32, K: i32, A: usize, lda: i32, aD: usize, aS: f32, P: usize,
  C: usize, ldcB: usize, beta: f32, abuf: usize,
): void {
  const panels = (N + 7) >> 3;
  for (let i0 = 0; i0 < M; i0 += BCAST_ROWS) {
    const mc = min(BCAST_ROWS, M - i0);
    pack_a(0, A, lda, aD, aS, i0, mc, 0, K, abuf, true);
    for (let p = 0; p < panels; p++) {
      const n0 = p << 3;
      const w = min(NR, N - n0);
      const pp = panel_at(P, K, p, false);
      const c = C + <usize>i0 * ldcB + (<usize>n0 << 2);
      for (let ir = 0; ir < mc; ir += MR) {
        gemm_4x8_tile(K, abuf + (<usize>(ir * K) << 4), pp, NR << 2, c + <usize>ir * ldcB, ldcB, min(MR, mc - ir), w, 1, beta, 0, 0, 0, true);
      }
    }
  }
}

// Strassen for the pre-packed mode (STRASSEN_PLAN; P from gemm_pack_b_strassen): the left
// combinations are fused into the broadcast of A, the 7 products go to work, and one pass
// combines them into C. (Products into work then one combining pass beat landing each
// product in its 1-2 quadrants of C directly, the general driver's way, by 2-4% here: A/B,
// simd, [16,256]x[256,1024] and [16,1024]x[1024,256].) M even and >= 8, K even, N a
// multiple of 16; work: gemm_packed_b_work_floats(M, K, N) floats. Exported for tests
// (gemm_packed_b calls it where gemm_packed_b_uses_strassen says).
export function gemm_packed_b_strassen(M: i32, N: i32, K: i32, A: usize, lda: i32, P: usize, C: usize, ldc: i32, accumulate: i32, work: usize): void {
  const m = M >> 1, n = N >> 1, k = K >> 1;
  const slot = <usize>(k * n) << 2; // one packed combination of B
  const aRow = <usize>(m * lda) << 2, aCol = <usize>k << 2;
  const abuf = work, prods = work + (<usize>bcast_floats(m, k) << 2);
  const prod = <usize>(m * n) << 2; // one half product [m, n], P1..P7 consecutive
  for (let t = 0; t < 7; t++) {
    const e = STRASSEN_PLAN + <usize>(t * 9);
    const ax = block_offset(e, aRow, aCol), ay = block_offset(e + 1, aRow, aCol);
    gemm_packed_b_4x8(m, n, k, A + ax, lda, ay - ax, <f32>load<i8>(e, 2), P + <usize>t * slot, prods + <usize>t * prod, <usize>n << 2, 0, abuf);
  }
  // The C side of STRASSEN_PLAN: C00 = P1+P4-P5+P7, C01 = P3+P5, C10 = P2+P4, C11 = P1-P2+P3+P6.
  const ldcB = <usize>ldc << 2;
  for (let i = 0; i < m; i++) {
    const c00 = C + <usize>i * ldcB, c01 = c00 + (<usize>n << 2);
    const c10 = C + <usize>(i + m) * ldcB, c11 = c10 + (<usize>n << 2);
    const row = prods + (<usize>(i * n) << 2);
    for (let j = 0; j < n; j += 4) {
      const o = <usize>j << 2;
      const q = row + o;
      const p1 = v128.load(q), p2 = v128.load(q + prod), p3 = v128.load(q + 2 * prod), p4 = v128.load(q + 3 * prod);
      const p5 = v128.load(q + 4 * prod), p6 = v128.load(q + 5 * prod), p7 = v128.load(q + 6 * prod);
      let x00 = f32x4.add(f32x4.sub(f32x4.add(p1, p4), p5), p7);
      let x01 = f32x4.add(p3, p5);
      let x10 = f32x4.add(p2, p4);
      let x11 = f32x4.add(f32x4.add(f32x4.sub(p1, p2), p3), p6);
      if (accumulate) {
        x00 = f32x4.add(x00, v128.load(c00 + o)); x01 = f32x4.add(x01, v128.load(c01 + o));
        x10 = f32x4.add(x10, v128.load(c10 + o)); x11 = f32x4.add(x11, v128.load(c11 + o));
      }
      v128.store(c00 + o, x00); v128.store(c01 + o, x01);
      v128.store(c10 + o, x10); v128.store(c11 + o, x11);
    }
  }
}

// ---- micro-kernels --------------------------------------------------------------------------

// 4x8 tile over packed A: per k, op(A)[ir..ir+3][p] are stored pre-broadcast (4 x f32x4,
// 64 bytes; bcast) or plain (16 bytes, splat-loaded), and op(B)[p][jr..jr+7] are 8
// contiguous values (packed B: bRs = 32; B read in place: bRs = ldb*4), so every load is a
// v128.load (or load32_splat) with a constant offset. Not unrolled: V8 hoists every load of
// an unrolled body to its top and then spills accumulators (measured: -35%). A Strassen
// product also goes to a second C block (alpha2 = +-alpha, at byte offset cD).
// @ts-ignore: decorator
@inline
function gemm_4x8_tile(
  k: i32, a: usize, b: usize, bRs: usize,
  c: usize, ldcB: usize, rows: i32, cols: i32, alpha: f32, beta: f32,
  cD: usize, alpha2: f32, beta2: f32, bcast: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const kBytes: usize = bcast ? 64 : 16;
  const aEnd = a + <usize>k * kBytes;
  while (a < aEnd) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = bcast ? v128.load(a) : v128.load32_splat(a);
    c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
    av = bcast ? v128.load(a, 16) : v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
    av = bcast ? v128.load(a, 32) : v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
    av = bcast ? v128.load(a, 48) : v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
    a += kBytes;
    b += bRs;
  }
  while (true) {
    store_tile(c, ldcB, rows, cols, alpha, beta, c00, c01, c10, c11, c20, c21, c30, c31);
    if (alpha2 == 0) break;
    c += cD;
    alpha = alpha2;
    beta = beta2;
    alpha2 = 0;
  }
}

// The 4x8 tile as a function, A packed in the build's format (A_PREBROADCAST): the general
// driver's micro-kernel.
function gemm_4x8_simd_packed_a(
  k: i32, a: usize, b: usize, bRs: usize,
  c: usize, ldcB: usize, rows: i32, cols: i32, alpha: f32, beta: f32,
  cD: usize = 0, alpha2: f32 = 0, beta2: f32 = 0,
): void {
  gemm_4x8_tile(k, a, b, bRs, c, ldcB, rows, cols, alpha, beta, cD, alpha2, beta2, A_PREBROADCAST);
}

// Rows of a product with M < 4 on grouped pre-packed panels: 1 row x 24 columns, 6
// accumulators, one pointer, 7 loads per k (V8 issues the loads of an iteration first, so
// loads plus accumulators must fit in registers).
function gemm_1x24_simd_grouped_b(M: i32, N: i32, K: i32, A: usize, lda: i32, P: usize, C: usize, ldc: i32, beta: f32): void {
  const zero = f32x4.splat(0);
  const groupBytes = <usize>K * GROUP_ROW_BYTES;
  for (let i = 0; i < M; i++) {
    const a = A + (<usize>(i * lda) << 2);
    let bg = P;
    for (let n0 = 0; n0 < N; n0 += 24) {
      let c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero;
      let bp = bg;
      if (N - n0 > 16) {
        for (let k = 0; k < K; k++) {
          const x = v128.load32_splat(a + (<usize>k << 2));
          c0 = madd(x, v128.load(bp), c0); c1 = madd(x, v128.load(bp, 16), c1);
          c2 = madd(x, v128.load(bp, 32), c2); c3 = madd(x, v128.load(bp, 48), c3);
          c4 = madd(x, v128.load(bp, 64), c4); c5 = madd(x, v128.load(bp, 80), c5);
          bp += GROUP_ROW_BYTES;
        }
      } else {
        // A last group with 1-2 panels skips its all-zero third panel (N = 256: 1/33 of the work).
        for (let k = 0; k < K; k++) {
          const x = v128.load32_splat(a + (<usize>k << 2));
          c0 = madd(x, v128.load(bp), c0); c1 = madd(x, v128.load(bp, 16), c1);
          c2 = madd(x, v128.load(bp, 32), c2); c3 = madd(x, v128.load(bp, 48), c3);
          bp += GROUP_ROW_BYTES;
        }
      }
      const cp = C + (<usize>(i * ldc + n0) << 2);
      store_row8(cp, beta, c0, c1, min(NR, N - n0));
      if (n0 + 8 < N) store_row8(cp + 32, beta, c2, c3, min(NR, N - n0 - 8));
      if (n0 + 16 < N) store_row8(cp + 64, beta, c4, c5, min(NR, N - n0 - 16));
      bg += groupBytes;
    }
  }
}

// One row of C, 32 columns, B read in place: c[0:32] = alpha * sum_p a[p] * b[p][0:32] + beta*c.
// Eight accumulators hide the madd latency as a 4x8 tile does.
function gemm_1x32_simd_b_in_place(k: i32, a: usize, aCs: usize, b: usize, bRs: usize, c: usize, alpha: f32, beta: f32): void {
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
  store_row8(c, beta, f32x4.mul(c0, al), f32x4.mul(c1, al), NR);
  store_row8(c + 32, beta, f32x4.mul(c2, al), f32x4.mul(c3, al), NR);
  store_row8(c + 64, beta, f32x4.mul(c4, al), f32x4.mul(c5, al), NR);
  store_row8(c + 96, beta, f32x4.mul(c6, al), f32x4.mul(c7, al), NR);
}

// 2 rows (a0, a1; a1 = a0 for a single row) x `cols` (1..4) columns of A*B^T as dot products
// along K: 8 vector accumulators; a 4x4 transpose-add folds them into one vector of 4
// results per row. Ragged columns re-read the last valid row of B and are not stored.
// Inlined into gemm_dot's column loop (as it was written there first): a call per 4
// columns would weigh at small K.
// @ts-ignore: decorator
@inline
function gemm_2x4_simd_dot(
  K: i32, a0: usize, a1: usize, b0: usize, ldbB: usize, cols: i32,
  c0: usize, ldcB: usize, rows: i32, alpha: f32, beta: f32,
): void {
  const K4 = K & ~3;
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
  const av = f32x4.splat(alpha);
  r0 = f32x4.mul(r0, av);
  r1 = f32x4.mul(r1, av);
  if (cols == 4) {
    store4(c0, beta, r0);
    if (rows > 1) store4(c0 + ldcB, beta, r1);
  } else {
    store_lanes(c0, r0, cols, beta);
    if (rows > 1) store_lanes(c0 + ldcB, r1, cols, beta);
  }
}

// c[0:8] = alpha * (a . b_j for the 8 rows b_j = b + j*ldbB) + beta * c[0:8]
function gemm_1x8_simd_dot(K: i32, a: usize, b: usize, ldbB: usize, c: usize, alpha: f32, beta: f32): void {
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
  store_row8(c, beta, f32x4.mul(r0, al), f32x4.mul(r1, al), NR);
}

// [sum(x0), sum(x1), sum(x2), sum(x3)]
// @ts-ignore: decorator
@inline
function hsum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s01 = f32x4.add(f32x4.shuffle(x0, x1, 0, 4, 1, 5), f32x4.shuffle(x0, x1, 2, 6, 3, 7));
  const s23 = f32x4.add(f32x4.shuffle(x2, x3, 0, 4, 1, 5), f32x4.shuffle(x2, x3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(s01, s23, 0, 1, 4, 5), f32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

// ---- stores (explicit tails) ----------------------------------------------------------------

// Writes one 4x8 register tile: C = alpha*acc + beta*C for `rows` x `cols`.
// @ts-ignore: decorator
@inline
function store_tile(
  c: usize, ldcB: usize, rows: i32, cols: i32, alpha: f32, beta: f32,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
): void {
  if (alpha != 1) {
    const av = f32x4.splat(alpha);
    c00 = f32x4.mul(c00, av); c01 = f32x4.mul(c01, av);
    c10 = f32x4.mul(c10, av); c11 = f32x4.mul(c11, av);
    c20 = f32x4.mul(c20, av); c21 = f32x4.mul(c21, av);
    c30 = f32x4.mul(c30, av); c31 = f32x4.mul(c31, av);
  }
  if (cols == NR) {
    store_row8(c, beta, c00, c01, NR);
    if (rows > 1) store_row8(c + ldcB, beta, c10, c11, NR);
    if (rows > 2) store_row8(c + 2 * ldcB, beta, c20, c21, NR);
    if (rows > 3) store_row8(c + 3 * ldcB, beta, c30, c31, NR);
  } else {
    // The right edge: one copy of the lane stores, row by row (a call here, out of the
    // kernel, cost its loop 8% in V8: A/B 256^3 and 64x256x64, simd).
    for (let r = 0; r < rows; r++) {
      const lo = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
      const hi = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
      store_row8(c + <usize>r * ldcB, beta, lo, hi, cols);
    }
  }
}

// c[0:w] = [lo hi][0:w] + beta * c[0:w] (w = 1..8; beta == 0 never reads c, beta == 1 adds).
// @ts-ignore: decorator
@inline
function store_row8(p: usize, beta: f32, lo: v128, hi: v128, w: i32): void {
  if (w == NR) {
    if (beta == 0) {
      v128.store(p, lo);
      v128.store(p, hi, 16);
    } else if (beta == 1) {
      v128.store(p, f32x4.add(lo, v128.load(p)));
      v128.store(p, f32x4.add(hi, v128.load(p, 16)), 16);
    } else {
      const bv = f32x4.splat(beta);
      v128.store(p, madd(v128.load(p), bv, lo));
      v128.store(p, madd(v128.load(p, 16), bv, hi), 16);
    }
  } else {
    store_lanes(p, lo, min(w, 4), beta);
    store_lanes(p + 16, hi, w - 4, beta);
  }
}

// c[0:4] = v + beta * c[0:4]
// @ts-ignore: decorator
@inline
function store4(p: usize, beta: f32, v: v128): void {
  v128.store(p, beta == 0 ? v : madd(v128.load(p), f32x4.splat(beta), v));
}


// c[0:n] = v[0:n] + beta * c[0:n] for the first n (<= 0: none, up to 4) lanes.
// @ts-ignore: decorator
@inline
function store_lanes(p: usize, v: v128, n: i32, beta: f32): void {
  if (n > 0) store<f32>(p, lane_plus(f32x4.extract_lane(v, 0), p, beta));
  if (n > 1) store<f32>(p + 4, lane_plus(f32x4.extract_lane(v, 1), p + 4, beta));
  if (n > 2) store<f32>(p + 8, lane_plus(f32x4.extract_lane(v, 2), p + 8, beta));
  if (n > 3) store<f32>(p + 12, lane_plus(f32x4.extract_lane(v, 3), p + 12, beta));
}

// @ts-ignore: decorator
@inline
function lane_plus(x: f32, p: usize, beta: f32): f32 {
  return beta == 0 ? x : x + beta * load<f32>(p);
}

// ---- packing --------------------------------------------------------------------------------

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

// Packs op(B)[pc:pc+kc, jc:jc+nc] (+ bS * the same block at bD) into dst as NR-column
// panels: panel q holds kc rows of 8 contiguous values (zero beyond nc).
function pack_b(transB: i32, B: usize, ldb: i32, bD: usize, bS: f32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  for (let q = 0; q < nc; q += NR) {
    const cols = min(NR, nc - q);
    const d = dst + (<usize>(q * kc) << 2);
    if (transB) pack_b_panel_t(B, ldb, bD, bS, pc, kc, jc + q, cols, d, NR << 2);
    else pack_b_panel_n(B, ldb, bD, bS, pc, kc, jc + q, cols, d, NR << 2);
  }
}

// One panel, op(B) = B: rows pc..pc+kc of columns j0..j0+cols (zero up to 8) to dst, one
// row every dRs bytes (32: a plain panel; 96: a grouped one). Rows of B are already
// contiguous runs of columns.
function pack_b_panel_n(B: usize, ldb: i32, bD: usize, bS: f32, pc: i32, kc: i32, j0: i32, cols: i32, dst: usize, dRs: usize): void {
  const ldbB: usize = <usize>ldb << 2;
  let src = B + <usize>pc * ldbB + (<usize>j0 << 2);
  const dstEnd = dst + <usize>kc * dRs;
  if (cols == NR) {
    const sv = f32x4.splat(bS);
    for (; dst < dstEnd; dst += dRs) {
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
    for (; dst < dstEnd; dst += dRs) {
      v128.store(dst, f32x4.splat(0));
      v128.store(dst, f32x4.splat(0), 16);
      for (let j = 0; j < cols; j++) store<f32>(dst + (<usize>j << 2), sum_f32(src + (<usize>j << 2), bD, bS));
      src += ldbB;
    }
  }
}

// One panel, op(B) = B^T: column j of op(B) is row j of B. Full panels transpose 4x4
// blocks in registers; the K tail and partial panels go element by element.
function pack_b_panel_t(B: usize, ldb: i32, bD: usize, bS: f32, pc: i32, kc: i32, j0: i32, cols: i32, dst: usize, dRs: usize): void {
  const ldbB: usize = <usize>ldb << 2;
  const src = B + <usize>j0 * ldbB + (<usize>pc << 2);
  let p = 0;
  if (cols == NR) {
    const sv = f32x4.splat(bS);
    for (; p + 4 <= kc; p += 4) {
      const s = src + (<usize>p << 2);
      const d = dst + <usize>p * dRs;
      transpose4(s, ldbB, d, dRs, bD, bS, sv);
      transpose4(s + 4 * ldbB, ldbB, d + 16, dRs, bD, bS, sv);
    }
  }
  for (; p < kc; p++) {
    const d = dst + <usize>p * dRs;
    for (let j = 0; j < NR; j++) {
      const v: f32 = j < cols ? sum_f32(src + <usize>j * ldbB + (<usize>p << 2), bD, bS) : 0;
      store<f32>(d + (<usize>j << 2), v);
    }
  }
}

// The one 4x4 transpose: reads 4 rows of 4 floats (src, src+srcStride, ...; each plus s
// times the row at byte offset yD when s != 0, sv = splat(s)) and writes their transpose as
// 4 vectors at dst, dst+dstStride, ...
// @ts-ignore: decorator
@inline
function transpose4(src: usize, srcStride: usize, dst: usize, dstStride: usize, yD: usize, s: f32, sv: v128): void {
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

// Packs op(A)[ic:ic+mc, pc:pc+kc] (+ aS * the same block at aD) into dst as MR-row panels:
// panel q holds, for each p, op(A)[q*4+r][p] for r = 0..3, plain or broadcast to 4 lanes
// (bcast), zero beyond mc.
function pack_a(transA: i32, A: usize, lda: i32, aD: usize, aS: f32, ic: i32, mc: i32, pc: i32, kc: i32, dst0: usize, bcast: bool): void {
  const ldaB: usize = <usize>lda << 2;
  const kBytes: usize = bcast ? 64 : 16;
  // op(A)[i][p] lives at A + i*aRs + p*aCs (bytes).
  const aRs: usize = transA ? 4 : ldaB;
  const aCs: usize = transA ? ldaB : 4;
  const sv = f32x4.splat(aS);
  let q0 = 0;
  if (transA && !bcast) {
    // op(A) = A^T: 16 rows of op(A) are one 64-byte line of a row of A, so
    // four panels are filled per pass and each line is read once (the last
    // 1-15 rows go value by value below).
    const panelBytes: usize = <usize>kc << 4;
    for (; q0 + 16 <= mc; q0 += 16) {
      let src = A + (<usize>(ic + q0) << 2) + <usize>pc * ldaB;
      let dst = dst0 + (<usize>(q0 * kc) << 2);
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
    let dst = dst0 + <usize>(q * kc) * (kBytes >> 2);
    const dstEnd = dst + <usize>kc * kBytes;
    if (rows == MR && !transA && !bcast) {
      // op(A) = A: 4 rows x 4 values of p transposed in registers at a time.
      const dst4 = dst + (<usize>(kc & ~3) << 4);
      for (; dst < dst4; dst += 4 * kBytes) {
        transpose4(src, aRs, dst, 16, aD, aS, sv);
        src += 16;
      }
      for (; dst < dstEnd; dst += kBytes) {
        for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), sum_f32(src + <usize>r * aRs, aD, aS));
        src += 4;
      }
    } else if (rows == MR && bcast) {
      // Pre-broadcast: one value per 16 bytes, op(A)[i][p] for either layout.
      const r1 = aRs, r2 = aRs << 1, r3 = aRs * <usize>3;
      if (aS != 0) {
        for (; dst < dstEnd; dst += kBytes) {
          const y = src + aD;
          v128.store(dst, f32x4.splat(load<f32>(src) + aS * load<f32>(y)));
          v128.store(dst, f32x4.splat(load<f32>(src + r1) + aS * load<f32>(y + r1)), 16);
          v128.store(dst, f32x4.splat(load<f32>(src + r2) + aS * load<f32>(y + r2)), 32);
          v128.store(dst, f32x4.splat(load<f32>(src + r3) + aS * load<f32>(y + r3)), 48);
          src += aCs;
        }
      } else {
        for (; dst < dstEnd; dst += kBytes) {
          v128.store(dst, v128.load32_splat(src));
          v128.store(dst, v128.load32_splat(src + r1), 16);
          v128.store(dst, v128.load32_splat(src + r2), 32);
          v128.store(dst, v128.load32_splat(src + r3), 48);
          src += aCs;
        }
      }
    } else {
      for (; dst < dstEnd; dst += kBytes) {
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < rows ? sum_f32(src + <usize>r * aRs, aD, aS) : 0;
          if (bcast) v128.store(dst + (<usize>r << 4), f32x4.splat(v));
          else store<f32>(dst + (<usize>r << 2), v);
        }
        src += aCs;
      }
    }
  }
}
