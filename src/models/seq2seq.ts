// Sequence to sequence with attention (Sutskever et al. 2014; Bahdanau et al.
// 2015; Luong et al. 2015), trained on the tape.
//
//   source ids [S, B] -> Embedding -> dropout -> encoder RNN/LSTM/GRU (numLayers,
//   bidirectional) -> keys [S, B, K], K = D*H
//   decoder, per target step t (inputs <sos> y_1 .. y_{T-1}, teacher forcing):
//     bahdanau:      c_t = attend(s_{t-1}); s_t = cell([emb(y_{t-1}); c_t], s_{t-1}); o_t = s_t
//     luong-*:       s_t = cell([emb(y_{t-1}); o_{t-1} if inputFeeding], s_{t-1});
//                    c_t = attend(s_t); o_t = tanh(W_c [c_t; s_t])   (the attentional state)
//     local-m/-p:    as luong-general, attention inside a window [p - D, p + D]
//     hard:          as luong-general, the context is ONE key: sampled from the weights in
//                    training (REINFORCE with a moving-average baseline), the argmax at inference
//     none:          s_t = cell(emb(y_{t-1}), s_{t-1}); o_t = s_t
//   logits [T*B, V] = o W_out^T + b: ONE product for all steps, then ONE fused softmax
//   cross-entropy (src/kernels/loss.ts) with the padding rows ignored.
//
// The decoder's initial state: the encoder's top layer's final state; with a
// bidirectional encoder, the SUM of its forward and backward final states
// (both [B, H]), so the decoder keeps hidden size H and needs no bridge layer.
// An LSTM decoder takes c0 the same way from an LSTM encoder, zeros otherwise.
//
// Per decoder step the whole batch goes through a handful of wasm products
// (input and recurrent projections of the cell, the attention query, the
// combine layer); the gate and attention arithmetic in between are single
// passes over [B, ...] buffers in TypeScript, over wasm memory, and the bulky
// parts (tanh of the additive scores) are one wasm call per step. Weight
// gradients of the decoder are ONE product each over all steps after the
// backward loop.
//
// Parameter names (torch style): encoder.embedding.weight, encoder.rnn.* (torch.nn.GRU/LSTM/RNN),
// decoder.embedding.weight, decoder.cell.{weight_ih, weight_hh, bias_ih, bias_hh}
// (torch.nn.GRUCell / LSTMCell), decoder.attention.* (bahdanau: W_s, W_h, b, v; luong-general,
// local-m, hard: W; luong-concat: W [A, H+K], b, v; local-p: W, W_p, v_p),
// decoder.combine.weight [H, K+H] (Luong's W_c, no bias), decoder.out.{weight, bias}
// (weight absent when tied to decoder.embedding.weight).
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { gemm } from '../kernels/gemm.js';
import { biasAddRows, biasAddRowsBackward } from '../kernels/elementwise.js';
import { tanhForward } from '../kernels/activations.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { initUniform } from '../layers/linear.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { recurrent } from '../layers/ops.js';
import type { RecurrentLayer } from '../layers/recurrent.js';
import type { ParameterSpec } from '../runtime/tensor.js';
import { Model, type LayerPlan } from '../train/model.js';
import { Rng } from '../train/rng.js';
import { Variable, type Tape } from '../train/tape.js';
import { checkCell, makeRecurrent, recurrentSpecs, type CellName } from './common.js';

export const ATTENTION_KINDS = ['none', 'bahdanau', 'luong-dot', 'luong-general', 'luong-concat', 'local-m', 'local-p', 'hard'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];
export type DecoderCellName = 'gru' | 'lstm';

/** Special ids shared with src/data/translation.ts and src/data/dates.ts vocabularies. */
export const SEQ_PAD = 0;
export const SEQ_SOS = 2;
export const SEQ_EOS = 3;
/** Loss target of padding rows (torch's default ignore_index). */
const IGNORE = -100;

export interface Seq2SeqOptions {
  sourceVocabSize: number;
  targetVocabSize: number;
  /** Default 256. */
  hiddenSize?: number;
  /** Default hiddenSize. */
  embeddingDim?: number;
  /** Encoder cell, default 'gru'. */
  encoderCell?: CellName;
  /** Decoder cell, default 'gru'. */
  cell?: DecoderCellName;
  /** Encoder layers, default 1. */
  numLayers?: number;
  /** Bidirectional encoder, default false. */
  bidirectional?: boolean;
  /** Feed each source reversed (Sutskever et al. 2014), default false. Attention weights are reported in the original order. */
  reverseSource?: boolean;
  /** Default 'bahdanau'. */
  attention?: AttentionKind;
  /** Size of the additive/concat scorer and of local-p's position network. Default hiddenSize. */
  attentionSize?: number;
  /** Luong-style variants: feed the previous attentional state into the cell's input. Default false. */
  inputFeeding?: boolean;
  /** Half-width D of local attention's window (Gaussian sigma D/2 for local-p). Default 3. */
  window?: number;
  /** Dropout on the source and target embeddings and the decoder outputs. Default 0. */
  dropout?: number;
  /** Output projection shares decoder.embedding.weight (needs embeddingDim == hiddenSize). Default false. */
  tieEmbeddings?: boolean;
  /** Probability that a training step feeds the true previous token (else the model's argmax). Default 1. */
  teacherForcing?: number;
  seed?: number;
}

/** Sequences of token ids without specials; targets are needed for the loss only. */
export interface Seq2SeqBatch {
  sources: ArrayLike<number>[];
  targets?: ArrayLike<number>[];
}

export interface DecodeOptions {
  /** Default 'greedy'. */
  method?: 'greedy' | 'sample' | 'beam';
  /** Beam width (beam only), default 5. */
  beamSize?: number;
  /** Sampling temperature (sample only), default 1. */
  temperature?: number;
  /** Most output tokens, <eos> excluded. Default 10 (the translation task's limit). */
  maxLength?: number;
  /** Beam only: finished hypotheses rank by score / length^alpha (0: raw log-probability). Default 1. */
  lengthPenalty?: number;
  /** Generator for sampling (default seeded 0). */
  rng?: Rng;
}

export interface DecodeResult {
  /** Output ids, <eos> excluded. */
  tokens: number[];
  /** Sum of the log-probabilities of the tokens and of the final <eos> (when reached). */
  score: number;
  /** Log-probability of each output token. */
  tokenScores: number[];
  /** One row per output token: weights over the source positions in the order given (empty rows for attention 'none'). */
  attention: Float32Array[];
  /** Whether <eos> was produced within maxLength. */
  finished: boolean;
}

type ScoreKind = 'none' | 'additive' | 'dot' | 'general';

interface Resolved extends Required<Seq2SeqOptions> {}

function resolveOptions(options: Seq2SeqOptions): Resolved {
  if (options === null || typeof options !== 'object') throw new TypeError('Seq2Seq options must be an object with sourceVocabSize and targetVocabSize');
  const hiddenSize = options.hiddenSize ?? 256;
  const o: Resolved = {
    hiddenSize,
    embeddingDim: hiddenSize,
    encoderCell: 'gru',
    cell: 'gru',
    numLayers: 1,
    bidirectional: false,
    reverseSource: false,
    attention: 'bahdanau',
    attentionSize: hiddenSize,
    inputFeeding: false,
    window: 3,
    dropout: 0,
    tieEmbeddings: false,
    teacherForcing: 1,
    seed: 0,
    ...options,
  } as Resolved;
  checkSize('sourceVocabSize', o.sourceVocabSize, 5);
  checkSize('targetVocabSize', o.targetVocabSize, 5);
  checkSize('hiddenSize', o.hiddenSize, 1);
  checkSize('embeddingDim', o.embeddingDim, 1);
  checkSize('numLayers', o.numLayers, 1);
  checkSize('attentionSize', o.attentionSize, 1);
  checkSize('window', o.window, 1);
  checkCell(o.encoderCell);
  if (o.cell !== 'gru' && o.cell !== 'lstm') throw new RangeError(`cell (the decoder's) must be 'gru' or 'lstm', got ${String(o.cell)}`);
  if (!ATTENTION_KINDS.includes(o.attention)) throw new RangeError(`attention must be one of ${ATTENTION_KINDS.join(', ')}, got ${String(o.attention)}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${o.dropout}`);
  if (!(o.teacherForcing >= 0 && o.teacherForcing <= 1)) throw new RangeError(`teacherForcing must be in [0, 1], got ${o.teacherForcing}`);
  if (o.tieEmbeddings && o.embeddingDim !== o.hiddenSize) {
    throw new RangeError(`tieEmbeddings needs embeddingDim (${o.embeddingDim}) == hiddenSize (${o.hiddenSize})`);
  }
  if (o.attention === 'luong-dot' && o.bidirectional) {
    throw new RangeError("attention 'luong-dot' scores s . h_j, so the keys must have the decoder's size: use a unidirectional encoder or 'luong-general'");
  }
  if (o.inputFeeding && (o.attention === 'none' || o.attention === 'bahdanau')) {
    throw new RangeError(`inputFeeding feeds Luong's attentional state; attention '${o.attention}' has none`);
  }
  return o;
}

