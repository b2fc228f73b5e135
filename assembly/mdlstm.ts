// Multi-dimensional (2-D) LSTM over a whole grid, one scan direction per call (Graves et
// al. 2007). Gate rows (FORMAT.md §9): i, f_row, f_col, g, o, each H wide:
//   [i; fr; fc; g; o] = W_ih x + W_hh [h_rowpred; h_colpred] + b
//   c = σ(fr) c_rowpred + σ(fc) c_colpred + σ(i) tanh(g),   h = σ(o) tanh(c)
// Direction dir: bit 1 flips the rows (2, 3 start at the bottom), bit 0 the columns (1, 3
// start at the right). In scan coordinates (r', c') every direction runs from the top-left.
//
// Wavefront order. The cells with r' + c' = s (anti-diagonal s) depend only on diagonal
// s - 1, so each diagonal is one batched product over all its cells and the whole batch.
// Everything the kernels keep is stored by "slot", in wavefront order:
//   slot = start(s) + (r' - r0(s)) * B + b,   r0(s) = max(0, s - C + 1)
// so the rows of one diagonal are contiguous: its recurrent product reads and writes them in
// place (no gather of the gates, and the weight gradients over all cells stay single GEMMs
// whose rows line up with the kept inputs). Only x is permuted in (one copy of [N, I]) and
// h, c (and dx) out to the caller's [B, R, C, *] grid; N = B*R*C.
//
// cellByCell = 1 runs the same math with one product per cell (B rows) instead of one per
// diagonal: the bench's reference for what the wavefront batching buys.
import { sigmoid_f32x4, tanh_f32x4, madd } from "./math";
import {
  at, ld, st, rec_forward_prologue, rec_projection_floats, rec_acc_weight_grad, rec_acc_bias_grad, rec_input_grad, rec_grad_gemm_floats,
} from "./recurrent_common";
import { gemm_pack_b, gemm_packed_b, gemm_packed_b_uses_strassen, gemm_pack_b_floats, gemm_packed_b_work_floats } from "./gemm";

// First scan row of diagonal s.
// @ts-ignore: decorator
@inline
function diag_r0(s: i32, C: i32): i32 {
  return max(0, s - C + 1);
}

// Cells on diagonal s.
// @ts-ignore: decorator
@inline
function diag_cells(s: i32, R: i32, C: i32): i32 {
  return min(s, R - 1) - diag_r0(s, C) + 1;
}

// Grid row (b*R + r)*C + c of scan cell (r', c') of batch entry b.
// @ts-ignore: decorator
@inline
function grid_row(b: i32, rs: i32, cs: i32, R: i32, C: i32, dir: i32): i32 {
  const r = (dir & 2) != 0 ? R - 1 - rs : rs;
  const c = (dir & 1) != 0 ? C - 1 - cs : cs;
  return (b * R + r) * C + c;
}

// Wavefront rows <-> grid rows, F floats per row.
// toGrid: grid[row*ldg] (+)= wave[slot*F]; else wave[slot*F] = grid[row*ldg] (grid 0: zeros).
function wave_permute(B: i32, R: i32, C: i32, F: i32, dir: i32, wave: usize, grid: usize, ldg: i32, toGrid: bool, accumulate: bool): void {
  const bytes = <usize>F << 2;
  let slot = 0;
  for (let s = 0; s < R + C - 1; s++) {
    const r0 = diag_r0(s, C), n = diag_cells(s, R, C);
    for (let q = 0; q < n; q++) {
      const rs = r0 + q, cs = s - rs;
      for (let b = 0; b < B; b++) {
        const w = at(wave, slot * F);
        if (grid == 0) {
          memory.fill(w, 0, bytes);
        } else {
          const g = at(grid, grid_row(b, rs, cs, R, C, dir) * ldg);
          if (!toGrid) copy_row(w, g, F);
          else if (!accumulate) copy_row(g, w, F);
          else add_row(g, w, F);
        }
        slot++;
      }
    }
  }
}

// dst[j] = src[j] for j in [0, n): the rows here are short (H or I floats), where
// memory.copy's call into V8's runtime costs more than the copy (CPU profile of the 32x32,
// B 8, H 32 forward: the permutations went from ~12% to ~7% of its samples).
// @ts-ignore: decorator
@inline
function copy_row(dst: usize, src: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(dst, j), v128.load(at(src, j)));
  for (; j < n; j++) store<f32>(at(dst, j), load<f32>(at(src, j)));
}

