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
import { ld, st } from "./recurrent_common";
import { gemm_pack_b, gemm_packed_b, gemm_pack_b_floats, gemm_packed_b_work_floats, gemm_work_floats, gemm_work_max_floats } from "./gemm";

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

// The gate features come in pairs, one per vector v of a batch row (q or m): s⊙v and |s−v|.
// pair_features writes them at columns offP and offA of z (row stride ldz) for every fact.
// @ts-ignore: decorator
@inline
function pair_features(B: i32, M: i32, d: i32, s: usize, v: usize, z: usize, ldz: i32, offP: i32, offA: i32): void {
  for (let b = 0; b < B; b++) {
    const vb = at(v, b * d);
    for (let i = 0; i < M; i++) {
      const row = b * M + i;
      const sr = at(s, row * d), zr = at(z, row * ldz);
      for (let k = 0; k < d; k += 4) {
        const ko = <usize>k << 2, lanes = min(4, d - k);
        const sv = ld(sr + ko, lanes), vv = ld(vb + ko, lanes);
        st(at(zr, offP) + ko, f32x4.mul(sv, vv), lanes);
        st(at(zr, offA) + ko, f32x4.abs(f32x4.sub(sv, vv)), lanes);
      }
    }
  }
}

// Backward of one pair (dz: the gradients of its two feature blocks): ds += dP⊙v + dA⊙sign(s−v)
// per fact, dv += Σ_facts dP⊙s − dA⊙sign(s−v) (d/dx |x| = sign x, 0 at 0 as torch).
// @ts-ignore: decorator
@inline
function pair_backward(B: i32, M: i32, d: i32, s: usize, v: usize, dz: usize, ldz: i32, offP: i32, offA: i32, ds: usize, dv: usize): void {
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const vb = at(v, b * d), dvb = at(dv, b * d);
    for (let i = 0; i < M; i++) {
      const row = b * M + i;
      const sr = at(s, row * d), zr = at(dz, row * ldz), dsr = at(ds, row * d);
      for (let k = 0; k < d; k += 4) {
        const ko = <usize>k << 2, lanes = min(4, d - k);
        const sv = ld(sr + ko, lanes), vv = ld(vb + ko, lanes);
        const x = f32x4.sub(sv, vv);
        const sign = f32x4.sub(v128.and(f32x4.gt(x, zero), one), v128.and(f32x4.lt(x, zero), one));
        const dP = ld(at(zr, offP) + ko, lanes), dA = f32x4.mul(ld(at(zr, offA) + ko, lanes), sign);
        st(dsr + ko, f32x4.add(ld(dsr + ko, lanes), madd(dP, vv, dA)), lanes);
        st(dvb + ko, f32x4.add(ld(dvb + ko, lanes), f32x4.sub(f32x4.mul(dP, sv), dA)), lanes);
      }
    }
  }
}

