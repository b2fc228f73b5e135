/**
 * Attention kernels over wasm memory (assembly/attention.ts). Every entry point checks its
 * sizes and pointer ranges, then makes one wasm call covering the whole batch.
 * Shapes (row-major float32, pointers are byte offsets):
 *   s: [B*Ty, dq] queries (Ty = 1: one decoder step), h: [B, Tx, dk] encoder states,
 *   keys: [B, Tx, n] key-side products (general: n = dq; concat/additive: n = da),
 *   e, a: [B, Ty, Tx] scores and weights, c: [B, Ty, dk] contexts, mask: [B, Tx] f32 0/1.
 *
 *   attentionKeysForward / attentionKeysBackward     keys = h wkᵀ, once per source sequence
 *   attentionScoresForward / attentionScoresBackward e from s and h (dot) or keys
 *   attentionSoftmaxForward / attentionSoftmaxBackward  masked softmax over Tx
 *   attentionContextForward / attentionContextBackward  c = a h
 *   localPositionForward / localPositionBackward     local-p: p = S sigmoid(v_p . tanh(W_p s))
 *   localWindowForward / localWindowBackward         window softmax (and Gaussian) around p
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { gemmScratch } from './gemm.js';

export type ScoreKind = 'dot' | 'general' | 'concat' | 'additive';
export const SCORE_CODES: Record<ScoreKind, number> = { dot: 0, general: 1, concat: 2, additive: 3 };

function checkScore(name: string, score: unknown): ScoreKind {
  if (typeof score !== 'string' || !Object.hasOwn(SCORE_CODES, score)) {
    throw new RangeError(`${name} must be 'dot', 'general', 'concat' or 'additive', got ${String(score)}`);
  }
  return score as ScoreKind;
}

/** Checks ptr holds `floats` float32 values (a 0 pointer is allowed only when optional). */
function region(rt: Runtime, name: string, ptr: number | undefined, floats: number, optional = false): number {
  if (ptr === undefined || ptr === 0) {
    if (optional) return 0;
    throw new RangeError(`${name}: a pointer is required`);
  }
  rt.mem.checkRange(name, ptr, floats * 4);
  return ptr;
}

function checkLd(name: string, ld: number | undefined, cols: number): number {
  const v = checkSize(name, ld ?? cols);
  if (v < cols) throw new RangeError(`${name} must be >= ${cols}, got ${v}`);
  return v;
}

export interface AttentionKeysArgs {
  /** B*Tx source rows. */
  rows: number;
  /** dk */
  keySize: number;
  /** n: dq (general) or da (concat/additive) */
  width: number;
  /** [rows, dk] */
  h: number;
  /** [n, dk] with row stride ldwk (default dk) */
  wk: number;
  ldwk?: number;
}

/** keys: [rows, n] = h wkᵀ. */
export function attentionKeysForward(rt: Runtime, args: AttentionKeysArgs & { keys: number }): void {
  const rows = checkSize('attentionKeys rows', args.rows, 1);
  const dk = checkSize('attentionKeys keySize', args.keySize, 1);
  const n = checkSize('attentionKeys width', args.width, 1);
  const ldwk = checkLd('attentionKeys ldwk', args.ldwk, dk);
  region(rt, 'attentionKeys h', args.h, rows * dk);
  region(rt, 'attentionKeys wk', args.wk, (n - 1) * ldwk + dk);
  region(rt, 'attentionKeys keys', args.keys, rows * n);
  rt.exports.attention_keys_forward(rows, dk, n, args.h, args.wk, ldwk, args.keys, gemmScratch(rt));
}

