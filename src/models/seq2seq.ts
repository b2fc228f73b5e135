// Sequence to sequence with attention (Sutskever et al. 2014; Bahdanau et al.
// 2015; Luong et al. 2015), trained on the tape.
//
//   source ids [S, B] -> Embedding -> dropout -> encoder RNN/LSTM/GRU (numLayers,
//   bidirectional) -> keys [S, B, K], K = D*H
//   decoder, per target step t (inputs <sos> y_1 .. y_{T-1}, teacher forcing):
//     bahdanau:      c_t = attend(s_{t-1}); s_t = cell([emb(y_{t-1}); c_t], s_{t-1}); o_t = s_t
//     luong-*:       s_t = cell([emb(y_{t-1}); o_{t-1} if inputFeeding], s_{t-1});
//                    c_t = attend(s_t); o_t = tanh(W_c [c_t; s_t])   (the attentional state)
//     local-m/-p:    as luong-general, attention inside a window around p (LocalAttention)
//     hard:          as luong-general, the context is ONE key: sampled from the weights in
//                    training (REINFORCE, per-token rewards: setHardRewards), the argmax
//                    at inference
//     none:          s_t = cell(emb(y_{t-1}), s_{t-1}); o_t = s_t
//   logits [T*B, V] = o W_out^T + b: ONE product for all steps, then ONE fused softmax
//   cross-entropy (crossEntropyLoss) with the padding rows ignored.
//
// The decoder's initial state: the encoder's top layer's final state; with a
// bidirectional encoder, the SUM of its forward and backward final states
// (both [B, H]), so the decoder keeps hidden size H and needs no bridge layer.
// An LSTM decoder takes c0 the same way from an LSTM encoder, zeros otherwise.
//
// Nothing here is arithmetic of its own: the decoder is the shared step cell
// (GRUCell / LSTMCell through the cell() tape op, one wasm call per step for the
// whole batch each way), the shared attention layers through their tape ops
// (attentionMemory once per batch: the key-side product; then one attention,
// localAttention or hardAttention call per step), Linear for Luong's combine
// layer and the output, and the tensor ops (concat, stack, gatherRows, ...).
// Per decoder step the whole batch goes through a handful of wasm calls; the
// backward is the tape's replay of those ops.
//
// Parameter names (torch style): encoder.embedding.weight, encoder.rnn.* (torch.nn.GRU/LSTM/RNN),
// decoder.embedding.weight, decoder.cell.{weight_ih, weight_hh, bias_ih, bias_hh}
// (torch.nn.GRUCell / LSTMCell), decoder.attention.* (the attention layers' names: bahdanau
// W_s, W_h, b, v; luong-general, local-m, hard: W; luong-concat: W [A, H+K], b, v; local-p:
// W, W_p, v_p), decoder.combine.weight [H, K+H] (Luong's W_c, no bias), decoder.out.{weight,
// bias} (weight absent when tied to decoder.embedding.weight).
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ParameterSpec } from '../runtime/tensor.js';
import { Attention, attentionParameterSpecs } from '../layers/attention.js';
import { attention, attentionMemory, hardAttention, localAttention, type AttentionTapeMemory, type HardAttentionTapeOutputs } from '../layers/attention-tape.js';
import { cellParameterSpecs, RecurrentCell } from '../layers/cells.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { HardAttention } from '../layers/hard-attention.js';
import { initUniform, Linear } from '../layers/linear.js';
import { LocalAttention } from '../layers/local-attention.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { cell, recurrent, selectFirstAxis, tanh } from '../layers/ops.js';
import type { RecurrentLayer } from '../layers/recurrent.js';
import { add, argmaxRows, concat, gatherRows, logSoftmax, matmul, parameter, stack, swapLeadingAxes } from '../layers/tensor-ops.js';
import { Model, type LayerPlan } from '../train/model.js';
import { Rng } from '../train/rng.js';
import type { Tape, Variable } from '../train/tape.js';
import { checkCell, makeRecurrent, recurrentSpecs, type CellName } from './common.js';
import { recurrentKind, type RecurrentName } from '../kernels/cell-kinds.js';

