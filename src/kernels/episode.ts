/**
 * DMN episodic memory kernels (assembly/episode.ts) over wasm memory, one pass over the facts
 * of a whole batch per call. Facts are row-major by (b, i): row = b*M + i. lengths: an Int32
 * buffer [B] of valid fact counts in 1..M (the mask is a prefix).
 *
 *   episodeGateForward   z = [s⊙q; s⊙m; |s−q|; |s−m|], a = tanh(W1 z + b1), scores = W2 a + b2,
 *                        g = masked softmax over the facts (or sigmoid)
 *   episodeGateBackward  dW1, db1, dW2, db2 accumulated; ds, dq, dm added to
 *   episodeGruForward    h_i = g_i·GRUCell(s_i, h_{i−1}) + (1−g_i)·h_{i−1}  (cell 'gated-gru')
 *                        h_i = g_i·n_i + (1−g_i)·h_{i−1}                  (cell 'attention-gru')
 *   episodeGruBackward   dx, dg written; dh0 returned in place of dhN; weight gradients accumulated
 *
 * Several passes over the same facts s and question q (the DMN's T passes) share the parts that
 * do not depend on the memory m: episodeGatePrepare computes the q half of the gate network's
 * first layer once and episodeGateForwardShared adds each pass's m half; the GRU's input
 * projection s W_ihᵀ + b_ih is computed once by the caller (`projected`). Their backwards add
 * into sums (dpreSum, dpxSum) whose products run once, after every pass (episodeGatePrepareBackward).
 *
 * All pointers are byte offsets; every range is checked before the kernel runs.
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { gemmScratch } from './gemm.js';

export type EpisodeCell = 'gated-gru' | 'attention-gru';
export type EpisodeGate = 'softmax' | 'sigmoid';

/** Gate rows of the recurrence weights: r, z, n (gated GRU) or r, n (attention GRU). */
export function episodeGateRows(cell: EpisodeCell): number {
  return cell === 'gated-gru' ? 3 : 2;
}

function cellCode(name: string, cell: unknown): number {
  if (cell === 'gated-gru') return 0;
  if (cell === 'attention-gru') return 1;
  throw new RangeError(`${name} cell must be 'gated-gru' or 'attention-gru', got ${String(cell)}`);
}

function gateCode(name: string, gate: unknown): number {
  if (gate === 'softmax') return 0;
  if (gate === 'sigmoid') return 1;
  throw new RangeError(`${name} gate must be 'softmax' or 'sigmoid', got ${String(gate)}`);
}

function range(rt: Runtime, name: string, ptr: number, floats: number): void {
  rt.mem.checkRange(name, ptr, floats * 4);
}

/** Checks the lengths buffer: B values, each in 1..M. */
function checkLengths(rt: Runtime, name: string, lengths: number, B: number, M: number): void {
  range(rt, `${name} lengths`, lengths, B);
  const v = rt.mem.i32(lengths, B);
  for (let b = 0; b < B; b++) {
    if (!(v[b] >= 1 && v[b] <= M)) throw new RangeError(`${name} lengths[${b}] must be in 1..${M} (the fact count), got ${v[b]}`);
  }
}

export interface EpisodeGateSizes {
  batch: number;
  /** Facts per row (padded). */
  facts: number;
  /** Fact (and question, memory) size d. */
  factSize: number;
  /** Hidden size of the gate network (da). */
  gateSize: number;
}

function gateSizes(name: string, a: EpisodeGateSizes) {
  return {
    B: checkSize(`${name} batch`, a.batch, 1), M: checkSize(`${name} facts`, a.facts, 1),
    d: checkSize(`${name} factSize`, a.factSize, 1), da: checkSize(`${name} gateSize`, a.gateSize, 1),
  };
}

export interface EpisodeGateForwardArgs extends EpisodeGateSizes {
  gate: EpisodeGate;
  /** [B*M, d] */ s: number;
  /** [B, d] */ q: number;
  /** [B, d] */ m: number;
  /** Int32 [B] */ lengths: number;
  /** [da, 4d] */ W1: number;
  /** [da] */ b1: number;
  /** [1, da] */ W2: number;
  /** [1] */ b2: number;
  /** out [B*M, 4d] */ z: number;
  /** out [B*M, da] */ a: number;
  /** out [B*M] */ scores: number;
  /** out [B*M] */ g: number;
}

