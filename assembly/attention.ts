// Attention over a whole batch per call: scores, masked softmax, context, and their
// backward (DESIGN.md "Attention"; golden/FORMAT.md sections 4 and 7).
// Every call covers B sequences with Ty queries each (Ty = 1: one decoder step) against
// Tx encoder states; the per-sequence products are strided batched products
// (gemm_batched_f32), so a teacher-forced sequence is Ty-row products, not Ty separate
// calls from TypeScript. Every kernel with a product takes `work`: gemm_work_max_floats()
// floats of packing space (TypeScript passes the runtime's scratch).
//   dot:      e_ij = s_i . h_j
//   general:  e_ij = s_i . (W h_j)                 keys = h Wᵀ  [B*Tx, dq]
//   concat:   e_ij = v . tanh(W_q s_i + W_k h_j + b)   W = [W_q | W_k] (columns), keys = h W_kᵀ
//   additive: e_ij = v . tanh(W_s s_i + W_h h_j + b)   keys = h W_hᵀ  [B*Tx, da]
// The key-side products ("keys") depend only on the source, so they are computed once per
// source sequence (attention_keys_forward) and shared by every decoder step; their
// gradient is accumulated over the steps and pushed back once (attention_keys_backward).
// Score kinds: 0 dot, 1 general, 2 concat, 3 additive. Pointers are bytes, sizes elements.
import { gemm_f32, gemm_batched_f32 } from "./gemm";
import { softmax_forward, softmax_backward } from "./loss";
import { tanh_f32x4, madd } from "./math";
import { at, ld, st } from "./recurrent_common";

const GENERAL = 1;
// The per-sequence products dst += coefᵀ vec have K = Ty: with a decoder step (Ty = 1) that is
// a rank-1 update, where gemm's packing and 4x8 tiles cost more than the Tx*n multiply-adds
// themselves. Up to this Ty they run as row updates (rank_update) instead.
const RANK_UPDATE_MAX = 4;

// dst: [rows, n] (row stride n) += coefᵀ vec, coef: [Ty, rows] (row stride rows), vec: [Ty, n]
// (row stride ldv). A zero coefficient (a masked position) leaves its row untouched, so masked
// rows stay exactly zero.
function rank_update(rows: i32, n: i32, Ty: i32, coef: usize, vec: usize, ldv: i32, dst: usize): void {
  for (let j = 0; j < rows; j++) {
    const d = at(dst, j * n);
    for (let i = 0; i < Ty; i++) {
      const c = load<f32>(at(coef, i * rows + j));
      if (c == 0) continue;
      const cv = f32x4.splat(c), v = at(vec, i * ldv);
      let k = 0;
      for (; k + 4 <= n; k += 4) v128.store(at(d, k), madd(cv, v128.load(at(v, k)), v128.load(at(d, k))));
      for (; k < n; k++) store<f32>(at(d, k), c * load<f32>(at(v, k)) + load<f32>(at(d, k)));
    }
  }
}

// h: [rows, dk]  wk: [n, dk] (row stride ldwk)  keys: [rows, n]
// keys = h wkᵀ: general's W h_j (n = dq) or the score layer's key half (n = da).
export function attention_keys_forward(rows: i32, dk: i32, n: i32, h: usize, wk: usize, ldwk: i32, keys: usize, work: usize): void {
  gemm_f32(0, 1, rows, n, dk, 1, h, dk, wk, ldwk, 0, keys, n, work);
}

// dkeys: [rows, n] -> dwk: [n, dk] (row stride ldwk) += dkeysᵀ h;  dh: [rows, dk] += dkeys wk
// (dh = 0: skip the input gradient)
export function attention_keys_backward(rows: i32, dk: i32, n: i32, h: usize, wk: usize, ldwk: i32, dkeys: usize, dh: usize, dwk: usize, work: usize): void {
  gemm_f32(1, 0, n, dk, rows, 1, dkeys, n, h, dk, 1, dwk, ldwk, work);
  if (dh != 0) gemm_f32(0, 0, rows, dk, n, 1, dkeys, n, wk, ldwk, 1, dh, dk, work);
}

