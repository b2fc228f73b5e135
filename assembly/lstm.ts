// LSTM over a whole sequence, one layer and one direction per call (the cuDNN recipe):
// one GEMM projects every step's input, then the time loop runs here with one recurrent
// product and the gate kernels (lstm_row_forward) per step. Gate rows are torch's: i, f, g, o.
//   [i;f;g;o] = W_ih x + b_ih + W_hh h + b_hh,  c' = σ(f)c + σ(i)tanh(g),  h' = σ(o)tanh(c')
// Row/length/direction conventions: see recurrent_common.ts.
import { sigmoid_gate_rows, tanh_f32x4, madd } from "./math";
import {
  at, ld, st, seq_len, step_time, max_seq_len, seed_state_grad, rec_forward_prologue, rec_projection_floats, rec_zero_padded, rec_carry_state_grad, rec_backward_products, rec_acc_weight_grad, rec_acc_bias_grad, rec_input_grad, rec_grad_gemm_floats,
} from "./recurrent_common";
import { gemm_pack_b, gemm_packed_b, gemm_pack_b_floats, gemm_packed_b_work_floats } from "./gemm";

// x: [T*B, I] (row stride ldx)  w_ih: [4H, I]  w_hh: [4H, H]  b_ih, b_hh: [4H] or 0
// h0, c0: [B, H]  lengths: [B] i32 or 0  out: [T*B, H] (row stride ldout; zero past each length)
// hN, cN: [B, H] (the state after each sequence's last valid step; they also serve as the
// running state)  gates: [T*B, 4H]  hprev, cprev: [T*B, H] kept for backward, or 0 (inference)
// work: lstm_forward_work_floats(B, H, I) floats
export function lstm_forward(
  T: i32, B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h0: usize, c0: usize, lengths: usize, reverse: i32, out: usize, ldout: i32, hN: usize, cN: usize,
  gates: usize, hprev: usize, cprev: usize, work: usize,
): void {
  const scratch = at(work, lstm_step_floats(B, H) - gemm_packed_b_work_floats(B, H, 4 * H)); // the step product's: the tail of the steps' work
  const GH = 4 * H;
  const whhT = work; // W_hhᵀ [H, 4H], packed
  const hh = at(work, gemm_pack_b_floats(B, H, GH));
  // b_ih + b_hh (zeros without bias), added in the cell: the projection GEMM then runs with
  // beta = 0 instead of reading T*B bias-filled gate rows back.
  const bs = at(hh, B * GH);
  const tail = at(bs, GH); // 4-lane scratch row for the last 1-3 units (TAIL_* offsets)
  rec_forward_prologue(T, B, I, H, 4, x, ldx, w_ih, 0, 0, GH, lengths, out, ldout, gates, hprev, work);
  for (let j = 0; j < GH; j++) store<f32>(at(bs, j), b_ih != 0 ? load<f32>(at(b_ih, j)) + load<f32>(at(b_hh, j)) : 0);
  memory.fill(tail + TAIL_BIAS, 0, 64); // the tail row's bias: already in its gates
  gemm_pack_b(H, GH, w_hh, H, 1, whhT, B);
  const keep = hprev != 0;
  if (keep) rec_zero_padded(T, B, H, lengths, cprev, H);
  memory.copy(hN, h0, <usize>(B * H) << 2);
  memory.copy(cN, c0, <usize>(B * H) << 2);
  const maxLen = max_seq_len(lengths, B, T);
  for (let s = 0; s < maxLen; s++) {
    gemm_packed_b(B, GH, H, hN, H, whhT, hh, GH, 0, scratch);
    for (let b = 0; b < B; b++) {
      const t = step_time(lengths, b, T, s, reverse);
      if (t < 0) continue;
      const row = t * B + b;
      const g = at(gates, row * GH), hr = at(hh, b * GH), h = at(hN, b * H), c = at(cN, b * H), o = at(out, row * ldout);
      const hp = keep ? at(hprev, row * H) : 0, cp = keep ? at(cprev, row * H) : 0;
      // The cell code runs with 4 constant lanes (loads and stores fold to plain v128) and
      // exists once, in lstm_row_forward: a tail of 1-3 units (H not a multiple of 4) is
      // copied into a 4-lane scratch row, run there, and copied back.
      const H4 = H & ~3;
      lstm_row_forward(g, hr, bs, h, c, o, hp, cp, H, H4, keep);
      if (H4 < H) {
        const j = H4, n = H - H4;
        lstm_tail_move(g, hr, bs, h, c, H, j, n, tail, true);
        lstm_row_forward(tail + TAIL_GATES, tail + TAIL_HH, tail + TAIL_BIAS, tail + TAIL_H, tail + TAIL_C, tail + TAIL_OUT,
          keep ? tail + TAIL_HPREV : 0, keep ? tail + TAIL_CPREV : 0, 4, 4, keep);
        lstm_tail_move(g, hr, bs, h, c, H, j, n, tail, false);
        st(at(o, j), v128.load(tail, TAIL_OUT), n);
        if (keep) {
          st(at(hp, j), v128.load(tail, TAIL_HPREV), n);
          st(at(cp, j), v128.load(tail, TAIL_CPREV), n);
        }
      }
    }
  }
}