/** dwk += dKeysᵀ h; dh += dKeys wk (dh optional). */
export function attentionKeysBackward(rt: Runtime, args: AttentionKeysArgs & { dKeys: number; dh?: number; dwk: number }): void {
  const rows = checkSize('attentionKeysBackward rows', args.rows, 1);
  const dk = checkSize('attentionKeysBackward keySize', args.keySize, 1);
  const n = checkSize('attentionKeysBackward width', args.width, 1);
  const ldwk = checkLd('attentionKeysBackward ldwk', args.ldwk, dk);
  region(rt, 'attentionKeysBackward h', args.h, rows * dk);
  region(rt, 'attentionKeysBackward wk', args.wk, (n - 1) * ldwk + dk);
  region(rt, 'attentionKeysBackward dKeys', args.dKeys, rows * n);
  const dh = region(rt, 'attentionKeysBackward dh', args.dh, rows * dk, true);
  region(rt, 'attentionKeysBackward dwk', args.dwk, (n - 1) * ldwk + dk);
  rt.exports.attention_keys_backward(rows, dk, n, args.h, args.wk, ldwk, args.dKeys, dh, args.dwk, gemmScratch(rt));
}

export interface AttentionScoresArgs {
  score: ScoreKind;
  batch: number;
  /** Ty: queries per sequence (1 for one decoder step). */
  queries: number;
  /** Tx */
  sources: number;
  querySize: number;
  keySize: number;
  /** da (concat/additive; ignored otherwise) */
  attentionSize?: number;
  /** [B*Ty, dq] */
  s: number;
  /** [B, Tx, dk] */
  h: number;
  /** [B, Tx, n] (general, concat, additive) */
  keys?: number;
  /** [da, dq] row stride ldwq (concat/additive) */
  wq?: number;
  ldwq?: number;
  /** [da] (concat/additive) */
  bias?: number;
  v?: number;
  /** [B*Ty, da] (concat/additive): written by forward, read by backward */
  query?: number;
  /** [B, Ty, Tx, da] (concat/additive, optional): tanh(W_q s_i + b + W_k h_j) written by forward and read by backward instead of recomputing it */
  tanhKeep?: number;
}

interface ScoreSizes { kind: number; B: number; Ty: number; Tx: number; dq: number; dk: number; da: number; ldwq: number; n: number; additiveLike: boolean }

function scoreSizes(rt: Runtime, fn: string, args: AttentionScoresArgs): ScoreSizes {
  const score = checkScore(`${fn} score`, args.score);
  const B = checkSize(`${fn} batch`, args.batch, 1);
  const Ty = checkSize(`${fn} queries`, args.queries, 1);
  const Tx = checkSize(`${fn} sources`, args.sources, 1);
  const dq = checkSize(`${fn} querySize`, args.querySize, 1);
  const dk = checkSize(`${fn} keySize`, args.keySize, 1);
  if (score === 'dot' && dq !== dk) throw new RangeError(`${fn}: dot scores need querySize == keySize, got ${dq} and ${dk}`);
  const additiveLike = score === 'concat' || score === 'additive';
  const da = additiveLike ? checkSize(`${fn} attentionSize`, args.attentionSize, 1) : 0;
  const ldwq = additiveLike ? checkLd(`${fn} ldwq`, args.ldwq, dq) : dq;
  const n = score === 'general' ? dq : da;
  region(rt, `${fn} s`, args.s, B * Ty * dq);
  region(rt, `${fn} h`, args.h, B * Tx * dk);
  if (score !== 'dot') region(rt, `${fn} keys`, args.keys, B * Tx * n);
  if (additiveLike) {
    region(rt, `${fn} wq`, args.wq, (da - 1) * ldwq + dq);
    region(rt, `${fn} bias`, args.bias, da);
    region(rt, `${fn} v`, args.v, da);
    region(rt, `${fn} query`, args.query, B * Ty * da);
  }
  if (additiveLike) region(rt, `${fn} tanhKeep`, args.tanhKeep, B * Ty * Tx * da, true);
  return { kind: SCORE_CODES[score], B, Ty, Tx, dq, dk, da, ldwq, n, additiveLike };
}

/** e: [B, Ty, Tx] raw scores at every position (masks act in the softmax). */
export function attentionScoresForward(rt: Runtime, args: AttentionScoresArgs & { e: number }): void {
  const z = scoreSizes(rt, 'attentionScoresForward', args);
  region(rt, 'attentionScoresForward e', args.e, z.B * z.Ty * z.Tx);
  rt.exports.attention_scores_forward(z.kind, z.B, z.Ty, z.Tx, z.dq, z.dk, z.da, args.s, args.h, args.keys ?? 0,
    args.wq ?? 0, z.ldwq, args.bias ?? 0, args.v ?? 0, args.query ?? 0, args.e, z.additiveLike ? args.tanhKeep ?? 0 : 0, gemmScratch(rt));
}