// dst[j] += src[j] for j in [0, n).
function add_row(dst: usize, src: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(dst, j), f32x4.add(v128.load(at(dst, j)), v128.load(at(src, j))));
  for (; j < n; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + load<f32>(at(src, j)));
}

// Rows of one recurrent product: a whole diagonal, or one cell (B rows) in cellByCell mode.
// @ts-ignore: decorator
@inline
function chunk_rows(M: i32, B: i32, cellByCell: i32): i32 {
  return cellByCell != 0 ? B : M;
}

// gemm_pack_b's layout depends on the product's row count M (grouped panels below 4 rows,
// Strassen's combinations where gemm_packed_b_uses_strassen says, plain panels otherwise), and the
// diagonals' M vary, so the weights are packed once per layout that occurs.
// @ts-ignore: decorator
@inline
function pack_class(M: i32, K: i32, N: i32): i32 {
  return M < 4 ? 0 : gemm_packed_b_uses_strassen(M, K, N) ? 2 : 1;
}

// A representative row count of each layout class (for gemm_pack_b).
// @ts-ignore: decorator
@inline
function class_rows(cls: i32): i32 {
  return cls == 0 ? 1 : cls == 2 ? 8 : 4;
}

function pack_slot_floats(K: i32, N: i32): i32 {
  return max(gemm_pack_b_floats(1, K, N), gemm_pack_b_floats(8, K, N));
}

// Largest row count of one product over the grid, and the scratch its products need.
function max_chunk_rows(B: i32, R: i32, C: i32, cellByCell: i32): i32 {
  return chunk_rows(B * min(R, C), B, cellByCell);
}

function max_product_scratch(B: i32, R: i32, C: i32, K: i32, N: i32, cellByCell: i32): i32 {
  let worst = 0;
  for (let s = 1; s < R + C - 1; s++) {
    const M = diag_cells(s, R, C) * B;
    worst = max(worst, gemm_packed_b_work_floats(chunk_rows(M, B, cellByCell), K, N));
  }
  return worst;
}

// Packs the [K, N] operand (element (k, n) = src[k*lds + n], or src[n*lds + k] when trans)
// in every layout class the grid's products use: slot cls at packs + cls*slotFloats.
function pack_classes(B: i32, R: i32, C: i32, K: i32, N: i32, src: usize, lds: i32, trans: i32, packs: usize, slotFloats: i32, cellByCell: i32): void {
  let done = 0;
  for (let s = 1; s < R + C - 1; s++) {
    const cls = pack_class(chunk_rows(diag_cells(s, R, C) * B, B, cellByCell), K, N);
    if ((done & (1 << cls)) != 0) continue;
    gemm_pack_b(K, N, src, lds, trans, at(packs, cls * slotFloats), class_rows(cls));
    done |= 1 << cls;
  }
}

// C[M, N] += A[M, K] · (packed operand), in chunks of chunk_rows (each chunk with its
// layout class's packing).
function wave_product(M: i32, N: i32, K: i32, A: usize, P: usize, slotFloats: i32, Cm: usize, B: i32, cellByCell: i32, accumulate: i32, scratch: usize): void {
  const step = chunk_rows(M, B, cellByCell);
  for (let m0 = 0; m0 < M; m0 += step) {
    const m = min(step, M - m0);
    gemm_packed_b(m, N, K, at(A, m0 * K), K, at(P, pack_class(m, K, N) * slotFloats), at(Cm, m0 * N), N, accumulate, scratch);
  }
}

// p[j] = σ(p[j]) for j in [0, n), in place (tail lanes through ld/st: same vector code).
// @ts-ignore: decorator
@inline
function sigmoid_row(p: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(p, j), sigmoid_f32x4(v128.load(at(p, j))));
  if (j < n) st(at(p, j), sigmoid_f32x4(ld(at(p, j), n - j)), n - j);
}