// The projection's work (in the prologue) is reused by the steps.
export function lstm_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return max(lstm_step_floats(B, H), rec_projection_floats(I, 4 * H));
}

function lstm_step_floats(B: i32, H: i32): i32 {
  return gemm_pack_b_floats(B, H, 4 * H) + 4 * B * H + 4 * H + TAIL_FLOATS + gemm_packed_b_work_floats(B, H, 4 * H);
}

// The 4-lane scratch row of the last 1-3 units (byte offsets from its start): the four
// gates' pre-activations (4 x 4 lanes), the recurrent products, h, c, the new h, the kept
// h and c, and a zero bias (the real one is added on the way in).
const TAIL_GATES: usize = 0;
const TAIL_HH: usize = 64;
const TAIL_H: usize = 128;
const TAIL_C: usize = 144;
const TAIL_OUT: usize = 160;
const TAIL_HPREV: usize = 176;
const TAIL_CPREV: usize = 192;
const TAIL_BIAS: usize = 208;
const TAIL_FLOATS: i32 = 68; // 272 bytes

// Units [0, J) of one row (J a multiple of 4), gate stride H, one loop per transcendental:
// a single loop over all five (three sigmoids, two tanh) ran V8 out of xmm registers and it
// spilled (~400 instructions per 4 units); each loop here keeps its values in registers.
// i, f, o are written over their pre-activations in g and read back by the c' and h' loops.
function lstm_row_forward(g: usize, hh: usize, bs: usize, h: usize, c: usize, out: usize, hprev: usize, cprev: usize, H: i32, J: i32, keep: bool): void {
  const Ho = <usize>H << 2;
  if (J == H) {
    sigmoid_gate_rows(g, hh, bs, 2 * J); // i and f: contiguous
  } else {
    sigmoid_gate_rows(g, hh, bs, J);
    sigmoid_gate_rows(g + Ho, hh + Ho, bs + Ho, J);
  }
  sigmoid_gate_rows(g + 3 * Ho, hh + 3 * Ho, bs + 3 * Ho, J);
  // c' = f c + i tanh(g)
  for (let j = 0; j < J; j += 4) {
    const jo = <usize>j << 2;
    const gg = tanh_f32x4(f32x4.add(f32x4.add(v128.load(g + 2 * Ho + jo), v128.load(hh + 2 * Ho + jo)), v128.load(bs + 2 * Ho + jo)));
    const cOld = v128.load(c + jo);
    v128.store(c + jo, madd(v128.load(g + Ho + jo), cOld, f32x4.mul(v128.load(g + jo), gg)));
    if (keep) {
      v128.store(cprev + jo, cOld);
      v128.store(g + 2 * Ho + jo, gg);
    }
  }
  // h' = o tanh(c')
  for (let j = 0; j < J; j += 4) {
    const jo = <usize>j << 2;
    const hNew = f32x4.mul(v128.load(g + 3 * Ho + jo), tanh_f32x4(v128.load(c + jo)));
    if (keep) v128.store(hprev + jo, v128.load(h + jo));
    v128.store(h + jo, hNew);
    v128.store(out + jo, hNew);
  }
}