export function episodeGateForward(rt: Runtime, args: EpisodeGateForwardArgs): void {
  const name = 'episodeGateForward';
  const { B, M, d, da } = gateSizes(name, args);
  const gate = gateCode(name, args.gate);
  const rows = B * M;
  range(rt, `${name} s`, args.s, rows * d);
  range(rt, `${name} q`, args.q, B * d);
  range(rt, `${name} m`, args.m, B * d);
  range(rt, `${name} W1`, args.W1, da * 4 * d);
  range(rt, `${name} b1`, args.b1, da);
  range(rt, `${name} W2`, args.W2, da);
  range(rt, `${name} b2`, args.b2, 1);
  range(rt, `${name} z`, args.z, rows * 4 * d);
  range(rt, `${name} a`, args.a, rows * da);
  range(rt, `${name} scores`, args.scores, rows);
  range(rt, `${name} g`, args.g, rows);
  checkLengths(rt, name, args.lengths, B, M);
  rt.exports.episode_gate_forward(B, M, d, da, args.s, args.q, args.m, args.lengths, args.W1, args.b1, args.W2, args.b2, gate,
    args.z, args.a, args.scores, args.g, gemmScratch(rt, rt.exports.episode_gate_forward_work_floats(B, M, d, da)));
}

export interface EpisodeGateBackwardArgs extends EpisodeGateSizes {
  gate: EpisodeGate;
  s: number; q: number; m: number; lengths: number; W1: number; W2: number;
  /** The forward's kept z, a and its g. */
  z: number; a: number; g: number;
  /** [B*M] upstream gradient of g. */
  dg: number;
  /** Accumulated. */
  dW1: number; db1: number; dW2: number; db2: number;
  /** Added to: ds [B*M, d], dq [B, d], dm [B, d]. */
  ds: number; dq: number; dm: number;
  /** episodeGateBackwardWorkFloats floats. */
  work: number;
}

export function episodeGateBackwardWorkFloats(rt: Runtime, sizes: EpisodeGateSizes): number {
  const { B, M, d, da } = gateSizes('episodeGateBackwardWorkFloats', sizes);
  return rt.exports.episode_gate_backward_work_floats(B, M, d, da);
}

export function episodeGateBackward(rt: Runtime, args: EpisodeGateBackwardArgs): void {
  const name = 'episodeGateBackward';
  const { B, M, d, da } = gateSizes(name, args);
  const gate = gateCode(name, args.gate);
  const rows = B * M;
  for (const [k, n] of [['s', rows * d], ['q', B * d], ['m', B * d], ['W1', da * 4 * d], ['W2', da], ['z', rows * 4 * d], ['a', rows * da],
    ['g', rows], ['dg', rows], ['dW1', da * 4 * d], ['db1', da], ['dW2', da], ['db2', 1], ['ds', rows * d], ['dq', B * d], ['dm', B * d]] as const) {
    range(rt, `${name} ${k}`, args[k], n);
  }
  range(rt, `${name} work`, args.work, rt.exports.episode_gate_backward_work_floats(B, M, d, da));
  checkLengths(rt, name, args.lengths, B, M);
  rt.exports.episode_gate_backward(B, M, d, da, args.s, args.q, args.m, args.lengths, args.W1, args.W2, gate, args.z, args.a, args.g, args.dg,
    args.dW1, args.db1, args.dW2, args.db2, args.ds, args.dq, args.dm, args.work);
}

function checkRanges(rt: Runtime, name: string, entries: [string, number, number][]): void {
  for (const [k, ptr, n] of entries) range(rt, `${name} ${k}`, ptr, n);
}

export interface EpisodeGatePrepareArgs extends EpisodeGateSizes {
  /** [B*M, d] */ s: number;
  /** [B, d] */ q: number;
  /** [da, 4d], [da] */ W1: number; b1: number;
  /** out [B*M, 2d]: s⊙q, |s−q| */ zq: number;
  /** out [B*M, da]: zq W1[:, q columns]ᵀ + b1 */ aq: number;
}