/** How an attention kind scores, where it sits and whether it has a combine layer. */
function scoreKind(a: AttentionKind): ScoreKind {
  if (a === 'none') return 'none';
  if (a === 'bahdanau' || a === 'luong-concat') return 'additive';
  if (a === 'luong-dot') return 'dot';
  return 'general';
}
const isLuong = (a: AttentionKind) => a !== 'none' && a !== 'bahdanau';

function uniformBound(n: number): number {
  return 1 / Math.sqrt(n);
}

/** Pointers of the per-step buffers of one decoder pass, each [steps, N, width]. */
interface StepBlocks {
  steps: number;
  N: number;
  x: number; // cell input [T, N, In]
  sPrev: number; // state before the step [T, N, H]
  s: number; // state after the step [T, N, H]
  gates: number; // post-activation gates [T, N, G*H]
  ghn: number; // GRU: W_hn s + b_hn [T, N, H]
  cPrev: number; // LSTM [T, N, H]
  c: number;
  tc: number; // LSTM tanh(c)
  u: number; // additive: tanh(Hk + q) [T, N, S, A]
  att: number; // weights [T, N, S]
  ctx: number; // [T, N, K]
  comb: number; // luong [c; s] [T, N, K+H]
  pp: number; // local-p tanh(W_p s) [T, N, P]
  pos: number; // local-p position p and sigmoid [T, N, 2]
  dropMask: number; // decoder embedding dropout [T, N, E]
  hard: Int32Array; // hard: the chosen position per [T, N]
  ids: Int32Array; // the input ids per [T, N]
  scratchGi: number; // [N, G*H]
  scratchGh: number; // [N, G*H]
  scratchQ: number; // [N, max(A, P)]
}

/** Encoder outputs prepared for attention, rows n of the decoder pass. */
interface AttentionContext {
  N: number;
  S: number;
  /** Valid source positions of row n. */
  lens: Int32Array;
  /** keys [N, S, K] batch-major (a copy of the encoder output). */
  keys: number;
  /** Projected keys [N, S, W]: additive W_h h + b (W = A), general W h (W = H). */
  hk: number;
}

export class Seq2Seq extends Model {
  readonly options: Resolved;
  readonly encoderEmbedding: Embedding;
  readonly decoderEmbedding: Embedding;
  readonly encoder: RecurrentLayer;
  private readonly dropEncoder: Dropout;
  private readonly dropOutput: Dropout;
  /** Decoder dims. */
  private readonly H: number;
  private readonly E: number;
  private readonly K: number;
  private readonly A: number;
  private readonly G: number;
  private readonly In: number;
  private readonly V: number;
  private readonly score: ScoreKind;
  /** REINFORCE baseline of hard attention (mean reward, moving average). */
  private hardBaseline = 0;
  private hardBaselineSet = false;
  /** Per-row rewards of the current training batch, set by loss() for hard attention. */
  private hardAdvantage: Float32Array | null = null;

  static plan(options: Seq2SeqOptions): LayerPlan[] {
    const o = resolveOptions(options);
    const H = o.hiddenSize, E = o.embeddingDim, A = o.attentionSize;
    const K = (o.bidirectional ? 2 : 1) * H;
    const G = o.cell === 'gru' ? 3 : 4;
    const In = E + (o.attention === 'bahdanau' ? K : 0) + (o.inputFeeding ? H : 0);
    const att: ParameterSpec[] = [];
    if (o.attention === 'bahdanau') {
      att.push({ name: 'W_s', shape: [A, H] }, { name: 'W_h', shape: [A, K] }, { name: 'b', shape: [A] }, { name: 'v', shape: [A] });
    } else if (o.attention === 'luong-concat') {
      att.push({ name: 'W', shape: [A, H + K] }, { name: 'b', shape: [A] }, { name: 'v', shape: [A] });
    } else if (o.attention === 'luong-general' || o.attention === 'local-m' || o.attention === 'hard') {
      att.push({ name: 'W', shape: [H, K] });
    } else if (o.attention === 'local-p') {
      att.push({ name: 'W', shape: [H, K] }, { name: 'W_p', shape: [A, H] }, { name: 'v_p', shape: [A] });
    }
    const out: ParameterSpec[] = o.tieEmbeddings ? [{ name: 'bias', shape: [o.targetVocabSize] }] : [
      { name: 'weight', shape: [o.targetVocabSize, H] }, { name: 'bias', shape: [o.targetVocabSize] },
    ];
    const plan: LayerPlan[] = [
      { prefix: 'encoder.embedding.', specs: Embedding.parameterSpecs({ numEmbeddings: o.sourceVocabSize, embeddingDim: E }) },
      { prefix: 'encoder.rnn.', specs: recurrentSpecs(o.encoderCell, { inputSize: E, hiddenSize: H, numLayers: o.numLayers, bidirectional: o.bidirectional }) },
      { prefix: 'decoder.embedding.', specs: Embedding.parameterSpecs({ numEmbeddings: o.targetVocabSize, embeddingDim: E }) },
      {
        prefix: 'decoder.cell.',
        specs: [
          { name: 'weight_ih', shape: [G * H, In] }, { name: 'weight_hh', shape: [G * H, H] },
          { name: 'bias_ih', shape: [G * H] }, { name: 'bias_hh', shape: [G * H] },
        ],
      },
    ];
    if (att.length > 0) plan.push({ prefix: 'decoder.attention.', specs: att });
    if (isLuong(o.attention)) plan.push({ prefix: 'decoder.combine.', specs: [{ name: 'weight', shape: [H, K + H] }] });
    plan.push({ prefix: 'decoder.out.', specs: out });
    return plan;
  }

  constructor(rt: Runtime, options: Seq2SeqOptions) {
    const o = resolveOptions(options);
    super(rt, Seq2Seq.plan(o), o.seed);
    this.options = o;
    this.H = o.hiddenSize;
    this.E = o.embeddingDim;
    this.K = (o.bidirectional ? 2 : 1) * this.H;
    this.A = o.attentionSize;
    this.G = o.cell === 'gru' ? 3 : 4;
    this.In = this.E + (o.attention === 'bahdanau' ? this.K : 0) + (o.inputFeeding ? this.H : 0);
    this.V = o.targetVocabSize;
    this.score = scoreKind(o.attention);
    // Initialisation in a fixed order from the model's generator (torch's defaults).
    this.encoderEmbedding = new Embedding(rt, { numEmbeddings: o.sourceVocabSize, embeddingDim: this.E, paddingIdx: SEQ_PAD }, { block: this.params, prefix: 'encoder.embedding.' });
    this.encoderEmbedding.resetParameters(this.rng);
    this.encoder = makeRecurrent(rt, o.encoderCell, { inputSize: this.E, hiddenSize: this.H, numLayers: o.numLayers, bidirectional: o.bidirectional }, this.params, 'encoder.rnn.', this.rng);
    this.decoderEmbedding = new Embedding(rt, { numEmbeddings: this.V, embeddingDim: this.E, paddingIdx: SEQ_PAD }, { block: this.params, prefix: 'decoder.embedding.' });
    this.decoderEmbedding.resetParameters(this.rng);
    if (o.tieEmbeddings) {
      // N(0, 1) rows would give logits of size sqrt(H) at the start: scale the shared table like a Linear's.
      const w = this.params.value('decoder.embedding.weight').view();
      const s = uniformBound(this.H);
      for (let i = 0; i < w.length; i++) w[i] *= s;
    }
    for (const name of this.params.names) {
      if (!name.startsWith('decoder.') || name.startsWith('decoder.embedding.')) continue;
      const shape = this.params.shapes.get(name)!;
      const fanIn = name.startsWith('decoder.cell.') ? this.H : name === 'decoder.out.bias' ? this.H : shape[shape.length - 1];
      initUniform(this.params.value(name), uniformBound(fanIn), this.rng);
    }
    this.dropEncoder = new Dropout(rt, { p: o.dropout }, this.rng);
    this.dropOutput = new Dropout(rt, { p: o.dropout }, this.rng);
  }

  // ----- parameters by name --------------------------------------------------
  private pv(name: string): number {
    return this.params.value(name).ptr;
  }
  private pg(name: string): number {
    return this.params.grad(name).ptr;
  }
  private heap(): Float32Array {
    return new Float32Array(this.rt.mem.memory.buffer);
  }
  private outWeight(): string {
    return this.options.tieEmbeddings ? 'decoder.embedding.weight' : 'decoder.out.weight';
  }

