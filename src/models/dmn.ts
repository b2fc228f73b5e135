// Dynamic Memory Network for question answering (Kumar et al. 2016, DMN; Xiong et al. 2016,
// DMN+), the lecture's last chapter, as one model with both variants as options:
//   input module   'words':  one GRU over all the story's words; facts = its states at sentence ends
//                  'fusion': positional-encoding sentence reader, then a bidirectional GRU over the
//                            facts (directions summed, as the paper, or concatenated, as the lecture)
//   question       a GRU over the question's words (the embedding is shared): q = its last state
//   memory         T passes (default 3) of EpisodeAttention from m⁰ = q; gates softmax or sigmoid;
//                  cell 'gated-gru' or 'attention-gru'; update 'gru' (tied: m = GRUCell(c, m)) or
//                  'relu' (untied per pass: m = ReLU(W_t [m; c; q] + b_t)); the passes share
//                  what depends on s and q only (episodePrepare: the gate's q half, the GRU's
//                  input product), computed once per batch
//                  'visual': a feature grid [R, C, F] read in snake order by the same bidirectional
//                            GRU (src/models/dmn-visual.ts)
//   answer         'softmax' over the vocabulary from [m; q] (list answers are one class "a,b"), or
//                  'gru': a GRU decoder of the answer's words from a⁰ = m (src/models/dmn-answer.ts)
//   loss           cross-entropy of the answer, plus optionally (gateSupervision > 0) the
//                  supporting facts' cross-entropy of each pass's gates (the original DMN's
//                  strong supervision: pass t looks at supporting fact t)
// Shapes: d = fact size (H, or 2H with fusion 'concat'); B questions per batch, M facts.
// Every module is a few kernel calls per batch (no per-fact or per-row loop in JavaScript).
import { checkPositive, checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { GRUCell, cellParameterSpecs } from '../layers/cells.js';
import { EpisodeAttention, episodeAttention, episodePrepare, episodeParameterSpecs, type EpisodeCell, type EpisodeGate } from '../layers/episode.js';
import { GRU } from '../layers/gru.js';
import { Linear } from '../layers/linear.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { add, gatherRows, reshape, split, swapLeadingAxes } from '../layers/tensor-ops.js';
import { positionEncodingBackward, positionEncodingForward, positionProjectionBackward, positionProjectionForward, positionScaleColumns } from '../kernels/episode.js';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.js';
import { gemm } from '../kernels/gemm.js';
import { cell, concatFeatures, recurrent, relu, selectFirstAxis } from '../layers/ops.js';
import type { RecurrentLayer } from '../layers/recurrent.js';
import { Model, type LayerPlan } from '../train/model.js';
import { Variable, type Tape } from '../train/tape.js';
import { makeRecurrent } from './common.js';
import type { EncodedBabi } from '../data/babi.js';
import { checkDMNBatch } from './dmn-batch-check.js';
import { UNK_ID } from '../data/vocab.js';
import { makeVisualBatch, visualSequence, type VisualGrid } from './dmn-visual.js';
import { AnswerDecoder, packAnswerWords, type AnswerWords, type DMNAnswerModule } from './dmn-answer.js';

export { makeVisualBatch };

export type DMNInput = 'words' | 'fusion' | 'visual';
export type DMNMemoryUpdate = 'gru' | 'relu';

export interface DMNOptions {
  vocabSize: number;
  /** Preset: 'dmn+' (fusion, attention-gru, relu; default) or 'dmn' (words, gated-gru, gru). Explicit options override it. */
  variant?: 'dmn+' | 'dmn';
  input?: DMNInput;
  /** Fusion layer: sum the two directions (the paper, default) or concatenate them (the lecture). */
  fusionMerge?: 'sum' | 'concat';
  cell?: EpisodeCell;
  gate?: EpisodeGate;
  memoryUpdate?: DMNMemoryUpdate;
  /** Episode passes T (default 3). */
  passes?: number;
  /** Default 80. */
  embeddingDim?: number;
  /** Default 80. */
  hiddenSize?: number;
  /** Hidden size of the gate network (default hiddenSize). */
  gateSize?: number;
  /**
   * Dropout (default 0.1) on [m; q] and on the input: input 'fusion' on the facts (its output),
   * 'words' on the embedded words of story and question (measured best for each: the lecture
   * DMN lost 20 points on qa2 with facts), 'visual' on the projected regions.
   */
  dropout?: number;
  /** Weight of the gate supervision by supporting facts (default 0: none). */
  gateSupervision?: number;
  /** input 'visual': features F per grid region. */
  visualFeatures?: number;
  /** 'softmax' from [m; q] (default) or a 'gru' decoder of the answer's words. */
  answerModule?: DMNAnswerModule;
  /** 'gru' answers: greedy decoding stops after this many words (default 5). */
  maxAnswerLength?: number;
  /**
   * Initialisation: 'xavier' (default; the weight matrices Glorot normal, std initGain·sqrt(2 / (fan_in +
   * fan_out)), as PyTorch DMN+ implementations do: on 10k qa1 it reaches 99% in about 80 steps instead of
   * 130; the embedding N(0, embeddingInitStd²); biases as torch) or 'torch' (each layer's own default:
   * U(±1/sqrt(fan_in)), the embedding N(0, 1)).
   */
  init?: 'xavier' | 'torch';
  /**
   * 'xavier' only: the Glorot gain (default 1.5) and the embedding's std (default 1.5; torch's
   * nn.Embedding draws N(0, 1)). Chosen on validation over seeds 0-4 of 10k qa1, qa6 and qa15: with
   * gain 1 and std 1, DMN+ needed a median 750 steps to 99% on qa15; with 1.5 and 1.5, 360
   * (results/babi/README.md, session 9).
   */
  initGain?: number;
  embeddingInitStd?: number;
  seed?: number;
}

/** A padded batch of encoded questions (makeDMNBatch builds it). */
export interface DMNBatch {
  B: number;
  /** Padded fact count. */
  M: number;
  /** Valid facts per question [B], each >= 1. */
  factCounts: Int32Array;
  /** 'words': all story words time-first [Tw, B]; storyLengths [B]; factEnds [B*M] word index of each fact's last word (0 past the count). */
  storyIds: Int32Array;
  storyLengths: Int32Array;
  factEnds: Int32Array;
  /** 'fusion': sentence words [M, B, L] (fact-major), sentenceLengths [M*B] (0 for padded facts). */
  sentenceIds: Int32Array;
  sentenceLengths: Int32Array;
  L: number;
  /** Question words time-first [Tq, B], lengths [B]. */
  questionIds: Int32Array;
  questionLengths: Int32Array;
  /** Answer class per question [B]. */
  answers: Int32Array;
  /** Supporting fact index per pass [B * passes] (-1: none for that pass). */
  supporting: Int32Array;
  passes: number;
  /** input 'visual': the feature grids (makeVisualBatch). */
  grid?: VisualGrid;
  /** answerModule 'gru': the answers word by word. */
  answerWords?: AnswerWords;
}

/** Pads encoded questions into a DMNBatch (both input modules' layouts). */
export function makeDMNBatch(examples: EncodedBabi[], passes = 3): DMNBatch {
  const B = examples.length;
  if (B === 0) throw new ShapeError('makeDMNBatch: needs at least one example');
  examples.forEach((e, b) => {
    if (e.facts.length === 0) throw new ShapeError(`makeDMNBatch: example ${b} has no facts (a story needs at least one statement before its question)`);
    if (e.question.length === 0) throw new ShapeError(`makeDMNBatch: example ${b} has an empty question`);
    e.facts.forEach((f, i) => {
      if (f.length === 0) throw new ShapeError(`makeDMNBatch: example ${b} fact ${i} is empty`);
    });
  });
  const M = Math.max(...examples.map((e) => e.facts.length));
  const L = Math.max(...examples.map((e) => Math.max(...e.facts.map((f) => f.length))));
  const Tq = Math.max(...examples.map((e) => e.question.length));
  const storyLengths = Int32Array.from(examples, (e) => e.facts.reduce((a, f) => a + f.length, 0));
  const Tw = Math.max(...storyLengths);
  const storyIds = new Int32Array(Tw * B), factEnds = new Int32Array(B * M), factCounts = new Int32Array(B);
  const sentenceIds = new Int32Array(M * B * L), sentenceLengths = new Int32Array(M * B);
  const questionIds = new Int32Array(Tq * B), questionLengths = new Int32Array(B), answers = new Int32Array(B);
  const supporting = new Int32Array(B * passes).fill(-1);
  examples.forEach((e, b) => {
    factCounts[b] = e.facts.length;
    let t = 0;
    e.facts.forEach((f, i) => {
      for (let j = 0; j < f.length; j++) {
        storyIds[(t + j) * B + b] = f[j];
        sentenceIds[(i * B + b) * L + j] = f[j];
      }
      t += f.length;
      factEnds[b * M + i] = t - 1;
      sentenceLengths[i * B + b] = f.length;
    });
    e.question.forEach((w, j) => (questionIds[j * B + b] = w));
    questionLengths[b] = e.question.length;
    answers[b] = e.answer;
    for (let p = 0; p < passes; p++) supporting[b * passes + p] = p < e.supporting.length ? e.supporting[p] : -1;
  });
  const answerWords = packAnswerWords(examples.map((e) => e.answerWords ?? [e.answer]));
  return { B, M, factCounts, storyIds, storyLengths, factEnds, sentenceIds, sentenceLengths, L, questionIds, questionLengths, answers, supporting, passes, answerWords };
}

interface Resolved {
  vocabSize: number; input: DMNInput; fusionMerge: 'sum' | 'concat'; cell: EpisodeCell; gate: EpisodeGate; memoryUpdate: DMNMemoryUpdate;
  passes: number; embeddingDim: number; hiddenSize: number; gateSize: number; dropout: number; gateSupervision: number; seed: number;
  variant: 'dmn+' | 'dmn'; init: 'xavier' | 'torch'; initGain: number; embeddingInitStd: number; visualFeatures: number; answerModule: DMNAnswerModule; maxAnswerLength: number;
}

export function resolveDMNOptions(o: DMNOptions): Resolved {
  if (o === null || typeof o !== 'object') throw new TypeError('DMN options must be an object with vocabSize');
  const variant = o.variant ?? 'dmn+';
  if (variant !== 'dmn+' && variant !== 'dmn') throw new RangeError(`variant must be 'dmn+' or 'dmn', got ${String(variant)}`);
  const plus = variant === 'dmn+';
  const r: Resolved = {
    vocabSize: checkSize('vocabSize', o.vocabSize, 2),
    variant,
    input: o.input ?? (plus ? 'fusion' : 'words'),
    fusionMerge: o.fusionMerge ?? 'sum',
    cell: o.cell ?? (plus ? 'attention-gru' : 'gated-gru'),
    gate: o.gate ?? 'softmax',
    memoryUpdate: o.memoryUpdate ?? (plus ? 'relu' : 'gru'),
    passes: checkSize('passes', o.passes ?? 3, 1),
    embeddingDim: checkWidth('embeddingDim', o.embeddingDim ?? 80),
    hiddenSize: checkWidth('hiddenSize', o.hiddenSize ?? 80),
    gateSize: checkWidth('gateSize', o.gateSize ?? o.hiddenSize ?? 80),
    dropout: o.dropout ?? 0.1,
    gateSupervision: o.gateSupervision ?? 0,
    init: o.init ?? 'xavier',
    initGain: checkPositive('initGain', o.initGain ?? 1.5),
    embeddingInitStd: checkPositive('embeddingInitStd', o.embeddingInitStd ?? 1.5),
    seed: o.seed ?? 0,
    visualFeatures: o.input === 'visual' ? checkSize('visualFeatures', o.visualFeatures, 1) : 0,
    answerModule: o.answerModule ?? 'softmax',
    maxAnswerLength: checkSize('maxAnswerLength', o.maxAnswerLength ?? 5, 1),
  };
  if (r.init !== 'xavier' && r.init !== 'torch') throw new RangeError(`init must be 'xavier' or 'torch', got ${String(r.init)}`);
  if (r.input !== 'words' && r.input !== 'fusion' && r.input !== 'visual') throw new RangeError(`input must be 'words', 'fusion' or 'visual', got ${String(r.input)}`);
  if (r.answerModule !== 'softmax' && r.answerModule !== 'gru') throw new RangeError(`answerModule must be 'softmax' or 'gru', got ${String(r.answerModule)}`);
  if (r.fusionMerge !== 'sum' && r.fusionMerge !== 'concat') throw new RangeError(`fusionMerge must be 'sum' or 'concat', got ${String(r.fusionMerge)}`);
  if (r.memoryUpdate !== 'gru' && r.memoryUpdate !== 'relu') throw new RangeError(`memoryUpdate must be 'gru' or 'relu', got ${String(r.memoryUpdate)}`);
  if (r.cell !== 'gated-gru' && r.cell !== 'attention-gru') throw new RangeError(`cell must be 'gated-gru' or 'attention-gru', got ${String(r.cell)}`);
  if (r.gate !== 'softmax' && r.gate !== 'sigmoid') throw new RangeError(`gate must be 'softmax' or 'sigmoid', got ${String(r.gate)}`);
  if (!(r.dropout >= 0 && r.dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${r.dropout}`);
  if (!(r.gateSupervision >= 0 && Number.isFinite(r.gateSupervision))) throw new RangeError(`gateSupervision must be a finite number >= 0, got ${r.gateSupervision}`);
  return r;
}

/** The fact size d the memory works in. */
function factSizeOf(o: Resolved): number {
  return o.input !== 'words' && o.fusionMerge === 'concat' ? 2 * o.hiddenSize : o.hiddenSize;
}

function dmnPlan(o: Resolved): LayerPlan[] {
  const d = factSizeOf(o);
  const E = o.embeddingDim, H = o.hiddenSize;
  const plan: LayerPlan[] = [{ prefix: 'embedding.', specs: Embedding.parameterSpecs({ numEmbeddings: o.vocabSize, embeddingDim: E }) }];
  if (o.input === 'visual') plan.push({ prefix: 'visual.', specs: Linear.parameterSpecs({ inFeatures: o.visualFeatures, outFeatures: E }) });
  plan.push({ prefix: 'input.', specs: GRU.parameterSpecs({ inputSize: E, hiddenSize: H, bidirectional: o.input !== 'words' }) });
  plan.push({ prefix: 'question.', specs: GRU.parameterSpecs({ inputSize: E, hiddenSize: d }) });
  plan.push({ prefix: 'memory.episode.', specs: episodeParameterSpecs({ factSize: d, hiddenSize: d, gateSize: o.gateSize, cell: o.cell }) });
  if (o.memoryUpdate === 'gru') plan.push({ prefix: 'memory.update.', specs: cellParameterSpecs(3, { inputSize: d, hiddenSize: d }) });
  else for (let t = 0; t < o.passes; t++) plan.push({ prefix: `memory.update${t}.`, specs: Linear.parameterSpecs({ inFeatures: 3 * d, outFeatures: d }) });
  plan.push({ prefix: 'answer.', specs: Linear.parameterSpecs({ inFeatures: o.answerModule === 'gru' ? d : 2 * d, outFeatures: o.vocabSize }) });
  if (o.answerModule === 'gru') plan.push({ prefix: 'answer.decoder.', specs: GRU.parameterSpecs({ inputSize: E + d, hiddenSize: d }) });
  return plan;
}

/** What one forward computed besides the logits: the gates of every pass (for display and supervision). */
export interface DMNForward {
  logits: Variable;
  /** Per pass: g [B, M]. */
  gates: Variable[];
}

/** Widest layer accepted: far past any bAbI or VQA model, and a lying model file (width 5e6)
 *  is refused at once instead of spending minutes initialising gigabytes of weights. */
const MAX_DMN_WIDTH = 8192;
function checkWidth(name: string, value: unknown): number {
  const n = checkSize(name, value, 1);
  if (n > MAX_DMN_WIDTH) throw new RangeError(`${name} must be an integer in 1..${MAX_DMN_WIDTH}, got ${n}`);
  return n;
}

export class DMN extends Model {
  readonly options: Resolved;
  readonly factSize: number;
  readonly embedding: Embedding;
  readonly inputRnn: RecurrentLayer;
  readonly questionRnn: RecurrentLayer;
  readonly episode: EpisodeAttention;
  readonly memoryCell: GRUCell | null;
  readonly memoryLinears: Linear[];
  readonly answer: Linear;
  /** input 'visual': the regions' projection into the question's space. */
  readonly visualProjection: Linear | null = null;
  /** answerModule 'gru'. */
  readonly decoder: AnswerDecoder | null = null;
  private readonly drop: Dropout;

  constructor(rt: Runtime, options: DMNOptions) {
    const o = resolveDMNOptions(options);
    super(rt, dmnPlan(o), o.seed);
    this.options = o;
    const d = (this.factSize = factSizeOf(o));
    const E = o.embeddingDim, H = o.hiddenSize;
    const bind = (prefix: string) => ({ block: this.params, prefix, rng: this.rng });
    this.embedding = new Embedding(rt, { numEmbeddings: o.vocabSize, embeddingDim: E }, bind('embedding.'));
    this.embedding.resetParameters(this.rng);
    if (o.input === 'visual') {
      this.visualProjection = new Linear(rt, { inFeatures: o.visualFeatures, outFeatures: E }, bind('visual.'));
      this.visualProjection.resetParameters(this.rng);
    }
    this.inputRnn = makeRecurrent(rt, 'gru', { inputSize: E, hiddenSize: H, bidirectional: o.input !== 'words' }, this.params, 'input.', this.rng);
    this.questionRnn = makeRecurrent(rt, 'gru', { inputSize: E, hiddenSize: d }, this.params, 'question.', this.rng);
    this.episode = new EpisodeAttention(rt, { factSize: d, hiddenSize: d, gateSize: o.gateSize, cell: o.cell, gate: o.gate, ...bind('memory.episode.') });
    this.memoryCell = o.memoryUpdate === 'gru' ? new GRUCell(rt, { inputSize: d, hiddenSize: d, block: this.params, prefix: 'memory.update.', seed: 0 }) : null;
    this.memoryCell?.resetParameters(this.rng); // from the model's generator, like the other layers
    this.memoryLinears = [];
    if (o.memoryUpdate === 'relu') {
      for (let t = 0; t < o.passes; t++) {
        const lin = new Linear(rt, { inFeatures: 3 * d, outFeatures: d }, bind(`memory.update${t}.`));
        lin.resetParameters(this.rng);
        this.memoryLinears.push(lin);
      }
    }
    this.answer = new Linear(rt, { inFeatures: o.answerModule === 'gru' ? d : 2 * d, outFeatures: o.vocabSize }, bind('answer.'));
    this.answer.resetParameters(this.rng);
    if (o.answerModule === 'gru') {
      const rnn = makeRecurrent(rt, 'gru', { inputSize: E + d, hiddenSize: d }, this.params, 'answer.decoder.', this.rng);
      this.decoder = new AnswerDecoder(this.embedding, rnn, this.answer, o.maxAnswerLength);
    }
    this.drop = new Dropout(rt, { p: o.dropout, masks: 'wasm' }, this.rng);
    if (o.init === 'xavier') {
      const embedding = this.embedding.weight.view();
      for (let i = 0; i < embedding.length; i++) embedding[i] *= o.embeddingInitStd;
      for (const name of this.params.names) {
        const t = this.params.value(name);
        if (t.shape.length !== 2 || name.startsWith('embedding.')) continue;
        const std = o.initGain * Math.sqrt(2 / (t.shape[0] + t.shape[1]));
        const v = t.view();
        for (let i = 0; i < v.length; i++) v[i] = std * this.rng.normal();
      }
    }
  }

  /** The options to rebuild this model (saved with its weights). */
  get config(): DMNOptions {
    const { vocabSize, variant, input, fusionMerge, cell, gate, memoryUpdate, passes, embeddingDim, hiddenSize, gateSize, dropout, gateSupervision, init, initGain, embeddingInitStd, answerModule, maxAnswerLength } = this.options;
    const visual = input === 'visual' ? { visualFeatures: this.options.visualFeatures } : {};
    return { vocabSize, variant, input, fusionMerge, cell, gate, memoryUpdate, passes, embeddingDim, hiddenSize, gateSize, dropout, gateSupervision, init, initGain, embeddingInitStd, answerModule, maxAnswerLength, ...visual };
  }

  private checkBatch(batch: DMNBatch): void {
    checkDMNBatch(batch, this.options.vocabSize, this.options.input);
    const V = this.options.vocabSize;
    for (const [name, ids] of [['storyIds', batch.storyIds], ['questionIds', batch.questionIds], ['answers', batch.answers], ['answerWords', batch.answerWords?.words ?? []]] as const) {
      for (let i = 0; i < ids.length; i++) {
        if (!(ids[i] >= 0 && ids[i] < V)) throw new RangeError(`DMN batch ${name}[${i}] = ${ids[i]} is outside the vocabulary [0, ${V})`);
      }
    }
    if (batch.passes !== this.options.passes && batch.supporting.length !== batch.B * this.options.passes) {
      throw new ShapeError(`DMN batch was made for ${batch.passes} passes, the model runs ${this.options.passes}`);
    }
  }

  /** Facts s [B, M, d] from the input module. */
  private facts(tape: Tape, batch: DMNBatch): Variable {
    const { B, M } = batch;
    const d = this.factSize;
    if (this.visualProjection) {
      const states = visualSequence(tape, { projection: this.visualProjection, rnn: this.inputRnn, dropout: this.drop }, batch);
      return timeFirstToFacts(tape, states, this.options.fusionMerge, d);
    }
    if (this.options.input === 'words') {
      const Tw = batch.storyIds.length / B;
      const { output } = this.readWords(tape, this.inputRnn, batch.storyIds, [Tw, B], batch.storyLengths);
      return gatherFacts(tape, output, batch.factEnds, batch.factCounts, M);
    }
    const L = batch.L;
    // Padded facts (length 0) read as zero vectors; the GRU's lengths stop before them.
    const lengths = batch.factCounts;
    const { output } = wordTablesPay(2 * this.options.vocabSize, M * B)
      ? recurrent(tape, this.inputRnn, projectSentences(tape, this.embedding, this.inputRnn, batch.sentenceIds, [M, B, L], batch.sentenceLengths), { lengths, inputProjected: true })
      : recurrent(tape, this.inputRnn, embedSentences(tape, this.embedding, batch.sentenceIds, [M, B, L], batch.sentenceLengths), { lengths });
    return this.drop.forward(tape, timeFirstToFacts(tape, output, this.options.fusionMerge, d));
  }

  /**
   * A GRU over embedded words ids [T, B]: through the word tables where they pay (projectWords),
   * else the embedding. Input 'words' drops out the embedded words (the tables cannot, so its
   * training steps take the plain path), 'fusion' its facts instead (see facts()).
   */
  private readWords(tape: Tape, rnn: RecurrentLayer, ids: Int32Array, shape: [number, number], lengths: Int32Array) {
    const dropWords = this.options.input === 'words' && tape.training && this.options.dropout > 0;
    if (!dropWords && wordTablesPay(this.options.vocabSize, ids.length)) return recurrent(tape, rnn, projectWords(tape, this.embedding, rnn, ids, shape), { lengths, inputProjected: true });
    const x = this.embedding.forward(tape, ids, shape);
    return recurrent(tape, rnn, dropWords ? this.drop.forward(tape, x) : x, { lengths });
  }

  /** The final memory m, the question q [B, d] and the gates of every pass, on the model's tape. */
  private memory(batch: DMNBatch): { m: Variable; q: Variable; gates: Variable[] } {
    this.checkBatch(batch);
    const tape = this.tape;
    const { B } = batch;
    const s = this.facts(tape, batch);
    const Tq = batch.questionIds.length / B;
    const { hN } = this.readWords(tape, this.questionRnn, batch.questionIds, [Tq, B], batch.questionLengths);
    const q = selectFirstAxis(tape, hN, 0);
    let m = q;
    const gates: Variable[] = [];
    // The passes share what depends on s and q only (the gate's q half, the GRU's input product).
    const prepared = episodePrepare(tape, this.episode, s, q, batch.factCounts);
    for (let t = 0; t < this.options.passes; t++) {
      const { g, episode } = episodeAttention(tape, this.episode, s, q, m, batch.factCounts, { prepared });
      gates.push(g);
      m = this.memoryCell ? cell(tape, this.memoryCell, episode, { h: m }).h : relu(tape, this.memoryLinears[t].forward(tape, concatFeatures(tape, [m, episode, q])));
    }
    return { m, q, gates };
  }

  /** Logits [B, vocabSize] ('softmax' answers; [T, B, vocabSize] teacher-forced for 'gru') and the gates of every pass, on the model's tape. */
  forward(batch: DMNBatch): DMNForward {
    const { m, q, gates } = this.memory(batch);
    if (this.decoder) return { logits: this.decoder.teacherForced(this.tape, m, q, this.answerWordsOf(batch)).logits, gates };
    const logits = this.answer.forward(this.tape, this.drop.forward(this.tape, concatFeatures(this.tape, [m, q])));
    return { logits, gates };
  }

  private answerWordsOf(batch: DMNBatch): AnswerWords {
    if (!batch.answerWords) throw new ShapeError("DMN answerModule 'gru' needs the batch's answerWords (makeDMNBatch fills them)");
    return batch.answerWords;
  }

  loss(batch: DMNBatch): number {
    let loss: number, gates: Variable[];
    if (this.decoder) {
      const r = this.memory(batch);
      gates = r.gates;
      loss = this.decoder.loss(this.tape, r.m, r.q, this.answerWordsOf(batch));
    } else {
      const r = this.forward(batch);
      gates = r.gates;
      loss = crossEntropyLoss(this.tape, r.logits, batch.answers);
    }
    const w = this.options.gateSupervision;
    if (w > 0) gates.forEach((g, t) => (loss += gateSupervisionLoss(this.tape, g, batch, t, w, this.options.gate)));
    return loss;
  }

  /** Predicted answer ids [B] ('gru': the answer words, greedy, in `words`) and the gates [passes][B*M] (eval mode). */
  predict(batch: DMNBatch): { answers: Int32Array; gates: Float32Array[]; words?: Int32Array[] } {
    const wasTraining = this.training;
    this.eval();
    try {
      this.tape.reset();
      if (this.decoder) {
        const { m, q, gates } = this.memory(batch);
        const words = this.decoder.greedy(this.tape, m, q);
        return { answers: Int32Array.from(words, (w) => (w.length === 1 ? w[0] : -1)), gates: gates.map((g) => g.toArray()), words };
      }
      const { logits, gates } = this.forward(batch);
      const l = logits.toArray();
      const V = this.options.vocabSize;
      const answers = new Int32Array(batch.B);
      for (let b = 0; b < batch.B; b++) {
        let best = 0;
        for (let j = 1; j < V; j++) if (l[b * V + j] > l[b * V + best]) best = j;
        answers[b] = best;
      }
      return { answers, gates: gates.map((g) => g.toArray()) };
    } finally {
      if (wasTraining) this.train();
    }
  }

  /** Answer accuracy over batches (eval mode). An answer outside the vocabulary (<unk>) is never right, whatever the model says. */
  evaluate(batches: DMNBatch[]): { accuracy: number; questions: number } {
    let correct = 0, total = 0;
    for (const batch of batches) {
      const { answers, words } = this.predict(batch);
      for (let b = 0; b < batch.B; b++) if (batch.answers[b] !== UNK_ID && (words ? sameAnswer(words[b], batch.answerWords!, b) : answers[b] === batch.answers[b])) correct++;
      total += batch.B;
    }
    return { accuracy: correct / Math.max(1, total), questions: total };
  }
}

/** A decoded answer equals row b of the batch's answer words, word for word. */
function sameAnswer(words: Int32Array, answer: AnswerWords, b: number): boolean {
  const W = answer.words.length / answer.lengths.length;
  return words.length === answer.lengths[b] && words.every((w, j) => w !== UNK_ID && w === answer.words[b * W + j]);
}

// ---------------------------------------------------------------- tape ops of the input module
// Each is a few kernel calls for the whole batch: shared tensor ops (src/layers/tensor-ops.ts)
// and, for the sentence reader, the positional-encoding kernel (assembly/episode.ts).

/**
 * s[b, i] = x[ends[b*M+i], b] for i < counts[b]. x: [T, B, H] -> s: [B, M, H]. Padded facts
 * (i >= counts[b]) repeat the row's last fact: the episode masks them (no effect, no gradient).
 */
export function gatherFacts(tape: Tape, x: Variable, ends: Int32Array, counts: Int32Array, M: number): Variable {
  const [T, B, H] = x.shape;
  if (ends.length !== B * M || counts.length !== B) throw new ShapeError(`gatherFacts: ends must have B*M = ${B * M} values and counts ${B}`);
  const rows = new Int32Array(B * M);
  for (let b = 0; b < B; b++) {
    if (!(counts[b] >= 1 && counts[b] <= M)) throw new RangeError(`gatherFacts: counts[${b}] = ${counts[b]} must lie in [1, ${M}]`);
    for (let i = 0; i < M; i++) {
      const t = ends[b * M + Math.min(i, counts[b] - 1)];
      if (!(t >= 0 && t < T)) throw new RangeError(`gatherFacts: ends[${b * M + i}] = ${t} must lie in [0, ${T})`);
      rows[b * M + i] = t * B + b;
    }
  }
  return reshape(tape, gatherRows(tape, reshape(tape, x, [T * B, H]), rows), [B, M, H]);
}

/**
 * The DMN+ sentence reader: f = Σ_j l_j ⊙ w_j with l_jk = (1 − j/J) − (k/D)(1 − 2j/J)
 * (1-based j, k; J the sentence's length, D the embedding size). words: [N..., L, D] with
 * lengths [N] (0: an empty slot, read as zeros) -> [N..., D]. One kernel call each way.
 */
export function positionalEncoding(tape: Tape, words: Variable, lengths: Int32Array): Variable {
  tape.checkOp('positionalEncoding', { x: words });
  const shape = words.shape;
  const D = shape[shape.length - 1], L = shape[shape.length - 2];
  const N = words.size / (L * D);
  const ids = tape.int32(Int32Array.from({ length: N * L }, (_, i) => i)); // the words are the table, in order
  const y = tape.variable([...shape.slice(0, -2), D], words.requiresGrad);
  readSentences(tape, y, { table: words.ptr, vocabSize: N * L, ids, shape: [N, L, D], lengths }, () => (words.requiresGrad ? words.grad().ptr : 0));
  return y;
}

/** Sentence vectors [M, B, E] straight from the embedding's table for words ids [M, B, L] (no word tensor). */
function embedSentences(tape: Tape, embedding: Embedding, ids: Int32Array, shape: [number, number, number], lengths: Int32Array): Variable {
  tape.checkOp('embedSentences', { layer: embedding.rt });
  const [M, B, L] = shape;
  const E = embedding.embeddingDim, V = embedding.numEmbeddings;
  const y = tape.variable([M, B, E]);
  const dTable = embedding.block.grad(embedding.prefix + 'weight').ptr;
  readSentences(tape, y, { table: embedding.weight.ptr, vocabSize: V, ids: tape.int32(ids), shape: [M * B, L, E], lengths }, () => dTable);
  return y;
}

/**
 * Whether a GRU's input products go through word tables (projectSentences, projectWords):
 * the tables' [tableRows, E] x [E, G] products must cost less than the batch's own [rows, E]
 * x [E, G] ones (the gathers and scatters that replace those cost 2G per word, far less).
 */
export function wordTablesPay(tableRows: number, rows: number): boolean {
  return tableRows < rows;
}

/**
 * The sentence reader and the input GRU's input products in one: products [M, B, D·3H] =
 * positionalEncoding(words) · W_ihᵀ of each direction, as Σ_j a_j P[w_j] + b_j Q[w_j] from
 * the tables P = E · W_ihᵀ and Q = (E ⊙ c) · W_ihᵀ (assembly/episode.ts
 * position_projection_forward). Backward: the tables' gradients by scatter, then two small
 * products each for W_ih's and the embedding's gradients (the layer leaves W_ih to us).
 */
export function projectSentences(tape: Tape, embedding: Embedding, rnn: RecurrentLayer, ids: Int32Array, shape: [number, number, number], lengths: Int32Array): Variable {
  const t = wordTables(tape, 'projectSentences', embedding, rnn);
  const [M, B, L] = shape;
  const rt = tape.rt;
  // The tables and the products are written whole by the kernels below: no zero fill.
  const scaled = tape.unfilledVariable([t.V, t.E], false).ptr; // E ⊙ c
  positionScaleColumns(rt, { rows: t.V, dim: t.E, src: t.table, dst: scaled });
  const P = t.products(t.table), Q = t.products(scaled);
  const y = tape.unfilledVariable([M, B, t.G]);
  const sizes = { sentences: M * B, words: L, dim: t.G, vocabSize: t.V, ids: tape.int32(ids), lengths: tape.int32(lengths) };
  positionProjectionForward(rt, { ...sizes, P, Q, out: y.ptr });
  tape.record('projectSentences', () => {
    if (!y.hasGrad) return;
    const dP = tape.tensor([t.V, t.G]).ptr, dQ = tape.tensor([t.V, t.G]).ptr, dScaled = tape.tensor([t.V, t.E]).ptr;
    positionProjectionBackward(rt, { ...sizes, dOut: y.grad().ptr, dP, dQ });
    t.productsBackward(dP, t.table, t.dTable());
    t.productsBackward(dQ, scaled, dScaled);
    positionScaleColumns(rt, { rows: t.V, dim: t.E, src: dScaled, dst: t.dTable(), accumulate: true });
  });
  return y;
}

/**
 * Embedded words ids [T, B] times a GRU's W_ihᵀ, [T, B, D·3H], gathered from the table
 * P = E · W_ihᵀ (one row per vocabulary word, not per position). Backward: P's gradient by
 * scatter, then dW_ih += dPᵀ E and dE += dP W_ih.
 */
export function projectWords(tape: Tape, embedding: Embedding, rnn: RecurrentLayer, ids: Int32Array, shape: [number, number]): Variable {
  const t = wordTables(tape, 'projectWords', embedding, rnn);
  const [T, B] = shape;
  const rt = tape.rt;
  if (ids.length !== T * B) throw new ShapeError(`projectWords: ids must hold T*B = ${T * B} values, got ${ids.length}`);
  const P = t.products(t.table);
  const idsPtr = tape.int32(ids);
  const y = tape.unfilledVariable([T, B, t.G]); // every row gathered
  embeddingForward(rt, { table: P, vocabSize: t.V, dim: t.G, ids: idsPtr, n: T * B, out: y.ptr });
  tape.record('projectWords', () => {
    if (!y.hasGrad) return;
    const dP = tape.tensor([t.V, t.G]).ptr;
    embeddingBackward(rt, { dout: y.grad().ptr, ids: idsPtr, n: T * B, dtable: dP, vocabSize: t.V, dim: t.G });
    t.productsBackward(dP, t.table, t.dTable());
  });
  return y;
}

/**
 * What both table ops share: the checks, the sizes, and the products of a [V, E] table with
 * every direction's W_ihᵀ into one [V, D·3H] table (direction d at columns d·3H), with their
 * backward (dW_ih += dTᵀ src, dSrc += dT W_ih).
 */
function wordTables(tape: Tape, op: string, embedding: Embedding, rnn: RecurrentLayer) {
  tape.checkOp(op, { layer: embedding.rt });
  tape.checkOp(op, { layer: rnn.rt });
  const rt = tape.rt;
  const E = embedding.embeddingDim, V = embedding.numEmbeddings;
  if (rnn.inputSize !== E) throw new ShapeError(`${op}: the GRU reads ${rnn.inputSize} features, the embedding has ${E}`);
  const weights = rnn.inputWeights();
  const GH = rnn.gateCount * rnn.hiddenSize, G = weights.length * GH;
  return {
    E, V, G, table: embedding.weight.ptr,
    dTable: () => embedding.block.grad(embedding.prefix + 'weight').ptr,
    /** [V, G] = src [V, E] · W_ihᵀ of each direction (written whole: not zero-filled). */
    products(src: number): number {
      const out = tape.unfilledVariable([V, G], false).ptr;
      weights.forEach((w, d) => gemm(rt, { m: V, n: GH, k: E, a: src, b: w.weight, transB: true, c: out + d * GH * 4, ldc: G }));
      return out;
    },
    /** Backward of products(src) for dOut [V, G]: dW_ih += dOutᵀ src, dSrc += dOut W_ih. */
    productsBackward(dOut: number, src: number, dSrc: number): void {
      weights.forEach((w, d) => {
        const o = d * GH * 4;
        gemm(rt, { transA: true, m: GH, n: E, k: V, a: dOut + o, lda: G, b: src, beta: 1, c: w.grad });
        gemm(rt, { m: V, n: E, k: GH, a: dOut + o, lda: G, b: w.weight, beta: 1, c: dSrc });
      });
    },
  };
}

function readSentences(tape: Tape, y: Variable, a: { table: number; vocabSize: number; ids: number; shape: number[]; lengths: Int32Array }, dTable: () => number): void {
  const [N, L, D] = a.shape;
  if (!(a.lengths instanceof Int32Array) || a.lengths.length !== N) throw new ShapeError(`positionalEncoding: lengths must be an Int32Array of ${N} values, got ${a.lengths?.length}`);
  const sizes = { sentences: N, words: L, dim: D, vocabSize: a.vocabSize, ids: a.ids, lengths: tape.int32(a.lengths) };
  positionEncodingForward(tape.rt, { ...sizes, table: a.table, out: y.ptr });
  tape.record('positionalEncoding', () => {
    const dt = y.hasGrad ? dTable() : 0;
    if (dt) positionEncodingBackward(tape.rt, { ...sizes, dOut: y.grad().ptr, dTable: dt });
  });
}

/** Bidirectional outputs [M, B, 2H] -> facts [B, M, d]: the two directions summed (d = H) or concatenated (d = 2H). */
export function timeFirstToFacts(tape: Tape, x: Variable, merge: 'sum' | 'concat', d: number): Variable {
  const H2 = x.shape[2];
  if (d !== (merge === 'sum' ? H2 / 2 : H2)) throw new ShapeError(`timeFirstToFacts: fact size ${d} does not fit [${x.shape.join(', ')}] with ${merge}`);
  const facts = swapLeadingAxes(tape, x);
  if (merge === 'concat') return facts;
  const [forward, backward] = split(tape, facts, [d, d]);
  return add(tape, forward, backward);
}

/**
 * Strong supervision of pass t's gates g [B, M] by supporting fact t of each question (questions
 * without one are skipped): softmax gates −log g_sup, sigmoid gates binary cross-entropy against
 * the one-hot target over the valid facts; mean over the questions, times weight.
 */
export function gateSupervisionLoss(tape: Tape, g: Variable, batch: DMNBatch, t: number, weight: number, gate: EpisodeGate): number {
  const { B, M } = batch;
  const P = batch.supporting.length / B;
  const gv = g.value.view();
  const eps = 1e-7;
  const rows: number[] = [];
  for (let b = 0; b < B; b++) if (t < P && batch.supporting[b * P + t] >= 0 && batch.supporting[b * P + t] < batch.factCounts[b]) rows.push(b);
  if (rows.length === 0) return 0;
  const scale = weight / rows.length;
  let loss = 0;
  const grad = new Float32Array(B * M);
  for (const b of rows) {
    const sup = batch.supporting[b * P + t];
    if (gate === 'softmax') {
      loss -= Math.log(gv[b * M + sup] + eps);
      grad[b * M + sup] = -scale / (gv[b * M + sup] + eps);
    } else {
      for (let i = 0; i < batch.factCounts[b]; i++) {
        const p = gv[b * M + i], y = i === sup ? 1 : 0;
        loss -= y * Math.log(p + eps) + (1 - y) * Math.log(1 - p + eps);
        grad[b * M + i] = scale * (p - y) / Math.max((p + eps) * (1 - p + eps), 1e-12);
      }
    }
  }
  tape.record('gateSupervision', () => {
    if (!g.requiresGrad) return;
    const dg = g.grad().view();
    for (let k = 0; k < grad.length; k++) dg[k] += grad[k];
  });
  return loss * scale;
}
