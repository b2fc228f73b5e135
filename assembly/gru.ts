// GRU over a whole sequence, one layer and one direction per call (the cuDNN recipe, as in
// lstm.ts). Gate rows are torch's: r, z, n.  r = σ(.), z = σ(.), h' = (1-z)n + z h, and
//   resetAfter = 1 (torch, cuDNN):   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   resetAfter = 0 (Cho 2014, the lecture): n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
// The reset-before form needs the r gate before the n product, so its step does two
// recurrent products (h·[W_hr;W_hz]ᵀ, then (r⊙h)·W_hnᵀ).
// Row/length/direction conventions: see recurrent_common.ts.
import { sigmoid_gate_rows, tanh_f32x4, madd } from "./math";
import {
  at, ld, st, seq_len, step_time, max_seq_len, seed_state_grad, rec_forward_prologue, rec_projection_floats, rec_zero_padded, rec_carry_state_grad, rec_backward_products, rec_acc_weight_grad, rec_acc_bias_grad, rec_input_grad, rec_grad_gemm_floats,
} from "./recurrent_common";
import { gemm_pack_b, gemm_packed_b, gemm_pack_b_floats, gemm_packed_b_work_floats } from "./gemm";

// Reset-after step, after sigmoid_gate_rows has turned this row's r and z pre-activations
// in g into gates. g: the input projection (r, z with both biases; n with b_in only).
// @ts-ignore: decorator
@inline
function gru_after_forward(g: usize, hh: usize, bhn: usize, h: usize, out: usize, hprev: usize, hnKeep: usize, H: i32, j: i32, lanes: i32, keep: bool): void {
  const jo = <usize>j << 2;
  const Ho = <usize>H << 2;
  const r = ld(g + jo, lanes);
  const z = ld(g + Ho + jo, lanes);
  let hn = ld(hh + 2 * Ho + jo, lanes);
  if (bhn != 0) hn = f32x4.add(hn, ld(bhn + jo, lanes));
  const n = tanh_f32x4(madd(r, hn, ld(g + 2 * Ho + jo, lanes)));
  const hOld = ld(h + jo, lanes);
  const hNew = madd(z, f32x4.sub(hOld, n), n);
  if (keep) {
    st(hprev + jo, hOld, lanes);
    st(hnKeep + jo, hn, lanes);
    st(g + 2 * Ho + jo, n, lanes);
  }
  st(h + jo, hNew, lanes);
  st(out + jo, hNew, lanes);
}

// Reset-before, second half: n (all biases merged into g) and the new state.
// @ts-ignore: decorator
@inline
function gru_before_state(g: usize, hh: usize, h: usize, rh: usize, out: usize, hprev: usize, rhKeep: usize, H: i32, j: i32, lanes: i32, keep: bool): void {
  const jo = <usize>j << 2;
  const Ho = <usize>H << 2;
  const z = ld(g + Ho + jo, lanes);
  const n = tanh_f32x4(f32x4.add(ld(g + 2 * Ho + jo, lanes), ld(hh + 2 * Ho + jo, lanes)));
  const hOld = ld(h + jo, lanes);
  const hNew = madd(z, f32x4.sub(hOld, n), n);
  if (keep) {
    st(hprev + jo, hOld, lanes);
    st(rhKeep + jo, ld(rh + jo, lanes), lanes);
    st(g + 2 * Ho + jo, n, lanes);
  }
  st(h + jo, hNew, lanes);
  st(out + jo, hNew, lanes);
}

