// DMN episodic memory, one pass over the facts of a whole batch per call (DESIGN.md, the math):
//   gate network   z_i = [s_i⊙q; s_i⊙m; |s_i−q|; |s_i−m|],  Z_i = W2 tanh(W1 z_i + b1) + b2,
//                  g = softmax over the valid facts of each row (or sigmoid), 0 past them;
//   recurrence     cell 0 `gated-gru` (lecture, DMN):  h_i = g_i GRUCell(s_i, h_{i−1}) + (1−g_i) h_{i−1}
//                  cell 1 `attention-gru` (DMN+):      r = σ(.), n = tanh(W_in s + b_in + r⊙(W_hn h + b_hn)),
//                                                      h_i = g_i n + (1−g_i) h_{i−1}
//   GRUCell is torch's (reset-after, rows r, z, n); the attention GRU keeps rows r, n.
// Layout: facts row-major by (b, i): row = b*M + i, features contiguous. lengths: [B] i32, the
// number of valid facts of each row (1..M; the mask is a prefix). The recurrence visits only
// i < len_b, so masked facts neither change h nor receive gradient (exact zeros).
// The recurrence with M = 1, g = 1 and a given h0 is a plain GRU cell step: the DMN's tied
// memory update m^t = GRU(c^t, m^{t−1}) runs on it.
// Big products go to gemm_f32 (all facts at once); only the per-fact recurrent product
// h·W_hhᵀ ([B, H] x [H, G*H]) runs per step, on all rows of the batch at once.
import { gemm_f32 } from "./gemm";
import { exp_f32, madd, sigmoid_f32, sigmoid_f32x4, tanh_f32x4 } from "./math";
import { ld, st, rec_pack, rec_matmul_packed, packed_floats, matmul_scratch_floats } from "./recurrent_common";

// @ts-ignore: decorator
@inline
function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// @ts-ignore: decorator
@inline
function ldf(base: usize, index: i32): f32 {
  return load<f32>(base + (<usize>index << 2));
}

// @ts-ignore: decorator
@inline
function stf(base: usize, index: i32, v: f32): void {
  store<f32>(base + (<usize>index << 2), v);
}

// @ts-ignore: decorator
@inline
function len_of(lengths: usize, b: i32): i32 {
  return load<i32>(lengths + (<usize>b << 2));
}