// One cell's gates row g [5H] (pre-activations in, activations out: σ(i), σ(fr), σ(fc),
// tanh(g), σ(o)), its predecessors' c (crp, ccp: a zero row when outside the grid); writes c, h.
// One loop per transcendental keeps V8's registers enough (see lstm_row_forward).
function cell_forward(g: usize, crp: usize, ccp: usize, c: usize, h: usize, H: i32): void {
  const Ho = <usize>H << 2;
  sigmoid_row(g, 3 * H); // i, f_row, f_col: contiguous
  sigmoid_row(g + 4 * Ho, H);
  for (let j = 0; j < H; j += 4) {
    const lanes = min(4, H - j), jo = <usize>j << 2;
    const gg = tanh_f32x4(ld(g + 3 * Ho + jo, lanes));
    st(g + 3 * Ho + jo, gg, lanes);
    const cv = madd(ld(g + Ho + jo, lanes), ld(crp + jo, lanes),
      madd(ld(g + 2 * Ho + jo, lanes), ld(ccp + jo, lanes), f32x4.mul(ld(g + jo, lanes), gg)));
    st(c + jo, cv, lanes);
  }
  for (let j = 0; j < H; j += 4) {
    const lanes = min(4, H - j), jo = <usize>j << 2;
    st(h + jo, f32x4.mul(ld(g + 4 * Ho + jo, lanes), tanh_f32x4(ld(c + jo, lanes))), lanes);
  }
}

// x: [B, R, C, I] (grid order)  w_ih: [5H, I]  w_hh: [5H, 2H]  bias: [5H] or 0
// out, cellOut: [B*R*C rows, H] at row strides ldout, ldcell (written, or added to when
// accumulate: the sum merge of several directions)
// kept in wavefront order (for mdlstm_backward): xw: [N, I]  gates: [N, 5H] (activations)
// hcat: [N, 2H] ([h_rowpred; h_colpred] of every cell)  hw, cw: [N, H]
// work: mdlstm_forward_work_floats(B, R, C, I, H, cellByCell) floats
export function mdlstm_forward(
  B: i32, R: i32, C: i32, I: i32, H: i32, dir: i32, x: usize, w_ih: usize, w_hh: usize, bias: usize,
  out: usize, ldout: i32, cellOut: usize, ldcell: i32, accumulate: i32,
  xw: usize, gates: usize, hcat: usize, hw: usize, cw: usize, cellByCell: i32, work: usize,
): void {
  const N = B * R * C, GH = 5 * H, H2 = 2 * H;
  const Hb = <usize>H << 2;
  wave_permute(B, R, C, I, dir, xw, x, I, false, false);
  // One GEMM projects every cell's input (plus the bias), as the 1-D layers do.
  rec_forward_prologue(N, 1, I, H, 5, xw, I, w_ih, bias, 0, 0, 0, 0, 0, gates, 0, work);
  const slotFloats = pack_slot_floats(H2, GH);
  const packs = work;
  const scratch = at(packs, 3 * slotFloats);
  const zero = at(scratch, max_product_scratch(B, R, C, H2, GH, cellByCell));
  memory.fill(zero, 0, Hb);
  pack_classes(B, R, C, H2, GH, w_hh, H2, 1, packs, slotFloats, cellByCell);
  let start = 0, prevStart = 0, prevR0 = 0;
  for (let s = 0; s < R + C - 1; s++) {
    const r0 = diag_r0(s, C), n = diag_cells(s, R, C);
    const M = n * B;
    // [h_rowpred; h_colpred] of the diagonal's cells, packed: the product's left operand.
    for (let q = 0; q < n; q++) {
      const rs = r0 + q, cs = s - rs;
      for (let b = 0; b < B; b++) {
        const slot = start + q * B + b;
        const hc = at(hcat, slot * H2);
        copy_row(hc, rs > 0 ? at(hw, (prevStart + (rs - 1 - prevR0) * B + b) * H) : zero, H);
        copy_row(hc + Hb, cs > 0 ? at(hw, (prevStart + (rs - prevR0) * B + b) * H) : zero, H);
      }
    }
    // The start corner has no predecessor: its product would add zeros.
    if (s > 0) wave_product(M, GH, H2, at(hcat, start * H2), packs, slotFloats, at(gates, start * GH), B, cellByCell, 1, scratch);
    for (let q = 0; q < n; q++) {
      const rs = r0 + q, cs = s - rs;
      for (let b = 0; b < B; b++) {
        const slot = start + q * B + b;
        const crp = rs > 0 ? at(cw, (prevStart + (rs - 1 - prevR0) * B + b) * H) : zero;
        const ccp = cs > 0 ? at(cw, (prevStart + (rs - prevR0) * B + b) * H) : zero;
        cell_forward(at(gates, slot * GH), crp, ccp, at(cw, slot * H), at(hw, slot * H), H);
      }
    }
    prevStart = start;
    prevR0 = r0;
    start += M;
  }
  wave_permute(B, R, C, H, dir, hw, out, ldout, true, accumulate != 0);
  wave_permute(B, R, C, H, dir, cw, cellOut, ldcell, true, accumulate != 0);
}