// a [B*M, da] (pre-activation in, activation out) = tanh(a + b1) (b1 = 0: already added),
// scores = a W2ᵀ + b2, g = masked softmax over each row's valid facts (or sigmoid), 0 past them.
function gate_head_forward(B: i32, M: i32, da: i32, a: usize, b1: usize, W2: usize, b2: usize, lengths: usize, sigmoidGate: i32, scores: usize, g: usize): void {
  const rows = B * M;
  const bias2 = load<f32>(b2);
  for (let r = 0; r < rows; r++) {
    const ar = at(a, r * da);
    let acc = f32x4.splat(0);
    for (let k = 0; k < da; k += 4) {
      const ko = <usize>k << 2, lanes = min(4, da - k);
      const pre = ld(ar + ko, lanes);
      const v = tanh_f32x4(b1 != 0 ? f32x4.add(pre, ld(b1 + ko, lanes)) : pre);
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

// Backward of gate_head_forward: dZ [B*M] (softmax or sigmoid backward, 0 past each length),
// dW2 += Σ dZ a, db2 += Σ dZ, dpre [B*M, da] = dZ W2 ⊙ (1 − a²) written, db1 += Σ dpre.
function gate_head_backward(B: i32, M: i32, da: i32, lengths: usize, sigmoidGate: i32, a: usize, g: usize, dg: usize, W2: usize,
  dW2: usize, db1: usize, db2: usize, dZ: usize, dpre: usize): void {
  const rows = B * M;
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
}

// s: [B*M, d]  q, m: [B, d]  lengths: [B]  W1: [da, 4d]  b1: [da]  W2: [1, da]  b2: [1]
// z: [B*M, 4d] and a: [B*M, da] = tanh(W1 z + b1) are written (kept for backward)
// scores: [B*M] raw Z (every row, masked ones too)  g: [B*M] (0 exactly past each length)
// sigmoidGate: 0 softmax over the valid facts, 1 an independent sigmoid per fact
// work: episode_gate_forward_work_floats(B, M, d, da) floats
export function episode_gate_forward(
  B: i32, M: i32, d: i32, da: i32, s: usize, q: usize, m: usize, lengths: usize,
  W1: usize, b1: usize, W2: usize, b2: usize, sigmoidGate: i32, z: usize, a: usize, scores: usize, g: usize, work: usize,
): void {
  const Z4 = 4 * d;
  pair_features(B, M, d, s, q, z, Z4, 0, 2 * d);
  pair_features(B, M, d, s, m, z, Z4, d, 3 * d);
  // a = tanh(z W1ᵀ + b1) over all facts at once.
  gemm_f32(0, 1, B * M, da, Z4, 1, z, Z4, W1, Z4, 0, a, da, work);
  gate_head_forward(B, M, da, a, b1, W2, b2, lengths, sigmoidGate, scores, g);
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
  gate_head_backward(B, M, da, lengths, sigmoidGate, a, g, dg, W2, dW2, db1, db2, dZ, dpre);
  // dW1 += dpreᵀ z;  dz = dpre W1; then z's pairs back to s, q and m.
  const gemmWork = at(dz, rows * Z4);
  gemm_f32(1, 0, da, Z4, rows, 1, dpre, da, z, Z4, 1, dW1, Z4, gemmWork);
  gemm_f32(0, 0, rows, Z4, da, 1, dpre, da, W1, Z4, 0, dz, Z4, gemmWork);
  pair_backward(B, M, d, s, q, dz, Z4, 0, 2 * d, ds, dq);
  pair_backward(B, M, d, s, m, dz, Z4, d, 3 * d, ds, dm);
}

// ---- the same gate over several passes that share s and q (the DMN's T passes) ----------
// The q half of z (s⊙q, |s−q|) and its product with W1's q columns (0..d, 2d..3d) do not
// change between passes: episode_gate_prepare computes them once, each pass adds its m half
// (s⊙m, |s−m| times columns d..2d, 3d..4d), and the passes' backwards add their dpre into one
// sum whose q-half products run once (episode_gate_prepare_backward, after every pass).

// z pair (zp: [rows, 2d], s⊙v then |s−v|) times W1's columns (colP, colA): c (+)= zp W1[:, pair]ᵀ.
// @ts-ignore: decorator
@inline
function pair_product(rows: i32, d: i32, da: i32, zp: usize, W1: usize, colP: i32, colA: i32, c: usize, work: usize): void {
  const ldw = 4 * d, ldz = 2 * d;
  gemm_f32(0, 1, rows, da, d, 1, zp, ldz, at(W1, colP), ldw, 1, c, da, work);
  gemm_f32(0, 1, rows, da, d, 1, at(zp, d), ldz, at(W1, colA), ldw, 1, c, da, work);
}

// Backward of pair_product: dW1[:, pair] += dpreᵀ zp;  dzp [rows, 2d] = dpre W1[:, pair] (written).
// @ts-ignore: decorator
@inline
function pair_product_backward(rows: i32, d: i32, da: i32, zp: usize, W1: usize, colP: i32, colA: i32, dpre: usize, dW1: usize, dzp: usize, work: usize): void {
  const ldw = 4 * d, ldz = 2 * d;
  gemm_f32(1, 0, da, d, rows, 1, dpre, da, zp, ldz, 1, at(dW1, colP), ldw, work);
  gemm_f32(1, 0, da, d, rows, 1, dpre, da, at(zp, d), ldz, 1, at(dW1, colA), ldw, work);
  gemm_f32(0, 0, rows, d, da, 1, dpre, da, at(W1, colP), ldw, 0, dzp, ldz, work);
  gemm_f32(0, 0, rows, d, da, 1, dpre, da, at(W1, colA), ldw, 0, at(dzp, d), ldz, work);
}

// s: [B*M, d]  q: [B, d]  W1: [da, 4d]  b1: [da]
// zq: [B*M, 2d] = [s⊙q, |s−q|] and aq: [B*M, da] = zq W1[:, q columns]ᵀ + b1 written.
// work: episode_gate_forward_work_floats(B, M, d, da) floats
export function episode_gate_prepare(B: i32, M: i32, d: i32, da: i32, s: usize, q: usize, W1: usize, b1: usize, zq: usize, aq: usize, work: usize): void {
  const rows = B * M;
  pair_features(B, M, d, s, q, zq, 2 * d, 0, d);
  for (let r = 0; r < rows; r++) memory.copy(at(aq, r * da), b1, <usize>da << 2);
  pair_product(rows, d, da, zq, W1, 0, 2 * d, aq, work);
}

// One pass on a prepared gate: zm: [B*M, 2d] = [s⊙m, |s−m|] and a = tanh(aq + zm W1[:, m columns]ᵀ)
// written (kept), scores and g as episode_gate_forward. work: episode_gate_forward_work_floats floats
export function episode_gate_forward_shared(
  B: i32, M: i32, d: i32, da: i32, s: usize, m: usize, lengths: usize, aq: usize,
  W1: usize, W2: usize, b2: usize, sigmoidGate: i32, zm: usize, a: usize, scores: usize, g: usize, work: usize,
): void {
  const rows = B * M;
  pair_features(B, M, d, s, m, zm, 2 * d, 0, d);
  memory.copy(a, aq, <usize>(rows * da) << 2);
  pair_product(rows, d, da, zm, W1, d, 3 * d, a, work);
  gate_head_forward(B, M, da, a, 0, W2, b2, lengths, sigmoidGate, scores, g);
}

// Backward of episode_gate_forward_shared: dW1's m columns, db1, dW2, db2 accumulated; ds, dm
// added to; dpreSum [B*M, da] += this pass's dpre (episode_gate_prepare_backward finishes q's half).
// work: episode_gate_backward_work_floats(B, M, d, da) floats
export function episode_gate_backward_shared(
  B: i32, M: i32, d: i32, da: i32, s: usize, m: usize, lengths: usize, W1: usize, W2: usize, sigmoidGate: i32,
  zm: usize, a: usize, g: usize, dg: usize, dW1: usize, db1: usize, dW2: usize, db2: usize, ds: usize, dm: usize, dpreSum: usize, work: usize,
): void {
  const rows = B * M;
  const dZ = work;
  const dpre = at(work, rows);
  const dz = at(dpre, rows * da);
  gate_head_backward(B, M, da, lengths, sigmoidGate, a, g, dg, W2, dW2, db1, db2, dZ, dpre);
  pair_product_backward(rows, d, da, zm, W1, d, 3 * d, dpre, dW1, dz, at(dz, rows * 4 * d));
  pair_backward(B, M, d, s, m, dz, 2 * d, 0, d, ds, dm);
  for (let i = 0; i < rows * da; i += 4) {
    const io = <usize>i << 2, lanes = min(4, rows * da - i);
    st(dpreSum + io, f32x4.add(ld(dpreSum + io, lanes), ld(dpre + io, lanes)), lanes);
  }
}

// After every pass's backward: dW1's q columns += dpreSumᵀ zq; ds, dq added to.
// work: episode_gate_backward_work_floats(B, M, d, da) floats
export function episode_gate_prepare_backward(
  B: i32, M: i32, d: i32, da: i32, s: usize, q: usize, W1: usize, zq: usize, dpreSum: usize, dW1: usize, ds: usize, dq: usize, work: usize,
): void {
  const rows = B * M;
  pair_product_backward(rows, d, da, zq, W1, 0, 2 * d, dpreSum, dW1, work, at(work, rows + rows * da + rows * 4 * d));
  pair_backward(B, M, d, s, q, work, 2 * d, 0, d, ds, dq);
}

export function episode_gate_forward_work_floats(B: i32, M: i32, d: i32, da: i32): i32 {
  return gemm_work_floats(B * M, da, 4 * d);
}

// dZ, dpre, dz, then the two products' packing space (also enough for the shared kernels' pair products).
export function episode_gate_backward_work_floats(B: i32, M: i32, d: i32, da: i32): i32 {
  const rows = B * M;
  return rows + rows * da + rows * 4 * d + max(gemm_work_floats(da, 4 * d, rows), gemm_work_floats(rows, 4 * d, da));
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
// projected 1: gates already hold x W_ihᵀ + b_ih (computed once for all passes over the same
// facts by the caller), so the input product is skipped.
// W_hhᵀ is packed once per call (gemm.ts's pre-packed-B mode), so each fact's product streams it.
export function episode_gru_forward(
  B: i32, M: i32, I: i32, H: i32, cell: i32, x: usize, g: usize, h0: usize, lengths: usize,
  W_ih: usize, W_hh: usize, b_ih: usize, b_hh: usize, hN: usize, gates: usize, hprev: usize, hn: usize, work: usize, projected: i32,
): void {
  const G = gate_rows(cell);
  const GH = G * H;
  const rows = B * M;
  const whhT = work;
  const hh = at(whhT, gemm_pack_b_floats(B, H, GH));
  const scratch = at(hh, B * GH);
  const nOff = <usize>((G - 1) * H) << 2; // the n rows, in bytes
  const Ho = <usize>H << 2;
  // gates = x W_ihᵀ + b_ih over all facts: bias rows first, then the product added.
  if (!projected) {
    for (let r = 0; r < rows; r++) memory.copy(at(gates, r * GH), b_ih, <usize>GH << 2);
    gemm_f32(0, 1, rows, GH, I, 1, x, I, W_ih, I, 1, gates, GH, work); // before whhT is packed into work
  }
  gemm_pack_b(H, GH, W_hh, H, 1, whhT, B);
  memory.fill(hprev, 0, <usize>(rows * H) << 2);
  memory.fill(hn, 0, <usize>(rows * H) << 2);
  if (h0 != 0) memory.copy(hN, h0, <usize>(B * H) << 2); else memory.fill(hN, 0, <usize>(B * H) << 2);
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = max(maxLen, len_of(lengths, b));
  const one = f32x4.splat(1);
  for (let i = 0; i < maxLen; i++) {
    gemm_packed_b(B, GH, H, hN, H, whhT, hh, GH, 0, scratch);
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
  return max(gemm_pack_b_floats(B, H, GH) + B * GH + gemm_packed_b_work_floats(B, H, GH), gemm_work_max_floats());
}

// Backward of episode_gru_forward (same sizes and lengths, its kept gates, hprev, hn).
// dh: [B, H] in: the gradient of hN; out: the gradient of h0
// dx: [B*M, I] written (0 at rows past a length)  dg: [B*M] written (0 past a length)
// dW_ih, dW_hh, db_ih, db_hh: accumulated
// work: episode_gru_backward_work_floats(B, M, H, cell) floats
// dpxSum != 0 ([B*M, G*H], the forward was `projected`): the input-side pre-activation
// gradients are added there instead, and dx, dW_ih, db_ih are left to the caller (one product
// for all passes); dx is then not written.
export function episode_gru_backward(
  B: i32, M: i32, I: i32, H: i32, cell: i32, x: usize, g: usize, lengths: usize,
  W_ih: usize, W_hh: usize, gates: usize, hprev: usize, hn: usize, dh: usize,
  dx: usize, dg: usize, dW_ih: usize, dW_hh: usize, db_ih: usize, db_hh: usize, work: usize, dpxSum: usize,
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
  const scratch = at(whhP, gemm_pack_b_floats(B, GH, H));
  gemm_pack_b(GH, H, W_hh, H, 0, whhP, B);
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
    gemm_packed_b(B, H, GH, at(dph, i * GH), M * GH, whhP, dnext, H, 0, scratch);
    for (let b = 0; b < B; b++) {
      if (i >= len_of(lengths, b)) continue;
      const dhb = at(dh, b * H), dn = at(dnext, b * H);
      for (let j = 0; j < H; j += 4) {
        const jo = <usize>j << 2, lanes = min(4, H - j);
        st(dhb + jo, f32x4.add(ld(dhb + jo, lanes), ld(dn + jo, lanes)), lanes);
      }
    }
  }
  // The products' packing space: whhP's and the steps' scratch, free now.
  gemm_f32(1, 0, GH, H, rows, 1, dph, GH, hprev, H, 1, dW_hh, H, whhP);
  const shared = dpxSum != 0;
  for (let j = 0; j < GH; j += 4) {
    const jo = <usize>j << 2, lanes = min(4, GH - j);
    let ai = ld(db_ih + jo, lanes), ah = ld(db_hh + jo, lanes);
    for (let r = 0; r < rows; r++) {
      if (!shared) ai = f32x4.add(ai, ld(at(dpx, r * GH) + jo, lanes));
      ah = f32x4.add(ah, ld(at(dph, r * GH) + jo, lanes));
    }
    if (!shared) st(db_ih + jo, ai, lanes);
    st(db_hh + jo, ah, lanes);
  }
  if (shared) {
    for (let i = 0; i < rows * GH; i += 4) {
      const io = <usize>i << 2, lanes = min(4, rows * GH - i);
      st(dpxSum + io, f32x4.add(ld(dpxSum + io, lanes), ld(dpx + io, lanes)), lanes);
    }
    return;
  }
  gemm_f32(1, 0, GH, I, rows, 1, dpx, GH, x, I, 1, dW_ih, I, whhP);
  gemm_f32(0, 0, rows, I, GH, 1, dpx, GH, W_ih, I, 0, dx, I, whhP);
}

export function episode_gru_backward_work_floats(B: i32, M: i32, H: i32, cell: i32): i32 {
  const GH = gate_rows(cell) * H;
  return 2 * B * M * GH + B * H + max(gemm_pack_b_floats(B, GH, H) + gemm_packed_b_work_floats(B, GH, H), gemm_work_max_floats());
}

// The DMN+ sentence reader (positional encoding, Xiong et al.): for each sentence n of length
// J = lengths[n] (0..L; 0 reads as a zero vector), its words w[n, j] = table[ids[n*L + j]],
//   out[n, k] = Σ_{j<J} l_jk w[n, j, k],  l_jk = (1 − (j+1)/J) − ((k+1)/D)(1 − 2(j+1)/J)
// written as a_j + c_k b_j (a_j = 1 − (j+1)/J, b_j = 2(j+1)/J − 1, c_k = (k+1)/D), so each
// sentence is two weighted sums of its word vectors, read straight from the embedding table
// (no [N, L, D] word tensor). Word vectors given as a tensor are the table with ids n*L + j.
// table: [V, D]  ids: [N, L] i32 (in 0..V)  lengths: [N] i32  out: [N, D] (written)
export function position_encoding_forward(N: i32, L: i32, D: i32, table: usize, ids: usize, lengths: usize, out: usize): void {
  const invD: f32 = 1 / <f32>D;
  for (let n = 0; n < N; n++) {
    const J = len_of(lengths, n);
    const invJ: f32 = J > 0 ? 1 / <f32>J : 0;
    const o = at(out, n * D);
    for (let k = 0; k < D; k += 4) {
      const ko = <usize>k << 2, lanes = min(4, D - k);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let j = 0; j < J; j++) {
        const w = ld(at(table, load<i32>(ids + (<usize>(n * L + j) << 2)) * D) + ko, lanes);
        const p = <f32>(j + 1) * invJ;
        s0 = madd(f32x4.splat(1 - p), w, s0);
        s1 = madd(f32x4.splat(2 * p - 1), w, s1);
      }
      const c = f32x4.mul(f32x4(<f32>(k + 1), <f32>(k + 2), <f32>(k + 3), <f32>(k + 4)), f32x4.splat(invD));
      st(o + ko, madd(c, s1, s0), lanes);
    }
  }
}

// Backward of position_encoding_forward: dtable[ids[n*L + j], k] += l_jk dout[n, k] for j < J
// (words past a length get nothing). dout: [N, D]  dtable: [V, D] added to
export function position_encoding_backward(N: i32, L: i32, D: i32, dout: usize, ids: usize, lengths: usize, dtable: usize): void {
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
        const dw = at(dtable, load<i32>(ids + (<usize>(n * L + j) << 2)) * D) + ko;
        // l g = a_j g + b_j (c ⊙ g)
        st(dw, madd(f32x4.splat(2 * p - 1), cg, madd(f32x4.splat(1 - p), g, ld(dw, lanes))), lanes);
      }
    }
  }
}