// s: [B*M, d]  q, m: [B, d]  lengths: [B]  W1: [da, 4d]  b1: [da]  W2: [1, da]  b2: [1]
// z: [B*M, 4d] and a: [B*M, da] = tanh(W1 z + b1) are written (kept for backward)
// scores: [B*M] raw Z (every row, masked ones too)  g: [B*M] (0 exactly past each length)
// sigmoidGate: 0 softmax over the valid facts, 1 an independent sigmoid per fact
export function episode_gate_forward(
  B: i32, M: i32, d: i32, da: i32, s: usize, q: usize, m: usize, lengths: usize,
  W1: usize, b1: usize, W2: usize, b2: usize, sigmoidGate: i32, z: usize, a: usize, scores: usize, g: usize,
): void {
  const rows = B * M;
  const Z4 = 4 * d;
  const Do = <usize>d << 2;
  for (let b = 0; b < B; b++) {
    const qb = at(q, b * d), mb = at(m, b * d);
    for (let i = 0; i < M; i++) {
      const row = b * M + i;
      const sr = at(s, row * d), zr = at(z, row * Z4);
      for (let k = 0; k < d; k += 4) {
        const ko = <usize>k << 2, lanes = min(4, d - k);
        const sv = ld(sr + ko, lanes), qv = ld(qb + ko, lanes), mv = ld(mb + ko, lanes);
        st(zr + ko, f32x4.mul(sv, qv), lanes);
        st(zr + Do + ko, f32x4.mul(sv, mv), lanes);
        st(zr + 2 * Do + ko, f32x4.abs(f32x4.sub(sv, qv)), lanes);
        st(zr + 3 * Do + ko, f32x4.abs(f32x4.sub(sv, mv)), lanes);
      }
    }
  }
  // a = tanh(z W1ᵀ + b1) over all facts at once.
  gemm_f32(0, 1, rows, da, Z4, 1, z, Z4, W1, Z4, 0, a, da);
  const bias2 = load<f32>(b2);
  for (let r = 0; r < rows; r++) {
    const ar = at(a, r * da);
    let acc = f32x4.splat(0);
    for (let k = 0; k < da; k += 4) {
      const ko = <usize>k << 2, lanes = min(4, da - k);
      const v = tanh_f32x4(f32x4.add(ld(ar + ko, lanes), ld(b1 + ko, lanes)));
      st(ar + ko, v, lanes);
      acc = madd(v, ld(W2 + ko, lanes), acc);
    }
    stf(scores, r, f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + bias2);
  }
  for (let b = 0; b < B; b++) {
    const n = len_of(lengths, b);
    const base = b * M;
    if (sigmoidGate) {
      for (let i = 0; i < M; i++) stf(g, base + i, i < n ? sigmoid_f32(ldf(scores, base + i)) : 0);
      continue;
    }
    let mx = ldf(scores, base);
    for (let i = 1; i < n; i++) mx = max(mx, ldf(scores, base + i));
    let sum: f32 = 0;
    for (let i = 0; i < n; i++) {
      const e = exp_f32(ldf(scores, base + i) - mx);
      stf(g, base + i, e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    for (let i = 0; i < n; i++) stf(g, base + i, ldf(g, base + i) * inv);
    for (let i = n; i < M; i++) stf(g, base + i, 0);
  }
}

// Backward of episode_gate_forward (same sizes, the kept z and a, the g it wrote).
// dg: [B*M] upstream gradient of g (entries past each length are ignored)
// dW1, db1, dW2, db2: accumulated   ds: [B*M, d] added to   dq, dm: [B, d] added to
// work: episode_gate_backward_work_floats(B, M, d, da) floats
export function episode_gate_backward(
  B: i32, M: i32, d: i32, da: i32, s: usize, q: usize, m: usize, lengths: usize,
  W1: usize, W2: usize, sigmoidGate: i32, z: usize, a: usize, g: usize, dg: usize,
  dW1: usize, db1: usize, dW2: usize, db2: usize, ds: usize, dq: usize, dm: usize, work: usize,
): void {
  const rows = B * M;
  const Z4 = 4 * d;
  const dZ = work;
  const dpre = at(work, rows);
  const dz = at(dpre, rows * da);
  // dZ: softmax (or sigmoid) backward over the valid facts; exactly 0 past them.
  for (let b = 0; b < B; b++) {
    const n = len_of(lengths, b);
    const base = b * M;
    if (sigmoidGate) {
      for (let i = 0; i < n; i++) {
        const gv = ldf(g, base + i);
        stf(dZ, base + i, ldf(dg, base + i) * gv * (1 - gv));
      }
    } else {
      let dot: f32 = 0;
      for (let i = 0; i < n; i++) dot += ldf(g, base + i) * ldf(dg, base + i);
      for (let i = 0; i < n; i++) stf(dZ, base + i, ldf(g, base + i) * (ldf(dg, base + i) - dot));
    }
    for (let i = n; i < M; i++) stf(dZ, base + i, 0);
  }
  // Z = a·W2 + b2:  dW2 += Σ dZ a,  db2 += Σ dZ,  dpre = dZ W2 ⊙ (1 − a²);  db1 += Σ dpre.
  let sumDZ: f32 = 0;
  const one = f32x4.splat(1);
  for (let k = 0; k < da; k += 4) {
    const ko = <usize>k << 2, lanes = min(4, da - k);
    const w2 = ld(W2 + ko, lanes);
    let gw = ld(dW2 + ko, lanes), gb = ld(db1 + ko, lanes);
    for (let r = 0; r < rows; r++) {
      const dzr = f32x4.splat(ldf(dZ, r));
      const av = ld(at(a, r * da) + ko, lanes);
      gw = madd(dzr, av, gw);
      const pr = f32x4.mul(f32x4.mul(dzr, w2), f32x4.sub(one, f32x4.mul(av, av)));
      st(at(dpre, r * da) + ko, pr, lanes);
      gb = f32x4.add(gb, pr);
    }
    st(dW2 + ko, gw, lanes);
    st(db1 + ko, gb, lanes);
  }
  for (let r = 0; r < rows; r++) sumDZ += ldf(dZ, r);
  store<f32>(db2, load<f32>(db2) + sumDZ);
  // dW1 += dpreᵀ z;  dz = dpre W1.
  gemm_f32(1, 0, da, Z4, rows, 1, dpre, da, z, Z4, 1, dW1, Z4);
  gemm_f32(0, 0, rows, Z4, da, 1, dpre, da, W1, Z4, 0, dz, Z4);
  // z's four blocks back to s, q and m (d/dx |x| = sign x, 0 at 0 as torch).
  const zero = f32x4.splat(0);
  const Do = <usize>d << 2;
  for (let b = 0; b < B; b++) {
    const qb = at(q, b * d), mb = at(m, b * d), dqb = at(dq, b * d), dmb = at(dm, b * d);
    for (let i = 0; i < M; i++) {
      const row = b * M + i;
      const sr = at(s, row * d), zr = at(dz, row * Z4), dsr = at(ds, row * d);
      for (let k = 0; k < d; k += 4) {
        const ko = <usize>k << 2, lanes = min(4, d - k);
        const sv = ld(sr + ko, lanes), qv = ld(qb + ko, lanes), mv = ld(mb + ko, lanes);
        const xq = f32x4.sub(sv, qv), xm = f32x4.sub(sv, mv);
        const sq = f32x4.sub(v128.and(f32x4.gt(xq, zero), one), v128.and(f32x4.lt(xq, zero), one));
        const sm = f32x4.sub(v128.and(f32x4.gt(xm, zero), one), v128.and(f32x4.lt(xm, zero), one));
        const d0 = ld(zr + ko, lanes), d1 = ld(zr + Do + ko, lanes);
        const d2 = f32x4.mul(ld(zr + 2 * Do + ko, lanes), sq), d3 = f32x4.mul(ld(zr + 3 * Do + ko, lanes), sm);
        st(dsr + ko, f32x4.add(ld(dsr + ko, lanes), f32x4.add(f32x4.add(f32x4.mul(d0, qv), f32x4.mul(d1, mv)), f32x4.add(d2, d3))), lanes);
        st(dqb + ko, f32x4.add(ld(dqb + ko, lanes), f32x4.sub(f32x4.mul(d0, sv), d2)), lanes);
        st(dmb + ko, f32x4.add(ld(dmb + ko, lanes), f32x4.sub(f32x4.mul(d1, sv), d3)), lanes);
      }
    }
  }
}

export function episode_gate_backward_work_floats(B: i32, M: i32, d: i32, da: i32): i32 {
  const rows = B * M;
  return rows + rows * da + rows * 4 * d;
}

// Gate rows of the recurrence: 3 (r, z, n) for the gated GRU, 2 (r, n) for the attention GRU.
// @ts-ignore: decorator
@inline
function gate_rows(cell: i32): i32 {
  return cell == 0 ? 3 : 2;
}

// x: [B*M, I] (facts)  g: [B*M]  h0: [B, H] or 0 (zeros)  lengths: [B] (1..M)
// W_ih: [G*H, I]  W_hh: [G*H, H]  b_ih, b_hh: [G*H]  (G = 3 gated-gru, 2 attention-gru)
// hN: [B, H] the state after each row's last valid fact (also the running state)
// gates: [B*M, G*H] (input projection, then the activated gates r, (z,) n)
// hprev: [B*M, H] h_{i−1}  hn: [B*M, H] W_hn h_{i−1} + b_hn; rows past a length are zeroed
// work: episode_gru_forward_work_floats(B, H, cell) floats
// W_hhᵀ is packed once per call (recurrent_common's panels), so each fact's product streams it.
export function episode_gru_forward(
  B: i32, M: i32, I: i32, H: i32, cell: i32, x: usize, g: usize, h0: usize, lengths: usize,
  W_ih: usize, W_hh: usize, b_ih: usize, b_hh: usize, hN: usize, gates: usize, hprev: usize, hn: usize, work: usize,
): void {
  const G = gate_rows(cell);
  const GH = G * H;
  const rows = B * M;
  const whhT = work;
  const hh = at(whhT, packed_floats(B, H, GH));
  const scratch = at(hh, B * GH);
  const nOff = <usize>((G - 1) * H) << 2; // the n rows, in bytes
  const Ho = <usize>H << 2;
  // gates = x W_ihᵀ + b_ih over all facts: bias rows first, then the product added.
  for (let r = 0; r < rows; r++) memory.copy(at(gates, r * GH), b_ih, <usize>GH << 2);
  gemm_f32(0, 1, rows, GH, I, 1, x, I, W_ih, I, 1, gates, GH);
  rec_pack(H, GH, W_hh, H, 1, whhT, B);
  memory.fill(hprev, 0, <usize>(rows * H) << 2);
  memory.fill(hn, 0, <usize>(rows * H) << 2);
  if (h0 != 0) memory.copy(hN, h0, <usize>(B * H) << 2); else memory.fill(hN, 0, <usize>(B * H) << 2);
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = max(maxLen, len_of(lengths, b));
  const one = f32x4.splat(1);
  for (let i = 0; i < maxLen; i++) {
    rec_matmul_packed(B, GH, H, hN, H, whhT, hh, GH, 0, scratch);
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const row = b * M + i;
      const gr = at(gates, row * GH), hr = at(hh, b * GH), h = at(hN, b * H);
      const hp = at(hprev, row * H), hnr = at(hn, row * H);
      const gi = f32x4.splat(ldf(g, row));
      const ogi = f32x4.sub(one, gi);
      for (let j = 0; j < H; j += 4) {
        const jo = <usize>j << 2, lanes = min(4, H - j);
        const r = sigmoid_f32x4(f32x4.add(f32x4.add(ld(gr + jo, lanes), ld(hr + jo, lanes)), ld(b_hh + jo, lanes)));
        const hnv = f32x4.add(ld(hr + nOff + jo, lanes), ld(b_hh + nOff + jo, lanes));
        const n = tanh_f32x4(madd(r, hnv, ld(gr + nOff + jo, lanes)));
        const hOld = ld(h + jo, lanes);
        st(hp + jo, hOld, lanes);
        st(hnr + jo, hnv, lanes);
        st(gr + jo, r, lanes);
        st(gr + nOff + jo, n, lanes);
        let c = n;
        if (cell == 0) {
          const zg = sigmoid_f32x4(f32x4.add(f32x4.add(ld(gr + Ho + jo, lanes), ld(hr + Ho + jo, lanes)), ld(b_hh + Ho + jo, lanes)));
          st(gr + Ho + jo, zg, lanes);
          c = madd(zg, f32x4.sub(hOld, n), n);
        }
        st(h + jo, madd(gi, c, f32x4.mul(ogi, hOld)), lanes);
      }
    }
  }
}

export function episode_gru_forward_work_floats(B: i32, H: i32, cell: i32): i32 {
  const GH = gate_rows(cell) * H;
  return packed_floats(B, H, GH) + B * GH + matmul_scratch_floats(B, H, GH);
}

// Backward of episode_gru_forward (same sizes and lengths, its kept gates, hprev, hn).
// dh: [B, H] in: the gradient of hN; out: the gradient of h0
// dx: [B*M, I] written (0 at rows past a length)  dg: [B*M] written (0 past a length)
// dW_ih, dW_hh, db_ih, db_hh: accumulated
// work: episode_gru_backward_work_floats(B, M, H, cell) floats
export function episode_gru_backward(
  B: i32, M: i32, I: i32, H: i32, cell: i32, x: usize, g: usize, lengths: usize,
  W_ih: usize, W_hh: usize, gates: usize, hprev: usize, hn: usize, dh: usize,
  dx: usize, dg: usize, dW_ih: usize, dW_hh: usize, db_ih: usize, db_hh: usize, work: usize,
): void {
  const G = gate_rows(cell);
  const GH = G * H;
  const rows = B * M;
  const nOff = <usize>((G - 1) * H) << 2;
  const Ho = <usize>H << 2;
  const dpx = work;                 // [B*M, GH] input-side pre-activation gradients
  const dph = at(dpx, rows * GH);   // [B*M, GH] hidden-side ones (n rows differ by r)
  const dnext = at(dph, rows * GH); // [B, H]
  const whhP = at(dnext, B * H);    // W_hh packed as the [GH, H] operand
  const scratch = at(whhP, packed_floats(B, GH, H));
  rec_pack(GH, H, W_hh, H, 0, whhP, B);
  memory.fill(dpx, 0, <usize>(2 * rows * GH) << 2);
  memory.fill(dg, 0, <usize>rows << 2);
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = max(maxLen, len_of(lengths, b));
  const one = f32x4.splat(1);
  for (let i = maxLen - 1; i >= 0; i--) {
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const row = b * M + i;
      const gr = at(gates, row * GH), hp = at(hprev, row * H), hnr = at(hn, row * H);
      const px = at(dpx, row * GH), ph = at(dph, row * GH), dhb = at(dh, b * H);
      const gs = ldf(g, row);
      const gi = f32x4.splat(gs), ogi = f32x4.splat(1 - gs);
      let dgv = f32x4.splat(0);
      for (let j = 0; j < H; j += 4) {
        const jo = <usize>j << 2, lanes = min(4, H - j);
        const dhv = ld(dhb + jo, lanes);
        const r = ld(gr + jo, lanes), n = ld(gr + nOff + jo, lanes), h = ld(hp + jo, lanes);
        let c = n, dn: v128, direct: v128;
        if (cell == 0) {
          const zg = ld(gr + Ho + jo, lanes);
          c = madd(zg, f32x4.sub(h, n), n);
          const dc = f32x4.mul(gi, dhv);
          dn = f32x4.mul(dc, f32x4.sub(one, zg));
          const dzp = f32x4.mul(f32x4.mul(dc, f32x4.sub(h, n)), f32x4.mul(zg, f32x4.sub(one, zg)));
          st(px + Ho + jo, dzp, lanes);
          st(ph + Ho + jo, dzp, lanes);
          direct = madd(dc, zg, f32x4.mul(ogi, dhv));
        } else {
          dn = f32x4.mul(gi, dhv);
          direct = f32x4.mul(ogi, dhv);
        }
        dgv = madd(dhv, f32x4.sub(c, h), dgv);
        const dnp = f32x4.mul(dn, f32x4.sub(one, f32x4.mul(n, n)));
        const drp = f32x4.mul(f32x4.mul(dnp, ld(hnr + jo, lanes)), f32x4.mul(r, f32x4.sub(one, r)));
        st(px + jo, drp, lanes);
        st(ph + jo, drp, lanes);
        st(px + nOff + jo, dnp, lanes);
        st(ph + nOff + jo, f32x4.mul(dnp, r), lanes);
        st(dhb + jo, direct, lanes);
      }
      stf(dg, row, f32x4.extract_lane(dgv, 0) + f32x4.extract_lane(dgv, 1) + f32x4.extract_lane(dgv, 2) + f32x4.extract_lane(dgv, 3));
    }
    // dh_{i−1} += dph_i · W_hh, rows of step i strided by M*GH; finished rows are untouched.
    rec_matmul_packed(B, H, GH, at(dph, i * GH), M * GH, whhP, dnext, H, 0, scratch);
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const dhb = at(dh, b * H), dn = at(dnext, b * H);
      for (let j = 0; j < H; j += 4) {
        const jo = <usize>j << 2, lanes = min(4, H - j);
        st(dhb + jo, f32x4.add(ld(dhb + jo, lanes), ld(dn + jo, lanes)), lanes);
      }
    }
  }
  gemm_f32(1, 0, GH, I, rows, 1, dpx, GH, x, I, 1, dW_ih, I);
  gemm_f32(1, 0, GH, H, rows, 1, dph, GH, hprev, H, 1, dW_hh, H);
  for (let j = 0; j < GH; j += 4) {
    const jo = <usize>j << 2, lanes = min(4, GH - j);
    let ai = ld(db_ih + jo, lanes), ah = ld(db_hh + jo, lanes);
    for (let r = 0; r < rows; r++) {
      ai = f32x4.add(ai, ld(at(dpx, r * GH) + jo, lanes));
      ah = f32x4.add(ah, ld(at(dph, r * GH) + jo, lanes));
    }
    st(db_ih + jo, ai, lanes);
    st(db_hh + jo, ah, lanes);
  }
  gemm_f32(0, 0, rows, I, GH, 1, dpx, GH, W_ih, I, 0, dx, I);
}

