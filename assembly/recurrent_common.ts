// Helpers shared by the RNN, LSTM and GRU sequence kernels (rnn.ts, lstm.ts, gru.ts).
// Layout conventions of every recurrent kernel:
//   rows are indexed by (t, b) as row = t*B + b (time-first), features contiguous;
//   G = gate count (1 RNN, 4 LSTM, 3 GRU), GH = G*H;
//   lengths: [B] i32, each in 1..T, or 0 (null) meaning every sequence has length T;
//   reverse direction: sequence b runs t = len_b-1 down to 0 (its own end first).
// Activations kept for backward are indexed by the time t they belong to (not by the
// step number), so that the weight gradients over all steps are single GEMMs whose
// rows line up with x, whatever the direction and lengths.
import { gemm_f32 } from "./gemm";
import { madd } from "./math";

// @ts-ignore: decorator
@inline
export function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// Loads lanes [0, lanes) of a row segment (lanes = 1..4; the others read as 0) touching no
// memory past them. Cell math is written once for v128; the row tail (H not a multiple
// of 4) runs the same code with lanes < 4, so tails and bodies agree and the code exists once.
// @ts-ignore: decorator
@inline
export function ld(p: usize, lanes: i32): v128 {
  if (lanes >= 4) return v128.load(p);
  let v = v128.load32_zero(p);
  if (lanes > 1) v = v128.load32_lane(p, v, 1, 4);
  if (lanes > 2) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

// Stores lanes [0, lanes) of v.
// @ts-ignore: decorator
@inline
export function st(p: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) {
    v128.store(p, v);
    return;
  }
  v128.store32_lane(p, v, 0);
  if (lanes > 1) v128.store32_lane(p, v, 1, 4);
  if (lanes > 2) v128.store32_lane(p, v, 2, 8);
}

// Length of sequence b (T when lengths is null).
// @ts-ignore: decorator
@inline
export function seq_len(lengths: usize, b: i32, T: i32): i32 {
  return lengths == 0 ? T : load<i32>(at(lengths, b));
}

// Longest sequence of the batch: the step loops run this many steps.
export function max_seq_len(lengths: usize, B: i32, T: i32): i32 {
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = max(maxLen, seq_len(lengths, b, T));
  return maxLen;
}

// Seeds a running state gradient [B, H] with the final-state gradient (or 0 when none is given).
export function seed_state_grad(dst: usize, src: usize, B: i32, H: i32): void {
  if (src != 0) memory.copy(dst, src, <usize>(B * H) << 2); else memory.fill(dst, 0, <usize>(B * H) << 2);
}

// Time index of sequence b at step s, or -1 when the sequence is finished.
// @ts-ignore: decorator
@inline
export function step_time(lengths: usize, b: i32, T: i32, s: i32, reverse: i32): i32 {
  const len = seq_len(lengths, b, T);
  if (s >= len) return -1;
  return reverse ? len - 1 - s : s;
}