// The sentence reader followed by a linear map W: [G, D] (the input GRU's products x · W_ihᵀ),
// through two word tables. With f = Σ_j a_j w_j + c ⊙ Σ_j b_j w_j (position_encoding_forward),
//   f · Wᵀ = Σ_j a_j P[w_j] + b_j Q[w_j],   P = table · Wᵀ,  Q = (table ⊙ c) · Wᵀ,
// so a batch's products cost 2G multiply-adds per word instead of D·G per sentence, plus the
// two [V, D] x [D, G] table products: the caller takes this way while 2V < N.
// P, Q: [V, G] (row stride ldt)  ids: [N, L] i32 (in 0..V)  lengths: [N] i32  out: [N, G] (written)
export function position_projection_forward(N: i32, L: i32, G: i32, P: usize, Q: usize, ldt: i32, ids: usize, lengths: usize, out: usize): void {
  const G4 = G & ~3;
  for (let n = 0; n < N; n++) {
    const J = len_of(lengths, n);
    const o = at(out, n * G);
    if (J == 0) { memory.fill(o, 0, <usize>G << 2); continue; }
    const invJ: f32 = 1 / <f32>J;
    const row = ids + (<usize>(n * L) << 2);
    // Word by word into the output row (in L1): the coefficients and both table rows are set
    // up once per word, and the column loop is plain loads and stores.
    for (let j = 0; j < J; j++) {
      const t = <usize>(load<i32>(row + (<usize>j << 2)) * ldt) << 2;
      const p = <f32>(j + 1) * invJ;
      const a = f32x4.splat(1 - p), b = f32x4.splat(2 * p - 1);
      const pp = P + t, qq = Q + t;
      let g = 0;
      if (j == 0) {
        for (; g < G4; g += 4) {
          const go = <usize>g << 2;
          v128.store(o + go, madd(a, v128.load(pp + go), f32x4.mul(b, v128.load(qq + go))));
        }
      } else {
        for (; g < G4; g += 4) {
          const go = <usize>g << 2;
          v128.store(o + go, madd(a, v128.load(pp + go), madd(b, v128.load(qq + go), v128.load(o + go))));
        }
      }
      if (g < G) {
        const go = <usize>g << 2, lanes = G - g;
        const prev = j == 0 ? f32x4.splat(0) : ld(o + go, lanes);
        st(o + go, madd(a, ld(pp + go, lanes), madd(b, ld(qq + go, lanes), prev)), lanes);
      }
    }
  }
}