export interface AttentionScoresBackwardArgs extends AttentionScoresArgs {
  /** [B, Ty, Tx] d loss / d e */
  de: number;
  /** += [B*Ty, dq] (optional) */
  ds?: number;
  /** += [B, Tx, dk] (dot; optional) */
  dh?: number;
  /** += [B, Tx, n] (general, concat, additive) */
  dKeys?: number;
  /** += [da, dq] row stride ldwq, [da], [da] (concat/additive) */
  dwq?: number;
  dBias?: number;
  dv?: number;
  /** [B*Ty, da] work (concat/additive) */
  work?: number;
}

export function attentionScoresBackward(rt: Runtime, args: AttentionScoresBackwardArgs): void {
  const fn = 'attentionScoresBackward';
  const z = scoreSizes(rt, fn, args);
  region(rt, `${fn} de`, args.de, z.B * z.Ty * z.Tx);
  const ds = region(rt, `${fn} ds`, args.ds, z.B * z.Ty * z.dq, true);
  const dh = args.score === 'dot' ? region(rt, `${fn} dh`, args.dh, z.B * z.Tx * z.dk, true) : 0;
  const dKeys = args.score !== 'dot' ? region(rt, `${fn} dKeys`, args.dKeys, z.B * z.Tx * z.n) : 0;
  let dwq = 0, dBias = 0, dv = 0, work = 0;
  if (z.additiveLike) {
    dwq = region(rt, `${fn} dwq`, args.dwq, (z.da - 1) * z.ldwq + z.dq);
    dBias = region(rt, `${fn} dBias`, args.dBias, z.da);
    dv = region(rt, `${fn} dv`, args.dv, z.da);
    work = region(rt, `${fn} work`, args.work, z.B * z.Ty * z.da);
  }
  rt.exports.attention_scores_backward(z.kind, z.B, z.Ty, z.Tx, z.dq, z.dk, z.da, args.s, args.h, args.keys ?? 0,
    args.wq ?? 0, z.ldwq, args.v ?? 0, args.query ?? 0, args.de, ds, dh, dKeys, dwq, dBias, dv, work, z.additiveLike ? args.tanhKeep ?? 0 : 0,
    gemmScratch(rt));
}

export interface AttentionRowsArgs {
  batch: number;
  queries: number;
  sources: number;
}

function rowSizes(fn: string, args: AttentionRowsArgs): { B: number; Ty: number; Tx: number } {
  return { B: checkSize(`${fn} batch`, args.batch, 1), Ty: checkSize(`${fn} queries`, args.queries, 1), Tx: checkSize(`${fn} sources`, args.sources, 1) };
}

/**
 * a = masked softmax of e over Tx. mask: [B, Tx] float32 of 0/1 shared by a sequence's Ty
 * queries (absent: every position valid); each mask row needs a 1.
 */
export function attentionSoftmaxForward(rt: Runtime, args: AttentionRowsArgs & { e: number; a: number; mask?: number }): void {
  const fn = 'attentionSoftmaxForward';
  const { B, Ty, Tx } = rowSizes(fn, args);
  region(rt, `${fn} e`, args.e, B * Ty * Tx);
  region(rt, `${fn} a`, args.a, B * Ty * Tx);
  const mask = region(rt, `${fn} mask`, args.mask, B * Tx, true);
  if (mask !== 0) {
    const m = rt.mem.f32(mask, B * Tx);
    for (let b = 0; b < B; b++) {
      let valid = 0;
      for (let j = 0; j < Tx; j++) {
        const x = m[b * Tx + j];
        if (x !== 0 && x !== 1) throw new RangeError(`${fn} mask[${b}, ${j}] must be 0 or 1, got ${x}`);
        valid += x;
      }
      if (valid === 0) throw new RangeError(`${fn} mask row ${b} has no valid position (every row needs at least one 1)`);
    }
  }
  rt.exports.attention_softmax_forward(B, Ty, Tx, args.e, mask, args.a);
}