// s: [B*Ty, dq]  h: [B, Tx, dk]  keys: [B, Tx, n] (general n = dq; concat/additive n = da)
// wq: [da, dq] (row stride ldwq)  bias, v: [da]  query: [B*Ty, da] (written: wq s + b)
// e: [B, Ty, Tx] (written, at every position: masks act in the softmax)
// tanhKeep: [B, Ty, Tx, da] or 0 (concat/additive): t = tanh(query_i + keys_j) kept for the
// backward, which otherwise recomputes it (TypeScript keeps it while it is small).
export function attention_scores_forward(
  kind: i32, B: i32, Ty: i32, Tx: i32, dq: i32, dk: i32, da: i32,
  s: usize, h: usize, keys: usize, wq: usize, ldwq: i32, bias: usize, v: usize, query: usize, e: usize, tanhKeep: usize,
  work: usize,
): void {
  if (kind <= GENERAL) {
    // Bilinear scores: one [Ty, Tx] product per sequence against h (dot) or W h (general).
    const kw = kind == GENERAL ? dq : dk;
    const src = kind == GENERAL ? keys : h;
    gemm_batched_f32(0, 1, Ty, Tx, kw, B, 1, s, dq, Ty * dq, src, kw, Tx * kw, 0, e, Tx, Ty * Tx, work);
    return;
  }
  // Query side for all B*Ty queries at once, bias folded in here (not per (i, j) pair).
  gemm_f32(0, 1, B * Ty, da, dq, 1, s, dq, wq, ldwq, 0, query, da, work);
  for (let r = 0; r < B * Ty; r++) {
    const q = at(query, r * da);
    for (let a = 0; a < da; a += 4) {
      const lanes = min(4, da - a);
      st(at(q, a), f32x4.add(ld(at(q, a), lanes), ld(at(bias, a), lanes)), lanes);
    }
  }
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ty; i++) {
      const q = at(query, (b * Ty + i) * da);
      const er = at(e, (b * Ty + i) * Tx);
      for (let j = 0; j < Tx; j++) {
        const keep = tanhKeep == 0 ? <usize>0 : at(tanhKeep, ((b * Ty + i) * Tx + j) * da);
        store<f32>(at(er, j), tanh_score(q, at(keys, (b * Tx + j) * da), v, da, keep));
      }
    }
  }
}

// v . tanh(q + k) over da units (t = tanh(q + k) also stored to keep unless it is 0); two
// accumulators hide the madd latency; the tail (da not a multiple of 4) loads zeros into the
// missing lanes, and tanh(0) * 0 adds nothing.
function tanh_score(q: usize, k: usize, v: usize, da: i32, keep: usize): f32 {
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  let a = 0;
  for (; a + 8 <= da; a += 8) {
    const o = <usize>a << 2;
    const t0 = tanh_f32x4(f32x4.add(v128.load(q + o), v128.load(k + o)));
    const t1 = tanh_f32x4(f32x4.add(v128.load(q + o, 16), v128.load(k + o, 16)));
    acc0 = madd(v128.load(v + o), t0, acc0);
    acc1 = madd(v128.load(v + o, 16), t1, acc1);
    if (keep != 0) {
      v128.store(keep + o, t0);
      v128.store(keep + o, t1, 16);
    }
  }
  for (; a < da; a += 4) {
    const lanes = min(4, da - a);
    const t = tanh_f32x4(f32x4.add(ld(at(q, a), lanes), ld(at(k, a), lanes)));
    acc0 = madd(ld(at(v, a), lanes), t, acc0);
    if (keep != 0) st(at(keep, a), t, lanes);
  }
  const acc = f32x4.add(acc0, acc1);
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

// de: [B, Ty, Tx] (d loss / d e) -> accumulates (+=):
//   ds: [B*Ty, dq];  dot: dh: [B, Tx, dk];  general, concat, additive: dkeys: [B, Tx, n];
//   concat/additive: dwq: [da, dq] (row stride ldwq), dbias, dv: [da]
// dquery: [B*Ty, da] work (concat/additive). A zero de (every masked position) adds nothing:
// its pair is skipped, so masked keys get exactly zero gradient.
export function attention_scores_backward(
  kind: i32, B: i32, Ty: i32, Tx: i32, dq: i32, dk: i32, da: i32,
  s: usize, h: usize, keys: usize, wq: usize, ldwq: i32, v: usize, query: usize, de: usize,
  ds: usize, dh: usize, dkeys: usize, dwq: usize, dbias: usize, dv: usize, dquery: usize, tanhKeep: usize,
  work: usize,
): void {
  if (kind <= GENERAL) {
    const kw = kind == GENERAL ? dq : dk;
    const src = kind == GENERAL ? keys : h;
    const dsrc = kind == GENERAL ? dkeys : dh;
    // ds_b += de_b src_b;  dsrc_b += de_bᵀ s_b
    if (ds != 0) gemm_batched_f32(0, 0, Ty, dq, Tx, B, 1, de, Tx, Ty * Tx, src, kw, Tx * kw, 1, ds, dq, Ty * dq, work);
    if (dsrc == 0) return;
    if (Ty > RANK_UPDATE_MAX) {
      gemm_batched_f32(1, 0, Tx, kw, Ty, B, 1, de, Tx, Ty * Tx, s, dq, Ty * dq, 1, dsrc, kw, Tx * kw, work);
      return;
    }
    for (let b = 0; b < B; b++) rank_update(Tx, kw, Ty, at(de, b * Ty * Tx), at(s, b * Ty * dq), dq, at(dsrc, b * Tx * kw));
    return;
  }
  memory.fill(dquery, 0, <usize>(B * Ty * da) << 2);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ty; i++) {
      const q = at(query, (b * Ty + i) * da), dqr = at(dquery, (b * Ty + i) * da);
      const der = at(de, (b * Ty + i) * Tx);
      for (let j = 0; j < Tx; j++) {
        const g = load<f32>(at(der, j));
        if (g == 0) continue;
        const kept = tanhKeep == 0 ? <usize>0 : at(tanhKeep, ((b * Ty + i) * Tx + j) * da);
        tanh_score_backward(q, at(keys, (b * Tx + j) * da), v, g, dqr, at(dkeys, (b * Tx + j) * da), dv, da, kept);
      }
    }
  }
  // Query side: one product each for dW_q, ds; the bias gradient is dquery's column sums.
  gemm_f32(1, 0, da, dq, B * Ty, 1, dquery, da, s, dq, 1, dwq, ldwq, work);
  if (ds != 0) gemm_f32(0, 0, B * Ty, dq, da, 1, dquery, da, wq, ldwq, 1, ds, dq, work);
  for (let r = 0; r < B * Ty; r++) {
    const dqr = at(dquery, r * da);
    for (let a = 0; a < da; a += 4) {
      const lanes = min(4, da - a);
      st(at(dbias, a), f32x4.add(ld(at(dbias, a), lanes), ld(at(dqr, a), lanes)), lanes);
    }
  }
}