export function mdlstm_forward_work_floats(B: i32, R: i32, C: i32, I: i32, H: i32, cellByCell: i32): i32 {
  const steps = 3 * pack_slot_floats(2 * H, 5 * H) + max_product_scratch(B, R, C, 2 * H, 5 * H, cellByCell) + ((H + 3) & ~3);
  return max(steps, rec_projection_floats(I, 5 * H));
}

// One cell's backward: g its activations [5H], c its cell [H], crp/ccp its predecessors'
// (zero rows outside the grid), dh and dc its complete gradients (dc read here, the tanh(c)
// path added); writes the pre-activation gradients dg [5H] and adds σ(f_row) dc, σ(f_col) dc
// into the predecessors' dc (dcrp, dccp: a sink row outside the grid).
// @ts-ignore: decorator
@inline
function cell_backward(g: usize, c: usize, crp: usize, ccp: usize, dh: usize, dc: usize, dg: usize, dcrp: usize, dccp: usize, H: i32, j: i32, lanes: i32): void {
  const jo = <usize>j << 2, Ho = <usize>H << 2;
  const one = f32x4.splat(1);
  const i = ld(g + jo, lanes), fr = ld(g + Ho + jo, lanes), fc = ld(g + 2 * Ho + jo, lanes);
  const gg = ld(g + 3 * Ho + jo, lanes), o = ld(g + 4 * Ho + jo, lanes);
  const tc = tanh_f32x4(ld(c + jo, lanes));
  const dhv = ld(dh + jo, lanes);
  const dcv = madd(f32x4.mul(dhv, o), f32x4.sub(one, f32x4.mul(tc, tc)), ld(dc + jo, lanes));
  st(dg + jo, f32x4.mul(f32x4.mul(dcv, gg), f32x4.mul(i, f32x4.sub(one, i))), lanes);
  st(dg + Ho + jo, f32x4.mul(f32x4.mul(dcv, ld(crp + jo, lanes)), f32x4.mul(fr, f32x4.sub(one, fr))), lanes);
  st(dg + 2 * Ho + jo, f32x4.mul(f32x4.mul(dcv, ld(ccp + jo, lanes)), f32x4.mul(fc, f32x4.sub(one, fc))), lanes);
  st(dg + 3 * Ho + jo, f32x4.mul(f32x4.mul(dcv, i), f32x4.sub(one, f32x4.mul(gg, gg))), lanes);
  st(dg + 4 * Ho + jo, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(o, f32x4.sub(one, o))), lanes);
  st(dcrp + jo, madd(dcv, fr, ld(dcrp + jo, lanes)), lanes);
  st(dccp + jo, madd(dcv, fc, ld(dccp + jo, lanes)), lanes);
}