// Packs a [K, N] operand (element (k, n) = src[k*lds + n], or src[n*lds + k] when trans)
// into panels of 8 columns, zero-padded past N, the layout rec_matmul_packed streams for
// products with M rows (weights are packed once per sequence call, so every step reads
// its panels linearly; row-strided panels of a [K, 1024] matrix alias the same L1 sets):
// - M >= 4: each panel [K, 8] contiguous (the 4x8 blocks stream one panel at a time);
// - M < 4 ("grouped"): panels interleaved in groups of 3, group g = [K, 24] contiguous
//   (panels 3g..3g+2 side by side per k; a missing last panel is zeros), so a single row
//   walks 24 columns from one pointer. (Grouped for every M cost the 4x8 blocks 10-20% in
//   the relaxed build: a group's k rows spread one panel over 3x the cache lines.)
// - when rec_step_strassen(M, K, N): the 7 combinations of rec_pack_strassen.
// dst: packed_floats(M, K, N) floats.
export function rec_pack(K: i32, N: i32, src: usize, lds: i32, trans: i32, dst: usize, M: i32): void {
  if (rec_step_strassen(M, K, N)) {
    rec_pack_strassen(K, N, src, lds, trans, dst);
    return;
  }
  const grouped = M < 4;
  const padded = grouped ? packed_panels(N) : (N + 7) >> 3;
  const rowBytes: usize = grouped ? GROUP_ROW_BYTES : 32;
  for (let p = 0; p < padded; p++) {
    const n0 = p << 3;
    const w = max(0, min(8, N - n0));
    const d = panel_at(dst, K, p, grouped);
    let k0 = 0;
    if (trans && w == 8) {
      // Full transposed panel: 4x4 register transposes of two groups of 4 source rows, with
      // running pointers (index math per block cost more than the transposes).
      const rs = <usize>lds << 2;
      k0 = K & ~3;
      for (let half = 0; half < 2; half++) {
        let rp = at(src, n0 * lds) + <usize>(half * 4) * rs, dk = d + <usize>(half * 16);
        for (let k = 0; k < k0; k += 4) {
          transpose4(rp, rs, dk, rowBytes);
          rp += 16;
          dk += rowBytes << 2;
        }
      }
    }
    for (let k = k0; k < K; k++) {
      const dk = d + <usize>k * rowBytes;
      if (w == 0) {
        // A group's padding panel (see packed_panels).
        v128.store(dk, f32x4.splat(0));
        v128.store(dk, f32x4.splat(0), 16);
        continue;
      }
      if (!trans && w == 8) {
        const sp = at(src, k * lds + n0);
        v128.store(dk, v128.load(sp));
        v128.store(dk, v128.load(sp, 16), 16);
        continue;
      }
      for (let c = 0; c < 8; c++) {
        const n = n0 + c;
        store<f32>(at(dk, c), c < w ? load<f32>(at(src, trans ? n * lds + k : k * lds + n)) : 0);
      }
    }
  }
}