// One pair's backward: t = tanh(q + k) read from kept (the forward's) or, when kept is 0,
// recomputed (B*Ty*Tx*da values are too many to keep for long sequences);
// dpre = g v (1 - t²) goes to both dq and dk; dv += g t.
function tanh_score_backward(q: usize, k: usize, v: usize, g: f32, dq: usize, dk: usize, dv: usize, da: i32, kept: usize): void {
  const gv = f32x4.splat(g), one = f32x4.splat(1);
  for (let a = 0; a < da; a += 4) {
    const lanes = min(4, da - a);
    const o = <usize>a << 2;
    if (lanes == 4) {
      const t = kept != 0 ? v128.load(kept + o) : tanh_f32x4(f32x4.add(v128.load(q + o), v128.load(k + o)));
      const dpre = f32x4.mul(f32x4.mul(gv, v128.load(v + o)), f32x4.sub(one, f32x4.mul(t, t)));
      v128.store(dq + o, f32x4.add(v128.load(dq + o), dpre));
      v128.store(dk + o, f32x4.add(v128.load(dk + o), dpre));
      v128.store(dv + o, madd(gv, t, v128.load(dv + o)));
    } else {
      const t = kept != 0 ? ld(kept + o, lanes) : tanh_f32x4(f32x4.add(ld(q + o, lanes), ld(k + o, lanes)));
      const dpre = f32x4.mul(f32x4.mul(gv, ld(v + o, lanes)), f32x4.sub(one, f32x4.mul(t, t)));
      st(dq + o, f32x4.add(ld(dq + o, lanes), dpre), lanes);
      st(dk + o, f32x4.add(ld(dk + o, lanes), dpre), lanes);
      st(dv + o, madd(gv, t, ld(dv + o, lanes)), lanes);
    }
  }
}

// e, a: [B, Ty, Tx]  mask: [B, Tx] f32 of 0/1 (shared by the Ty queries of a sequence) or 0
// a = softmax of each row over the valid positions; exactly 0 where mask == 0. Every mask
// row needs a 1 (checked in TypeScript).
export function attention_softmax_forward(B: i32, Ty: i32, Tx: i32, e: usize, mask: usize, a: usize): void {
  if (mask == 0) {
    softmax_forward(e, a, 0, Tx, B * Ty, Tx);
    return;
  }
  for (let b = 0; b < B; b++) {
    const m = at(mask, b * Tx);
    for (let i = 0; i < Ty; i++) {
      const r = (b * Ty + i) * Tx;
      softmax_forward(at(e, r), at(a, r), m, Tx, 1, Tx);
    }
  }
}