// Backward of one mdlstm_forward call made with the same sizes, direction and kept buffers.
// dout, dcell: the grid gradients of out and cellOut [B*R*C rows, H] at row strides lddout,
// lddcell, or 0 (none)   dx: [B, R, C, I] written, or added to when dxAccumulate; or 0
// dw_ih, dw_hh, db: accumulated (db 0 without bias)
// scratch in wavefront order: dgates: [N, 5H]  dhw, dcw: [N, H] (the gradients carried to
// each cell from its successors)  dxw: [N, I] (or 0 when dx is 0)
// work: mdlstm_backward_work_floats(B, R, C, H, cellByCell) floats
export function mdlstm_backward(
  B: i32, R: i32, C: i32, I: i32, H: i32, dir: i32, w_ih: usize, w_hh: usize,
  dout: usize, lddout: i32, dcell: usize, lddcell: i32, xw: usize, gates: usize, hcat: usize, cw: usize,
  dx: usize, dxAccumulate: i32, dw_ih: usize, dw_hh: usize, db: usize,
  dgates: usize, dhw: usize, dcw: usize, dxw: usize, cellByCell: i32, work: usize,
): void {
  const N = B * R * C, GH = 5 * H, H2 = 2 * H;
  wave_permute(B, R, C, H, dir, dhw, dout, lddout, false, false);
  wave_permute(B, R, C, H, dir, dcw, dcell, lddcell, false, false);
  const slotFloats = pack_slot_floats(GH, H2);
  const packs = work;
  const scratch = at(packs, 3 * slotFloats);
  const dhc = at(scratch, max_product_scratch(B, R, C, GH, H2, cellByCell)); // dg · W_hh of one diagonal
  const Hp = (H + 3) & ~3;
  const zero = at(dhc, max_chunk_rows(B, R, C, 0) * H2);
  const sink = at(zero, Hp);
  memory.fill(zero, 0, <usize>H << 2);
  pack_classes(B, R, C, GH, H2, w_hh, H2, 0, packs, slotFloats, cellByCell);
  let start = N;
  for (let s = R + C - 2; s >= 0; s--) {
    const r0 = diag_r0(s, C), n = diag_cells(s, R, C);
    const M = n * B;
    start -= M;
    const prevR0 = s > 0 ? diag_r0(s - 1, C) : 0;
    const prevStart = s > 0 ? start - diag_cells(s - 1, R, C) * B : 0;
    for (let q = 0; q < n; q++) {
      const rs = r0 + q, cs = s - rs;
      for (let b = 0; b < B; b++) {
        const slot = start + q * B + b;
        const rp = prevStart + (rs - 1 - prevR0) * B + b, cp = prevStart + (rs - prevR0) * B + b;
        const crp = rs > 0 ? at(cw, rp * H) : zero, ccp = cs > 0 ? at(cw, cp * H) : zero;
        const dcrp = rs > 0 ? at(dcw, rp * H) : sink, dccp = cs > 0 ? at(dcw, cp * H) : sink;
        const g = at(gates, slot * GH), c = at(cw, slot * H), dh = at(dhw, slot * H), dc = at(dcw, slot * H), dg = at(dgates, slot * GH);
        let j = 0;
        for (; j + 4 <= H; j += 4) cell_backward(g, c, crp, ccp, dh, dc, dg, dcrp, dccp, H, j, 4);
        if (j < H) cell_backward(g, c, crp, ccp, dh, dc, dg, dcrp, dccp, H, j, H - j);
      }
    }
    if (s == 0) break;
    // [dh_rowpred; dh_colpred] = dg · W_hh for the whole diagonal, then added into the
    // predecessors' carried dh (each predecessor hears from up to two successors).
    wave_product(M, H2, GH, at(dgates, start * GH), packs, slotFloats, dhc, B, cellByCell, 0, scratch);
    for (let q = 0; q < n; q++) {
      const rs = r0 + q, cs = s - rs;
      for (let b = 0; b < B; b++) {
        const row = at(dhc, (q * B + b) * H2);
        if (rs > 0) add_row(at(dhw, (prevStart + (rs - 1 - prevR0) * B + b) * H), row, H);
        if (cs > 0) add_row(at(dhw, (prevStart + (rs - prevR0) * B + b) * H), at(row, H), H);
      }
    }
  }
  // Weight gradients over all cells at once: rows of dgates line up with xw and hcat.
  rec_acc_weight_grad(N, GH, I, dgates, GH, xw, I, dw_ih, I, work);
  rec_acc_weight_grad(N, GH, H2, dgates, GH, hcat, H2, dw_hh, H2, work);
  if (db != 0) rec_acc_bias_grad(N, GH, dgates, GH, db, 0);
  if (dx != 0) {
    rec_input_grad(N, GH, I, dgates, w_ih, dxw, I, 0, work);
    wave_permute(B, R, C, I, dir, dxw, dx, I, true, dxAccumulate != 0);
  }
}

// The gradient products after the sweep reuse its work.
export function mdlstm_backward_work_floats(B: i32, R: i32, C: i32, H: i32, cellByCell: i32): i32 {
  const sweep = 3 * pack_slot_floats(5 * H, 2 * H) + max_product_scratch(B, R, C, 5 * H, 2 * H, cellByCell)
    + max_chunk_rows(B, R, C, 0) * 2 * H + 2 * ((H + 3) & ~3);
  return max(sweep, rec_grad_gemm_floats());
}
