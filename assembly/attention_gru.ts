// The DMN+ attention GRU (Xiong et al. 2016), one step over a batch: a GRU whose update
// gate is replaced by an attention weight g, one scalar per batch row, given as input.
// Gate rows: r, n (two row blocks, not three).
//   r = σ(W_ir x + b_ir + W_hr h + b_hr)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      (reset-after, as torch's GRU)
//   h' = g n + (1 - g) h
// The projection, the step product and the weight gradients are the sequence kernels'
// (recurrent_common.ts); only the gate code is this cell's.
import { sigmoid_gate_rows, tanh_f32x4, madd } from "./math";
import {
  at, ld, st, rec_forward_prologue, rec_projection_floats, rec_acc_weight_grad, rec_acc_bias_grad, rec_input_grad, rec_grad_gemm_floats,
} from "./recurrent_common";
import { gemm_pack_b, gemm_packed_b, gemm_pack_b_floats, gemm_packed_b_work_floats } from "./gemm";

// x: [B, I] (row stride ldx)  w_ih: [2H, I]  w_hh: [2H, H]  b_ih, b_hh: [2H] or 0
// h: [B, H]  gate: [B] (g per row)  hOut: [B, H] (must not overlap h)
// gates: [B, 2H] written (r, n)  extra: [B, H] written (W_hn h + b_hn): both kept for
// attention_gru_cell_backward   work: attention_gru_cell_forward_work_floats(B, H, I) floats
export function attention_gru_cell_forward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h: usize, gate: usize, hOut: usize, gates: usize, extra: usize, work: usize,
): void {
  const GH = 2 * H;
  const whhT = work; // W_hhᵀ [H, 2H], packed
  const hh = at(whhT, gemm_pack_b_floats(B, H, GH)); // h W_hhᵀ [B, 2H]
  const scratch = at(hh, B * GH);
  // gates = x W_ihᵀ + b_ih, plus b_hr on the r block (b_hn stays inside r ⊙ (.)).
  rec_forward_prologue(1, B, I, H, 2, x, ldx, w_ih, b_ih, b_hh, H, 0, hOut, H, gates, 0, work);
  gemm_pack_b(H, GH, w_hh, H, 1, whhT, B);
  gemm_packed_b(B, GH, H, h, H, whhT, hh, GH, 0, scratch);
  const bhn = b_hh != 0 ? at(b_hh, H) : 0;
  const Ho = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const g = at(gates, b * GH), hr = at(hh, b * GH), hp = at(h, b * H), o = at(hOut, b * H), ex = at(extra, b * H);
    const gs = f32x4.splat(load<f32>(at(gate, b)));
    sigmoid_gate_rows(g, hr, 0, H); // r
    for (let j = 0; j < H; j += 4) {
      const jo = <usize>j << 2, lanes = min(4, H - j);
      let hn = ld(hr + Ho + jo, lanes);
      if (bhn != 0) hn = f32x4.add(hn, ld(bhn + jo, lanes));
      const n = tanh_f32x4(madd(ld(g + jo, lanes), hn, ld(g + Ho + jo, lanes)));
      const hOld = ld(hp + jo, lanes);
      st(o + jo, madd(gs, f32x4.sub(n, hOld), hOld), lanes);
      st(g + Ho + jo, n, lanes);
      st(ex + jo, hn, lanes);
    }
  }
}

export function attention_gru_cell_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return max(gemm_pack_b_floats(B, H, 2 * H) + 2 * B * H + gemm_packed_b_work_floats(B, H, 2 * H), rec_projection_floats(I, 2 * H));
}