  // ----- batches ---------------------------------------------------------------
  private checkSources(sources: ArrayLike<number>[]): void {
    if (!Array.isArray(sources) || sources.length === 0) throw new ShapeError('sources must be a non-empty array of id sequences');
    const Vs = this.options.sourceVocabSize;
    sources.forEach((s, b) => {
      if (!s || s.length === 0) throw new ShapeError(`sources[${b}] is empty: every source needs at least one token`);
      for (let i = 0; i < s.length; i++) {
        if (!Number.isInteger(s[i]) || s[i] < 0 || s[i] >= Vs) throw new RangeError(`sources[${b}][${i}] = ${s[i]} is outside the source vocabulary [0, ${Vs})`);
      }
    });
  }

  // ----- encoder ---------------------------------------------------------------
  /** Runs the encoder; returns the keys [S, B, K], the decoder's initial state and the lengths. */
  private encode(tape: Tape, sources: ArrayLike<number>[]): { keys: Variable; s0: Variable; c0: Variable | null; lens: Int32Array; S: number } {
    const B = sources.length;
    const lens = Int32Array.from(sources, (s) => s.length);
    const S = Math.max(...lens);
    const ids = new Int32Array(S * B);
    for (let b = 0; b < B; b++) {
      const s = sources[b];
      const L = s.length;
      for (let i = 0; i < L; i++) ids[i * B + b] = this.options.reverseSource ? s[L - 1 - i] : s[i];
    }
    const x = this.dropEncoder.forward(tape, this.encoderEmbedding.forward(tape, ids, [S, B]));
    const { output, hN, cN } = recurrent(tape, this.encoder, x, { lengths: lens });
    const s0 = this.bridge(tape, hN);
    const c0 = this.options.cell === 'lstm' && cN ? this.bridge(tape, cN) : null;
    return { keys: output, s0, c0, lens, S };
  }

  /** [L*D, B, H] final states -> [B, H]: the top layer, both directions summed. */
  private bridge(tape: Tape, states: Variable): Variable {
    const D = this.options.bidirectional ? 2 : 1;
    const [, B, H] = states.shape;
    const base = (this.options.numLayers - 1) * D;
    const y = tape.variable([B, H]);
    const h = this.heap();
    const yo = y.ptr >> 2, so = states.ptr >> 2;
    for (let d = 0; d < D; d++) for (let i = 0; i < B * H; i++) h[yo + i] += h[so + (base + d) * B * H + i];
    tape.record('Seq2Seq.bridge', () => {
      if (!y.hasGrad) return;
      const g = states.grad();
      const dy = y.grad();
      const hh = this.heap();
      for (let d = 0; d < D; d++) for (let i = 0; i < B * H; i++) hh[(g.ptr >> 2) + (base + d) * B * H + i] += hh[(dy.ptr >> 2) + i];
    });
    return y;
  }

  /** Batch-major copy of the keys and their projection, rows expanded `repeat` times (beam search). */
  private attentionContext(tape: Tape, keys: Variable, lens: Int32Array, S: number, repeat = 1): AttentionContext {
    const B = lens.length, K = this.K, N = B * repeat;
    const rowLens = new Int32Array(N);
    for (let n = 0; n < N; n++) rowLens[n] = lens[Math.floor(n / repeat)];
    if (this.score === 'none') return { N, S, lens: rowLens, keys: 0, hk: 0 };
    const kb = tape.tensor([N, S, K]).ptr;
    const W = this.score === 'additive' ? this.A : this.H;
    const hk = this.score === 'dot' ? kb : tape.tensor([N, S, W]).ptr;
    const h = this.heap();
    const src = keys.ptr >> 2;
    for (let n = 0; n < N; n++) {
      const b = Math.floor(n / repeat);
      for (let j = 0; j < S; j++) h.copyWithin((kb >> 2) + (n * S + j) * K, src + (j * B + b) * K, src + (j * B + b) * K + K);
    }
    if (this.score === 'additive') {
      const a = this.options.attention === 'bahdanau' ? { w: this.pv('decoder.attention.W_h'), ld: K } : { w: this.pv('decoder.attention.W') + this.H * 4, ld: this.H + K };
      gemm(this.rt, { transB: true, m: N * S, n: W, k: K, a: kb, b: a.w, ldb: a.ld, c: hk });
      const hh = this.heap();
      const bias = this.pv('decoder.attention.b') >> 2;
      for (let r = 0; r < N * S; r++) for (let i = 0; i < W; i++) hh[(hk >> 2) + r * W + i] += hh[bias + i];
    } else if (this.score === 'general') {
      gemm(this.rt, { transB: true, m: N * S, n: W, k: K, a: kb, b: this.pv('decoder.attention.W'), c: hk });
    }
    return { N, S, lens: rowLens, keys: kb, hk };
  }

  // ----- the decoder step ------------------------------------------------------
  private allocSteps(tape: Tape, steps: number, N: number, S: number): StepBlocks {
    const { H, G, In, K, A, E } = this;
    const o = this.options;
    const t = (w: number) => (w === 0 ? 0 : tape.tensor([steps * N * w]).ptr);
    const lstm = o.cell === 'lstm';
    const attn = o.attention !== 'none';
    return {
      steps, N,
      x: t(In), sPrev: t(H), s: t(H), gates: t(G * H), ghn: lstm ? 0 : t(H),
      cPrev: lstm ? t(H) : 0, c: lstm ? t(H) : 0, tc: lstm ? t(H) : 0,
      u: this.score === 'additive' ? t(S * A) : 0,
      att: attn ? t(S) : 0, ctx: attn ? t(K) : 0,
      comb: isLuong(o.attention) ? t(K + H) : 0,
      pp: o.attention === 'local-p' ? t(A) : 0, pos: o.attention === 'local-p' ? t(2) : 0,
      dropMask: tape.training && o.dropout > 0 ? t(E) : 0,
      hard: new Int32Array(steps * N), ids: new Int32Array(steps * N),
      scratchGi: tape.tensor([N * G * H]).ptr, scratchGh: tape.tensor([N * G * H]).ptr, scratchQ: tape.tensor([N * A]).ptr,
    };
  }

  /** The window [lo, hi) of row n at step t and (local-p) its centre. */
  private window(ctx: AttentionContext, blocks: StepBlocks, t: number, n: number, stepIndex: number, h: Float32Array): [number, number] {
    const L = ctx.lens[n];
    const D = this.options.window;
    const a = this.options.attention;
    if (a === 'local-m') {
      const p = Math.min(stepIndex, L - 1);
      return [Math.max(0, p - D), Math.min(L, p + D + 1)];
    }
    if (a === 'local-p') {
      const p = h[(blocks.pos >> 2) + (t * blocks.N + n) * 2];
      const c = Math.round(p);
      return [Math.max(0, c - D), Math.min(L, c + D + 1)];
    }
    return [0, L];
  }

