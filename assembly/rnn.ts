// Elman RNN over a whole sequence, one layer and one direction per call (the cuDNN recipe,
// as in lstm.ts):  h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.
// Row/length/direction conventions: see recurrent_common.ts.
import { tanh_f32x4 } from "./math";
import {
  at, ld, st, seq_len, step_time, max_seq_len, seed_state_grad, rec_forward_prologue, rec_projection_floats, rec_zero_padded, rec_carry_state_grad, rec_backward_products, rec_acc_weight_grad, rec_acc_bias_grad, rec_input_grad, rec_grad_gemm_floats,
} from "./recurrent_common";
import { gemm_pack_b, gemm_packed_b, gemm_pack_b_floats, gemm_packed_b_work_floats } from "./gemm";

// Layout helpers the TypeScript layer driver calls (batch-first transposes, dropout masks).
export { rec_swap01, rec_mul, rec_zero } from "./recurrent_common";

// @ts-ignore: decorator
@inline
function rnn_units_forward(g: usize, hh: usize, h: usize, out: usize, hprev: usize, relu: i32, j: i32, lanes: i32, keep: bool): void {
  const jo = <usize>j << 2;
  const pre = f32x4.add(ld(g + jo, lanes), ld(hh + jo, lanes));
  const hNew = relu ? f32x4.max(pre, f32x4.splat(0)) : tanh_f32x4(pre);
  if (keep) {
    st(hprev + jo, ld(h + jo, lanes), lanes);
    st(g + jo, hNew, lanes);
  }
  st(h + jo, hNew, lanes);
  st(out + jo, hNew, lanes);
}

// x: [T*B, I] (row stride ldx)  w_ih: [H, I]  w_hh: [H, H]  b_ih, b_hh: [H] or 0
// h0: [B, H]  lengths: [B] i32 or 0  relu: 0 tanh, 1 relu
// out: [T*B, H] (row stride ldout; zero past each length)  hN: [B, H] (final state; running state)
// gates: [T*B, H] (kept: the new state h')  hprev: [T*B, H] kept for backward, or 0 (inference)
// work: rnn_forward_work_floats(B, H, I) floats
export function rnn_forward(
  T: i32, B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h0: usize, lengths: usize, reverse: i32, relu: i32, out: usize, ldout: i32, hN: usize,
  gates: usize, hprev: usize, work: usize,
): void {
  const scratch = at(work, rnn_step_floats(B, H) - gemm_packed_b_work_floats(B, H, H)); // the step product's: the tail of the steps' work
  const whhT = work; // W_hhᵀ, packed
  const hh = at(work, gemm_pack_b_floats(B, H, H));
  rec_forward_prologue(T, B, I, H, 1, x, ldx, w_ih, b_ih, b_hh, H, lengths, out, ldout, gates, hprev, work);
  gemm_pack_b(H, H, w_hh, H, 1, whhT, B);
  const keep = hprev != 0;
  memory.copy(hN, h0, <usize>(B * H) << 2);
  const maxLen = max_seq_len(lengths, B, T);
  for (let s = 0; s < maxLen; s++) {
    gemm_packed_b(B, H, H, hN, H, whhT, hh, H, 0, scratch);
    for (let b = 0; b < B; b++) {
      const t = step_time(lengths, b, T, s, reverse);
      if (t < 0) continue;
      const row = t * B + b;
      const g = at(gates, row * H), hr = at(hh, b * H), h = at(hN, b * H), o = at(out, row * ldout);
      const hp = keep ? at(hprev, row * H) : 0;
      for (let j = 0; j < H; j += 4) rnn_units_forward(g, hr, h, o, hp, relu, j, min(4, H - j), keep);
    }
  }
}

// The projection's work (in the prologue) is reused by the steps.
export function rnn_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return max(rnn_step_floats(B, H), rec_projection_floats(I, H));
}

function rnn_step_floats(B: i32, H: i32): i32 {
  return gemm_pack_b_floats(B, H, H) + B * H + gemm_packed_b_work_floats(B, H, H);
}

// @ts-ignore: decorator
@inline
function rnn_units_backward(g: usize, dout: usize, dh: usize, dg: usize, step: usize, relu: i32, j: i32, lanes: i32): void {
  const jo = <usize>j << 2;
  const hNew = ld(g + jo, lanes);
  let dhv = ld(dh + jo, lanes);
  if (dout != 0) dhv = f32x4.add(dhv, ld(dout + jo, lanes));
  // relu: h' > 0 exactly where the pre-activation is; tanh: 1 - h'^2.
  const dpre = relu
    ? v128.and(dhv, f32x4.gt(hNew, f32x4.splat(0)))
    : f32x4.mul(dhv, f32x4.sub(f32x4.splat(1), f32x4.mul(hNew, hNew)));
  st(dg + jo, dpre, lanes);
  st(step + jo, dpre, lanes);
}

