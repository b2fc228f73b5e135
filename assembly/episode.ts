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
import { exp_f32, sigmoid_f32, tanh_f32 } from "./math";

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

// @ts-ignore: decorator
@inline
function sign_f32(x: f32): f32 {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
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
  for (let b = 0; b < B; b++) {
    const qb = at(q, b * d), mb = at(m, b * d);
    for (let i = 0; i < M; i++) {
      const row = b * M + i;
      const sr = at(s, row * d), zr = at(z, row * Z4);
      for (let k = 0; k < d; k++) {
        const sv = ldf(sr, k), qv = ldf(qb, k), mv = ldf(mb, k);
        stf(zr, k, sv * qv);
        stf(zr, d + k, sv * mv);
        stf(zr, 2 * d + k, Mathf.abs(sv - qv));
        stf(zr, 3 * d + k, Mathf.abs(sv - mv));
      }
    }
  }
  // a = tanh(z W1ᵀ + b1) over all facts at once.
  gemm_f32(0, 1, rows, da, Z4, 1, z, Z4, W1, Z4, 0, a, da);
  const bias2 = load<f32>(b2);
  for (let r = 0; r < rows; r++) {
    const ar = at(a, r * da);
    let acc: f32 = 0;
    for (let k = 0; k < da; k++) {
      const v = tanh_f32(ldf(ar, k) + ldf(b1, k));
      stf(ar, k, v);
      acc += v * ldf(W2, k);
    }
    stf(scores, r, acc + bias2);
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
  // Z = a·W2 + b2:  dW2 += Σ dZ a,  db2 += Σ dZ,  dpre = dZ W2 ⊙ (1 − a²).
  let sumDZ: f32 = 0;
  for (let r = 0; r < rows; r++) {
    const dzr = ldf(dZ, r);
    sumDZ += dzr;
    const ar = at(a, r * da), pr = at(dpre, r * da);
    for (let k = 0; k < da; k++) {
      const av = ldf(ar, k);
      stf(dW2, k, ldf(dW2, k) + dzr * av);
      stf(pr, k, dzr * ldf(W2, k) * (1 - av * av));
    }
  }
  store<f32>(db2, load<f32>(db2) + sumDZ);
  for (let r = 0; r < rows; r++) {
    const pr = at(dpre, r * da);
    for (let k = 0; k < da; k++) stf(db1, k, ldf(db1, k) + ldf(pr, k));
  }
  // dW1 += dpreᵀ z;  dz = dpre W1.
  gemm_f32(1, 0, da, Z4, rows, 1, dpre, da, z, Z4, 1, dW1, Z4);
  gemm_f32(0, 0, rows, Z4, da, 1, dpre, da, W1, Z4, 0, dz, Z4);
  // z's four blocks back to s, q and m.
  for (let b = 0; b < B; b++) {
    const qb = at(q, b * d), mb = at(m, b * d), dqb = at(dq, b * d), dmb = at(dm, b * d);
    for (let i = 0; i < M; i++) {
      const row = b * M + i;
      const sr = at(s, row * d), zr = at(dz, row * Z4), dsr = at(ds, row * d);
      for (let k = 0; k < d; k++) {
        const sv = ldf(sr, k), qv = ldf(qb, k), mv = ldf(mb, k);
        const d0 = ldf(zr, k), d1 = ldf(zr, d + k);
        const d2 = ldf(zr, 2 * d + k) * sign_f32(sv - qv), d3 = ldf(zr, 3 * d + k) * sign_f32(sv - mv);
        stf(dsr, k, ldf(dsr, k) + d0 * qv + d1 * mv + d2 + d3);
        stf(dqb, k, ldf(dqb, k) + d0 * sv - d2);
        stf(dmb, k, ldf(dmb, k) + d1 * sv - d3);
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
export function episode_gru_forward(
  B: i32, M: i32, I: i32, H: i32, cell: i32, x: usize, g: usize, h0: usize, lengths: usize,
  W_ih: usize, W_hh: usize, b_ih: usize, b_hh: usize, hN: usize, gates: usize, hprev: usize, hn: usize, work: usize,
): void {
  const G = gate_rows(cell);
  const GH = G * H;
  const rows = B * M;
  const hh = work;
  const nOff = (G - 1) * H; // the n rows
  gemm_f32(0, 1, rows, GH, I, 1, x, I, W_ih, I, 0, gates, GH);
  for (let r = 0; r < rows; r++) {
    const gr = at(gates, r * GH);
    for (let j = 0; j < GH; j++) stf(gr, j, ldf(gr, j) + ldf(b_ih, j));
  }
  memory.fill(hprev, 0, <usize>(rows * H) << 2);
  memory.fill(hn, 0, <usize>(rows * H) << 2);
  if (h0 != 0) memory.copy(hN, h0, <usize>(B * H) << 2); else memory.fill(hN, 0, <usize>(B * H) << 2);
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = max(maxLen, len_of(lengths, b));
  for (let i = 0; i < maxLen; i++) {
    gemm_f32(0, 1, B, GH, H, 1, hN, H, W_hh, H, 0, hh, GH);
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const row = b * M + i;
      const gr = at(gates, row * GH), hr = at(hh, b * GH), h = at(hN, b * H);
      const hp = at(hprev, row * H), hnr = at(hn, row * H);
      const gi = ldf(g, row);
      for (let j = 0; j < H; j++) {
        const r = sigmoid_f32(ldf(gr, j) + ldf(hr, j) + ldf(b_hh, j));
        const hnv = ldf(hr, nOff + j) + ldf(b_hh, nOff + j);
        const n = tanh_f32(ldf(gr, nOff + j) + r * hnv);
        const hOld = ldf(h, j);
        stf(hp, j, hOld);
        stf(hnr, j, hnv);
        stf(gr, j, r);
        stf(gr, nOff + j, n);
        let c = n;
        if (cell == 0) {
          const zg = sigmoid_f32(ldf(gr, H + j) + ldf(hr, H + j) + ldf(b_hh, H + j));
          stf(gr, H + j, zg);
          c = (1 - zg) * n + zg * hOld;
        }
        stf(h, j, gi * c + (1 - gi) * hOld);
      }
    }
  }
}

export function episode_gru_forward_work_floats(B: i32, H: i32, cell: i32): i32 {
  return B * gate_rows(cell) * H;
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
  const nOff = (G - 1) * H;
  const dpx = work;                 // [B*M, GH] input-side pre-activation gradients
  const dph = at(dpx, rows * GH);   // [B*M, GH] hidden-side ones (n rows differ by r)
  const dnext = at(dph, rows * GH); // [B, H]
  memory.fill(dpx, 0, <usize>(2 * rows * GH) << 2);
  memory.fill(dg, 0, <usize>rows << 2);
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = max(maxLen, len_of(lengths, b));
  for (let i = maxLen - 1; i >= 0; i--) {
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const row = b * M + i;
      const gr = at(gates, row * GH), hp = at(hprev, row * H), hnr = at(hn, row * H);
      const px = at(dpx, row * GH), ph = at(dph, row * GH), dhb = at(dh, b * H);
      const gi = ldf(g, row);
      let dgi: f32 = 0;
      for (let j = 0; j < H; j++) {
        const dhv = ldf(dhb, j);
        const r = ldf(gr, j), n = ldf(gr, nOff + j), h = ldf(hp, j);
        let c = n, dn: f32, direct: f32;
        if (cell == 0) {
          const zg = ldf(gr, H + j);
          c = (1 - zg) * n + zg * h;
          const dc = gi * dhv;
          dn = dc * (1 - zg);
          const dzp = dc * (h - n) * zg * (1 - zg);
          stf(px, H + j, dzp);
          stf(ph, H + j, dzp);
          direct = (1 - gi) * dhv + dc * zg;
        } else {
          dn = gi * dhv;
          direct = (1 - gi) * dhv;
        }
        dgi += dhv * (c - h);
        const dnp = dn * (1 - n * n);
        const drp = dnp * ldf(hnr, j) * r * (1 - r);
        stf(px, j, drp);
        stf(ph, j, drp);
        stf(px, nOff + j, dnp);
        stf(ph, nOff + j, dnp * r);
        stf(dhb, j, direct);
      }
      stf(dg, row, dgi);
    }
    // dh_{i−1} += dph_i · W_hh, rows of step i strided by M*GH; finished rows are untouched.
    gemm_f32(0, 0, B, H, GH, 1, at(dph, i * GH), M * GH, W_hh, H, 0, dnext, H);
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const dhb = at(dh, b * H), dn = at(dnext, b * H);
      for (let j = 0; j < H; j++) stf(dhb, j, ldf(dhb, j) + ldf(dn, j));
    }
  }
  gemm_f32(1, 0, GH, I, rows, 1, dpx, GH, x, I, 1, dW_ih, I);
  gemm_f32(1, 0, GH, H, rows, 1, dph, GH, hprev, H, 1, dW_hh, H);
  for (let r = 0; r < rows; r++) {
    const px = at(dpx, r * GH), ph = at(dph, r * GH);
    for (let j = 0; j < GH; j++) {
      stf(db_ih, j, ldf(db_ih, j) + ldf(px, j));
      stf(db_hh, j, ldf(db_hh, j) + ldf(ph, j));
    }
  }
  gemm_f32(0, 0, rows, I, GH, 1, dpx, GH, W_ih, I, 0, dx, I);
}

export function episode_gru_backward_work_floats(B: i32, M: i32, H: i32, cell: i32): i32 {
  return 2 * B * M * gate_rows(cell) * H + B * H;
}