export function episode_gru_backward_work_floats(B: i32, M: i32, H: i32, cell: i32): i32 {
  const GH = gate_rows(cell) * H;
  return 2 * B * M * GH + B * H + packed_floats(B, GH, H) + matmul_scratch_floats(B, GH, H);
}

// The DMN+ sentence reader (positional encoding, Xiong et al.): for each sentence n of length
// J = lengths[n] (0..L; 0 reads as a zero vector),
//   out[n, k] = Σ_{j<J} l_jk w[n, j, k],  l_jk = (1 − (j+1)/J) − ((k+1)/D)(1 − 2(j+1)/J)
// written as a_j + c_k b_j (a_j = 1 − (j+1)/J, b_j = 2(j+1)/J − 1, c_k = (k+1)/D), so each
// sentence is two weighted sums of its word vectors.
// words: [N, L, D]  lengths: [N] i32  out: [N, D] (written)
export function position_encoding_forward(N: i32, L: i32, D: i32, words: usize, lengths: usize, out: usize): void {
  const invD: f32 = 1 / <f32>D;
  for (let n = 0; n < N; n++) {
    const J = len_of(lengths, n);
    const invJ: f32 = J > 0 ? 1 / <f32>J : 0;
    const o = at(out, n * D);
    for (let k = 0; k < D; k += 4) {
      const ko = <usize>k << 2, lanes = min(4, D - k);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let j = 0; j < J; j++) {
        const w = ld(at(words, (n * L + j) * D) + ko, lanes);
        const p = <f32>(j + 1) * invJ;
        s0 = madd(f32x4.splat(1 - p), w, s0);
        s1 = madd(f32x4.splat(2 * p - 1), w, s1);
      }
      const c = f32x4.mul(f32x4(<f32>(k + 1), <f32>(k + 2), <f32>(k + 3), <f32>(k + 4)), f32x4.splat(invD));
      st(o + ko, madd(c, s1, s0), lanes);
    }
  }
}