export const ATTENTION_KINDS = ['none', 'bahdanau', 'luong-dot', 'luong-general', 'luong-concat', 'local-m', 'local-p', 'hard'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];
/** The decoder's cells (CELL_KINDS names): torch's GRUCell and LSTMCell, what the translation results were measured with. */
export const DECODER_CELLS = ['gru', 'lstm'] as const satisfies readonly RecurrentName[];
export type DecoderCellName = (typeof DECODER_CELLS)[number];

function checkDecoderCell(name: unknown): void {
  if (!(DECODER_CELLS as readonly unknown[]).includes(name)) throw new RangeError(`cell (the decoder's) must be ${DECODER_CELLS.map((n) => `'${n}'`).join(' or ')}, got ${String(name)}`);
}

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
  checkDecoderCell(o.cell);
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

const isLuong = (a: AttentionKind) => a !== 'none' && a !== 'bahdanau';

function uniformBound(n: number): number {
  return 1 / Math.sqrt(n);
}

/** Sizes of the decoder: H state, E embedding, K keys, A scorer, In cell input. */
function decoderSizes(o: Resolved) {
  const H = o.hiddenSize, E = o.embeddingDim, A = o.attentionSize;
  const K = (o.bidirectional ? 2 : 1) * H;
  const In = E + (o.attention === 'bahdanau' ? K : 0) + (o.inputFeeding ? H : 0);
  return { H, E, A, K, In, G: recurrentKind(o.cell).gates, V: o.targetVocabSize };
}

/** decoder.attention.* of each kind: the shared layers' own names and shapes. */
function attentionSpecs(o: Resolved): ParameterSpec[] {
  const { H, K, A } = decoderSizes(o);
  switch (o.attention) {
    case 'none': return [];
    case 'bahdanau': return attentionParameterSpecs('additive', H, K, A);
    case 'luong-dot': return attentionParameterSpecs('dot', H, K, 0);
    case 'luong-concat': return attentionParameterSpecs('concat', H, K, A);
    case 'local-p': return [...attentionParameterSpecs('general', H, K, 0), { name: 'W_p', shape: [A, H] }, { name: 'v_p', shape: [A] }];
    default: return attentionParameterSpecs('general', H, K, 0); // luong-general, local-m, hard
  }
}

type AttentionLayer = Attention | LocalAttention | HardAttention;

/** The decoder's recurrent state between steps. */
interface DecoderState {
  /** [N, H] */
  s: Variable;
  /** LSTM decoder: [N, H] (absent: zeros). */
  c?: Variable;
  /** Input feeding: the previous attentional state o_{t-1} [N, H] (absent: zeros). */
  feed?: Variable;
}

/** An encoded batch, rows repeated `repeat` times (beam search: N = B*k). */
interface Encoded {
  N: number;
  S: number;
  /** Valid source positions of each row. */
  lens: Int32Array;
  s0: Variable;
  c0?: Variable;
  /** The key-side products of the keys [N, S, K] (null without attention). */
  memory: AttentionTapeMemory | null;
  /** [N, S] prefix mask (1 = valid), or undefined when every row is full. */
  mask?: Uint8Array;
}

interface Attended {
  context: Variable;
  /** [N, S] */
  weights: Variable;
  /** Hard attention: the chosen positions and its REINFORCE reward setter. */
  hard?: HardAttentionTapeOutputs;
}

export class Seq2Seq extends Model {
  readonly options: Resolved;
  readonly encoderEmbedding: Embedding;
  readonly decoderEmbedding: Embedding;
  readonly encoder: RecurrentLayer;
  /** The decoder cell (torch.nn.GRUCell / LSTMCell under decoder.cell.*). */
  readonly decoderCell: RecurrentCell;
  /** The attention layer under decoder.attention.* (null for 'none'). */
  readonly attentionLayer: AttentionLayer | null;
  /** Luong's W_c (decoder.combine.weight), null otherwise. */
  private readonly combine: Linear | null;
  /** decoder.out (null when tied: then the embedding table and decoder.out.bias). */
  private readonly out: Linear | null;
  private readonly dropEncoder: Dropout;
  private readonly dropDecoder: Dropout;
  private readonly dropOutput: Dropout;
  private readonly H: number;
  private readonly V: number;
  /** Hard attention: each step's outputs of the current training forward (their rewards are set by loss()). */
  private hardSteps: HardAttentionTapeOutputs[] = [];