// x: [T*B, I] (row stride ldx)  w_ih: [3H, I]  w_hh: [3H, H]  b_ih, b_hh: [3H] or 0
// h0: [B, H]  lengths: [B] i32 or 0  out: [T*B, H] (row stride ldout; zero past each length)
// hN: [B, H] (final state per sequence; also the running state)  gates: [T*B, 3H]
// hprev, extra: [T*B, H] kept for backward (extra = W_hn h + b_hn after, r⊙h before), or 0
// work: gru_forward_work_floats(B, H, I) floats
export function gru_forward(
  T: i32, B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h0: usize, lengths: usize, reverse: i32, resetAfter: i32, out: usize, ldout: i32, hN: usize,
  gates: usize, hprev: usize, extra: usize, work: usize,
): void {
  const scratch = at(work, gru_step_floats(B, H) - gru_scratch_floats(B, H, true)); // the step products': the tail of the steps' work
  const GH = 3 * H;
  // Packed W_hhᵀ: all three gates (reset-after), or [W_hr;W_hz]ᵀ then W_hnᵀ (reset-before).
  const whhT = work;
  const whnT = at(work, gemm_pack_b_floats(B, H, 2 * H));
  const hh = at(work, gru_packed_floats(B, H, true));
  const rhStep = at(hh, B * GH);
  rec_forward_prologue(T, B, I, H, 3, x, ldx, w_ih, b_ih, b_hh, resetAfter ? 2 * H : GH, lengths, out, ldout, gates, hprev, work);
  if (resetAfter) {
    gemm_pack_b(H, GH, w_hh, H, 1, whhT, B);
  } else {
    gemm_pack_b(H, 2 * H, w_hh, H, 1, whhT, B);
    gemm_pack_b(H, H, at(w_hh, 2 * H * H), H, 1, whnT, B);
  }
  const keep = hprev != 0;
  if (keep) rec_zero_padded(T, B, H, lengths, extra, H);
  const bhn = resetAfter && b_hh != 0 ? at(b_hh, 2 * H) : 0;
  memory.copy(hN, h0, <usize>(B * H) << 2);
  const maxLen = max_seq_len(lengths, B, T);
  for (let s = 0; s < maxLen; s++) {
    if (resetAfter) {
      gemm_packed_b(B, GH, H, hN, H, whhT, hh, GH, 0, scratch);
      for (let b = 0; b < B; b++) {
        const t = step_time(lengths, b, T, s, reverse);
        if (t < 0) continue;
        const row = t * B + b;
        const g = at(gates, row * GH), hr = at(hh, b * GH), h = at(hN, b * H), o = at(out, row * ldout);
        const hp = keep ? at(hprev, row * H) : 0, ex = keep ? at(extra, row * H) : 0;
        sigmoid_gate_rows(g, hr, 0, 2 * H); // r and z: contiguous in g and hh
        for (let j = 0; j < H; j += 4) gru_after_forward(g, hr, bhn, h, o, hp, ex, H, j, min(4, H - j), keep);
      }
    } else {
      gemm_packed_b(B, 2 * H, H, hN, H, whhT, hh, GH, 0, scratch);
      for (let b = 0; b < B; b++) {
        const t = step_time(lengths, b, T, s, reverse);
        const rh = at(rhStep, b * H);
        if (t < 0) { memory.fill(rh, 0, <usize>H << 2); continue; }
        const g = at(gates, (t * B + b) * GH), hr = at(hh, b * GH), h = at(hN, b * H);
        sigmoid_gate_rows(g, hr, 0, 2 * H); // r and z, kept in g
        for (let j = 0; j < H; j += 4) {
          const jo = <usize>j << 2, lanes = min(4, H - j);
          st(rh + jo, f32x4.mul(ld(g + jo, lanes), ld(h + jo, lanes)), lanes);
        }
      }
      gemm_packed_b(B, H, H, rhStep, H, whnT, at(hh, 2 * H), GH, 0, scratch);
      for (let b = 0; b < B; b++) {
        const t = step_time(lengths, b, T, s, reverse);
        if (t < 0) continue;
        const row = t * B + b;
        const g = at(gates, row * GH), hr = at(hh, b * GH), h = at(hN, b * H), rh = at(rhStep, b * H), o = at(out, row * ldout);
        const hp = keep ? at(hprev, row * H) : 0, ex = keep ? at(extra, row * H) : 0;
        for (let j = 0; j < H; j += 4) gru_before_state(g, hr, h, rh, o, hp, ex, H, j, min(4, H - j), keep);
      }
    }
  }
}

// The projection's work (in the prologue) is reused by the steps.
export function gru_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return max(gru_step_floats(B, H), rec_projection_floats(I, 3 * H));
}

function gru_step_floats(B: i32, H: i32): i32 {
  return gru_packed_floats(B, H, true) + 3 * B * H + B * H + gru_scratch_floats(B, H, true);
}