// Moves the units [j, j+n) of a row's gates, hh, h, c into (in) or back out of (!in) the
// 4-lane scratch row (TAIL_* offsets; the bias bs is added to the gates on the way in).
// @ts-ignore: decorator
@inline
function lstm_tail_move(g: usize, hh: usize, bs: usize, h: usize, c: usize, H: i32, j: i32, n: i32, tail: usize, into: bool): void {
  const Ho = <usize>H << 2;
  for (let q = 0; q < 4; q++) {
    const src = at(g, j) + <usize>q * Ho, t = tail + TAIL_GATES + (<usize>q << 4);
    if (into) {
      v128.store(t, f32x4.add(ld(src, n), ld(at(bs, j) + <usize>q * Ho, n)));
      v128.store(t, ld(at(hh, j) + <usize>q * Ho, n), TAIL_HH - TAIL_GATES);
    } else {
      st(src, v128.load(t), n);
    }
  }
  if (into) {
    v128.store(tail, ld(at(h, j), n), TAIL_H);
    v128.store(tail, ld(at(c, j), n), TAIL_C);
  } else {
    st(at(h, j), v128.load(tail, TAIL_H), n);
    st(at(c, j), v128.load(tail, TAIL_C), n);
  }
}

// @ts-ignore: decorator
@inline
function lstm_units_backward(g: usize, cprev: usize, dout: usize, dh: usize, dc: usize, dg: usize, step: usize, H: i32, j: i32, lanes: i32): void {
  const jo = <usize>j << 2;
  const Ho = <usize>H << 2;
  const one = f32x4.splat(1);
  const i = ld(g + jo, lanes), f = ld(g + Ho + jo, lanes), gg = ld(g + 2 * Ho + jo, lanes), o = ld(g + 3 * Ho + jo, lanes);
  const cp = ld(cprev + jo, lanes);
  const tc = tanh_f32x4(madd(f, cp, f32x4.mul(i, gg)));
  let dhv = ld(dh + jo, lanes);
  if (dout != 0) dhv = f32x4.add(dhv, ld(dout + jo, lanes));
  const dcv = madd(f32x4.mul(dhv, o), f32x4.sub(one, f32x4.mul(tc, tc)), ld(dc + jo, lanes));
  const dO = f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(o, f32x4.sub(one, o)));
  const dI = f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(i, f32x4.sub(one, i)));
  const dF = f32x4.mul(f32x4.mul(dcv, cp), f32x4.mul(f, f32x4.sub(one, f)));
  const dG = f32x4.mul(f32x4.mul(dcv, i), f32x4.sub(one, f32x4.mul(gg, gg)));
  st(dc + jo, f32x4.mul(dcv, f), lanes);
  st(dg + jo, dI, lanes); st(dg + Ho + jo, dF, lanes); st(dg + 2 * Ho + jo, dG, lanes); st(dg + 3 * Ho + jo, dO, lanes);
  st(step + jo, dI, lanes); st(step + Ho + jo, dF, lanes); st(step + 2 * Ho + jo, dG, lanes); st(step + 3 * Ho + jo, dO, lanes);
}

// BPTT for one lstm_forward call made with hprev/cprev kept (same T, B, lengths, reverse).
// dout: [T*B, H] (row stride lddout) or 0  dhN, dcN: [B, H] or 0
// dx: [T*B, I] (row stride lddx) or 0; written, or added to when dxAccumulate
// dh0, dc0: [B, H] written   dw_ih, dw_hh, db_ih, db_hh: accumulated (db_* 0 without bias)
// dgates: [T*B, 4H]   work: lstm_backward_work_floats(B, H) floats
export function lstm_backward(
  T: i32, B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, lengths: usize, reverse: i32,
  dout: usize, lddout: i32, dhN: usize, dcN: usize, gates: usize, hprev: usize, cprev: usize,
  dx: usize, lddx: i32, dxAccumulate: i32, dh0: usize, dc0: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, dgates: usize, work: usize,
): void {
  const scratch = at(work, lstm_backward_work_floats(B, H) - gemm_packed_b_work_floats(B, 4 * H, H)); // the step product's: the tail of work
  const GH = 4 * H;
  const rows = T * B;
  const whhP = work; // W_hh [4H, H], packed
  const step = at(work, gemm_pack_b_floats(B, GH, H));
  const dhNext = at(step, B * GH);
  gemm_pack_b(GH, H, w_hh, H, 0, whhP, B);
  rec_zero_padded(T, B, GH, lengths, dgates, GH);
  seed_state_grad(dh0, dhN, B, H);
  seed_state_grad(dc0, dcN, B, H);
  const maxLen = max_seq_len(lengths, B, T);
  for (let s = maxLen - 1; s >= 0; s--) {
    for (let b = 0; b < B; b++) {
      const t = step_time(lengths, b, T, s, reverse);
      const st_b = at(step, b * GH);
      if (t < 0) { memory.fill(st_b, 0, <usize>GH << 2); continue; }
      const row = t * B + b;
      const g = at(gates, row * GH), cp = at(cprev, row * H), dg = at(dgates, row * GH);
      const dO = dout != 0 ? at(dout, row * lddout) : 0;
      const dh = at(dh0, b * H), dc = at(dc0, b * H);
      // Full groups with constant lanes (plain v128 loads and stores, no lane branches),
      // then the 1-3 unit tail; both loops share the tanh constants, built once in front.
      let j = 0;
      for (; j + 4 <= H; j += 4) lstm_units_backward(g, cp, dO, dh, dc, dg, st_b, H, j, 4);
      if (j < H) lstm_units_backward(g, cp, dO, dh, dc, dg, st_b, H, j, H - j);
    }
    // dh_{t-1} = dgates_t · W_hh; finished sequences keep their carried gradient.
    rec_carry_state_grad(B, H, GH, step, GH, whhP, dh0, dhNext, lengths, s, T, 0, scratch);
  }
  rec_backward_products(rows, GH, I, H, dgates, x, ldx, hprev, w_ih, dw_ih, dw_hh, db_ih, db_hh, dx, lddx, dxAccumulate, work);
}