// Stores the 4x4 block at rows p, p + rs, p + 2rs, p + 3rs (bytes) transposed: its column j
// at o + j*os.
// @ts-ignore: decorator
@inline
function transpose4(p: usize, rs: usize, o: usize, os: usize): void {
  const a = v128.load(p), b = v128.load(p + rs), c = v128.load(p + 2 * rs), e = v128.load(p + 3 * rs);
  const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5), t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(c, e, 0, 4, 1, 5), t3 = f32x4.shuffle(c, e, 2, 6, 3, 7);
  v128.store(o, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(o + os, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(o + 2 * os, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(o + 3 * os, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// Bytes of one k row of a panel group (3 panels x 8 floats).
// @ts-ignore: decorator
@lazy const GROUP_ROW_BYTES: usize = 96;

// Panels rec_pack writes for N columns: rounded up to whole groups of 3.
// @ts-ignore: decorator
@inline
function packed_panels(N: i32): i32 {
  return ((N + 23) / 24) * 3;
}

// Start of panel p (its k = 0 row) in a packed [K, *] operand.
// @ts-ignore: decorator
@inline
function panel_at(P: usize, K: i32, p: i32, grouped: bool): usize {
  if (!grouped) return P + (<usize>p * <usize>K << 5);
  return P + (<usize>(p / 3) * <usize>K * GROUP_ROW_BYTES) + (<usize>(p % 3) << 5);
}

// Floats of the panels of a [K, N] operand (enough for any M).
// @ts-ignore: decorator
@inline
function panel_floats(K: i32, N: i32): i32 {
  return packed_panels(N) * 8 * K;
}

// Stores the first n (0..4) lanes of v at p, added to what is there when accumulate.
// @ts-ignore: decorator
@inline
function store_lanes(p: usize, v: v128, n: i32, accumulate: bool): void {
  if (n > 0) store<f32>(p, f32x4.extract_lane(v, 0) + (accumulate ? load<f32>(p) : 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1) + (accumulate ? load<f32>(p, 4) : 0), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2) + (accumulate ? load<f32>(p, 8) : 0), 8);
  if (n > 3) store<f32>(p, f32x4.extract_lane(v, 3) + (accumulate ? load<f32>(p, 12) : 0), 12);
}

// Stores 8 columns (v0, v1) of one C row, only the first w when the panel is partial.
// @ts-ignore: decorator
@inline
function store_row8(p: usize, v0: v128, v1: v128, w: i32, accumulate: bool): void {
  if (w == 8) {
    if (accumulate) {
      v0 = f32x4.add(v0, v128.load(p));
      v1 = f32x4.add(v1, v128.load(p, 16));
    }
    v128.store(p, v0);
    v128.store(p, v1, 16);
  } else {
    store_lanes(p, v0, min(w, 4), accumulate);
    store_lanes(p + 16, v1, w - 4, accumulate);
  }
}

// Rows of A that rec_matmul_packed broadcasts at once (bounds its scratch).
const BCAST_ROWS = 16;

// Floats of the scratch rec_matmul_packed needs for M rows of depth K (one v128 per element).
// @ts-ignore: decorator
@inline
export function bcast_floats(M: i32, K: i32): i32 {
  return M < 4 ? 0 : 4 * min((M + 3) & ~3, BCAST_ROWS) * K;
}

// Rows of a product with M < 4 on grouped panels (see rec_pack): 6 accumulators, one
// pointer, 7 loads per k (V8 issues the loads of an iteration first, so loads plus
// accumulators must fit in registers).
// @ts-ignore: decorator
@inline
function rec_matmul_grouped_rows(M: i32, N: i32, K: i32, A: usize, lda: i32, P: usize, C: usize, ldc: i32, accumulate: bool): void {
  const zero = f32x4.splat(0);
  const groupBytes = <usize>K * GROUP_ROW_BYTES;
  for (let i = 0; i < M; i++) {
    const a = at(A, i * lda);
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
      const cp = at(C, i * ldc + n0);
      store_row8(cp, c0, c1, min(8, N - n0), accumulate);
      if (n0 + 8 < N) store_row8(cp + 32, c2, c3, min(8, N - n0 - 8), accumulate);
      if (n0 + 16 < N) store_row8(cp + 64, c4, c5, min(8, N - n0 - 16), accumulate);
      bg += groupBytes;
    }
  }
}

// C: [M,N] = A: [M,K] · P (+ C when accumulate), P = rec_pack of a [K,N] operand for M rows;
// C must not overlap A. scratch: matmul_scratch_floats(M, K, N) floats.
// M < 4 (grouped panels): rec_matmul_grouped_rows; rec_step_strassen(M, K, N):
// rec_matmul_strassen; otherwise rec_matmul_blocks.
export function rec_matmul_packed(M: i32, N: i32, K: i32, A: usize, lda: i32, P: usize, C: usize, ldc: i32, accumulate: i32, scratch: usize): void {
  if (M < 4) {
    rec_matmul_grouped_rows(M, N, K, A, lda, P, C, ldc, accumulate != 0);
    return;
  }
  if (rec_step_strassen(M, K, N)) {
    rec_matmul_strassen(M, N, K, A, lda, P, C, ldc, accumulate, scratch);
    return;
  }
  rec_matmul_blocks(M, N, K, A, 0, 0, lda, P, C, ldc, accumulate != 0, scratch);
}

// C: [M,N] (row stride ldc) = (A + A2, or A - A2 when negA2; A alone when A2 = 0) · P
// (+ C when accumulate). M >= 4; A, A2: [M,K] (row stride lda); P = rec_pack of a [K,N]
// operand for M rows; abuf: bcast_floats(M, K).
// 4-row x 8-column register blocks over chunks of 16 rows: each chunk of A is first
// broadcast into abuf (every element as 4 equal lanes, 4 rows side by side per k), so the
// inner loop is plain loads at fixed offsets from one pointer; splat-loads there cost
// vector-unit slots (timings: bench/README.md, "Figures that sat in kernel comments").
// A last block of 1-3 rows runs padded with copies of the last row.
function rec_matmul_blocks(
  M: i32, N: i32, K: i32, A: usize, A2: usize, negA2: i32, lda: i32, P: usize,
  C: usize, ldc: i32, accumulate: bool, abuf: usize,
): void {
  const zero = f32x4.splat(0);
  // A2's sign as a sign-bit mask: x + (y ^ mask) is exactly x + y or x - y.
  const sign = negA2 ? f32x4.splat(-0.0) : zero;
  const panels = (N + 7) >> 3;
  const blockBytes = <usize>K << 6; // one 4-row block of abuf
  // Rows past M in the last block repeat row M-1 (any readable row: they are not stored).
  const Mup = (M + 3) & ~3;
  for (let i0 = 0; i0 < Mup; i0 += BCAST_ROWS) {
    const i1 = min(i0 + BCAST_ROWS, Mup);
    let d = abuf;
    for (let i = i0; i < i1; i += 4) {
      for (let r = 0; r < 4; r++) {
        const row = min(i + r, M - 1);
        const ar = at(A, row * lda);
        const ar2 = at(A2, row * lda);
        let dr = d + (<usize>r << 4);
        if (A2 == 0) {
          for (let k = 0; k < K; k++) { v128.store(dr, v128.load32_splat(ar + (<usize>k << 2))); dr += 64; }
        } else {
          for (let k = 0; k < K; k++) {
            const ko = <usize>k << 2;
            v128.store(dr, f32x4.add(v128.load32_splat(ar + ko), v128.xor(v128.load32_splat(ar2 + ko), sign)));
            dr += 64;
          }
        }
      }
      d += blockBytes;
    }
    for (let p = 0; p < panels; p++) {
      const n0 = p << 3;
      const w = min(8, N - n0);
      const pp = panel_at(P, K, p, false);
      let ab = abuf;
      for (let i = i0; i < i1; i += 4) {
        let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
        let bp = pp, ap = ab;
        for (let k = 0; k < K; k++) {
          const b0 = v128.load(bp), b1 = v128.load(bp, 16);
          const x0 = v128.load(ap), x1 = v128.load(ap, 16);
          c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
          c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
          const x2 = v128.load(ap, 32), x3 = v128.load(ap, 48);
          c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
          c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
          bp += 32;
          ap += 64;
        }
        store_row8(at(C, i * ldc + n0), c00, c01, w, accumulate);
        if (i + 1 < M) store_row8(at(C, (i + 1) * ldc + n0), c10, c11, w, accumulate);
        if (i + 2 < M) store_row8(at(C, (i + 2) * ldc + n0), c20, c21, w, accumulate);
        if (i + 3 < M) store_row8(at(C, (i + 3) * ldc + n0), c30, c31, w, accumulate);
        ab += blockBytes;
      }
    }
  }
}

// One level of Strassen's algorithm for the per-step recurrent products: 7 half-size
// products instead of 8 (1/8 fewer multiply-adds; the SIMD build's products already run at
// its instruction ceiling, so fewer operations is what is left). The weight operand is
// constant over a sequence call, so its 7 combinations are formed and packed once
// (rec_pack_strassen); per step only the left combinations (fused into the broadcast of A)
// and one pass combining the 7 products into C cost extra.
// With A = [A11 A12; A21 A22] (quadrants [M/2, K/2]), W likewise ([K/2, N/2]):
//   M1 = (A11+A22)(W11+W22)   M2 = (A21+A22) W11   M3 = A11 (W12-W22)   M4 = A22 (W21-W11)
//   M5 = (A11+A12) W22        M6 = (A21-A11)(W11+W12)                  M7 = (A12-A22)(W21+W22)
//   C11 = M1+M4-M5+M7   C12 = M3+M5   C21 = M2+M4   C22 = M1-M2+M3+M6
// Products into scratch then one combining pass beat landing each product in its 1-2
// quadrants of C directly (12 read-modify-writes of C, some subtracting) by 2-4% (A/B,
// simd, [16,256]x[256,1024] and [16,1024]x[1024,256]). Winograd's variant saves matrix
// additions, but here the left ones are fused and the combining pass is cheap.
// Error: norm-wise rather than element-wise, a small constant times the classical bound.
// rec_pack and rec_matmul_packed take this path by themselves where rec_step_strassen says.

// Whether products with M rows on a packed [K, N] weight operand take Strassen's path: whole halves (M, K even, each half of N whole 8-column panels), at least
// 4 rows per half (the 4x8 blocks: M >= 8), and K, N >= 256. With K or N = 128 nothing
// is gained, and at 64 it loses: a half product's 4x8 blocks then run only 64 k steps per
// store, and the extra broadcasts and the combining pass eat the eighth saved (timings:
// bench/README.md, "Figures that sat in kernel comments").
export function rec_step_strassen(M: i32, K: i32, N: i32): bool {
  return (M & 1) == 0 && M >= 8 && (K & 1) == 0 && (N & 15) == 0 && K >= 256 && N >= 256;
}

// Floats of the scratch rec_matmul_packed needs (Strassen: the broadcast of half of A and
// the 7 half products).
export function matmul_scratch_floats(M: i32, K: i32, N: i32): i32 {
  const m = M >> 1;
  return rec_step_strassen(M, K, N) ? bcast_floats(m, K >> 1) + 7 * m * (N >> 1) : bcast_floats(M, K);
}

// Floats rec_pack writes for M rows.
export function packed_floats(M: i32, K: i32, N: i32): i32 {
  return rec_step_strassen(M, K, N) ? 7 * (K >> 1) * (N >> 1) : panel_floats(K, N);
}

// Packs the 7 combinations of a [K, N] operand (element (k, n) = src[k*lds + n], or
// src[n*lds + k] when trans), K even and N a multiple of 16, into 7 consecutive slots of
// (K/2)*(N/2) floats in rec_pack's panel layout: W11+W22, W11, W12-W22, W21-W11, W22,
// W11+W12, W21+W22. The quadrants are packed first (W12, W21 into the slots that end as
// their differences), then combined slot by slot (same layout, so elementwise).
export function rec_pack_strassen(K: i32, N: i32, src: usize, lds: i32, trans: i32, dst: usize): void {
  const k = K >> 1, n = N >> 1;
  const slot = k * n;
  const s1 = dst, s2 = at(dst, slot), s3 = at(dst, 2 * slot), s4 = at(dst, 3 * slot);
  const s5 = at(dst, 4 * slot), s6 = at(dst, 5 * slot), s7 = at(dst, 6 * slot);
  // Quadrant (qk, qn) starts at element (qk*k, qn*n).
  const q01 = trans ? n * lds : n, q10 = trans ? k : k * lds;
  rec_pack(k, n, src, lds, trans, s2, 4);                      // W11
  rec_pack(k, n, at(src, q01 + q10), lds, trans, s5, 4);       // W22
  rec_pack(k, n, at(src, q01), lds, trans, s3, 4);             // W12
  rec_pack(k, n, at(src, q10), lds, trans, s4, 4);             // W21
  rec_combine(slot, s2, s5, 0, s1);
  rec_combine(slot, s2, s3, 0, s6);
  rec_combine(slot, s4, s5, 0, s7);
  rec_combine(slot, s3, s5, 1, s3);
  rec_combine(slot, s4, s2, 1, s4);
}

// dst[i] = a[i] + b[i] (a[i] - b[i] when sub) for n floats, n a multiple of 4; dst may be a.
function rec_combine(n: i32, a: usize, b: usize, sub: i32, dst: usize): void {
  for (let i = 0; i < n; i += 4) {
    const x = v128.load(at(a, i)), y = v128.load(at(b, i));
    v128.store(at(dst, i), sub ? f32x4.sub(x, y) : f32x4.add(x, y));
  }
}

// C: [M,N] = A: [M,K] · W (+ C when accumulate) by one level of Strassen (see above);
// W packed by rec_pack_strassen. M even and >= 8, K even, N a multiple of 16;
// scratch: bcast_floats(M/2, K/2) + 7*(M/2)*(N/2) floats.
export function rec_matmul_strassen(M: i32, N: i32, K: i32, A: usize, lda: i32, P: usize, C: usize, ldc: i32, accumulate: i32, scratch: usize): void {
  const m = M >> 1, n = N >> 1, k = K >> 1;
  const slot = <usize>(k * n) << 2; // one packed combination of W
  const A11 = A, A12 = at(A, k), A21 = at(A, m * lda), A22 = at(A21, k);
  const abuf = scratch, M1 = at(scratch, bcast_floats(m, k));
  const prod = <usize>(m * n) << 2; // one half product [m, n], M1..M7 consecutive
  rec_matmul_blocks(m, n, k, A11, A22, 0, lda, P, M1, n, false, abuf);
  rec_matmul_blocks(m, n, k, A21, A22, 0, lda, P + slot, M1 + prod, n, false, abuf);
  rec_matmul_blocks(m, n, k, A11, 0, 0, lda, P + 2 * slot, M1 + 2 * prod, n, false, abuf);
  rec_matmul_blocks(m, n, k, A22, 0, 0, lda, P + 3 * slot, M1 + 3 * prod, n, false, abuf);
  rec_matmul_blocks(m, n, k, A11, A12, 0, lda, P + 4 * slot, M1 + 4 * prod, n, false, abuf);
  rec_matmul_blocks(m, n, k, A21, A11, 1, lda, P + 5 * slot, M1 + 5 * prod, n, false, abuf);
  rec_matmul_blocks(m, n, k, A12, A22, 1, lda, P + 6 * slot, M1 + 6 * prod, n, false, abuf);
  for (let i = 0; i < m; i++) {
    const c11 = at(C, i * ldc), c12 = at(c11, n), c21 = at(C, (i + m) * ldc), c22 = at(c21, n);
    const row = at(M1, i * n);
    for (let j = 0; j < n; j += 4) {
      const o = <usize>j << 2;
      const p = row + o;
      const m1 = v128.load(p), m2 = v128.load(p + prod), m3 = v128.load(p + 2 * prod), m4 = v128.load(p + 3 * prod);
      const m5 = v128.load(p + 4 * prod), m6 = v128.load(p + 5 * prod), m7 = v128.load(p + 6 * prod);
      let x11 = f32x4.add(f32x4.sub(f32x4.add(m1, m4), m5), m7);
      let x12 = f32x4.add(m3, m5);
      let x21 = f32x4.add(m2, m4);
      let x22 = f32x4.add(f32x4.add(f32x4.sub(m1, m2), m3), m6);
      if (accumulate) {
        x11 = f32x4.add(x11, v128.load(c11 + o)); x12 = f32x4.add(x12, v128.load(c12 + o));
        x21 = f32x4.add(x21, v128.load(c21 + o)); x22 = f32x4.add(x22, v128.load(c22 + o));
      }
      v128.store(c11 + o, x11); v128.store(c12 + o, x12);
      v128.store(c21 + o, x21); v128.store(c22 + o, x22);
    }
  }
}

// Fills n floats with 0.
export function rec_zero(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 2);
}

// dst: [d1, d0, F] = src: [d0, d1, F] with the first two axes swapped (batch-first <-> time-first).
export function rec_swap01(d0: i32, d1: i32, F: i32, src: usize, dst: usize): void {
  const rowBytes = <usize>F << 2;
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      memory.copy(at(dst, (j * d0 + i) * F), at(src, (i * d1 + j) * F), rowBytes);
    }
  }
}

