// Training and evaluation recipes around Seq2Seq: a time- or epoch-bounded
// loop with Adam (src/train/trainer.ts's step), validation as it trains,
// exact match and corpus BLEU, and saving/loading a model with its
// vocabularies and options in one safetensors file.
import type { Runtime } from '../runtime/runtime.js';
import { metadataObject, readSafetensors, writeSafetensors, safetensorsMetadata, type SafetensorsTensor } from '../io/safetensors.js';
import { Trainer } from '../train/trainer.js';
import { Rng } from '../train/rng.js';
import { Vocabulary } from '../data/vocab.js';
import { corpusBleu } from '../data/translation.js';
import { Seq2Seq, type DecodeOptions, type DecodeResult, type Seq2SeqOptions } from './seq2seq.js';

/** One training example as token ids (no specials). */
export interface IdPair {
  source: Int32Array;
  target: Int32Array;
}

export function encodePairs(pairs: { source: string[]; target: string[] }[], source: Vocabulary, target: Vocabulary): IdPair[] {
  return pairs.map((p) => ({ source: source.encode(p.source), target: target.encode(p.target) }));
}

export interface FitSeq2SeqOptions {
  batchSize?: number;
  lr?: number;
  /** Learning rate per optimizer step (0-based), overriding lr (src/train/schedule.ts builds these, e.g. cosineSchedule). */
  schedule?: (step: number) => number;
  /** Stop after this many seconds of training (validation time not counted). */
  seconds?: number;
  /** Or after this many epochs (whichever comes first when both are given). */
  epochs?: number;
  /** Or after this many optimizer steps. */
  steps?: number;
  /** Call `validate` every this many seconds of training (default: never) and at the end. */
  validateEverySeconds?: number;
  validate?: () => Record<string, number>;
  /** Called after every step. */
  onStep?: (info: { step: number; epoch: number; loss: number; trainSeconds: number; pairs: number }) => void;
  onValidate?: (info: { step: number; trainSeconds: number; metrics: Record<string, number> }) => void;
  clipNorm?: number;
  /** Seed of the batch order. */
  seed?: number;
  /**
   * Batches of similar lengths (default true): each epoch shuffles, cuts the order
   * into windows of 50 batches, sorts each window by target then source length,
   * and shuffles the batches. Less padding, the same pairs per epoch.
   */
  bucketByLength?: boolean;
  /** Milliseconds clock that times the training steps (default performance.now; the CLI's --clock cpu passes process CPU time). */
  clock?: () => number;
}

/** One epoch's batches as index lists. */
export function epochBatches(data: IdPair[], batchSize: number, rng: Rng, bucket: boolean): number[][] {
  const order = Array.from(rng.permutation(data.length));
  const batches: number[][] = [];
  if (!bucket) {
    for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
    return batches;
  }
  const window = batchSize * 50;
  for (let w = 0; w < order.length; w += window) {
    const part = order.slice(w, w + window);
    part.sort((a, b) => data[a].target.length - data[b].target.length || data[a].source.length - data[b].source.length);
    for (let i = 0; i < part.length; i += batchSize) batches.push(part.slice(i, i + batchSize));
  }
  const shuffled = rng.permutation(batches.length);
  return Array.from(shuffled, (i) => batches[i]);
}

export interface FitSeq2SeqResult {
  steps: number;
  epochs: number;
  trainSeconds: number;
  pairsPerSecond: number;
  finalLoss: number;
  history: { step: number; trainSeconds: number; metrics: Record<string, number> }[];
}

/** Trains on shuffled mini-batches; time counts training steps only. */
export function fitSeq2Seq(model: Seq2Seq, data: IdPair[], options: FitSeq2SeqOptions = {}): FitSeq2SeqResult {
  const batchSize = options.batchSize ?? 32;
  // Either would loop forever: no batch ever ends an epoch, or a batch of 0 pairs never advances.
  if (!Array.isArray(data) || data.length === 0) throw new RangeError('fitSeq2Seq: data must be a non-empty array of { source, target } id pairs');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`fitSeq2Seq: batchSize must be an integer >= 1, got ${batchSize}`);
  const limit = options.seconds ?? Infinity;
  const maxEpochs = options.epochs ?? Infinity;
  const maxSteps = options.steps ?? Infinity;
  if (limit === Infinity && maxEpochs === Infinity && maxSteps === Infinity) throw new Error('fitSeq2Seq: give seconds, epochs or steps');
  const trainer = new Trainer<{ sources: Int32Array[]; targets: Int32Array[] }>(model, { lr: options.lr ?? 1e-3, schedule: options.schedule, clipNorm: options.clipNorm, progress: false });
  const rng = new Rng(options.seed ?? 0);
  const clock = options.clock ?? (() => performance.now());
  let trainMs = 0;
  let pairs = 0;
  let step = 0;
  let lossEma = NaN;
  let nextValidation = options.validateEverySeconds ?? Infinity;
  const history: FitSeq2SeqResult['history'] = [];
  const runValidation = () => {
    if (!options.validate) return;
    const metrics = options.validate();
    const entry = { step, trainSeconds: trainMs / 1000, metrics };
    history.push(entry);
    options.onValidate?.(entry);
  };
  let epoch = 0;
  outer: for (; epoch < maxEpochs; epoch++) {
    for (const idx of epochBatches(data, batchSize, rng, options.bucketByLength ?? true)) {
      if (trainMs / 1000 >= limit || step >= maxSteps) break outer;
      const batch = { sources: idx.map((j) => data[j].source), targets: idx.map((j) => data[j].target) };
      const t0 = clock();
      const { loss } = trainer.trainStep(batch);
      trainMs += clock() - t0;
      pairs += idx.length;
      step++;
      lossEma = Number.isNaN(lossEma) ? loss : 0.98 * lossEma + 0.02 * loss;
      options.onStep?.({ step, epoch, loss: lossEma, trainSeconds: trainMs / 1000, pairs });
      if (trainMs / 1000 >= nextValidation) {
        runValidation();
        nextValidation += options.validateEverySeconds!;
      }
    }
  }
  if (history.length === 0 || history[history.length - 1].step !== step) runValidation();
  trainer.dispose();
  return { steps: step, epochs: epoch, trainSeconds: trainMs / 1000, pairsPerSecond: pairs / Math.max(1e-9, trainMs / 1000), finalLoss: lossEma, history };
}