/** The q half of the gate network's first layer, shared by every pass over the same s and q. */
export function episodeGatePrepare(rt: Runtime, args: EpisodeGatePrepareArgs): void {
  const name = 'episodeGatePrepare';
  const { B, M, d, da } = gateSizes(name, args);
  const rows = B * M;
  checkRanges(rt, name, [['s', args.s, rows * d], ['q', args.q, B * d], ['W1', args.W1, da * 4 * d], ['b1', args.b1, da], ['zq', args.zq, rows * 2 * d], ['aq', args.aq, rows * da]]);
  rt.exports.episode_gate_prepare(B, M, d, da, args.s, args.q, args.W1, args.b1, args.zq, args.aq, gemmScratch(rt, rt.exports.episode_gate_forward_work_floats(B, M, d, da)));
}

export interface EpisodeGateForwardSharedArgs extends EpisodeGateSizes {
  gate: EpisodeGate;
  s: number; m: number; lengths: number;
  /** episodeGatePrepare's aq. */ aq: number;
  W1: number; W2: number; b2: number;
  /** out [B*M, 2d]: s⊙m, |s−m| (kept) */ zm: number;
  /** out [B*M, da], [B*M], [B*M] */ a: number; scores: number; g: number;
}

/** One pass of the gate on a prepared q half: as episodeGateForward. */
export function episodeGateForwardShared(rt: Runtime, args: EpisodeGateForwardSharedArgs): void {
  const name = 'episodeGateForwardShared';
  const { B, M, d, da } = gateSizes(name, args);
  const gate = gateCode(name, args.gate);
  const rows = B * M;
  checkRanges(rt, name, [['s', args.s, rows * d], ['m', args.m, B * d], ['aq', args.aq, rows * da], ['W1', args.W1, da * 4 * d], ['W2', args.W2, da], ['b2', args.b2, 1],
    ['zm', args.zm, rows * 2 * d], ['a', args.a, rows * da], ['scores', args.scores, rows], ['g', args.g, rows]]);
  checkLengths(rt, name, args.lengths, B, M);
  rt.exports.episode_gate_forward_shared(B, M, d, da, args.s, args.m, args.lengths, args.aq, args.W1, args.W2, args.b2, gate, args.zm, args.a, args.scores, args.g,
    gemmScratch(rt, rt.exports.episode_gate_forward_work_floats(B, M, d, da)));
}

export interface EpisodeGateBackwardSharedArgs extends EpisodeGateSizes {
  gate: EpisodeGate;
  s: number; m: number; lengths: number; W1: number; W2: number;
  /** The pass's kept zm, a and its g; dg [B*M] upstream. */
  zm: number; a: number; g: number; dg: number;
  /** Accumulated (dW1's m columns). */ dW1: number; db1: number; dW2: number; db2: number;
  /** Added to: ds [B*M, d], dm [B, d], dpreSum [B*M, da]. */ ds: number; dm: number; dpreSum: number;
  /** episodeGateBackwardWorkFloats floats. */ work: number;
}

export function episodeGateBackwardShared(rt: Runtime, args: EpisodeGateBackwardSharedArgs): void {
  const name = 'episodeGateBackwardShared';
  const { B, M, d, da } = gateSizes(name, args);
  const gate = gateCode(name, args.gate);
  const rows = B * M;
  checkRanges(rt, name, [['s', args.s, rows * d], ['m', args.m, B * d], ['W1', args.W1, da * 4 * d], ['W2', args.W2, da], ['zm', args.zm, rows * 2 * d], ['a', args.a, rows * da],
    ['g', args.g, rows], ['dg', args.dg, rows], ['dW1', args.dW1, da * 4 * d], ['db1', args.db1, da], ['dW2', args.dW2, da], ['db2', args.db2, 1], ['ds', args.ds, rows * d],
    ['dm', args.dm, B * d], ['dpreSum', args.dpreSum, rows * da], ['work', args.work, rt.exports.episode_gate_backward_work_floats(B, M, d, da)]]);
  checkLengths(rt, name, args.lengths, B, M);
  rt.exports.episode_gate_backward_shared(B, M, d, da, args.s, args.m, args.lengths, args.W1, args.W2, gate, args.zm, args.a, args.g, args.dg,
    args.dW1, args.db1, args.dW2, args.db2, args.ds, args.dm, args.dpreSum, args.work);
}