// BPTT for one rnn_forward call made with hprev kept (same T, B, lengths, reverse, relu).
// dout: [T*B, H] (row stride lddout) or 0  dhN: [B, H] or 0
// dx: [T*B, I] (row stride lddx) or 0; written, or added to when dxAccumulate   dh0: [B, H] written
// dw_ih, dw_hh, db_ih, db_hh: accumulated (db_* 0 without bias)
// dgates: [T*B, H]  work: rnn_backward_work_floats(B, H) floats
export function rnn_backward(
  T: i32, B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, lengths: usize, reverse: i32,
  relu: i32, dout: usize, lddout: i32, dhN: usize, gates: usize, hprev: usize,
  dx: usize, lddx: i32, dxAccumulate: i32, dh0: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, dgates: usize, work: usize,
): void {
  const scratch = at(work, rnn_backward_work_floats(B, H) - gemm_packed_b_work_floats(B, H, H)); // the step product's: the tail of work
  const rows = T * B;
  const whhP = work; // W_hh, packed
  const step = at(work, gemm_pack_b_floats(B, H, H));
  const dhNext = at(step, B * H);
  gemm_pack_b(H, H, w_hh, H, 0, whhP, B);
  rec_zero_padded(T, B, H, lengths, dgates, H);
  seed_state_grad(dh0, dhN, B, H);
  const maxLen = max_seq_len(lengths, B, T);
  for (let s = maxLen - 1; s >= 0; s--) {
    for (let b = 0; b < B; b++) {
      const t = step_time(lengths, b, T, s, reverse);
      const sb = at(step, b * H);
      if (t < 0) { memory.fill(sb, 0, <usize>H << 2); continue; }
      const row = t * B + b;
      const g = at(gates, row * H), dg = at(dgates, row * H), dh = at(dh0, b * H);
      const dO = dout != 0 ? at(dout, row * lddout) : 0;
      for (let j = 0; j < H; j += 4) rnn_units_backward(g, dO, dh, dg, sb, relu, j, min(4, H - j));
    }
    rec_carry_state_grad(B, H, H, step, H, whhP, dh0, dhNext, lengths, s, T, 0, scratch);
  }
  rec_backward_products(rows, H, I, H, dgates, x, ldx, hprev, w_ih, dw_ih, dw_hh, db_ih, db_hh, dx, lddx, dxAccumulate, work);
}

// The gradient products after BPTT reuse the steps' work.
export function rnn_backward_work_floats(B: i32, H: i32): i32 {
  return max(gemm_pack_b_floats(B, H, H) + 2 * B * H + gemm_packed_b_work_floats(B, H, H), rec_grad_gemm_floats());
}

// ---- One step over a batch (torch.nn.RNNCell) ----------------------------------------
// The sequence kernel with T = 1 (see lstm_cell_forward): h is read in place at backward.

// x: [B, I] (row stride ldx)  w_ih: [H, I]  w_hh: [H, H]  b_ih, b_hh: [H] or 0
// h: [B, H]  relu: 0 tanh, 1 relu  hOut: [B, H] (must not overlap h)
// gates: [B, H] written (the new state): kept for rnn_cell_backward
// work: rnn_cell_forward_work_floats(B, H, I) floats
export function rnn_cell_forward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h: usize, relu: i32, hOut: usize, gates: usize, work: usize,
): void {
  const hprev = at(work, rnn_forward_work_floats(B, H, I));
  rnn_forward(1, B, I, H, x, ldx, w_ih, w_hh, b_ih, b_hh, h, 0, 0, relu, hOut, H, hOut, gates, hprev, work);
}

export function rnn_cell_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return rnn_forward_work_floats(B, H, I) + B * H;
}

// Backward of one rnn_cell_forward (same x, h, relu, weights and its gates).
// dhOut: [B, H] or 0  dx: [B, I] (row stride lddx) or 0; written, or added to when
// dxAccumulate   dh: [B, H] written   dw_ih, dw_hh, db_ih, db_hh: accumulated (db_* 0
// without bias)   work: rnn_cell_backward_work_floats(B, H) floats
export function rnn_cell_backward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, h: usize, relu: i32, gates: usize,
  dhOut: usize, dx: usize, lddx: i32, dxAccumulate: i32, dh: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, work: usize,
): void {
  const dgates = at(work, rnn_backward_work_floats(B, H));
  rnn_backward(1, B, I, H, x, ldx, w_ih, w_hh, 0, 0, relu, 0, 0, dhOut, gates, h,
    dx, lddx, dxAccumulate, dh, dw_ih, dw_hh, db_ih, db_hh, dgates, work);
}

export function rnn_cell_backward_work_floats(B: i32, H: i32): i32 {
  return rnn_backward_work_floats(B, H) + B * H;
}