// out[i] = a[i] * b[i] (dropout masks and their gradient); out may alias a or b.
export function rec_mul(n: i32, a: usize, b: usize, out: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * load<f32>(at(b, i)));
}

// Start of every forward kernel: input projection of all steps at once,
//   gates[t*B+b, :] = x[t,b] · w_ihᵀ + b_ih (+ b_hh on columns < mergeCols)
// (columns >= mergeCols keep b_hh out: the GRU n gate with reset-after adds it inside r⊙(.)),
// and outputs at padded positions (t >= len_b) are zeroed, as are the kept hprev rows there
// (they meet zero gradients).
// x: [T*B, I] (row stride ldx)  w_ih: [GH, I]  b_ih, b_hh: [GH] or 0
// gates: [T*B, GH]  out: [T*B, H] (row stride ldout)  hprev: [T*B, H] or 0
// work: rec_projection_floats(I, GH) floats (free again when the prologue returns)
export function rec_forward_prologue(
  T: i32, B: i32, I: i32, H: i32, G: i32, x: usize, ldx: i32, w_ih: usize,
  b_ih: usize, b_hh: usize, mergeCols: i32, lengths: usize, out: usize, ldout: i32,
  gates: usize, hprev: usize, work: usize,
): void {
  const GH = G * H;
  const rows = T * B;
  if (b_ih != 0) {
    // Row 0 holds the summed bias; every other row is a copy of it.
    for (let j = 0; j < GH; j++) {
      let v = load<f32>(at(b_ih, j));
      if (j < mergeCols) v += load<f32>(at(b_hh, j));
      store<f32>(at(gates, j), v);
    }
    for (let r = 1; r < rows; r++) memory.copy(at(gates, r * GH), gates, <usize>GH << 2);
  }
  if (I < PROJECTION_PACKED_MAX_I) {
    // W_ihᵀ packed like W_hhᵀ and multiplied by the step product's kernels: same sums in the
    // same order as gemm_f32, without its per-tile call and store overhead, which weighs at
    // small I. Raw A/B, time packed / gemm_f32 (rows x I x GH): SIMD 32x32x256 0.91,
    // 512x32x256 0.88, 256x64x256 0.975, 1024x128x1024 0.97; relaxed 0.82-0.97.
    rec_pack(I, GH, w_ih, I, 1, work, rows);
    rec_matmul_packed(rows, GH, I, x, ldx, work, gates, GH, b_ih != 0 ? 1 : 0, at(work, panel_floats(I, GH)));
  } else {
    gemm_f32(0, 1, rows, GH, I, 1, x, ldx, w_ih, I, b_ih != 0 ? 1 : 0, gates, GH);
  }
  if (lengths != 0) {
    for (let b = 0; b < B; b++) {
      for (let t = seq_len(lengths, b, T); t < T; t++) {
        memory.fill(at(out, (t * B + b) * ldout), 0, <usize>H << 2);
        if (hprev != 0) memory.fill(at(hprev, (t * B + b) * H), 0, <usize>H << 2);
      }
    }
  }
}

