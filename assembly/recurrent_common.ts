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

// Loads 4 lanes (vec) or splats one value (scalar tail); cell math is written once
// for v128 and the tails run the same code on lane 0, so tails and bodies agree.
// @ts-ignore: decorator
@inline
export function ld(p: usize, vec: bool): v128 {
  return vec ? v128.load(p) : v128.load32_splat(p);
}

// @ts-ignore: decorator
@inline
export function st(p: usize, v: v128, vec: bool): void {
  if (vec) v128.store(p, v);
  else v128.store32_lane(p, v, 0);
}

// Length of sequence b (T when lengths is null).
// @ts-ignore: decorator
@inline
export function seq_len(lengths: usize, b: i32, T: i32): i32 {
  return lengths == 0 ? T : load<i32>(at(lengths, b));
}

// Time index of sequence b at step s, or -1 when the sequence is finished.
// @ts-ignore: decorator
@inline
export function step_time(lengths: usize, b: i32, T: i32, s: i32, reverse: i32): i32 {
  const len = seq_len(lengths, b, T);
  if (s >= len) return -1;
  return reverse ? len - 1 - s : s;
}

// C: [M,N] = A: [M,K] · B: [K,N]  (+ C when accumulate), all row-major with element strides.
// The per-step recurrent product (M = batch): register-blocked 4 rows x 8 columns with
// column blocks outermost so a [K,8] panel of B stays in L1 across the row blocks;
// single rows use 32-column blocks (8 independent accumulators hide the FMA latency).
export function rec_matmul(
  M: i32, N: i32, K: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, accumulate: i32,
): void {
  const zero = f32x4.splat(0);
  const bStride = <usize>ldb << 2;
  const M4 = M & ~3;
  let j = 0;
  if (M4 > 0) {
    for (; j + 8 <= N; j += 8) {
      for (let i = 0; i < M4; i += 4) {
        const a0 = at(A, i * lda), a1 = at(A, (i + 1) * lda), a2 = at(A, (i + 2) * lda), a3 = at(A, (i + 3) * lda);
        let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
        let bp = at(B, j);
        for (let k = 0; k < K; k++) {
          const b0 = v128.load(bp), b1 = v128.load(bp, 16);
          const ko = <usize>k << 2;
          const x0 = v128.load32_splat(a0 + ko), x1 = v128.load32_splat(a1 + ko);
          c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
          c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
          const x2 = v128.load32_splat(a2 + ko), x3 = v128.load32_splat(a3 + ko);
          c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
          c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
          bp += bStride;
        }
        const r0 = at(C, i * ldc + j), r1 = at(C, (i + 1) * ldc + j), r2 = at(C, (i + 2) * ldc + j), r3 = at(C, (i + 3) * ldc + j);
        if (accumulate) {
          c00 = f32x4.add(c00, v128.load(r0)); c01 = f32x4.add(c01, v128.load(r0, 16));
          c10 = f32x4.add(c10, v128.load(r1)); c11 = f32x4.add(c11, v128.load(r1, 16));
          c20 = f32x4.add(c20, v128.load(r2)); c21 = f32x4.add(c21, v128.load(r2, 16));
          c30 = f32x4.add(c30, v128.load(r3)); c31 = f32x4.add(c31, v128.load(r3, 16));
        }
        v128.store(r0, c00); v128.store(r0, c01, 16);
        v128.store(r1, c10); v128.store(r1, c11, 16);
        v128.store(r2, c20); v128.store(r2, c21, 16);
        v128.store(r3, c30); v128.store(r3, c31, 16);
      }
    }
    // Remaining columns of the 4-row blocks, and every column of the leftover rows.
    rec_matmul_rows(0, M4, j, N, K, A, lda, B, ldb, C, ldc, accumulate);
    rec_matmul_rows(M4, M, 0, N, K, A, lda, B, ldb, C, ldc, accumulate);
  } else {
    rec_matmul_rows(0, M, 0, N, K, A, lda, B, ldb, C, ldc, accumulate);
  }
}

