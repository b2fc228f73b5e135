// Helpers shared by the RNN, LSTM and GRU sequence kernels (rnn.ts, lstm.ts, gru.ts).
// Layout conventions of every recurrent kernel:
//   rows are indexed by (t, b) as row = t*B + b (time-first), features contiguous;
//   G = gate count (1 RNN, 4 LSTM, 3 GRU), GH = G*H;
//   lengths: [B] i32, each in 1..T, or 0 (null) meaning every sequence has length T;
//   reverse direction: sequence b runs t = len_b-1 down to 0 (its own end first).
// Activations kept for backward are indexed by the time t they belong to (not by the
// step number), so that the weight gradients over all steps are single GEMMs whose
// rows line up with x, whatever the direction and lengths.
import { gemm_f32, gemm_work_floats, gemm_work_max_floats, gemm_pack_b, gemm_packed_b, gemm_pack_b_floats, gemm_packed_b_work_floats } from "./gemm";

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
// x: [T*B, I] (row stride ldx)  w_ih: [GH, I], or 0: x is the projection itself (I = GH)
// b_ih, b_hh: [GH] or 0
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
    // Row 0 holds the summed bias; every other row is a copy of it (a projected input adds
    // the bias to each row of x itself, in one pass).
    for (let j = 0; j < GH; j++) {
      let v = load<f32>(at(b_ih, j));
      if (j < mergeCols) v += load<f32>(at(b_hh, j));
      store<f32>(at(gates, j), v);
    }
    if (w_ih != 0) for (let r = 1; r < rows; r++) memory.copy(at(gates, r * GH), gates, <usize>GH << 2);
  }
  if (w_ih == 0) {
    // x already holds x · w_ihᵀ (I = GH): the caller projected it (a DMN's word tables).
    // Rows from the last down, so row 0's bias is read by every row before it is overwritten.
    for (let r = rows - 1; r >= 0; r--) {
      const g = at(gates, r * GH), xr = at(x, r * ldx);
      if (b_ih == 0) { memory.copy(g, xr, <usize>GH << 2); continue; }
      let j = 0;
      for (; j + 4 <= GH; j += 4) v128.store(at(g, j), f32x4.add(v128.load(at(gates, j)), v128.load(at(xr, j))));
      for (; j < GH; j++) store<f32>(at(g, j), load<f32>(at(gates, j)) + load<f32>(at(xr, j)));
    }
  } else if (I < PROJECTION_PACKED_MAX_I) {
    // W_ihᵀ pre-packed and multiplied like a step product (gemm_packed_b): same sums in the
    // same order as gemm_f32, without its per-tile call and store overhead, which weighs at
    // small I. Raw A/B, time packed / gemm_f32 (rows x I x GH): SIMD 32x32x256 0.91,
    // 512x32x256 0.88, 256x64x256 0.975, 1024x128x1024 0.97; relaxed 0.82-0.97.
    gemm_pack_b(I, GH, w_ih, I, 1, work, rows);
    gemm_packed_b(rows, GH, I, x, ldx, work, gates, GH, b_ih != 0 ? 1 : 0, at(work, gemm_pack_b_floats(rows, I, GH)));
  } else {
    gemm_f32(0, 1, rows, GH, I, 1, x, ldx, w_ih, I, b_ih != 0 ? 1 : 0, gates, GH, work);
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

// Floats of the work rec_forward_prologue needs for any T*B: the pre-packed W_ihᵀ and the
// broadcast of A (the packed path takes the same layout for every row count >= 4, and
// grouped panels, no larger, below), or gemm_f32's packing space.
export function rec_projection_floats(I: i32, GH: i32): i32 {
  if (I >= PROJECTION_PACKED_MAX_I) return gemm_work_floats(UNKNOWN_ROWS, GH, I);
  return max(gemm_pack_b_floats(1, I, GH), gemm_pack_b_floats(4, I, GH)) + gemm_packed_b_work_floats(UNKNOWN_ROWS, I, GH);
}

// A row count standing for "T*B, not known when work sizes are asked" (every work bound
// grows with the rows up to its cache block, so the largest serves every T).
export const UNKNOWN_ROWS = 1 << 28;

// Floats of work a sequence backward needs for its gradient products over all steps
// (rec_acc_weight_grad, rec_input_grad), which run after BPTT, when the steps' work is free.
export function rec_grad_gemm_floats(): i32 {
  return gemm_work_max_floats();
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
// work: gemm_work_max_floats() floats (the sequence backwards do not know the rows T*B nor I).
// @ts-ignore: decorator
@inline
export function rec_acc_weight_grad(rows: i32, N: i32, K: i32, dg: usize, ldg: i32, src: usize, lds: i32, dW: usize, lddW: i32, work: usize): void {
  gemm_f32(1, 0, N, K, rows, 1, dg, ldg, src, lds, 1, dW, lddW, work);
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
// dg: [rows, GH]  w_ih: [GH, I], or 0 for a projected input (I = GH: dx = dg)
// work: gemm_work_max_floats() floats
// @ts-ignore: decorator
@inline
export function rec_input_grad(rows: i32, GH: i32, I: i32, dg: usize, w_ih: usize, dx: usize, lddx: i32, accumulate: i32, work: usize): void {
  if (w_ih != 0) {
    gemm_f32(0, 0, rows, I, GH, 1, dg, GH, w_ih, I, accumulate ? 1 : 0, dx, lddx, work);
    return;
  }
  // A projected input (rec_forward_prologue with w_ih = 0): dx is the input side's dgates.
  for (let r = 0; r < rows; r++) {
    const d = at(dx, r * lddx), g = at(dg, r * GH);
    if (!accumulate) { memory.copy(d, g, <usize>GH << 2); continue; }
    let j = 0;
    for (; j + 4 <= GH; j += 4) v128.store(at(d, j), f32x4.add(v128.load(at(d, j)), v128.load(at(g, j))));
    for (; j < GH; j++) store<f32>(at(d, j), load<f32>(at(d, j)) + load<f32>(at(g, j)));
  }
}

// ---- The BPTT skeleton's shared steps (lstm, gru, rnn backward) -------------------------

// One reverse step's carry: dh_{t-1} = step · W_hh (K of step's columns, packed whhP) into
// dh0 [B, H] (or added to it, `accumulate`). With lengths, a sequence that has not started
// yet at reverse step s (s >= its length) keeps its carried gradient: the product goes to
// dhNext [B, H] first and only the running rows take it.
export function rec_carry_state_grad(
  B: i32, H: i32, K: i32, step: usize, ldstep: i32, whhP: usize, dh0: usize, dhNext: usize,
  lengths: usize, s: i32, T: i32, accumulate: i32, scratch: usize,
): void {
  if (lengths == 0) {
    gemm_packed_b(B, H, K, step, ldstep, whhP, dh0, H, accumulate, scratch);
    return;
  }
  gemm_packed_b(B, H, K, step, ldstep, whhP, dhNext, H, 0, scratch);
  for (let b = 0; b < B; b++) {
    if (s >= seq_len(lengths, b, T)) continue;
    const dh = at(dh0, b * H), dn = at(dhNext, b * H);
    if (!accumulate) { memory.copy(dh, dn, <usize>H << 2); continue; }
    let j = 0;
    for (; j + 4 <= H; j += 4) v128.store(at(dh, j), f32x4.add(v128.load(at(dh, j)), v128.load(at(dn, j))));
    for (; j < H; j++) store<f32>(at(dh, j), load<f32>(at(dh, j)) + load<f32>(at(dn, j)));
  }
}

// After the reverse loop of a cell whose gates all read x and h alike (lstm, rnn): the
// weight gradients dW_ih += dgatesᵀ x, dW_hh += dgatesᵀ hprev, the biases, and dx.
// dgates: [rows, GH]  x: [rows, I] (row stride ldx)  hprev: [rows, H]
export function rec_backward_products(
  rows: i32, GH: i32, I: i32, H: i32, dgates: usize, x: usize, ldx: i32, hprev: usize,
  w_ih: usize, dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize,
  dx: usize, lddx: i32, dxAccumulate: i32, work: usize,
): void {
  rec_acc_weight_grad(rows, GH, I, dgates, GH, x, ldx, dw_ih, I, work);
  rec_acc_weight_grad(rows, GH, H, dgates, GH, hprev, H, dw_hh, H, work);
  if (db_ih != 0) rec_acc_bias_grad(rows, GH, dgates, GH, db_ih, db_hh);
  if (dx != 0) rec_input_grad(rows, GH, I, dgates, w_ih, dx, lddx, dxAccumulate, work);
}