// Backward of one attention_gru_cell_forward (same x, h, gate, weights, gates and extra).
// dhOut: [B, H] or 0 (zero)  dx: [B, I] (row stride lddx) or 0; written, or added to when
// dxAccumulate   dh: [B, H] written   dgate: [B] written (dL/dg = Σ_j dh'_j (n_j - h_j))
// dw_ih, dw_hh, db_ih, db_hh: accumulated (db_* 0 without bias)
// work: attention_gru_cell_backward_work_floats(B, H) floats
export function attention_gru_cell_backward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, h: usize, gate: usize,
  gates: usize, extra: usize, dhOut: usize, dx: usize, lddx: i32, dxAccumulate: i32, dh: usize, dgate: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, work: usize,
): void {
  const GH = 2 * H;
  // Input-side gate gradients [dr; dn] and hidden-side ones [dr; r ⊙ dn]: the n rows differ
  // by the factor r, as in the reset-after GRU.
  const dgx = work, dgh = at(work, B * GH);
  const whhP = at(dgh, B * GH); // W_hh [2H, H], packed (then the gradient products' work)
  const scratch = at(whhP, gemm_pack_b_floats(B, GH, H));
  const Ho = <usize>H << 2;
  const one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const g = at(gates, b * GH), hp = at(h, b * H), hn = at(extra, b * H), d = at(dh, b * H);
    const dO = dhOut != 0 ? at(dhOut, b * H) : 0;
    const dx_b = at(dgx, b * GH), dh_b = at(dgh, b * GH);
    const gv = load<f32>(at(gate, b));
    const gs = f32x4.splat(gv), keep = f32x4.splat(1 - gv);
    let dgAcc = f32x4.splat(0);
    for (let j = 0; j < H; j += 4) {
      const jo = <usize>j << 2, lanes = min(4, H - j);
      const dhv = dO != 0 ? ld(dO + jo, lanes) : f32x4.splat(0);
      const r = ld(g + jo, lanes), n = ld(g + Ho + jo, lanes), hOld = ld(hp + jo, lanes);
      dgAcc = madd(dhv, f32x4.sub(n, hOld), dgAcc); // lanes past H load as 0
      const dnp = f32x4.mul(f32x4.mul(dhv, gs), f32x4.sub(one, f32x4.mul(n, n)));
      const drp = f32x4.mul(f32x4.mul(dnp, ld(hn + jo, lanes)), f32x4.mul(r, f32x4.sub(one, r)));
      st(dx_b + jo, drp, lanes); st(dx_b + Ho + jo, dnp, lanes);
      st(dh_b + jo, drp, lanes); st(dh_b + Ho + jo, f32x4.mul(dnp, r), lanes);
      st(d + jo, f32x4.mul(dhv, keep), lanes);
    }
    store<f32>(at(dgate, b), f32x4.extract_lane(dgAcc, 0) + f32x4.extract_lane(dgAcc, 1) + f32x4.extract_lane(dgAcc, 2) + f32x4.extract_lane(dgAcc, 3));
  }
  // dh += [dr; r ⊙ dn] W_hh
  gemm_pack_b(GH, H, w_hh, H, 0, whhP, B);
  gemm_packed_b(B, H, GH, dgh, GH, whhP, dh, H, 1, scratch);
  rec_acc_weight_grad(B, GH, I, dgx, GH, x, ldx, dw_ih, I, whhP);
  rec_acc_weight_grad(B, GH, H, dgh, GH, h, H, dw_hh, H, whhP);
  if (db_ih != 0) {
    rec_acc_bias_grad(B, GH, dgx, GH, db_ih, 0);
    rec_acc_bias_grad(B, GH, dgh, GH, db_hh, 0);
  }
  if (dx != 0) rec_input_grad(B, GH, I, dgx, w_ih, dx, lddx, dxAccumulate, whhP);
}

export function attention_gru_cell_backward_work_floats(B: i32, H: i32): i32 {
  // After dgx, dgh: the packed W_hh and its product's scratch, then the gradient products'.
  return 4 * B * H + max(gemm_pack_b_floats(B, 2 * H, H) + gemm_packed_b_work_floats(B, 2 * H, H), rec_grad_gemm_floats());
}