// Reset-after backward of one row: dgx gets the input-side gate gradients, dgn and the
// step row the hidden-side ones (the n rows differ by the factor r), dh the direct z path.
// @ts-ignore: decorator
@inline
function gru_after_backward(g: usize, hprev: usize, hn: usize, dout: usize, dh: usize, dgx: usize, dgn: usize, step: usize, H: i32, j: i32, lanes: i32): void {
  const jo = <usize>j << 2;
  const Ho = <usize>H << 2;
  const one = f32x4.splat(1);
  const r = ld(g + jo, lanes), z = ld(g + Ho + jo, lanes), n = ld(g + 2 * Ho + jo, lanes);
  const h = ld(hprev + jo, lanes);
  let dhv = ld(dh + jo, lanes);
  if (dout != 0) dhv = f32x4.add(dhv, ld(dout + jo, lanes));
  const dnp = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
  const dzp = f32x4.mul(f32x4.mul(dhv, f32x4.sub(h, n)), f32x4.mul(z, f32x4.sub(one, z)));
  const drp = f32x4.mul(f32x4.mul(dnp, ld(hn + jo, lanes)), f32x4.mul(r, f32x4.sub(one, r)));
  const dhn = f32x4.mul(dnp, r);
  st(dgx + jo, drp, lanes); st(dgx + Ho + jo, dzp, lanes); st(dgx + 2 * Ho + jo, dnp, lanes);
  st(dgn + jo, dhn, lanes);
  st(step + jo, drp, lanes); st(step + Ho + jo, dzp, lanes); st(step + 2 * Ho + jo, dhn, lanes);
  st(dh + jo, f32x4.mul(dhv, z), lanes);
}

// Reset-before backward, first half: z and n gradients, the direct z path into dh.
// @ts-ignore: decorator
@inline
function gru_before_backward_zn(g: usize, hprev: usize, dout: usize, dh: usize, dgx: usize, step: usize, H: i32, j: i32, lanes: i32): void {
  const jo = <usize>j << 2;
  const Ho = <usize>H << 2;
  const one = f32x4.splat(1);
  const z = ld(g + Ho + jo, lanes), n = ld(g + 2 * Ho + jo, lanes);
  const h = ld(hprev + jo, lanes);
  let dhv = ld(dh + jo, lanes);
  if (dout != 0) dhv = f32x4.add(dhv, ld(dout + jo, lanes));
  const dnp = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
  const dzp = f32x4.mul(f32x4.mul(dhv, f32x4.sub(h, n)), f32x4.mul(z, f32x4.sub(one, z)));
  st(dgx + Ho + jo, dzp, lanes); st(dgx + 2 * Ho + jo, dnp, lanes);
  st(step + Ho + jo, dzp, lanes); st(step + 2 * Ho + jo, dnp, lanes);
  st(dh + jo, f32x4.mul(dhv, z), lanes);
}

// Reset-before backward, second half: from d(r⊙h) to the r gradient and the r path into dh.
// @ts-ignore: decorator
@inline
function gru_before_backward_r(g: usize, hprev: usize, drh: usize, dh: usize, dgx: usize, step: usize, j: i32, lanes: i32): void {
  const jo = <usize>j << 2;
  const one = f32x4.splat(1);
  const r = ld(g + jo, lanes);
  const d = ld(drh + jo, lanes);
  const drp = f32x4.mul(f32x4.mul(d, ld(hprev + jo, lanes)), f32x4.mul(r, f32x4.sub(one, r)));
  st(dgx + jo, drp, lanes);
  st(step + jo, drp, lanes);
  st(dh + jo, madd(d, r, ld(dh + jo, lanes)), lanes);
}