  static plan(options: Seq2SeqOptions): LayerPlan[] {
    const o = resolveOptions(options);
    const { H, E, K, In, G, V } = decoderSizes(o);
    const plan: LayerPlan[] = [
      { prefix: 'encoder.embedding.', specs: Embedding.parameterSpecs({ numEmbeddings: o.sourceVocabSize, embeddingDim: E }) },
      { prefix: 'encoder.rnn.', specs: recurrentSpecs(o.encoderCell, { inputSize: E, hiddenSize: H, numLayers: o.numLayers, bidirectional: o.bidirectional }) },
      { prefix: 'decoder.embedding.', specs: Embedding.parameterSpecs({ numEmbeddings: V, embeddingDim: E }) },
      { prefix: 'decoder.cell.', specs: cellParameterSpecs(G, { inputSize: In, hiddenSize: H }) },
    ];
    const att = attentionSpecs(o);
    if (att.length > 0) plan.push({ prefix: 'decoder.attention.', specs: att });
    if (isLuong(o.attention)) plan.push({ prefix: 'decoder.combine.', specs: Linear.parameterSpecs({ inFeatures: K + H, outFeatures: H, bias: false }) });
    plan.push({ prefix: 'decoder.out.', specs: o.tieEmbeddings ? [{ name: 'bias', shape: [V] }] : Linear.parameterSpecs({ inFeatures: H, outFeatures: V }) });
    return plan;
  }