export interface EpisodeGatePrepareBackwardArgs extends EpisodeGateSizes {
  s: number; q: number; W1: number;
  /** episodeGatePrepare's zq; the passes' summed dpre. */ zq: number; dpreSum: number;
  /** Accumulated (dW1's q columns); ds [B*M, d], dq [B, d] added to. */ dW1: number; ds: number; dq: number;
  /** episodeGateBackwardWorkFloats floats. */ work: number;
}

/** After every pass's backward: the q half's products, once. */
export function episodeGatePrepareBackward(rt: Runtime, args: EpisodeGatePrepareBackwardArgs): void {
  const name = 'episodeGatePrepareBackward';
  const { B, M, d, da } = gateSizes(name, args);
  const rows = B * M;
  checkRanges(rt, name, [['s', args.s, rows * d], ['q', args.q, B * d], ['W1', args.W1, da * 4 * d], ['zq', args.zq, rows * 2 * d], ['dpreSum', args.dpreSum, rows * da],
    ['dW1', args.dW1, da * 4 * d], ['ds', args.ds, rows * d], ['dq', args.dq, B * d], ['work', args.work, rt.exports.episode_gate_backward_work_floats(B, M, d, da)]]);
  rt.exports.episode_gate_prepare_backward(B, M, d, da, args.s, args.q, args.W1, args.zq, args.dpreSum, args.dW1, args.ds, args.dq, args.work);
}

export interface EpisodeGruSizes {
  batch: number;
  facts: number;
  inputSize: number;
  hiddenSize: number;
  cell: EpisodeCell;
}

function gruSizes(name: string, a: EpisodeGruSizes) {
  return {
    B: checkSize(`${name} batch`, a.batch, 1), M: checkSize(`${name} facts`, a.facts, 1),
    I: checkSize(`${name} inputSize`, a.inputSize, 1), H: checkSize(`${name} hiddenSize`, a.hiddenSize, 1), cell: cellCode(name, a.cell),
  };
}

export interface EpisodeGruForwardArgs extends EpisodeGruSizes {
  /** [B*M, I] */ x: number;
  /** [B*M] */ g: number;
  /** [B, H] or 0 for zeros */ h0: number;
  /** Int32 [B] */ lengths: number;
  /** [G*H, I], [G*H, H], [G*H], [G*H] */
  W_ih: number; W_hh: number; b_ih: number; b_hh: number;
  /** out [B, H] */ hN: number;
  /** out (kept): gates [B*M, G*H], hprev [B*M, H], hn [B*M, H] */
  gates: number; hprev: number; hn: number;
  /** episodeGruForwardWorkFloats floats */ work: number;
  /** gates already hold x W_ihᵀ + b_ih (shared by several passes): skip the input product. */
  projected?: boolean;
}

export function episodeGruForwardWorkFloats(rt: Runtime, sizes: EpisodeGruSizes): number {
  const { B, H, cell } = gruSizes('episodeGruForwardWorkFloats', sizes);
  return rt.exports.episode_gru_forward_work_floats(B, H, cell);
}

export function episodeGruForward(rt: Runtime, args: EpisodeGruForwardArgs): void {
  const name = 'episodeGruForward';
  const { B, M, I, H, cell } = gruSizes(name, args);
  const GH = episodeGateRows(args.cell) * H;
  const rows = B * M;
  for (const [k, n] of [['x', rows * I], ['g', rows], ['W_ih', GH * I], ['W_hh', GH * H], ['b_ih', GH], ['b_hh', GH], ['hN', B * H],
    ['gates', rows * GH], ['hprev', rows * H], ['hn', rows * H]] as const) {
    range(rt, `${name} ${k}`, args[k], n);
  }
  if (args.h0 !== 0) range(rt, `${name} h0`, args.h0, B * H);
  range(rt, `${name} work`, args.work, rt.exports.episode_gru_forward_work_floats(B, H, cell));
  checkLengths(rt, name, args.lengths, B, M);
  rt.exports.episode_gru_forward(B, M, I, H, cell, args.x, args.g, args.h0, args.lengths, args.W_ih, args.W_hh, args.b_ih, args.b_hh,
    args.hN, args.gates, args.hprev, args.hn, args.work, args.projected ? 1 : 0);
}