// BPTT for one gru_forward call made with hprev/extra kept (same T, B, lengths, reverse, resetAfter).
// dout: [T*B, H] (row stride lddout) or 0  dhN: [B, H] or 0
// dx: [T*B, I] (row stride lddx) or 0; written, or added to when dxAccumulate   dh0: [B, H] written
// dw_ih, dw_hh, db_ih, db_hh: accumulated (db_* 0 without bias; w_ih = 0, a projected input
// (see rec_forward_prologue): dw_ih untouched, dx = the input side's gate gradients [T*B, 3H])
// dgates: [T*B, 3H]  dgn: [T*B, H] (reset-after only, else 0)  work: gru_backward_work_floats(B, H)
export function gru_backward(
  T: i32, B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, lengths: usize, reverse: i32,
  resetAfter: i32, dout: usize, lddout: i32, dhN: usize, gates: usize, hprev: usize, extra: usize,
  dx: usize, lddx: i32, dxAccumulate: i32, dh0: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, dgates: usize, dgn: usize, work: usize,
): void {
  const scratch = at(work, gru_backward_work_floats(B, H) - gru_scratch_floats(B, H, false)); // the step products': the tail of work
  const GH = 3 * H;
  const rows = T * B;
  // Packed W_hh: all three gate rows (reset-after), or rows r,z then rows n (reset-before).
  const whhP = work;
  const whnP = at(work, gemm_pack_b_floats(B, 2 * H, H));
  const step = at(work, gru_packed_floats(B, H, false));
  const dhNext = at(step, B * GH);
  const drh = at(dhNext, B * H);
  if (resetAfter) {
    gemm_pack_b(GH, H, w_hh, H, 0, whhP, B);
  } else {
    gemm_pack_b(2 * H, H, w_hh, H, 0, whhP, B);
    gemm_pack_b(H, H, at(w_hh, 2 * H * H), H, 0, whnP, B);
  }
  rec_zero_padded(T, B, GH, lengths, dgates, GH);
  if (resetAfter) rec_zero_padded(T, B, H, lengths, dgn, H);
  seed_state_grad(dh0, dhN, B, H);
  const maxLen = max_seq_len(lengths, B, T);
  for (let s = maxLen - 1; s >= 0; s--) {
    for (let b = 0; b < B; b++) {
      const t = step_time(lengths, b, T, s, reverse);
      const sb = at(step, b * GH);
      if (t < 0) { memory.fill(sb, 0, <usize>GH << 2); continue; }
      const row = t * B + b;
      const g = at(gates, row * GH), hp = at(hprev, row * H), dg = at(dgates, row * GH), dh = at(dh0, b * H);
      const dO = dout != 0 ? at(dout, row * lddout) : 0;
      if (resetAfter) {
        const hn = at(extra, row * H), dn = at(dgn, row * H);
        for (let j = 0; j < H; j += 4) gru_after_backward(g, hp, hn, dO, dh, dg, dn, sb, H, j, min(4, H - j));
      } else {
        for (let j = 0; j < H; j += 4) gru_before_backward_zn(g, hp, dO, dh, dg, sb, H, j, min(4, H - j));
      }
    }
    let K = GH;
    if (!resetAfter) {
      // d(r⊙h) = dn_pre · W_hn, then the r gate.
      gemm_packed_b(B, H, H, at(step, 2 * H), GH, whnP, drh, H, 0, scratch);
      for (let b = 0; b < B; b++) {
        const t = step_time(lengths, b, T, s, reverse);
        if (t < 0) continue;
        const row = t * B + b;
        const g = at(gates, row * GH), hp = at(hprev, row * H), dg = at(dgates, row * GH), dh = at(dh0, b * H);
        const sb = at(step, b * GH), d = at(drh, b * H);
        for (let j = 0; j < H; j += 4) gru_before_backward_r(g, hp, d, dh, dg, sb, j, min(4, H - j));
      }
      K = 2 * H;
    }
    // dh_{t-1} += step · W_hh (rows r, z and, reset-after, n); finished sequences are untouched.
    rec_carry_state_grad(B, H, K, step, GH, whhP, dh0, dhNext, lengths, s, T, 1, scratch);
  }
  if (w_ih != 0) rec_acc_weight_grad(rows, GH, I, dgates, GH, x, ldx, dw_ih, I, work);
  rec_acc_weight_grad(rows, 2 * H, H, dgates, GH, hprev, H, dw_hh, H, work);
  if (resetAfter) rec_acc_weight_grad(rows, H, H, dgn, H, hprev, H, at(dw_hh, 2 * H * H), H, work);
  else rec_acc_weight_grad(rows, H, H, at(dgates, 2 * H), GH, extra, H, at(dw_hh, 2 * H * H), H, work);
  if (db_ih != 0) {
    rec_acc_bias_grad(rows, 2 * H, dgates, GH, db_ih, db_hh);
    rec_acc_bias_grad(rows, H, at(dgates, 2 * H), GH, at(db_ih, 2 * H), resetAfter ? 0 : at(db_hh, 2 * H));
    if (resetAfter) rec_acc_bias_grad(rows, H, dgn, H, at(db_hh, 2 * H), 0);
  }
  if (dx != 0) rec_input_grad(rows, GH, I, dgates, w_ih, dx, lddx, dxAccumulate, work);
}