// The gradient products after BPTT reuse the steps' work.
export function lstm_backward_work_floats(B: i32, H: i32): i32 {
  return max(gemm_pack_b_floats(B, 4 * H, H) + 4 * B * H + B * H + gemm_packed_b_work_floats(B, 4 * H, H), rec_grad_gemm_floats());
}

// ---- One step over a batch (torch.nn.LSTMCell) ---------------------------------------
// A cell step is the sequence kernel with T = 1: the same projection, step product, gate
// code and BPTT, so that a sequence run step by step matches the sequence kernel. The
// previous state the sequence kernels keep (hprev, cprev) is the cell's input h, c, which
// the caller still holds at backward: the forward writes its copies into work, and the
// backward reads h and c in place.

// x: [B, I] (row stride ldx)  w_ih: [4H, I]  w_hh: [4H, H]  b_ih, b_hh: [4H] or 0
// h, c: [B, H]  hOut, cOut: [B, H] (must not overlap h, c)
// gates: [B, 4H] written (σ(i), σ(f), tanh(g), σ(o)): kept for lstm_cell_backward
// work: lstm_cell_forward_work_floats(B, H, I) floats
export function lstm_cell_forward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, b_ih: usize, b_hh: usize,
  h: usize, c: usize, hOut: usize, cOut: usize, gates: usize, work: usize,
): void {
  const hprev = at(work, lstm_forward_work_floats(B, H, I)), cprev = at(hprev, B * H);
  lstm_forward(1, B, I, H, x, ldx, w_ih, w_hh, b_ih, b_hh, h, c, 0, 0, hOut, H, hOut, cOut, gates, hprev, cprev, work);
}

export function lstm_cell_forward_work_floats(B: i32, H: i32, I: i32): i32 {
  return lstm_forward_work_floats(B, H, I) + 2 * B * H;
}

// Backward of one lstm_cell_forward (same x, h, c, weights and its gates).
// dhOut, dcOut: [B, H] or 0 (zero)  dx: [B, I] (row stride lddx) or 0; written, or added
// to when dxAccumulate   dh, dc: [B, H] written   dw_ih, dw_hh, db_ih, db_hh: accumulated
// (db_* 0 without bias)   work: lstm_cell_backward_work_floats(B, H) floats
export function lstm_cell_backward(
  B: i32, I: i32, H: i32, x: usize, ldx: i32, w_ih: usize, w_hh: usize, h: usize, c: usize, gates: usize,
  dhOut: usize, dcOut: usize, dx: usize, lddx: i32, dxAccumulate: i32, dh: usize, dc: usize,
  dw_ih: usize, dw_hh: usize, db_ih: usize, db_hh: usize, work: usize,
): void {
  const dgates = at(work, lstm_backward_work_floats(B, H));
  lstm_backward(1, B, I, H, x, ldx, w_ih, w_hh, 0, 0, 0, 0, dhOut, dcOut, gates, h, c,
    dx, lddx, dxAccumulate, dh, dc, dw_ih, dw_hh, db_ih, db_hh, dgates, work);
}

export function lstm_cell_backward_work_floats(B: i32, H: i32): i32 {
  return lstm_backward_work_floats(B, H) + 4 * B * H;
}