export interface EpisodeGruBackwardArgs extends EpisodeGruSizes {
  x: number; g: number; lengths: number; W_ih: number; W_hh: number;
  /** The forward's kept buffers. */
  gates: number; hprev: number; hn: number;
  /** [B, H] in: gradient of hN; out: gradient of h0. */
  dh: number;
  /** out: dx [B*M, I], dg [B*M] */
  dx: number; dg: number;
  /** Accumulated. */
  dW_ih: number; dW_hh: number; db_ih: number; db_hh: number;
  /** episodeGruBackwardWorkFloats floats */ work: number;
  /** [B*M, G*H] or 0: add the input-side pre-activation gradients here and leave dx, dW_ih, db_ih to the caller (dx not written). */
  dpxSum?: number;
}

export function episodeGruBackwardWorkFloats(rt: Runtime, sizes: EpisodeGruSizes): number {
  const { B, M, H, cell } = gruSizes('episodeGruBackwardWorkFloats', sizes);
  return rt.exports.episode_gru_backward_work_floats(B, M, H, cell);
}

export function episodeGruBackward(rt: Runtime, args: EpisodeGruBackwardArgs): void {
  const name = 'episodeGruBackward';
  const { B, M, I, H, cell } = gruSizes(name, args);
  const GH = episodeGateRows(args.cell) * H;
  const rows = B * M;
  for (const [k, n] of [['x', rows * I], ['g', rows], ['W_ih', GH * I], ['W_hh', GH * H], ['gates', rows * GH], ['hprev', rows * H],
    ['hn', rows * H], ['dh', B * H], ['dx', rows * I], ['dg', rows], ['dW_ih', GH * I], ['dW_hh', GH * H], ['db_ih', GH], ['db_hh', GH]] as const) {
    range(rt, `${name} ${k}`, args[k], n);
  }
  range(rt, `${name} work`, args.work, rt.exports.episode_gru_backward_work_floats(B, M, H, cell));
  if (args.dpxSum) range(rt, `${name} dpxSum`, args.dpxSum, rows * GH);
  checkLengths(rt, name, args.lengths, B, M);
  rt.exports.episode_gru_backward(B, M, I, H, cell, args.x, args.g, args.lengths, args.W_ih, args.W_hh, args.gates, args.hprev, args.hn,
    args.dh, args.dx, args.dg, args.dW_ih, args.dW_hh, args.db_ih, args.db_hh, args.work, args.dpxSum ?? 0);
}

export interface PositionEncodingArgs {
  /** Sentences N. */ sentences: number;
  /** Word slots per sentence (padded) L. */ words: number;
  /** Embedding size D. */ dim: number;
  /** Rows of the table V. */ vocabSize: number;
  /** Int32 [N, L]: each word's row of the table, in 0..V (every slot, padded ones too). */ ids: number;
  /** Int32 [N]: words of each sentence, 0..L (0: an empty slot, read as zeros). */ lengths: number;
}

function positionSizes(rt: Runtime, name: string, a: PositionEncodingArgs) {
  const N = checkSize(`${name} sentences`, a.sentences, 1), L = checkSize(`${name} words`, a.words, 1), D = checkSize(`${name} dim`, a.dim, 1);
  const V = checkSize(`${name} vocabSize`, a.vocabSize, 1);
  range(rt, `${name} lengths`, a.lengths, N);
  range(rt, `${name} ids`, a.ids, N * L);
  const v = rt.mem.i32(a.lengths, N), ids = rt.mem.i32(a.ids, N * L);
  for (let n = 0; n < N; n++) if (!(v[n] >= 0 && v[n] <= L)) throw new RangeError(`${name} lengths[${n}] must be in 0..${L}, got ${v[n]}`);
  for (let i = 0; i < N * L; i++) if (!(ids[i] >= 0 && ids[i] < V)) throw new RangeError(`${name} ids[${i}] must be in 0..${V - 1}, got ${ids[i]}`);
  return { N, L, D, V };
}