// The gradient products after BPTT reuse the steps' work.
export function gru_backward_work_floats(B: i32, H: i32): i32 {
  return max(gru_packed_floats(B, H, false) + 3 * B * H + 2 * B * H + gru_scratch_floats(B, H, false), rec_grad_gemm_floats());
}

// Floats of the packed W_hh operands: all three gates at once (reset-after) or gates r,z
// then gate n (reset-before), whichever needs more; [K, N] = [H, G*H] forward, [G*H, H] BPTT.
function gru_packed_floats(B: i32, H: i32, forward: bool): i32 {
  const all = forward ? gemm_pack_b_floats(B, H, 3 * H) : gemm_pack_b_floats(B, 3 * H, H);
  const rz = forward ? gemm_pack_b_floats(B, H, 2 * H) : gemm_pack_b_floats(B, 2 * H, H);
  return max(all, rz + gemm_pack_b_floats(B, H, H));
}

// Floats of scratch for the largest step product of the call (shapes as in gru_packed_floats).
function gru_scratch_floats(B: i32, H: i32, forward: bool): i32 {
  let most = 0;
  for (let G = 1; G <= 3; G++) most = max(most, forward ? gemm_packed_b_work_floats(B, H, G * H) : gemm_packed_b_work_floats(B, G * H, H));
  return most;
}

// ---- One step over a batch (torch.nn.GRUCell; resetAfter 0: the lecture's GRU) --------
// The sequence kernel with T = 1 (see lstm_cell_forward): h is read in place at backward.

// x: [B, I] (row stride ldx)  w_ih: [3H, I]  w_hh: [3H, H]  b_ih, b_hh: [3H] or 0
// h: [B, H]  hOut: [B, H] (must not overlap h)
// gates: [B, 3H] written (r, z, n)  extra: [B, H] written (W_hn h + b_hn reset-after, r⊙h
// reset-before): both kept for gru_cell_backward   work: gru_cell_forward_work_floats(B, H, I)
export function gru_cell_forward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h: usize, resetAfter: i32, hOut: usize, gates: usize, extra: usize, work: usize,
): void {
  const hprev = at(work, gru_forward_work_floats(B, H, I));
  gru_forward(1, B, I, H, x, ldx, w_ih, w_hh, b_ih, b_hh, h, 0, 0, resetAfter, hOut, H, hOut, gates, hprev, extra, work);
}

export function gru_cell_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return gru_forward_work_floats(B, H, I) + B * H;
}

// Backward of one gru_cell_forward (same x, h, resetAfter, weights, gates and extra).
// dhOut: [B, H] or 0  dx: [B, I] (row stride lddx) or 0; written, or added to when
// dxAccumulate   dh: [B, H] written   dw_ih, dw_hh, db_ih, db_hh: accumulated (db_* 0
// without bias)   work: gru_cell_backward_work_floats(B, H) floats
export function gru_cell_backward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, h: usize, resetAfter: i32,
  gates: usize, extra: usize, dhOut: usize, dx: usize, lddx: i32, dxAccumulate: i32, dh: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, work: usize,
): void {
  const dgates = at(work, gru_backward_work_floats(B, H)), dgn = at(dgates, 3 * B * H);
  gru_backward(1, B, I, H, x, ldx, w_ih, w_hh, 0, 0, resetAfter, 0, 0, dhOut, gates, h, extra,
    dx, lddx, dxAccumulate, dh, dw_ih, dw_hh, db_ih, db_hh, dgates, resetAfter ? dgn : 0, work);
}

export function gru_cell_backward_work_floats(B: i32, H: i32): i32 {
  return gru_backward_work_floats(B, H) + 4 * B * H;
}