// Backward of position_encoding_forward: dwords[n, j, k] += l_jk dout[n, k] for j < J
// (words past a length get nothing). dout: [N, D]  dwords: [N, L, D] added to
export function position_encoding_backward(N: i32, L: i32, D: i32, dout: usize, lengths: usize, dwords: usize): void {
  const invD: f32 = 1 / <f32>D;
  for (let n = 0; n < N; n++) {
    const J = len_of(lengths, n);
    const invJ: f32 = J > 0 ? 1 / <f32>J : 0;
    const dy = at(dout, n * D);
    for (let k = 0; k < D; k += 4) {
      const ko = <usize>k << 2, lanes = min(4, D - k);
      const g = ld(dy + ko, lanes);
      const cg = f32x4.mul(f32x4.mul(f32x4(<f32>(k + 1), <f32>(k + 2), <f32>(k + 3), <f32>(k + 4)), f32x4.splat(invD)), g);
      for (let j = 0; j < J; j++) {
        const p = <f32>(j + 1) * invJ;
        const dw = at(dwords, (n * L + j) * D) + ko;
        // l g = a_j g + b_j (c ⊙ g)
        st(dw, madd(f32x4.splat(2 * p - 1), cg, madd(f32x4.splat(1 - p), g, ld(dw, lanes))), lanes);
      }
    }
  }
}