/** de = a (da - sum(a da)) per row. */
export function attentionSoftmaxBackward(rt: Runtime, args: AttentionRowsArgs & { a: number; da: number; de: number }): void {
  const fn = 'attentionSoftmaxBackward';
  const { B, Ty, Tx } = rowSizes(fn, args);
  for (const k of ['a', 'da', 'de'] as const) region(rt, `${fn} ${k}`, args[k], B * Ty * Tx);
  rt.exports.attention_softmax_backward(B, Ty, Tx, args.a, args.da, args.de);
}

/** c: [B, Ty, dk] = a h. */
export function attentionContextForward(rt: Runtime, args: AttentionRowsArgs & { keySize: number; a: number; h: number; c: number }): void {
  const fn = 'attentionContextForward';
  const { B, Ty, Tx } = rowSizes(fn, args);
  const dk = checkSize(`${fn} keySize`, args.keySize, 1);
  region(rt, `${fn} a`, args.a, B * Ty * Tx);
  region(rt, `${fn} h`, args.h, B * Tx * dk);
  region(rt, `${fn} c`, args.c, B * Ty * dk);
  rt.exports.attention_context_forward(B, Ty, Tx, dk, args.a, args.h, args.c, gemmScratch(rt));
}

/** da = dc hᵀ (+ da when accumulate); dh += aᵀ dc (dh optional). */
export function attentionContextBackward(
  rt: Runtime,
  args: AttentionRowsArgs & { keySize: number; a: number; h: number; dc: number; da: number; accumulate?: boolean; dh?: number },
): void {
  const fn = 'attentionContextBackward';
  const { B, Ty, Tx } = rowSizes(fn, args);
  const dk = checkSize(`${fn} keySize`, args.keySize, 1);
  region(rt, `${fn} a`, args.a, B * Ty * Tx);
  region(rt, `${fn} h`, args.h, B * Tx * dk);
  region(rt, `${fn} dc`, args.dc, B * Ty * dk);
  region(rt, `${fn} da`, args.da, B * Ty * Tx);
  const dh = region(rt, `${fn} dh`, args.dh, B * Tx * dk, true);
  rt.exports.attention_context_backward(B, Ty, Tx, dk, args.a, args.h, args.dc, args.da, args.accumulate ? 1 : 0, dh, gemmScratch(rt));
}

export interface LocalPositionArgs {
  batch: number;
  querySize: number;
  /** dp: size of the position network */
  predictSize: number;
  /** [B, dq] */
  s: number;
  /** [dp, dq], [dp] */
  wp: number;
  vp: number;
  /** [B] int32 source lengths S_b >= 1 */
  lengths: number;
  /** [B, dp] tanh(W_p s), written by forward */
  u: number;
  /** [B] positions, written by forward */
  p: number;
}

function positionSizes(rt: Runtime, fn: string, args: LocalPositionArgs): { B: number; dq: number; dp: number } {
  const B = checkSize(`${fn} batch`, args.batch, 1);
  const dq = checkSize(`${fn} querySize`, args.querySize, 1);
  const dp = checkSize(`${fn} predictSize`, args.predictSize, 1);
  region(rt, `${fn} s`, args.s, B * dq);
  region(rt, `${fn} wp`, args.wp, dp * dq);
  region(rt, `${fn} vp`, args.vp, dp);
  region(rt, `${fn} u`, args.u, B * dp);
  region(rt, `${fn} p`, args.p, B);
  region(rt, `${fn} lengths`, args.lengths, B);
  const len = rt.mem.i32(args.lengths, B);
  for (let b = 0; b < B; b++) if (!(len[b] >= 1)) throw new RangeError(`${fn} lengths[${b}] must be >= 1, got ${len[b]}`);
  return { B, dq, dp };
}

/** u = tanh(s W_pᵀ), p = S sigmoid(u v_p). */
export function localPositionForward(rt: Runtime, args: LocalPositionArgs): void {
  const { B, dq, dp } = positionSizes(rt, 'localPositionForward', args);
  rt.exports.local_position_forward(B, dq, dp, args.s, args.wp, args.vp, args.lengths, args.u, args.p, gemmScratch(rt));
}