// Input projections with I below this take the packed path of rec_forward_prologue (the
// step products' Strassen needs K >= 256, gemm_f32's cache blocks KC = 256).
const PROJECTION_PACKED_MAX_I = 256;

// Floats of the work rec_forward_prologue needs: the packed W_ihᵀ and the broadcast of A.
export function rec_projection_floats(I: i32, GH: i32): i32 {
  return I < PROJECTION_PACKED_MAX_I ? panel_floats(I, GH) + bcast_floats(BCAST_ROWS, I) : 0;
}

// Zeroes the rows (t >= len_b) of a [T*B, cols] buffer that no step visits, so that
// gradients stored there contribute exactly nothing to the GEMMs over all rows.
export function rec_zero_padded(T: i32, B: i32, cols: i32, lengths: usize, p: usize, ld: i32): void {
  if (lengths == 0) return;
  for (let b = 0; b < B; b++) {
    for (let t = seq_len(lengths, b, T); t < T; t++) memory.fill(at(p, (t * B + b) * ld), 0, <usize>cols << 2);
  }
}

// dW: [N, K] += dgᵀ · src over all rows, dg: [rows, N] (row stride ldg), src: [rows, K] (row stride lds).
// @ts-ignore: decorator
@inline
export function rec_acc_weight_grad(rows: i32, N: i32, K: i32, dg: usize, ldg: i32, src: usize, lds: i32, dW: usize, lddW: i32): void {
  gemm_f32(1, 0, N, K, rows, 1, dg, ldg, src, lds, 1, dW, lddW);
}