/** Decodes every source in batches. */
export function decodeAll(model: Seq2Seq, sources: Int32Array[], options: DecodeOptions & { batchSize?: number } = {}): DecodeResult[] {
  const bs = options.batchSize ?? 64;
  const out: DecodeResult[] = [];
  for (let i = 0; i < sources.length; i += bs) out.push(...model.decode(sources.slice(i, i + bs), options));
  return out;
}

/** Exact-match accuracy and corpus BLEU of decodes against references. */
export function evaluateSeq2Seq(model: Seq2Seq, data: IdPair[], target: Vocabulary, options: DecodeOptions = {}): { exactMatch: number; bleu: number } {
  const results = decodeAll(model, data.map((d) => d.source), options);
  let exact = 0;
  const cands: string[][] = [];
  const refs: string[][] = [];
  results.forEach((r, i) => {
    const ref = Array.from(data[i].target);
    if (r.tokens.length === ref.length && r.tokens.every((t, j) => t === ref[j])) exact++;
    cands.push(r.tokens.map((t) => target.token(t)));
    refs.push(ref.map((t) => target.token(t)));
  });
  return { exactMatch: exact / Math.max(1, data.length), bleu: corpusBleu(cands, refs).bleu };
}

// ----- files ----------------------------------------------------------------------
export const SEQ2SEQ_FORMAT = 'rnn-wasm-seq2seq/1';

/** Weights under their torch-style names; options and both vocabularies in the metadata. */
export function saveSeq2Seq(model: Seq2Seq, source: Vocabulary, target: Vocabulary, extra: Record<string, string> = {}): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) tensors[name] = { shape: t.shape, data: Float32Array.from(t.data) };
  return writeSafetensors(tensors, {
    ...extra,
    format: SEQ2SEQ_FORMAT,
    options: JSON.stringify(model.options),
    source_vocab: JSON.stringify(source.toJSON()),
    target_vocab: JSON.stringify(target.toJSON()),
  });
}

/** The reverse of saveSeq2Seq; a file of another kind gets an error saying so. */
export function loadSeq2Seq(rt: Runtime, bytes: Uint8Array): { model: Seq2Seq; source: Vocabulary; target: Vocabulary; metadata: Record<string, string> } {
  const file = readSafetensors(bytes);
  const meta = safetensorsMetadata(file);
  if (meta.format !== SEQ2SEQ_FORMAT) {
    throw new Error(`not a Seq2Seq model file: its metadata format is ${meta.format === undefined ? 'absent' : JSON.stringify(meta.format)}, expected "${SEQ2SEQ_FORMAT}" (save one with rnn-wasm train translate --save)`);
  }
  const what = 'Seq2Seq model file';
  const options = metadataObject(meta, 'options', what) as unknown as Seq2SeqOptions;
  const vocabulary = (key: string) => {
    const json = metadataObject(meta, key, what);
    try {
      return Vocabulary.fromJSON(json as never);
    } catch (e) {
      throw new Error(`${what}: metadata '${key}': ${(e as Error).message}`);
    }
  };
  const source = vocabulary('source_vocab'), target = vocabulary('target_vocab');
  if (source.size !== options.sourceVocabSize || target.size !== options.targetVocabSize) {
    throw new Error(`Seq2Seq model file: vocabulary sizes ${source.size}/${target.size} do not match the options ${options.sourceVocabSize}/${options.targetVocabSize}`);
  }
  const model = new Seq2Seq(rt, options);
  const dict: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries<SafetensorsTensor>(file)) dict[name] = { shape: t.shape, data: Float32Array.from(t.data) };
  try {
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, source, target, metadata: meta };
}