  /** Attention of step t with `query` [N, H] rows: writes weights att[t] and context ctx[t]. */
  private attend(ctx: AttentionContext, blocks: StepBlocks, t: number, stepIndex: number, query: number, sampling: Rng | null): void {
    const { N, S } = ctx;
    const { K, A, H } = this;
    const att = blocks.att + t * N * S * 4;
    const cx = blocks.ctx + t * N * K * 4;
    const o = this.options;
    if (this.score === 'additive') {
      const q = blocks.scratchQ;
      const ws = o.attention === 'bahdanau' ? { w: this.pv('decoder.attention.W_s'), ld: H } : { w: this.pv('decoder.attention.W'), ld: H + K };
      gemm(this.rt, { transB: true, m: N, n: A, k: H, a: query, b: ws.w, ldb: ws.ld, c: q });
      const u = blocks.u + t * N * S * A * 4;
      let h = this.heap();
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < S; j++) {
          const uo = (u >> 2) + (n * S + j) * A, ko = (ctx.hk >> 2) + (n * S + j) * A, qo = (q >> 2) + n * A;
          for (let i = 0; i < A; i++) h[uo + i] = h[ko + i] + h[qo + i];
        }
      }
      tanhForward(this.rt, { x: u, y: u, n: N * S * A });
      h = this.heap();
      const v = this.pv('decoder.attention.v') >> 2;
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < S; j++) {
          const uo = (u >> 2) + (n * S + j) * A;
          let e = 0;
          for (let i = 0; i < A; i++) e += h[uo + i] * h[v + i];
          h[(att >> 2) + n * S + j] = e;
        }
      }
    } else {
      if (o.attention === 'local-p') this.predictPositions(ctx, blocks, t, query);
      const h = this.heap();
      const W = this.score === 'dot' ? K : H;
      for (let n = 0; n < N; n++) {
        const [lo, hi] = this.window(ctx, blocks, t, n, stepIndex, h);
        const qo = (query >> 2) + n * H;
        for (let j = lo; j < hi; j++) {
          const ko = (ctx.hk >> 2) + (n * S + j) * W;
          let e = 0;
          for (let i = 0; i < H; i++) e += h[qo + i] * h[ko + i];
          h[(att >> 2) + n * S + j] = e;
        }
      }
    }
    // Masked softmax over each row's window, Gaussian (local-p), hard choice, context.
    const h = this.heap();
    const sigma = o.window / 2;
    for (let n = 0; n < N; n++) {
      const [lo, hi] = this.window(ctx, blocks, t, n, stepIndex, h);
      const ao = (att >> 2) + n * S;
      let max = -Infinity;
      for (let j = lo; j < hi; j++) max = Math.max(max, h[ao + j]);
      let sum = 0;
      for (let j = 0; j < S; j++) {
        if (j < lo || j >= hi) {
          h[ao + j] = 0;
          continue;
        }
        const w = Math.exp(h[ao + j] - max);
        h[ao + j] = w;
        sum += w;
      }
      for (let j = lo; j < hi; j++) h[ao + j] /= sum;
      if (o.attention === 'local-p') {
        const p = h[(blocks.pos >> 2) + (t * N + n) * 2];
        for (let j = lo; j < hi; j++) h[ao + j] *= Math.exp(-((j - p) ** 2) / (2 * sigma * sigma));
      }
      const co = (cx >> 2) + n * K;
      for (let i = 0; i < K; i++) h[co + i] = 0;
      if (o.attention === 'hard') {
        // The choice is kept; the distribution stays in att for the REINFORCE gradient.
        let pick = lo;
        if (sampling) {
          let r = sampling.uniform();
          pick = hi - 1;
          for (let j = lo; j < hi; j++) {
            r -= h[ao + j];
            if (r < 0) { pick = j; break; }
          }
        } else for (let j = lo + 1; j < hi; j++) if (h[ao + j] > h[ao + pick]) pick = j;
        blocks.hard[t * N + n] = pick;
        const ko = (ctx.keys >> 2) + (n * S + pick) * K;
        for (let i = 0; i < K; i++) h[co + i] = h[ko + i];
        continue;
      }
      for (let j = lo; j < hi; j++) {
        const w = h[ao + j];
        const ko = (ctx.keys >> 2) + (n * S + j) * K;
        for (let i = 0; i < K; i++) h[co + i] += w * h[ko + i];
      }
    }
  }

  /** local-p: p = (len - 1) * sigmoid(v_p . tanh(W_p s)), stored with the sigmoid in pos[t]. */
  private predictPositions(ctx: AttentionContext, blocks: StepBlocks, t: number, query: number): void {
    const { N } = ctx;
    const { A, H } = this;
    const pp = blocks.pp + t * N * A * 4;
    gemm(this.rt, { transB: true, m: N, n: A, k: H, a: query, b: this.pv('decoder.attention.W_p'), c: pp });
    tanhForward(this.rt, { x: pp, y: pp, n: N * A });
    const h = this.heap();
    const vp = this.pv('decoder.attention.v_p') >> 2;
    for (let n = 0; n < N; n++) {
      let z = 0;
      for (let i = 0; i < A; i++) z += h[(pp >> 2) + n * A + i] * h[vp + i];
      const sg = 1 / (1 + Math.exp(-z));
      h[(blocks.pos >> 2) + (t * N + n) * 2] = (ctx.lens[n] - 1) * sg;
      h[(blocks.pos >> 2) + (t * N + n) * 2 + 1] = sg;
    }
  }

  /**
   * One decoder step for all N rows: reads sPrev[t] (and cPrev[t], and the
   * previous output `feed` for input feeding), writes s[t] and the output o
   * [N, H] at `out`. ids: the input token of each row.
   */
  private stepForward(ctx: AttentionContext, blocks: StepBlocks, t: number, stepIndex: number, ids: ArrayLike<number>, feed: number, out: number, sampling: Rng | null): void {
    const H = this.H, G = this.G, In = this.In, E = this.E, K = this.K, N = blocks.N;
    const o = this.options;
    const x = blocks.x + t * N * In * 4;
    const sPrev = blocks.sPrev + t * N * H * 4;
    const s = blocks.s + t * N * H * 4;
    let h = this.heap();
    // Input: [emb(y); context (bahdanau); previous attentional state (input feeding)].
    const table = this.pv('decoder.embedding.weight') >> 2;
    for (let n = 0; n < N; n++) {
      const id = ids[n];
      blocks.ids[t * N + n] = id;
      h.copyWithin((x >> 2) + n * In, table + id * E, table + id * E + E);
    }
    if (blocks.dropMask) {
      const m = (blocks.dropMask >> 2) + t * N * E;
      const keep = 1 / (1 - o.dropout);
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < E; i++) {
          const v = this.rng.uniform() < o.dropout ? 0 : keep;
          h[m + n * E + i] = v;
          h[(x >> 2) + n * In + i] *= v;
        }
      }
    }
    let col = E;
    if (o.attention === 'bahdanau') {
      this.attend(ctx, blocks, t, stepIndex, sPrev, sampling);
      h = this.heap();
      const cx = (blocks.ctx >> 2) + t * N * K;
      for (let n = 0; n < N; n++) h.copyWithin((x >> 2) + n * In + col, cx + n * K, cx + n * K + K);
      col += K;
    }
    if (o.inputFeeding) {
      for (let n = 0; n < N; n++) {
        if (feed) h.copyWithin((x >> 2) + n * In + col, (feed >> 2) + n * H, (feed >> 2) + n * H + H);
        else h.fill(0, (x >> 2) + n * In + col, (x >> 2) + n * In + col + H);
      }
    }
    // The cell: two products for the whole batch, then the gates in one pass.
    const gi = blocks.scratchGi, gh = blocks.scratchGh;
    gemm(this.rt, { transB: true, m: N, n: G * H, k: In, a: x, b: this.pv('decoder.cell.weight_ih'), c: gi });
    gemm(this.rt, { transB: true, m: N, n: G * H, k: H, a: sPrev, b: this.pv('decoder.cell.weight_hh'), c: gh });
    h = this.heap();
    const bi = this.pv('decoder.cell.bias_ih') >> 2, bh = this.pv('decoder.cell.bias_hh') >> 2;
    const gates = (blocks.gates >> 2) + t * N * G * H;
    const so = s >> 2, spo = sPrev >> 2;
    if (o.cell === 'gru') {
      const ghn = (blocks.ghn >> 2) + t * N * H;
      for (let n = 0; n < N; n++) {
        const go = n * G * H;
        for (let i = 0; i < H; i++) {
          const r = 1 / (1 + Math.exp(-(h[(gi >> 2) + go + i] + h[bi + i] + h[(gh >> 2) + go + i] + h[bh + i])));
          const z = 1 / (1 + Math.exp(-(h[(gi >> 2) + go + H + i] + h[bi + H + i] + h[(gh >> 2) + go + H + i] + h[bh + H + i])));
          const hn = h[(gh >> 2) + go + 2 * H + i] + h[bh + 2 * H + i];
          const nn = Math.tanh(h[(gi >> 2) + go + 2 * H + i] + h[bi + 2 * H + i] + r * hn);
          h[gates + go + i] = r;
          h[gates + go + H + i] = z;
          h[gates + go + 2 * H + i] = nn;
          h[ghn + n * H + i] = hn;
          h[so + n * H + i] = (1 - z) * nn + z * h[spo + n * H + i];
        }
      }
    } else {
      const cp = (blocks.cPrev >> 2) + t * N * H, c = (blocks.c >> 2) + t * N * H, tc = (blocks.tc >> 2) + t * N * H;
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      for (let n = 0; n < N; n++) {
        const go = n * G * H;
        for (let i = 0; i < H; i++) {
          const pre = (k: number) => h[(gi >> 2) + go + k * H + i] + h[bi + k * H + i] + h[(gh >> 2) + go + k * H + i] + h[bh + k * H + i];
          const ig = sig(pre(0)), fg = sig(pre(1)), gg = Math.tanh(pre(2)), og = sig(pre(3));
          const cv = fg * h[cp + n * H + i] + ig * gg;
          const tcv = Math.tanh(cv);
          h[gates + go + i] = ig;
          h[gates + go + H + i] = fg;
          h[gates + go + 2 * H + i] = gg;
          h[gates + go + 3 * H + i] = og;
          h[c + n * H + i] = cv;
          h[tc + n * H + i] = tcv;
          h[so + n * H + i] = og * tcv;
        }
      }
    }
    if (isLuong(o.attention)) {
      this.attend(ctx, blocks, t, stepIndex, s, sampling);
      h = this.heap();
      const comb = (blocks.comb >> 2) + t * N * (K + H);
      const cx = (blocks.ctx >> 2) + t * N * K;
      for (let n = 0; n < N; n++) {
        h.copyWithin(comb + n * (K + H), cx + n * K, cx + n * K + K);
        h.copyWithin(comb + n * (K + H) + K, so + n * H, so + n * H + H);
      }
      gemm(this.rt, { transB: true, m: N, n: H, k: K + H, a: blocks.comb + t * N * (K + H) * 4, b: this.pv('decoder.combine.weight'), c: out });
      tanhForward(this.rt, { x: out, y: out, n: N * H });
    } else {
      h.copyWithin(out >> 2, so, so + N * H);
    }
  }

  /** Copies state rows into step t's sPrev (and cPrev). */
  private setPrev(blocks: StepBlocks, t: number, s: number, c: number): void {
    const h = this.heap();
    const n = blocks.N * this.H;
    h.copyWithin((blocks.sPrev >> 2) + t * n, s >> 2, (s >> 2) + n);
    if (blocks.cPrev) {
      if (c) h.copyWithin((blocks.cPrev >> 2) + t * n, c >> 2, (c >> 2) + n);
      else h.fill(0, (blocks.cPrev >> 2) + t * n, (blocks.cPrev >> 2) + (t + 1) * n);
    }
  }

  /** logits [N, V] = o W_out^T + b for one step's rows (free-running inputs, decoding). */
  private projectRows(o: number, N: number, logits: number): void {
    gemm(this.rt, { transB: true, m: N, n: this.V, k: this.H, a: o, b: this.pv(this.outWeight()), c: logits });
    biasAddRows(this.rt, { y: logits, b: this.pv('decoder.out.bias'), rows: N, cols: this.V });
  }

  // ----- training forward and backward ------------------------------------------
  /**
   * Decoder outputs o [T, B, H] for teacher-forced inputs [T, B] (row-major ids),
   * with one backward entry for the whole time loop.
   */
  private decodeTrain(tape: Tape, keys: Variable, s0: Variable, c0: Variable | null, lens: Int32Array, S: number, inputs: Int32Array, T: number): Variable {
    const B = lens.length;
    const { H } = this;
    const ctx = this.attentionContext(tape, keys, lens, S);
    const blocks = this.allocSteps(tape, T, B, S);
    const out = tape.variable([T, B, H]);
    const logits = this.options.teacherForcing < 1 ? tape.tensor([B, this.V]).ptr : 0;
    const sampling = this.options.attention === 'hard' && tape.training ? this.rng : null;
    let ids: ArrayLike<number> = inputs.subarray(0, B);
    for (let t = 0; t < T; t++) {
      if (t === 0) this.setPrev(blocks, 0, s0.ptr, c0 ? c0.ptr : 0);
      else this.setPrev(blocks, t, blocks.s + (t - 1) * B * H * 4, blocks.c ? blocks.c + (t - 1) * B * H * 4 : 0);
      if (t > 0) {
        ids = inputs.subarray(t * B, (t + 1) * B);
        if (logits && this.rng.uniform() >= this.options.teacherForcing) {
          // Free-running step: feed the model's own argmax (no gradient through the choice, as in torch's .detach()).
          this.projectRows(out.ptr + (t - 1) * B * H * 4, B, logits);
          const h = this.heap();
          const free = new Int32Array(B);
          for (let b = 0; b < B; b++) {
            let best = 0;
            for (let v = 1; v < this.V; v++) if (h[(logits >> 2) + b * this.V + v] > h[(logits >> 2) + b * this.V + best]) best = v;
            // Rows past their target keep <pad>: their outputs are not scored.
            free[b] = inputs[t * B + b] === SEQ_PAD ? SEQ_PAD : best;
          }
          ids = free;
        }
      }
      this.stepForward(ctx, blocks, t, t, ids, t > 0 ? out.ptr + (t - 1) * B * H * 4 : 0, out.ptr + t * B * H * 4, sampling);
    }
    tape.record('Seq2Seq.decoder', () => this.decodeBackward(tape, ctx, blocks, keys, s0, c0, out, T));
    return out;
  }

  private decodeBackward(tape: Tape, ctx: AttentionContext, blocks: StepBlocks, keys: Variable, s0: Variable, c0: Variable | null, out: Variable, T: number): void {
    if (!out.hasGrad) return;
    const { H, G, In, E, K, A } = this;
    const N = blocks.N, S = ctx.S;
    const o = this.options;
    const rt = this.rt;
    const luong = isLuong(o.attention);
    // Gradient buffers (allocated before any view is taken).
    const dOut = out.grad().ptr;
    const dS = tape.tensor([N * H]).ptr, dSPrev = tape.tensor([N * H]).ptr;
    const dC = blocks.c ? tape.tensor([N * H]).ptr : 0, dCPrev = blocks.c ? tape.tensor([N * H]).ptr : 0;
    const dFeed = o.inputFeeding ? tape.tensor([N * H]).ptr : 0;
    const dGi = tape.tensor([T * N * G * H]).ptr, dGh = tape.tensor([T * N * G * H]).ptr;
    const dX = tape.tensor([N * In]).ptr;
    const dPreC = luong ? tape.tensor([T * N * H]).ptr : 0;
    const dComb = luong ? tape.tensor([N * (K + H)]).ptr : 0;
    const dCtx = o.attention !== 'none' ? tape.tensor([N * K]).ptr : 0;
    const dKeys = o.attention !== 'none' ? tape.tensor([N * S * K]).ptr : 0;
    const hkW = this.score === 'additive' ? A : H;
    const dHk = this.score === 'additive' || this.score === 'general' ? tape.tensor([N * S * hkW]).ptr : 0;
    const dQ = this.score === 'additive' ? tape.tensor([T * N * A]).ptr : 0;
    const dPP = o.attention === 'local-p' ? tape.tensor([T * N * A]).ptr : 0;
    const dE = o.attention !== 'none' ? tape.tensor([N * S]).ptr : 0;
    const embGrad = this.pg('decoder.embedding.weight') >> 2;
    const queryAll = o.attention === 'bahdanau' ? blocks.sPrev : blocks.s;

    let cur = dS, prev = dSPrev, curC = dC, prevC = dCPrev;
    for (let t = T - 1; t >= 0; t--) {
      let h = this.heap();
      const oo = (dOut >> 2) + t * N * H;
      // Gradient of this step's output o_t (plus what the next step's input feeding sent back).
      if (luong) {
        const outv = (out.ptr >> 2) + t * N * H;
        const dp = (dPreC >> 2) + t * N * H;
        for (let i = 0; i < N * H; i++) {
          const g = h[oo + i] + (dFeed ? h[(dFeed >> 2) + i] : 0);
          h[dp + i] = g * (1 - h[outv + i] * h[outv + i]);
        }
        gemm(rt, { m: N, n: K + H, k: H, a: dPreC + t * N * H * 4, b: this.pv('decoder.combine.weight'), c: dComb });
        h = this.heap();
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < K; i++) h[(dCtx >> 2) + n * K + i] = h[(dComb >> 2) + n * (K + H) + i];
          for (let i = 0; i < H; i++) h[(cur >> 2) + n * H + i] += h[(dComb >> 2) + n * (K + H) + K + i];
        }
        this.attendBackward(ctx, blocks, t, blocks.s + t * N * H * 4, cur, { dCtx, dKeys, dHk, dQ, dPP, dE });
      } else {
        for (let i = 0; i < N * H; i++) h[(cur >> 2) + i] += h[oo + i];
      }
      // Cell backward: dgi, dgh for step t; d sPrev = (z or dgh W_hh) ...
      h = this.heap();
      const gates = (blocks.gates >> 2) + t * N * G * H;
      const dgi = (dGi >> 2) + t * N * G * H, dgh = (dGh >> 2) + t * N * G * H;
      const sp = (blocks.sPrev >> 2) + t * N * H;
      if (o.cell === 'gru') {
        const ghn = (blocks.ghn >> 2) + t * N * H;
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < H; i++) {
            const go = n * G * H;
            const r = h[gates + go + i], z = h[gates + go + H + i], nn = h[gates + go + 2 * H + i];
            const ds = h[(cur >> 2) + n * H + i];
            const dn = ds * (1 - z) * (1 - nn * nn);
            const dz = ds * (h[sp + n * H + i] - nn) * z * (1 - z);
            const dr = dn * h[ghn + n * H + i] * r * (1 - r);
            h[dgi + go + i] = dr; h[dgh + go + i] = dr;
            h[dgi + go + H + i] = dz; h[dgh + go + H + i] = dz;
            h[dgi + go + 2 * H + i] = dn; h[dgh + go + 2 * H + i] = dn * r;
            h[(prev >> 2) + n * H + i] = ds * z;
          }
        }
      } else {
        const cp = (blocks.cPrev >> 2) + t * N * H, tc = (blocks.tc >> 2) + t * N * H;
        for (let n = 0; n < N; n++) {
          for (let i = 0; i < H; i++) {
            const go = n * G * H;
            const ig = h[gates + go + i], fg = h[gates + go + H + i], gg = h[gates + go + 2 * H + i], og = h[gates + go + 3 * H + i];
            const dh = h[(cur >> 2) + n * H + i];
            const tcv = h[tc + n * H + i];
            const dc = h[(curC >> 2) + n * H + i] + dh * og * (1 - tcv * tcv);
            const di = dc * gg * ig * (1 - ig), df = dc * h[cp + n * H + i] * fg * (1 - fg);
            const dg = dc * ig * (1 - gg * gg), dog = dh * tcv * og * (1 - og);
            h[dgi + go + i] = di; h[dgi + go + H + i] = df; h[dgi + go + 2 * H + i] = dg; h[dgi + go + 3 * H + i] = dog;
            h[(prevC >> 2) + n * H + i] = dc * fg;
            h[(prev >> 2) + n * H + i] = 0;
          }
        }
        h.copyWithin(dgh, dgi, dgi + N * G * H);
      }
      gemm(rt, { m: N, n: H, k: G * H, a: dGh + t * N * G * H * 4, b: this.pv('decoder.cell.weight_hh'), beta: 1, c: prev });
      gemm(rt, { m: N, n: In, k: G * H, a: dGi + t * N * G * H * 4, b: this.pv('decoder.cell.weight_ih'), c: dX });
      h = this.heap();
      // Input gradients: embedding rows, context (bahdanau), fed state (input feeding).
      const dm = blocks.dropMask ? (blocks.dropMask >> 2) + t * N * E : -1;
      for (let n = 0; n < N; n++) {
        const id = blocks.ids[t * N + n];
        if (id === SEQ_PAD) continue;
        const xo = (dX >> 2) + n * In;
        for (let i = 0; i < E; i++) h[embGrad + id * E + i] += dm >= 0 ? h[xo + i] * h[dm + n * E + i] : h[xo + i];
      }
      let col = E;
      if (o.attention === 'bahdanau') {
        for (let n = 0; n < N; n++) for (let i = 0; i < K; i++) h[(dCtx >> 2) + n * K + i] = h[(dX >> 2) + n * In + col + i];
        col += K;
        this.attendBackward(ctx, blocks, t, blocks.sPrev + t * N * H * 4, prev, { dCtx, dKeys, dHk, dQ, dPP, dE });
        h = this.heap();
      }
      if (dFeed) for (let n = 0; n < N; n++) for (let i = 0; i < H; i++) h[(dFeed >> 2) + n * H + i] = h[(dX >> 2) + n * In + col + i];
      // Clear the consumed accumulator and swap.
      h.fill(0, cur >> 2, (cur >> 2) + N * H);
      if (curC) h.fill(0, curC >> 2, (curC >> 2) + N * H);
      [cur, prev] = [prev, cur];
      [curC, prevC] = [prevC, curC];
    }
    // cur holds d s0 (and curC d c0).
    let h = this.heap();
    if (s0.requiresGrad) {
      const g = s0.grad().ptr >> 2;
      h = this.heap();
      for (let i = 0; i < N * H; i++) h[g + i] += h[(cur >> 2) + i];
    }
    if (c0 && c0.requiresGrad && curC) {
      const g = c0.grad().ptr >> 2;
      h = this.heap();
      for (let i = 0; i < N * H; i++) h[g + i] += h[(curC >> 2) + i];
    }
    // Weight gradients: one product each over all T*N rows.
    const rows = T * N;
    gemm(rt, { transA: true, m: G * H, n: In, k: rows, a: dGi, b: blocks.x, beta: 1, c: this.pg('decoder.cell.weight_ih') });
    gemm(rt, { transA: true, m: G * H, n: H, k: rows, a: dGh, b: blocks.sPrev, beta: 1, c: this.pg('decoder.cell.weight_hh') });
    biasAddRowsBackward(rt, { dy: dGi, db: this.pg('decoder.cell.bias_ih'), rows, cols: G * H });
    biasAddRowsBackward(rt, { dy: dGh, db: this.pg('decoder.cell.bias_hh'), rows, cols: G * H });
    if (luong) gemm(rt, { transA: true, m: H, n: K + H, k: rows, a: dPreC, b: blocks.comb, beta: 1, c: this.pg('decoder.combine.weight') });
    if (this.score === 'additive') {
      const bahdanau = o.attention === 'bahdanau';
      const ws = bahdanau ? { g: this.pg('decoder.attention.W_s'), ld: H } : { g: this.pg('decoder.attention.W'), ld: H + K };
      gemm(rt, { transA: true, m: A, n: H, k: rows, a: dQ, b: queryAll, beta: 1, c: ws.g, ldc: ws.ld });
      const wh = bahdanau ? { w: this.pv('decoder.attention.W_h'), g: this.pg('decoder.attention.W_h'), ld: K } : { w: this.pv('decoder.attention.W') + H * 4, g: this.pg('decoder.attention.W') + H * 4, ld: H + K };
      gemm(rt, { transA: true, m: A, n: K, k: N * S, a: dHk, b: ctx.keys, beta: 1, c: wh.g, ldc: wh.ld });
      biasAddRowsBackward(rt, { dy: dHk, db: this.pg('decoder.attention.b'), rows: N * S, cols: A });
      gemm(rt, { m: N * S, n: K, k: A, a: dHk, b: wh.w, ldb: wh.ld, beta: 1, c: dKeys });
    } else if (this.score === 'general') {
      gemm(rt, { transA: true, m: H, n: K, k: N * S, a: dHk, b: ctx.keys, beta: 1, c: this.pg('decoder.attention.W') });
      gemm(rt, { m: N * S, n: K, k: H, a: dHk, b: this.pv('decoder.attention.W'), beta: 1, c: dKeys });
    }
    if (o.attention === 'local-p') gemm(rt, { transA: true, m: A, n: H, k: rows, a: dPP, b: blocks.s, beta: 1, c: this.pg('decoder.attention.W_p') });
    if (dKeys && keys.requiresGrad) {
      // Back to the encoder's time-major layout [S, B, K].
      const g = keys.grad().ptr >> 2;
      h = this.heap();
      for (let n = 0; n < N; n++) for (let j = 0; j < S; j++) for (let i = 0; i < K; i++) h[g + (j * N + n) * K + i] += h[(dKeys >> 2) + (n * S + j) * K + i];
    }
  }

  /**
   * Backward of attend() at step t: dCtx [N, K] in; adds into dQuery [N, H]
   * (the query's gradient), dKeys, dHk, the scorer's parameter gradients.
   */
  private attendBackward(ctx: AttentionContext, blocks: StepBlocks, t: number, query: number, dQuery: number,
    g: { dCtx: number; dKeys: number; dHk: number; dQ: number; dPP: number; dE: number }): void {
    const { N, S } = ctx;
    const { K, A, H } = this;
    const o = this.options;
    let h = this.heap();
    const att = (blocks.att >> 2) + t * N * S;
    const dE = g.dE >> 2;
    const sigma = o.window / 2;
    const posO = blocks.pos >> 2;
    for (let n = 0; n < N; n++) {
      const [lo, hi] = this.window(ctx, blocks, t, n, t, h);
      const co = (g.dCtx >> 2) + n * K;
      const ao = att + n * S;
      for (let j = 0; j < S; j++) h[dE + n * S + j] = 0;
      if (o.attention === 'hard') {
        const pick = blocks.hard[t * N + n];
        const ko = (g.dKeys >> 2) + (n * S + pick) * K;
        for (let i = 0; i < K; i++) h[ko + i] += h[co + i];
        // REINFORCE: d(-(R - b) log a_pick)/de_j = (R - b) (a_j - [j = pick]) / N, R the row's reward.
        const adv = this.hardAdvantage ? this.hardAdvantage[n] : 0;
        for (let j = lo; j < hi; j++) h[dE + n * S + j] = (adv * (h[ao + j] - (j === pick ? 1 : 0))) / N;
        continue;
      }
      // da_j = dctx . k_j ; dk_j += a_j dctx
      const da = new Float64Array(hi - lo);
      for (let j = lo; j < hi; j++) {
        const ko = (ctx.keys >> 2) + (n * S + j) * K;
        const dko = (g.dKeys >> 2) + (n * S + j) * K;
        const w = h[ao + j];
        let s = 0;
        for (let i = 0; i < K; i++) {
          s += h[co + i] * h[ko + i];
          h[dko + i] += w * h[co + i];
        }
        da[j - lo] = s;
      }
      if (o.attention === 'local-p') {
        // a_j = sm_j gauss_j: through the softmax and through the position p.
        const p = h[posO + (t * N + n) * 2], sg = h[posO + (t * N + n) * 2 + 1];
        let dp = 0;
        const sm = new Float64Array(hi - lo);
        for (let j = lo; j < hi; j++) {
          const gauss = Math.exp(-((j - p) ** 2) / (2 * sigma * sigma));
          sm[j - lo] = h[ao + j] / gauss;
          dp += da[j - lo] * h[ao + j] * ((j - p) / (sigma * sigma));
          da[j - lo] *= gauss;
        }
        let dot = 0;
        for (let j = lo; j < hi; j++) dot += sm[j - lo] * da[j - lo];
        for (let j = lo; j < hi; j++) h[dE + n * S + j] = sm[j - lo] * (da[j - lo] - dot);
        const dz = dp * (ctx.lens[n] - 1) * sg * (1 - sg);
        const pp = (blocks.pp >> 2) + t * N * A + n * A;
        const vp = this.pv('decoder.attention.v_p') >> 2, dvp = this.pg('decoder.attention.v_p') >> 2;
        const dpp = (g.dPP >> 2) + t * N * A + n * A;
        for (let i = 0; i < A; i++) {
          h[dvp + i] += dz * h[pp + i];
          h[dpp + i] = dz * h[vp + i] * (1 - h[pp + i] * h[pp + i]);
        }
      } else {
        let dot = 0;
        for (let j = lo; j < hi; j++) dot += h[ao + j] * da[j - lo];
        for (let j = lo; j < hi; j++) h[dE + n * S + j] = h[ao + j] * (da[j - lo] - dot);
      }
    }
    if (o.attention === 'local-p') {
      gemm(this.rt, { m: N, n: H, k: A, a: g.dPP + t * N * A * 4, b: this.pv('decoder.attention.W_p'), beta: 1, c: dQuery });
      h = this.heap();
    }
    // Scores backward.
    if (this.score === 'additive') {
      const u = (blocks.u >> 2) + t * N * S * A;
      const v = this.pv('decoder.attention.v') >> 2, dv = this.pg('decoder.attention.v') >> 2;
      const dq = (g.dQ >> 2) + t * N * A;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < A; i++) h[dq + n * A + i] = 0;
        for (let j = 0; j < ctx.lens[n]; j++) {
          const de = h[dE + n * S + j];
          if (de === 0) continue;
          const uo = u + (n * S + j) * A, dho = (g.dHk >> 2) + (n * S + j) * A;
          for (let i = 0; i < A; i++) {
            const uv = h[uo + i];
            h[dv + i] += de * uv;
            const dpre = de * h[v + i] * (1 - uv * uv);
            h[dho + i] += dpre;
            h[dq + n * A + i] += dpre;
          }
        }
      }
      const bahdanau = o.attention === 'bahdanau';
      const ws = bahdanau ? { w: this.pv('decoder.attention.W_s'), ld: H } : { w: this.pv('decoder.attention.W'), ld: H + K };
      gemm(this.rt, { m: N, n: H, k: A, a: g.dQ + t * N * A * 4, b: ws.w, ldb: ws.ld, beta: 1, c: dQuery });
    } else {
      const W = this.score === 'dot' ? K : H;
      const target = this.score === 'dot' ? g.dKeys >> 2 : g.dHk >> 2;
      for (let n = 0; n < N; n++) {
        const qo = (query >> 2) + n * H, dqo = (dQuery >> 2) + n * H;
        for (let j = 0; j < ctx.lens[n]; j++) {
          const de = h[dE + n * S + j];
          if (de === 0) continue;
          const ko = (ctx.hk >> 2) + (n * S + j) * W, to = target + (n * S + j) * W;
          for (let i = 0; i < H; i++) {
            h[dqo + i] += de * h[ko + i];
            h[to + i] += de * h[qo + i];
          }
        }
      }
    }
  }

  // ----- public API ------------------------------------------------------------------
  /** Decoder inputs and loss targets [T, B] for a batch: <sos> y_1..y_L and y_1..y_L <eos>. */
  private targetsOf(targets: ArrayLike<number>[], B: number): { inputs: Int32Array; labels: Int32Array; T: number } {
    if (!Array.isArray(targets) || targets.length !== B) throw new ShapeError(`targets must be an array of ${B} id sequences (one per source), got ${Array.isArray(targets) ? targets.length : typeof targets}`);
    const V = this.V;
    targets.forEach((y, b) => {
      for (let i = 0; i < y.length; i++) if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= V) throw new RangeError(`targets[${b}][${i}] = ${y[i]} is outside the target vocabulary [0, ${V})`);
    });
    const T = Math.max(...targets.map((y) => y.length)) + 1;
    const inputs = new Int32Array(T * B);
    const labels = new Int32Array(T * B).fill(IGNORE);
    for (let b = 0; b < B; b++) {
      const y = targets[b];
      inputs[b] = SEQ_SOS;
      for (let i = 0; i < y.length; i++) {
        inputs[(i + 1) * B + b] = y[i];
        labels[i * B + b] = y[i];
      }
      labels[y.length * B + b] = SEQ_EOS;
    }
    return { inputs, labels, T };
  }

  /** Decoder outputs o [T, B, H] of a teacher-forced pass (on the tape). */
  forwardOutputs(batch: Seq2SeqBatch): { outputs: Variable; labels: Int32Array; T: number } {
    this.checkSources(batch.sources);
    const B = batch.sources.length;
    const { inputs, labels, T } = this.targetsOf(batch.targets!, B);
    const tape = this.tape;
    const enc = this.encode(tape, batch.sources);
    const outputs = this.decodeTrain(tape, enc.keys, enc.s0, enc.c0, enc.lens, enc.S, inputs, T);
    return { outputs, labels, T };
  }

  /** logits [rows, V] = x W_out^T + b on the tape (ONE product for all steps). */
  private project(tape: Tape, x: Variable): Variable {
    const rows = x.size / this.H;
    const y = tape.variable([rows, this.V]);
    this.projectRows(x.ptr, rows, y.ptr);
    tape.record('Seq2Seq.out', () => {
      if (!y.hasGrad) return;
      const dy = y.grad().ptr;
      gemm(this.rt, { transA: true, m: this.V, n: this.H, k: rows, a: dy, b: x.ptr, beta: 1, c: this.pg(this.outWeight()) });
      biasAddRowsBackward(this.rt, { dy, db: this.pg('decoder.out.bias'), rows, cols: this.V });
      if (x.requiresGrad) gemm(this.rt, { m: rows, n: this.H, k: this.V, a: dy, b: this.pv(this.outWeight()), beta: 1, c: x.grad().ptr });
    });
    return y;
  }

  /** Mean cross-entropy per target token (<eos> included, padding ignored). */
  loss(batch: Seq2SeqBatch): number {
    if (!batch || !batch.targets) throw new ShapeError('loss(batch) needs batch.targets');
    const { outputs, labels } = this.forwardOutputs(batch);
    const logits = this.project(this.tape, this.dropOutput.forward(this.tape, outputs));
    if (this.options.attention === 'hard' && this.tape.training) this.setHardRewards(logits, labels, batch.sources.length);
    return crossEntropyLoss(this.tape, logits, labels, { ignoreIndex: IGNORE });
  }

  /** Hard attention's REINFORCE signal: reward = -(the row's mean token NLL), centred on a moving baseline. */
  private setHardRewards(logits: Variable, labels: Int32Array, B: number): void {
    const V = this.V;
    const h = this.heap();
    const lo = logits.ptr >> 2;
    const nll = new Float64Array(B), count = new Float64Array(B);
    for (let r = 0; r < labels.length; r++) {
      const y = labels[r];
      if (y === IGNORE) continue;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, h[lo + r * V + v]);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(h[lo + r * V + v] - max);
      const b = r % B;
      nll[b] += max + Math.log(s) - h[lo + r * V + y];
      count[b]++;
    }
    const reward = Float32Array.from(nll, (x, b) => -x / Math.max(1, count[b]));
    const mean = reward.reduce((a, b) => a + b, 0) / B;
    if (!this.hardBaselineSet) {
      this.hardBaseline = mean;
      this.hardBaselineSet = true;
    }
    this.hardAdvantage = reward.map((r) => r - this.hardBaseline);
    this.hardBaseline = 0.9 * this.hardBaseline + 0.1 * mean;
  }

  /**
   * Decodes a batch of sources (eval mode; nothing recorded). Greedy and sampling
   * run all B rows together; beam search runs B*k rows together.
   */
  decode(sources: ArrayLike<number>[], options: DecodeOptions = {}): DecodeResult[] {
    this.checkSources(sources);
    const method = options.method ?? 'greedy';
    if (method !== 'greedy' && method !== 'sample' && method !== 'beam') throw new RangeError(`method must be 'greedy', 'sample' or 'beam', got ${String(method)}`);
    const maxLength = options.maxLength ?? 10;
    checkSize('maxLength', maxLength, 1);
    // Past these an untrained model decodes for minutes (every row to maxLength) or runs out of memory.
    if (maxLength > 10000) throw new RangeError(`maxLength must be an integer in 1..10000, got ${maxLength}`);
    const wasTraining = this.training;
    this.eval();
    try {
      this.tape.reset();
      if (method === 'beam') {
        const k = options.beamSize ?? 5;
        checkSize('beamSize', k, 1);
        if (k > 1000) throw new RangeError(`beamSize must be an integer in 1..1000, got ${k}`);
        const alpha = options.lengthPenalty ?? 1;
        if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new RangeError(`lengthPenalty must be a finite number >= 0, got ${alpha}`);
        return this.beamSearch(sources, k, maxLength, alpha);
      }
      const temperature = method === 'sample' ? options.temperature ?? 1 : 0;
      if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be a finite number >= 0, got ${temperature}`);
      return this.sampleOrGreedy(sources, maxLength, temperature, options.rng ?? new Rng(0));
    } finally {
      this.tape.reset();
      if (wasTraining) this.train();
    }
  }

  /** Encodes, prepares attention over `repeat` copies of each row, returns a step runner. */
  private decoderRunner(sources: ArrayLike<number>[], repeat: number) {
    const tape = this.tape;
    const B = sources.length;
    const N = B * repeat;
    const { H, V } = this;
    const enc = this.encode(tape, sources);
    const ctx = this.attentionContext(tape, enc.keys, enc.lens, enc.S, repeat);
    // Row state: s, c, previous output (input feeding), each [N, H].
    let s = tape.tensor([N * H]).ptr, c = tape.tensor([N * H]).ptr, feed = tape.tensor([N * H]).ptr;
    let h = this.heap();
    for (let n = 0; n < N; n++) {
      const b = Math.floor(n / repeat);
      h.copyWithin((s >> 2) + n * H, (enc.s0.ptr >> 2) + b * H, (enc.s0.ptr >> 2) + b * H + H);
      if (enc.c0) h.copyWithin((c >> 2) + n * H, (enc.c0.ptr >> 2) + b * H, (enc.c0.ptr >> 2) + b * H + H);
    }
    const logits = tape.tensor([N * V]).ptr;
    const out = tape.tensor([N * H]).ptr;
    const S = enc.S;
    const self = this;
    return {
      N, S, ctx,
      /** Runs step `step` with `ids` [N]; returns log-probabilities [N, V] (a copy) and attention [N, S] (a copy, original source order). */
      step(step: number, ids: Int32Array): { logp: Float32Array; att: Float32Array } {
        const blocks = self.allocSteps(tape, 1, N, S);
        self.setPrev(blocks, 0, s, enc.c0 || self.options.cell === 'lstm' ? c : 0);
        self.stepForward(ctx, blocks, 0, step, ids, step > 0 && self.options.inputFeeding ? feed : 0, out, null);
        self.projectRows(out, N, logits);
        const hh = self.heap();
        hh.copyWithin(s >> 2, blocks.s >> 2, (blocks.s >> 2) + N * H);
        if (blocks.c) hh.copyWithin(c >> 2, blocks.c >> 2, (blocks.c >> 2) + N * H);
        hh.copyWithin(feed >> 2, out >> 2, (out >> 2) + N * H);
        const logp = hh.slice(logits >> 2, (logits >> 2) + N * V);
        for (let n = 0; n < N; n++) {
          let max = -Infinity;
          for (let v = 0; v < V; v++) max = Math.max(max, logp[n * V + v]);
          let sum = 0;
          for (let v = 0; v < V; v++) sum += Math.exp(logp[n * V + v] - max);
          const lse = max + Math.log(sum);
          for (let v = 0; v < V; v++) logp[n * V + v] -= lse;
        }
        const att = new Float32Array(N * S);
        if (self.options.attention !== 'none') {
          const src = blocks.att >> 2;
          for (let n = 0; n < N; n++) {
            const L = ctx.lens[n];
            if (self.options.attention === 'hard') {
              const j = blocks.hard[n];
              att[n * S + (self.options.reverseSource ? L - 1 - j : j)] = 1;
              continue;
            }
            for (let j = 0; j < L; j++) att[n * S + (self.options.reverseSource ? L - 1 - j : j)] = hh[src + n * S + j];
          }
        }
        return { logp, att };
      },
      /** Reorders the row states: row n takes the state of row from[n]. */
      reorder(from: Int32Array): void {
        const hh = self.heap();
        for (const p of [s, c, feed]) {
          const copy = hh.slice(p >> 2, (p >> 2) + N * H);
          for (let n = 0; n < N; n++) hh.set(copy.subarray(from[n] * H, from[n] * H + H), (p >> 2) + n * H);
        }
      },
    };
  }

  private sampleOrGreedy(sources: ArrayLike<number>[], maxLength: number, temperature: number, rng: Rng): DecodeResult[] {
    const B = sources.length;
    const V = this.V;
    const run = this.decoderRunner(sources, 1);
    const results: DecodeResult[] = sources.map(() => ({ tokens: [], score: 0, tokenScores: [], attention: [], finished: false }));
    let ids = new Int32Array(B).fill(SEQ_SOS);
    const w = new Float64Array(V);
    for (let step = 0; step < maxLength + 1; step++) {
      const { logp, att } = run.step(step, ids);
      const next = new Int32Array(B);
      let active = 0;
      for (let b = 0; b < B; b++) {
        const r = results[b];
        if (r.finished) {
          next[b] = SEQ_EOS;
          continue;
        }
        let pick = 0;
        if (temperature === 0) {
          for (let v = 1; v < V; v++) if (logp[b * V + v] > logp[b * V + pick]) pick = v;
        } else {
          let max = -Infinity;
          for (let v = 0; v < V; v++) max = Math.max(max, logp[b * V + v]);
          for (let v = 0; v < V; v++) w[v] = Math.exp((logp[b * V + v] - max) / temperature);
          pick = rng.categorical(w);
        }
        // At the length limit only <eos> would be scored; stop without it.
        if (step === maxLength && pick !== SEQ_EOS) continue;
        r.score += logp[b * V + pick];
        if (pick === SEQ_EOS) {
          r.finished = true;
        } else {
          r.tokens.push(pick);
          r.tokenScores.push(logp[b * V + pick]);
          r.attention.push(att.slice(b * run.S, b * run.S + sources[b].length));
          active++;
        }
        next[b] = pick;
      }
      if (active === 0) break;
      ids = next;
    }
    return results;
  }

  private beamSearch(sources: ArrayLike<number>[], k: number, maxLength: number, alpha: number): DecodeResult[] {
    const B = sources.length;
    const V = this.V;
    const run = this.decoderRunner(sources, k);
    const S = run.S;
    interface Hyp { tokens: number[]; tokenScores: number[]; attention: Float32Array[]; score: number }
    // Beam row b*k + i; at the start only beam 0 of each source is live (the others are copies).
    let beams: (Hyp | null)[] = Array.from({ length: B * k }, (_, n) => (n % k === 0 ? { tokens: [], tokenScores: [], attention: [], score: 0 } : null));
    const finished: { hyp: Hyp; score: number; rank: number; finishedFlag: boolean }[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    let ids = new Int32Array(B * k).fill(SEQ_SOS);
    const rank = (score: number, len: number) => (alpha === 0 ? score : score / Math.pow(Math.max(1, len), alpha));
    for (let step = 0; step <= maxLength; step++) {
      const { logp, att } = run.step(step, ids);
      const from = new Int32Array(B * k);
      const nextIds = new Int32Array(B * k).fill(SEQ_EOS);
      const nextBeams: (Hyp | null)[] = new Array(B * k).fill(null);
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        // The k best (score, row, token) extensions of source b's live beams.
        const best: { score: number; row: number; tok: number }[] = [];
        for (let i = 0; i < k; i++) {
          const row = b * k + i;
          const hyp = beams[row];
          if (!hyp) continue;
          for (let v = 0; v < V; v++) {
            if (v === SEQ_PAD || v === SEQ_SOS) continue;
            const sc = hyp.score + logp[row * V + v];
            if (best.length === k && sc <= best[k - 1].score) continue;
            let at = best.length;
            while (at > 0 && best[at - 1].score < sc) at--;
            best.splice(at, 0, { score: sc, row, tok: v });
            if (best.length > k) best.pop();
          }
        }
        let slot = 0;
        for (const cand of best) {
          const hyp = beams[cand.row]!;
          if (cand.tok === SEQ_EOS) {
            finished[b].push({ hyp: { ...hyp, score: cand.score }, score: cand.score, rank: rank(cand.score, hyp.tokens.length + 1), finishedFlag: true });
            continue;
          }
          // Past the length limit only <eos> can follow (as in greedy decoding, which stops there).
          if (step === maxLength) continue;
          const row = b * k + slot++;
          from[row] = cand.row;
          nextIds[row] = cand.tok;
          nextBeams[row] = {
            tokens: [...hyp.tokens, cand.tok],
            tokenScores: [...hyp.tokenScores, logp[cand.row * V + cand.tok]],
            attention: [...hyp.attention, att.slice(cand.row * S, cand.row * S + sources[b].length)],
            score: cand.score,
          };
        }
        for (let i = slot; i < k; i++) from[b * k + i] = b * k;
        if (finished[b].length >= k || slot === 0) done[b] = 1;
      }
      if (done.every((d) => d === 1) || step === maxLength) break;
      beams = nextBeams;
      ids = nextIds;
      run.reorder(from);
    }
    return sources.map((_, b) => {
      let pool = finished[b];
      if (pool.length === 0) {
        pool = [];
        for (let i = 0; i < k; i++) {
          const hyp = beams[b * k + i];
          if (hyp) pool.push({ hyp, score: hyp.score, rank: rank(hyp.score, hyp.tokens.length), finishedFlag: false });
        }
      }
      let top = pool[0];
      for (const p of pool) if (p.rank > top.rank) top = p;
      return { tokens: top.hyp.tokens, score: top.score, tokenScores: top.hyp.tokenScores, attention: top.hyp.attention, finished: top.finishedFlag };
    });
  }
}