// db: [N] += column sums of dg: [rows, N] (row stride ldg), and db2 += the same sums when
// db2 != 0 (b_ih and b_hh get equal gradients: one pass over dg serves both).
// Columns go 16 at a time (one 64-byte line of each row, 4 accumulators) so that dg is
// read once, the last N % 16 one at a time (every gate block of the standard shapes is a
// multiple of 16); per column the rows add up in order (same sums as one column at a time).
export function rec_acc_bias_grad(rows: i32, N: i32, dg: usize, ldg: i32, db: usize, db2: usize): void {
  let j = 0;
  const rs = <usize>ldg << 2;
  for (; j + 16 <= N; j += 16) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let p = at(dg, j);
    for (let r = 0; r < rows; r++) {
      a0 = f32x4.add(a0, v128.load(p)); a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32)); a3 = f32x4.add(a3, v128.load(p, 48));
      p += rs;
    }
    for (let q = 0; q < 2; q++) {
      const d = q == 0 ? db : db2;
      if (d == 0) continue;
      const o = at(d, j);
      v128.store(o, f32x4.add(v128.load(o), a0)); v128.store(o, f32x4.add(v128.load(o, 16), a1), 16);
      v128.store(o, f32x4.add(v128.load(o, 32), a2), 32); v128.store(o, f32x4.add(v128.load(o, 48), a3), 48);
    }
  }
  for (; j < N; j++) {
    let acc: f32 = 0;
    for (let r = 0; r < rows; r++) acc += load<f32>(at(dg, r * ldg + j));
    store<f32>(at(db, j), load<f32>(at(db, j)) + acc);
    if (db2 != 0) store<f32>(at(db2, j), load<f32>(at(db2, j)) + acc);
  }
}

// dx: [rows, I] = dg · w_ih (+ dx when accumulate: the second direction adds to the first).
// dg: [rows, GH]  w_ih: [GH, I]
// @ts-ignore: decorator
@inline
export function rec_input_grad(rows: i32, GH: i32, I: i32, dg: usize, w_ih: usize, dx: usize, lddx: i32, accumulate: i32): void {
  gemm_f32(0, 0, rows, I, GH, 1, dg, GH, w_ih, I, accumulate ? 1 : 0, dx, lddx);
}