// a, da, de: [B, Ty, Tx]: de = a (da - sum_j a_j da_j); masked entries (a = 0) get 0.
export function attention_softmax_backward(B: i32, Ty: i32, Tx: i32, a: usize, da: usize, de: usize): void {
  softmax_backward(a, da, de, Tx, B * Ty, Tx);
}

// a: [B, Ty, Tx]  h: [B, Tx, dk] -> c: [B, Ty, dk] = a h per sequence
export function attention_context_forward(B: i32, Ty: i32, Tx: i32, dk: i32, a: usize, h: usize, c: usize, work: usize): void {
  gemm_batched_f32(0, 0, Ty, dk, Tx, B, 1, a, Tx, Ty * Tx, h, dk, Tx * dk, 0, c, dk, Ty * dk, work);
}

// dc: [B, Ty, dk] -> da: [B, Ty, Tx] = dc hᵀ + beta * da (beta = 1 adds onto d weights);
// dh: [B, Tx, dk] += aᵀ dc (dh = 0: skipped). Masked j has a = 0, so its dh row gets 0.
export function attention_context_backward(B: i32, Ty: i32, Tx: i32, dk: i32, a: usize, h: usize, dc: usize, da: usize, beta: f32, dh: usize, work: usize): void {
  gemm_batched_f32(0, 1, Ty, Tx, dk, B, 1, dc, dk, Ty * dk, h, dk, Tx * dk, beta, da, Tx, Ty * Tx, work);
  if (dh == 0) return;
  if (Ty > RANK_UPDATE_MAX) {
    gemm_batched_f32(1, 0, Tx, dk, Ty, B, 1, a, Tx, Ty * Tx, dc, dk, Ty * dk, 1, dh, dk, Tx * dk, work);
    return;
  }
  for (let b = 0; b < B; b++) rank_update(Tx, dk, Ty, at(a, b * Ty * Tx), at(dc, b * Ty * dk), dk, at(dh, b * Tx * dk));
}

// ---- local attention (Luong et al. 2015), one query per sequence ---------------------------

// s: [B, dq]  wp: [dp, dq]  vp: [dp]  lengths: [B] i32 (S_b) -> u: [B, dp] = tanh(s wpᵀ),
// p: [B] = S_b sigmoid(vp . u_b) (local-p's predicted position; the sigmoid in f64).
export function local_position_forward(B: i32, dq: i32, dp: i32, s: usize, wp: usize, vp: usize, lengths: usize, u: usize, p: usize, work: usize): void {
  gemm_f32(0, 1, B, dp, dq, 1, s, dq, wp, dq, 0, u, dp, work);
  for (let b = 0; b < B; b++) {
    const ub = at(u, b * dp);
    let z: f64 = 0;
    for (let k = 0; k < dp; k++) {
      const t = <f32>Math.tanh(<f64>load<f32>(at(ub, k)));
      store<f32>(at(ub, k), t);
      z += <f64>load<f32>(at(vp, k)) * <f64>t;
    }
    const S = <f64>load<i32>(at(lengths, b));
    store<f32>(at(p, b), <f32>(S / (1 + Math.exp(-z))));
  }
}

// dpos: [B] (d loss / d p) -> ds: [B, dq] +=, dwp: [dp, dq] +=, dvp: [dp] +=; work: [B, dp]
// (the pre-activation gradients); gemmWork: gemm_work_max_floats() floats.
// dp/dz = S sigmoid(z) (1 - sigmoid(z)) = p (1 - p / S).
export function local_position_backward(
  B: i32, dq: i32, dp: i32, s: usize, wp: usize, vp: usize, lengths: usize, u: usize, p: usize, dpos: usize,
  ds: usize, dwp: usize, dvp: usize, work: usize, gemmWork: usize,
): void {
  for (let b = 0; b < B; b++) {
    const S = <f64>load<i32>(at(lengths, b));
    const pb = <f64>load<f32>(at(p, b));
    const dz = <f64>load<f32>(at(dpos, b)) * pb * (1 - pb / S);
    const ub = at(u, b * dp), wb = at(work, b * dp);
    for (let k = 0; k < dp; k++) {
      const t = <f64>load<f32>(at(ub, k));
      store<f32>(at(dvp, k), load<f32>(at(dvp, k)) + <f32>(dz * t));
      store<f32>(at(wb, k), <f32>(dz * <f64>load<f32>(at(vp, k)) * (1 - t * t)));
    }
  }
  gemm_f32(1, 0, dp, dq, B, 1, work, dp, s, dq, 1, dwp, dq, gemmWork);
  if (ds != 0) gemm_f32(0, 0, B, dq, dp, 1, work, dp, wp, dq, 1, ds, dq, gemmWork);
}