// Backward of position_projection_forward: dP[w_j] += a_j dout[n], dQ[w_j] += b_j dout[n]
// for j < J (words past a length get nothing). dout: [N, G]  dP, dQ: [V, G] (row stride ldt), added to
export function position_projection_backward(N: i32, L: i32, G: i32, dout: usize, ids: usize, lengths: usize, dP: usize, dQ: usize, ldt: i32): void {
  const G4 = G & ~3;
  for (let n = 0; n < N; n++) {
    const J = len_of(lengths, n);
    const invJ: f32 = J > 0 ? 1 / <f32>J : 0;
    const dy = at(dout, n * G);
    const row = ids + (<usize>(n * L) << 2);
    for (let j = 0; j < J; j++) {
      const t = <usize>(load<i32>(row + (<usize>j << 2)) * ldt) << 2;
      const p = <f32>(j + 1) * invJ;
      const a = f32x4.splat(1 - p), b = f32x4.splat(2 * p - 1);
      const dp = dP + t, dq = dQ + t;
      let g = 0;
      for (; g < G4; g += 4) {
        const go = <usize>g << 2;
        const v = v128.load(dy + go);
        v128.store(dp + go, madd(a, v, v128.load(dp + go)));
        v128.store(dq + go, madd(b, v, v128.load(dq + go)));
      }
      if (g < G) {
        const go = <usize>g << 2, lanes = G - g;
        const v = ld(dy + go, lanes);
        st(dp + go, madd(a, v, ld(dp + go, lanes)), lanes);
        st(dq + go, madd(b, v, ld(dq + go, lanes)), lanes);
      }
    }
  }
}

// dst[v, k] = c_k src[v, k] (+ dst[v, k] when accumulate), c_k = (k+1)/D: the reader's column
// weights, for the Q table (table ⊙ c) and its gradient. src, dst: [V, D]
export function position_scale_columns(V: i32, D: i32, src: usize, dst: usize, accumulate: i32): void {
  const invD: f32 = 1 / <f32>D;
  for (let v = 0; v < V; v++) {
    const s = at(src, v * D), d = at(dst, v * D);
    for (let k = 0; k < D; k += 4) {
      const ko = <usize>k << 2, lanes = min(4, D - k);
      const c = f32x4.mul(f32x4(<f32>(k + 1), <f32>(k + 2), <f32>(k + 3), <f32>(k + 4)), f32x4.splat(invD));
      const x = f32x4.mul(c, ld(s + ko, lanes));
      st(d + ko, accumulate ? f32x4.add(x, ld(d + ko, lanes)) : x, lanes);
    }
  }
}