// Rows [i0,i1), columns [j0,N) of rec_matmul, one row at a time.
function rec_matmul_rows(
  i0: i32, i1: i32, j0: i32, N: i32, K: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, accumulate: i32,
): void {
  const zero = f32x4.splat(0);
  const bStride = <usize>ldb << 2;
  for (let i = i0; i < i1; i++) {
    const a = at(A, i * lda);
    const c = at(C, i * ldc);
    let j = j0;
    for (; j + 32 <= N; j += 32) {
      let c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero, c6 = zero, c7 = zero;
      let bp = at(B, j);
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(a + (<usize>k << 2));
        c0 = madd(x, v128.load(bp), c0); c1 = madd(x, v128.load(bp, 16), c1);
        c2 = madd(x, v128.load(bp, 32), c2); c3 = madd(x, v128.load(bp, 48), c3);
        c4 = madd(x, v128.load(bp, 64), c4); c5 = madd(x, v128.load(bp, 80), c5);
        c6 = madd(x, v128.load(bp, 96), c6); c7 = madd(x, v128.load(bp, 112), c7);
        bp += bStride;
      }
      const cp = at(c, j);
      if (accumulate) {
        c0 = f32x4.add(c0, v128.load(cp)); c1 = f32x4.add(c1, v128.load(cp, 16));
        c2 = f32x4.add(c2, v128.load(cp, 32)); c3 = f32x4.add(c3, v128.load(cp, 48));
        c4 = f32x4.add(c4, v128.load(cp, 64)); c5 = f32x4.add(c5, v128.load(cp, 80));
        c6 = f32x4.add(c6, v128.load(cp, 96)); c7 = f32x4.add(c7, v128.load(cp, 112));
      }
      v128.store(cp, c0); v128.store(cp, c1, 16); v128.store(cp, c2, 32); v128.store(cp, c3, 48);
      v128.store(cp, c4, 64); v128.store(cp, c5, 80); v128.store(cp, c6, 96); v128.store(cp, c7, 112);
    }
    for (; j + 4 <= N; j += 4) {
      let c0 = zero;
      let bp = at(B, j);
      for (let k = 0; k < K; k++) {
        c0 = madd(v128.load32_splat(a + (<usize>k << 2)), v128.load(bp), c0);
        bp += bStride;
      }
      const cp = at(c, j);
      if (accumulate) c0 = f32x4.add(c0, v128.load(cp));
      v128.store(cp, c0);
    }
    for (; j < N; j++) {
      let acc: f32 = 0;
      for (let k = 0; k < K; k++) acc += load<f32>(at(a, k)) * load<f32>(at(B, k * ldb + j));
      const cp = at(c, j);
      store<f32>(cp, accumulate ? acc + load<f32>(cp) : acc);
    }
  }
}

// dst: [cols, rows] = transpose of src: [rows, cols] (row stride lds).
export function rec_transpose(rows: i32, cols: i32, src: usize, lds: i32, dst: usize): void {
  // 8-row strips keep the writes of one destination row contiguous for a while.
  for (let r0 = 0; r0 < rows; r0 += 8) {
    const r1 = min(r0 + 8, rows);
    for (let c = 0; c < cols; c++) {
      const d = at(dst, c * rows);
      for (let r = r0; r < r1; r++) store<f32>(at(d, r), load<f32>(at(src, r * lds + c)));
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
// wT = w_hhᵀ for the per-step products, h (and c) start from h0 (c0), and outputs at padded
// positions (t >= len_b) are zeroed, as are the kept hprev rows there (they meet zero gradients).
// x: [T*B, I] (row stride ldx)  w_ih: [GH, I]  w_hh: [GH, H]  b_ih, b_hh: [GH] or 0
// gates: [T*B, GH]  wT: [H, GH]  out: [T*B, H] (row stride ldout)  hprev: [T*B, H] or 0
export function rec_forward_prologue(
  T: i32, B: i32, I: i32, H: i32, G: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize,
  b_ih: usize, b_hh: usize, mergeCols: i32, lengths: usize, out: usize, ldout: i32,
  gates: usize, wT: usize, hprev: usize,
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
    gemm_f32(0, 1, rows, GH, I, 1, x, ldx, w_ih, I, 1, gates, GH);
  } else {
    gemm_f32(0, 1, rows, GH, I, 1, x, ldx, w_ih, I, 0, gates, GH);
  }
  rec_transpose(GH, H, w_hh, H, wT);
  if (lengths != 0) {
    for (let b = 0; b < B; b++) {
      for (let t = seq_len(lengths, b, T); t < T; t++) {
        memory.fill(at(out, (t * B + b) * ldout), 0, <usize>H << 2);
        if (hprev != 0) memory.fill(at(hprev, (t * B + b) * H), 0, <usize>H << 2);
      }
    }
  }
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

// db: [N] += column sums of dg: [rows, N] (row stride ldg).
export function rec_acc_bias_grad(rows: i32, N: i32, dg: usize, ldg: i32, db: usize): void {
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    let acc = v128.load(at(db, j));
    for (let r = 0; r < rows; r++) acc = f32x4.add(acc, v128.load(at(dg, r * ldg + j)));
    v128.store(at(db, j), acc);
  }
  for (; j < N; j++) {
    let acc = load<f32>(at(db, j));
    for (let r = 0; r < rows; r++) acc += load<f32>(at(dg, r * ldg + j));
    store<f32>(at(db, j), acc);
  }
}

// dx: [rows, I] = dg · w_ih (+ dx when accumulate: the second direction adds to the first).
// dg: [rows, GH]  w_ih: [GH, I]
// @ts-ignore: decorator
@inline
export function rec_input_grad(rows: i32, GH: i32, I: i32, dg: usize, w_ih: usize, dx: usize, lddx: i32, accumulate: i32): void {
  gemm_f32(0, 0, rows, I, GH, 1, dg, GH, w_ih, I, accumulate ? 1 : 0, dx, lddx);
}