/** dpos: [B] -> ds += (optional), dwp +=, dvp +=; work: [B, dp]. */
export function localPositionBackward(rt: Runtime, args: LocalPositionArgs & { dpos: number; ds?: number; dwp: number; dvp: number; work: number }): void {
  const fn = 'localPositionBackward';
  const { B, dq, dp } = positionSizes(rt, fn, args);
  region(rt, `${fn} dpos`, args.dpos, B);
  const ds = region(rt, `${fn} ds`, args.ds, B * dq, true);
  region(rt, `${fn} dwp`, args.dwp, dp * dq);
  region(rt, `${fn} dvp`, args.dvp, dp);
  region(rt, `${fn} work`, args.work, B * dp);
  rt.exports.local_position_backward(B, dq, dp, args.s, args.wp, args.vp, args.lengths, args.u, args.p, args.dpos, ds, args.dwp, args.dvp, args.work,
    gemmScratch(rt));
}

export interface LocalWindowArgs {
  batch: number;
  sources: number;
  /** D >= 1, the window half-width */
  window: number;
  /** local-p: multiply by the Gaussian exp(-(j-p)²/(2σ²)), σ = D/2 */
  gaussian: boolean;
  /** [B] positions, [B] int32 lengths */
  p: number;
  lengths: number;
  /** [B, Tx] */
  align: number;
  a: number;
}

function windowSizes(rt: Runtime, fn: string, args: LocalWindowArgs): { B: number; Tx: number; D: number } {
  const B = checkSize(`${fn} batch`, args.batch, 1);
  const Tx = checkSize(`${fn} sources`, args.sources, 1);
  const D = checkSize(`${fn} window`, args.window, 1);
  region(rt, `${fn} p`, args.p, B);
  region(rt, `${fn} lengths`, args.lengths, B);
  region(rt, `${fn} align`, args.align, B * Tx);
  region(rt, `${fn} a`, args.a, B * Tx);
  const len = rt.mem.i32(args.lengths, B);
  const p = rt.mem.f32(args.p, B);
  for (let b = 0; b < B; b++) {
    if (!(len[b] >= 1 && len[b] <= Tx)) throw new RangeError(`${fn} lengths[${b}] must be in 1..${Tx}, got ${len[b]}`);
    if (!Number.isFinite(p[b])) throw new RangeError(`${fn} p[${b}] must be finite, got ${p[b]}`);
    // The window must hold a valid position: some j in [0, S) with |j - p| <= D.
    const nearest = Math.min(Math.max(Math.round(p[b]), 0), len[b] - 1);
    if (Math.abs(nearest - p[b]) > D) throw new RangeError(`${fn}: the window around p[${b}] = ${p[b]} (D = ${D}) holds no position of 0..${len[b] - 1}`);
  }
  return { B, Tx, D };
}

/** align = softmax of e over the window around p; a = align (times the Gaussian when gaussian). */
export function localWindowForward(rt: Runtime, args: LocalWindowArgs & { e: number }): void {
  const { B, Tx, D } = windowSizes(rt, 'localWindowForward', args);
  region(rt, 'localWindowForward e', args.e, B * Tx);
  rt.exports.local_window_forward(B, Tx, D, args.gaussian ? 1 : 0, args.p, args.lengths, args.e, args.align, args.a);
}

/** da -> de (0 outside the window); gaussian: dpos = d loss / d p. */
export function localWindowBackward(rt: Runtime, args: LocalWindowArgs & { da: number; de: number; dpos?: number }): void {
  const fn = 'localWindowBackward';
  const { B, Tx, D } = windowSizes(rt, fn, args);
  region(rt, `${fn} da`, args.da, B * Tx);
  region(rt, `${fn} de`, args.de, B * Tx);
  const dpos = args.gaussian ? region(rt, `${fn} dpos`, args.dpos, B) : 0;
  rt.exports.local_window_backward(B, Tx, D, args.gaussian ? 1 : 0, args.p, args.lengths, args.align, args.a, args.da, args.de, dpos);
}