/** DMN+ sentence reader: out [N, D] = Σ_j l_j ⊙ table[ids[n, j]] (positional encoding). table [V, D]. */
export function positionEncodingForward(rt: Runtime, args: PositionEncodingArgs & { table: number; out: number }): void {
  const name = 'positionEncodingForward';
  const { N, L, D, V } = positionSizes(rt, name, args);
  range(rt, `${name} table`, args.table, V * D);
  range(rt, `${name} out`, args.out, N * D);
  rt.exports.position_encoding_forward(N, L, D, args.table, args.ids, args.lengths, args.out);
}

/** Backward of positionEncodingForward: dTable [V, D] += l_j ⊙ dOut[n] at each word's row (nothing past a length). */
export function positionEncodingBackward(rt: Runtime, args: PositionEncodingArgs & { dOut: number; dTable: number }): void {
  const name = 'positionEncodingBackward';
  const { N, L, D, V } = positionSizes(rt, name, args);
  range(rt, `${name} dOut`, args.dOut, N * D);
  range(rt, `${name} dTable`, args.dTable, V * D);
  rt.exports.position_encoding_backward(N, L, D, args.dOut, args.ids, args.lengths, args.dTable);
}

/**
 * The sentence reader followed by a linear map, from word tables (assembly/episode.ts
 * position_projection_forward): out [N, G] = Σ_j a_j P[ids[n, j]] + b_j Q[ids[n, j]], where
 * P = table · Wᵀ and Q = positionScaleColumns(table) · Wᵀ, [V, G] each with row stride ldt
 * (default G). Equals positionEncodingForward then · Wᵀ; `dim` is G here.
 */
export function positionProjectionForward(rt: Runtime, args: PositionEncodingArgs & { P: number; Q: number; ldt?: number; out: number }): void {
  const name = 'positionProjectionForward';
  const { N, L, D: G, V } = positionSizes(rt, name, args);
  const ldt = tableStride(name, args.ldt, G);
  range(rt, `${name} P`, args.P, (V - 1) * ldt + G);
  range(rt, `${name} Q`, args.Q, (V - 1) * ldt + G);
  range(rt, `${name} out`, args.out, N * G);
  rt.exports.position_projection_forward(N, L, G, args.P, args.Q, ldt, args.ids, args.lengths, args.out);
}

/** Backward of positionProjectionForward: dP, dQ [V, G] (row stride ldt) += a_j dOut[n], b_j dOut[n] at each word's row. */
export function positionProjectionBackward(rt: Runtime, args: PositionEncodingArgs & { dOut: number; dP: number; dQ: number; ldt?: number }): void {
  const name = 'positionProjectionBackward';
  const { N, L, D: G, V } = positionSizes(rt, name, args);
  const ldt = tableStride(name, args.ldt, G);
  range(rt, `${name} dOut`, args.dOut, N * G);
  range(rt, `${name} dP`, args.dP, (V - 1) * ldt + G);
  range(rt, `${name} dQ`, args.dQ, (V - 1) * ldt + G);
  rt.exports.position_projection_backward(N, L, G, args.dOut, args.ids, args.lengths, args.dP, args.dQ, ldt);
}

/** dst [V, D] = c ⊙ src (+ dst when accumulate), c_k = (k+1)/D: the sentence reader's column weights. */
export function positionScaleColumns(rt: Runtime, args: { rows: number; dim: number; src: number; dst: number; accumulate?: boolean }): void {
  const name = 'positionScaleColumns';
  const V = checkSize(`${name} rows`, args.rows, 1), D = checkSize(`${name} dim`, args.dim, 1);
  range(rt, `${name} src`, args.src, V * D);
  range(rt, `${name} dst`, args.dst, V * D);
  rt.exports.position_scale_columns(V, D, args.src, args.dst, args.accumulate ? 1 : 0);
}

function tableStride(name: string, ldt: number | undefined, G: number): number {
  const v = checkSize(`${name} ldt`, ldt ?? G, 1);
  if (v < G) throw new RangeError(`${name} ldt must be >= ${G} (the columns), got ${v}`);
  return v;
}