// e, align, a: [B, Tx]  p: [B] f32  lengths: [B] i32 (S_b)
// Window W_b = { j : 0 <= j < S_b, |j - p_b| <= D }; align = softmax of e over W_b (0 outside);
// a = align (gaussian = 0) or align * exp(-(j - p)² / (2 σ²)), σ = D / 2 (gaussian = 1).
// In f64: at most Tx exponentials per sequence.
export function local_window_forward(B: i32, Tx: i32, D: i32, gaussian: i32, p: usize, lengths: usize, e: usize, align: usize, a: usize): void {
  for (let b = 0; b < B; b++) {
    const S = load<i32>(at(lengths, b));
    const pb = <f64>load<f32>(at(p, b));
    const er = at(e, b * Tx), alr = at(align, b * Tx), ar = at(a, b * Tx);
    let m = -Infinity;
    for (let j = 0; j < S; j++) if (in_window(j, pb, D)) m = max(m, <f64>load<f32>(at(er, j)));
    let sum: f64 = 0;
    for (let j = 0; j < S; j++) if (in_window(j, pb, D)) sum += Math.exp(<f64>load<f32>(at(er, j)) - m);
    for (let j = 0; j < Tx; j++) {
      if (j >= S || !in_window(j, pb, D)) {
        store<f32>(at(alr, j), 0);
        store<f32>(at(ar, j), 0);
        continue;
      }
      const al = Math.exp(<f64>load<f32>(at(er, j)) - m) / sum;
      store<f32>(at(alr, j), <f32>al);
      store<f32>(at(ar, j), <f32>(gaussian != 0 ? al * gauss(j, pb, D) : al));
    }
  }
}

// @ts-ignore: decorator
@inline
function in_window(j: i32, p: f64, D: i32): bool {
  return Math.abs(<f64>j - p) <= <f64>D;
}

// exp(-(j - p)² / (2 σ²)) with σ = D / 2, so 2 σ² = D² / 2.
// @ts-ignore: decorator
@inline
function gauss(j: i32, p: f64, D: i32): f64 {
  const d = <f64>j - p;
  return Math.exp(-d * d * 2 / (<f64>D * <f64>D));
}

// da: [B, Tx] (d loss / d a: d weights plus the context's share) -> de: [B, Tx] (0 outside the
// window); gaussian: dpos: [B] = d loss / d p through the Gaussian factor (which positions are
// in the window is piecewise constant in p: no gradient).
//   a_j = align_j g_j:  dalign_j = da_j g_j,  de_j = align_j (dalign_j - sum_k align_k dalign_k),
//   dp = sum_j da_j a_j (j - p) / σ²
export function local_window_backward(B: i32, Tx: i32, D: i32, gaussian: i32, p: usize, lengths: usize, align: usize, a: usize, da: usize, de: usize, dpos: usize): void {
  const sigma2 = <f64>D * <f64>D / 4;
  for (let b = 0; b < B; b++) {
    const S = load<i32>(at(lengths, b));
    const pb = <f64>load<f32>(at(p, b));
    const alr = at(align, b * Tx), ar = at(a, b * Tx), dar = at(da, b * Tx), der = at(de, b * Tx);
    let dot: f64 = 0, dp: f64 = 0;
    for (let j = 0; j < S; j++) {
      if (!in_window(j, pb, D)) continue;
      const daj = <f64>load<f32>(at(dar, j));
      const g = gaussian != 0 ? gauss(j, pb, D) : 1;
      dot += <f64>load<f32>(at(alr, j)) * daj * g;
      if (gaussian != 0) dp += daj * <f64>load<f32>(at(alr, j)) * g * (<f64>j - pb) / sigma2;
    }
    for (let j = 0; j < Tx; j++) {
      if (j >= S || !in_window(j, pb, D)) {
        store<f32>(at(der, j), 0);
        continue;
      }
      const g = gaussian != 0 ? gauss(j, pb, D) : 1;
      store<f32>(at(der, j), <f32>(<f64>load<f32>(at(alr, j)) * (<f64>load<f32>(at(dar, j)) * g - dot)));
    }
    if (gaussian != 0) store<f32>(at(dpos, b), <f32>dp);
  }
}