  constructor(rt: Runtime, options: Seq2SeqOptions) {
    const o = resolveOptions(options);
    super(rt, Seq2Seq.plan(o), o.seed);
    this.options = o;
    const { H, E, A, K, In, V } = decoderSizes(o);
    this.H = H;
    this.V = V;
    const at = (prefix: string) => ({ block: this.params, prefix });
    // Initialisation in a fixed order from the model's generator (torch's defaults).
    this.encoderEmbedding = new Embedding(rt, { numEmbeddings: o.sourceVocabSize, embeddingDim: E, paddingIdx: SEQ_PAD }, at('encoder.embedding.'));
    this.encoderEmbedding.resetParameters(this.rng);
    this.encoder = makeRecurrent(rt, o.encoderCell, { inputSize: E, hiddenSize: H, numLayers: o.numLayers, bidirectional: o.bidirectional }, this.params, 'encoder.rnn.', this.rng);
    this.decoderEmbedding = new Embedding(rt, { numEmbeddings: V, embeddingDim: E, paddingIdx: SEQ_PAD }, at('decoder.embedding.'));
    this.decoderEmbedding.resetParameters(this.rng);
    const seed = o.seed;
    const cellOptions = { inputSize: In, hiddenSize: H, seed, ...at('decoder.cell.') };
    this.decoderCell = new RecurrentCell(rt, recurrentKind(o.cell).kind, cellOptions);
    const attOptions = { querySize: H, keySize: K, seed, ...at('decoder.attention.') };
    switch (o.attention) {
      case 'none': this.attentionLayer = null; break;
      case 'bahdanau': this.attentionLayer = new Attention(rt, { score: 'additive', attentionSize: A, ...attOptions }); break;
      case 'luong-dot': this.attentionLayer = new Attention(rt, { score: 'dot', ...attOptions }); break;
      case 'luong-general': this.attentionLayer = new Attention(rt, { score: 'general', ...attOptions }); break;
      case 'luong-concat': this.attentionLayer = new Attention(rt, { score: 'concat', attentionSize: A, ...attOptions }); break;
      case 'local-m': this.attentionLayer = new LocalAttention(rt, { mode: 'monotonic', score: 'general', window: o.window, ...attOptions }); break;
      case 'local-p': this.attentionLayer = new LocalAttention(rt, { mode: 'predictive', score: 'general', window: o.window, predictSize: A, ...attOptions }); break;
      case 'hard': this.attentionLayer = new HardAttention(rt, { score: 'general', baseline: 'none', ...attOptions }); break; // centred in setHardRewards
    }
    this.combine = isLuong(o.attention) ? new Linear(rt, { inFeatures: K + H, outFeatures: H, bias: false }, at('decoder.combine.')) : null;
    this.out = o.tieEmbeddings ? null : new Linear(rt, { inFeatures: H, outFeatures: V }, at('decoder.out.'));
    if (o.tieEmbeddings) {
      // N(0, 1) rows would give logits of size sqrt(H) at the start: scale the shared table like a Linear's.
      const w = this.params.value('decoder.embedding.weight').view();
      const s = uniformBound(H);
      for (let i = 0; i < w.length; i++) w[i] *= s;
    }
    // Every decoder parameter but the embedding: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in block order
    // (the cell's fan_in is H, as torch's GRUCell/LSTMCell), from the model's generator.
    for (const name of this.params.names) {
      if (!name.startsWith('decoder.') || name.startsWith('decoder.embedding.')) continue;
      const shape = this.params.shapes.get(name)!;
      const fanIn = name.startsWith('decoder.cell.') ? H : name === 'decoder.out.bias' ? H : shape[shape.length - 1];
      initUniform(this.params.value(name), uniformBound(fanIn), this.rng);
    }
    this.dropEncoder = new Dropout(rt, { p: o.dropout }, this.rng);
    this.dropDecoder = new Dropout(rt, { p: o.dropout }, this.rng);
    this.dropOutput = new Dropout(rt, { p: o.dropout }, this.rng);
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
  /**
   * Runs the encoder and prepares attention over its outputs, each source row repeated
   * `repeat` times (beam search), as rows n = b*repeat + i.
   */
  private encode(tape: Tape, sources: ArrayLike<number>[], repeat = 1): Encoded {
    const B = sources.length;
    const N = B * repeat;
    const srcLens = Int32Array.from(sources, (s) => s.length);
    const S = Math.max(...srcLens);
    const ids = new Int32Array(S * B);
    for (let b = 0; b < B; b++) {
      const s = sources[b];
      const L = s.length;
      for (let i = 0; i < L; i++) ids[i * B + b] = this.options.reverseSource ? s[L - 1 - i] : s[i];
    }
    const x = this.dropEncoder.forward(tape, this.encoderEmbedding.forward(tape, ids, [S, B]));
    const { output, hN, cN } = recurrent(tape, this.encoder, x, { lengths: srcLens });
    const rows = repeat === 1 ? null : Int32Array.from({ length: N }, (_, n) => Math.floor(n / repeat));
    const expand = (v: Variable) => (rows ? gatherRows(tape, v, rows) : v);
    const lens = rows ? Int32Array.from(rows, (b) => srcLens[b]) : srcLens;
    const s0 = expand(this.bridge(tape, hN));
    const c0 = this.decoderCell.shape.hasCellState && cN ? expand(this.bridge(tape, cN)) : undefined;
    const layer = this.attentionLayer;
    if (!layer) return { N, S, lens, s0, c0, memory: null };
    let mask: Uint8Array | undefined;
    if (lens.some((l) => l < S)) {
      mask = new Uint8Array(N * S);
      for (let n = 0; n < N; n++) mask.fill(1, n * S, n * S + lens[n]);
    }
    // Batch-major keys [N, S, K] for the attention layers.
    const keys = expand(swapLeadingAxes(tape, output));
    const memory = layer instanceof Attention
      ? attentionMemory(tape, layer, keys, { mask })
      : layer instanceof HardAttention
        ? attentionMemory(tape, layer.scorer, keys, { mask })
        : attentionMemory(tape, layer.scorer, keys); // local attention takes its (prefix) mask per call
    return { N, S, lens, s0, c0, memory, mask };
  }

  /** [L*D, B, H] final states -> [B, H]: the top layer, both directions summed. */
  private bridge(tape: Tape, states: Variable): Variable {
    const D = this.options.bidirectional ? 2 : 1;
    const base = (this.options.numLayers - 1) * D;
    const top = selectFirstAxis(tape, states, base);
    return D === 2 ? add(tape, top, selectFirstAxis(tape, states, base + 1)) : top;
  }

  // ----- the decoder step ------------------------------------------------------
  /** Attention of step t from query [N, H] over the encoded memory. */
  private attend(tape: Tape, enc: Encoded, query: Variable, t: number): Attended {
    const layer = this.attentionLayer!;
    const memory = enc.memory!;
    if (layer instanceof LocalAttention) {
      const step = layer.mode === 'monotonic' ? new Int32Array(enc.N).fill(t) : undefined;
      const r = localAttention(tape, layer, query, memory, { mask: enc.mask, step });
      return { context: r.context, weights: r.weights };
    }
    if (layer instanceof HardAttention) {
      const r = hardAttention(tape, layer, query, memory);
      return { context: r.context, weights: r.weights, hard: r };
    }
    const r = attention(tape, layer, query, memory);
    return { context: r.context, weights: r.weights };
  }

  /**
   * One decoder step for all N rows: input ids [N] (the previous tokens), the state before
   * the step -> the state after it, the output o_t [N, H] and the step's attention.
   */
  private decoderStep(tape: Tape, enc: Encoded, state: DecoderState, ids: ArrayLike<number>, t: number): { state: DecoderState; out: Variable; attended: Attended | null } {
    const o = this.options;
    const N = enc.N;
    const parts = [this.dropDecoder.forward(tape, this.decoderEmbedding.forward(tape, ids, [N]))];
    let attended: Attended | null = null;
    if (o.attention === 'bahdanau') {
      attended = this.attend(tape, enc, state.s, t);
      parts.push(attended.context);
    }
    if (o.inputFeeding) parts.push(state.feed ?? tape.variable([N, this.H], false));
    const x = parts.length === 1 ? parts[0] : concat(tape, parts);
    const next = cell(tape, this.decoderCell, x, { h: state.s, c: state.c });
    let out = next.h;
    if (this.combine) {
      attended = this.attend(tape, enc, next.h, t);
      out = tanh(tape, this.combine.forward(tape, concat(tape, [attended.context, next.h])));
    }
    return { state: { s: next.h, c: next.c, feed: out }, out, attended };
  }

  /** logits [..., V] = x W_out^T + b on the tape (ONE product for all the rows given). */
  private project(tape: Tape, x: Variable): Variable {
    if (this.out) return this.out.forward(tape, x);
    const table = parameter(tape, this.params, 'decoder.embedding.weight');
    return add(tape, matmul(tape, x, table, { transB: true }), parameter(tape, this.params, 'decoder.out.bias'));
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
    let state: DecoderState = { s: enc.s0, c: enc.c0 };
    const outs: Variable[] = [];
    this.hardSteps = [];
    for (let t = 0; t < T; t++) {
      let ids: ArrayLike<number> = inputs.subarray(t * B, (t + 1) * B);
      if (t > 0 && this.options.teacherForcing < 1 && this.rng.uniform() >= this.options.teacherForcing) {
        // Free-running step: feed the model's own argmax (no gradient through the choice, as
        // torch's .detach()); rows past their target keep <pad>: their outputs are not scored.
        const best = argmaxRows(this.project(tape, outs[t - 1]).value.view(), this.V);
        ids = Int32Array.from(best, (v, b) => (inputs[t * B + b] === SEQ_PAD ? SEQ_PAD : v));
      }
      const r = this.decoderStep(tape, enc, state, ids, t);
      state = r.state;
      outs.push(r.out);
      if (r.attended?.hard) this.hardSteps.push(r.attended.hard);
    }
    return { outputs: stack(tape, outs), labels, T };
  }

  /** Mean cross-entropy per target token (<eos> included, padding ignored). */
  loss(batch: Seq2SeqBatch): number {
    if (!batch || !batch.targets) throw new ShapeError('loss(batch) needs batch.targets');
    const { outputs, labels } = this.forwardOutputs(batch);
    const logits = this.project(this.tape, this.dropOutput.forward(this.tape, outputs));
    if (this.hardSteps.length > 0 && this.tape.training) this.setHardRewards(logits, labels, batch.sources.length);
    return crossEntropyLoss(this.tape, logits, labels, { ignoreIndex: IGNORE });
  }

  /**
   * Hard attention's REINFORCE signal, per target token: under teacher forcing step t's choice
   * feeds only token t (with inputFeeding also later steps, which this ignores), so its reward is
   * log p(y_t), centred on the mean of the OTHER rows' rewards at step t (leave-one-out:
   * unbiased, and it follows each step's reward level) and divided by the number of scored
   * tokens, the cross-entropy's own normalisation (padded rows get 0). Reverse of 1..6 digits,
   * 800 steps, 4 seeds: a whole-row reward on a moving baseline reached 0.56-0.66 exact match at
   * a constant rate (0.73-0.80 with a cosine rate), this 0.71-0.84 (0.86-0.97): results/seq2seq-toy.
   */
  private setHardRewards(logits: Variable, labels: Int32Array, B: number): void {
    const V = this.V;
    const logp = logSoftmax(this.tape, logits).value.view();
    let tokens = 0;
    for (const y of labels) if (y !== IGNORE) tokens++;
    this.hardSteps.forEach((step, t) => {
      const reward = new Float64Array(B);
      let sum = 0, n = 0;
      for (let b = 0; b < B; b++) if (labels[t * B + b] !== IGNORE) (sum += logp[(t * B + b) * V + labels[t * B + b]]), n++;
      for (let b = 0; b < B; b++) {
        const r = t * B + b;
        if (labels[r] !== IGNORE && n > 1) reward[b] = (logp[r * V + labels[r]] - (sum - logp[r * V + labels[r]]) / (n - 1)) / tokens;
      }
      step.setReward(reward);
    });
    this.hardSteps = [];
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
    return this.withEval(() => {
      this.tape.reset();
      try {
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
      }
    });
  }

  /** Encodes `repeat` copies of each source; returns a step runner over the N = B*repeat rows. */
  private decoderRunner(sources: ArrayLike<number>[], repeat: number) {
    const tape = this.tape;
    const enc = this.encode(tape, sources, repeat);
    const { N, S, lens } = enc;
    const reverse = this.options.reverseSource;
    let state: DecoderState = { s: enc.s0, c: enc.c0 };
    const self = this;
    return {
      N, S,
      /** Runs step `step` with `ids` [N]; returns log-probabilities [N, V] and attention [N, S] (host copies, original source order). */
      step(step: number, ids: Int32Array): { logp: Float32Array; att: Float32Array } {
        const r = self.decoderStep(tape, enc, state, ids, step);
        state = r.state;
        const logp = logSoftmax(tape, self.project(tape, r.out)).toArray();
        const att = new Float32Array(N * S);
        if (r.attended) {
          const w = r.attended.weights.value.view();
          const hard = r.attended.hard?.positions;
          for (let n = 0; n < N; n++) {
            const L = lens[n];
            const to = (j: number) => n * S + (reverse ? L - 1 - j : j);
            if (hard) att[to(hard[n])] = 1;
            else for (let j = 0; j < L; j++) att[to(j)] = w[n * S + j];
          }
        }
        return { logp, att };
      },
      /** Reorders the row states: row n takes the state of row from[n]. */
      reorder(from: Int32Array): void {
        const pick = (v: Variable | undefined) => (v ? gatherRows(tape, v, from) : undefined);
        state = { s: pick(state.s)!, c: pick(state.c), feed: pick(state.feed) };
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
