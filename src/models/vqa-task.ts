// The visual QA recipe behind `rnn-wasm train vqa`: the built-in grid task (src/data/vqa.ts), a
// DMN+ with the visual input module, Adam, validation accuracy on questions of another seed as it
// trains (time- or epoch-limited), and each question's gates over the grid per pass. A trained
// model saves as a DMN file (loadBabiModel reads it) plus its task record (saveVqaModel /
// loadVqaModel), from which `rnn-wasm vqa` regenerates the grids and avoids the training questions.
import type { Runtime } from '../runtime/runtime.js';
import { miniBatches } from '../data/batch.js';
import { VQA_FEATURE_LAYOUT, vqaFeatureCount, vqaSplit, vqaVocabulary, type VqaExample, type VqaGenerateOptions, type VqaKind } from '../data/vqa.js';
import type { Vocabulary } from '../data/vocab.js';
import { readSafetensors, safetensorsMetadata, metadataObject } from '../io/safetensors.js';
import { loadBabiModel, saveBabiModel } from './dmn-task.js';
import { ProgressBar } from '../train/progress.js';
import { Trainer } from '../train/trainer.js';
import { DMN, type DMNOptions } from './dmn.js';
import { makeVisualBatch, snakePositions, type VisualExample } from './dmn-visual.js';

/** An example as the model reads it: question ids, answer class, the grid as is. */
export function encodeVqa(e: VqaExample, vocab: Vocabulary): VisualExample {
  return { rows: e.rows, cols: e.cols, features: e.features, grid: e.grid, question: vocab.encode(e.question), answer: vocab.id(e.answer), supporting: e.supporting };
}

export interface VqaTrainOptions extends Partial<DMNOptions> {
  /** The generated task: grid size, objects, noise, kinds (seed: the DMN's seed). */
  task?: Omit<VqaGenerateOptions, 'count' | 'seed'>;
  /** Training questions (default 3000) and validation questions (another seed; default 500). */
  trainQuestions?: number;
  validationQuestions?: number;
  /** Stop after this many epochs (default 1000 when `seconds` is given, else 10). */
  epochs?: number;
  /** Stop after this much training time (clock time; validation excluded). */
  seconds?: number;
  /** Stop as soon as validation accuracy reaches this. */
  targetAccuracy?: number;
  batchSize?: number;
  lr?: number;
  clipNorm?: number;
  /** Milliseconds clock timing the steps (default performance.now; the CLI's --clock cpu: process CPU time). */
  clock?: () => number;
  log?: (line: string) => void;
  progress?: boolean;
}

export interface VqaValidationPoint {
  step: number;
  epoch: number;
  seconds: number;
  accuracy: number;
  loss: number;
}

/**
 * What a visual model was trained on, saved with it (metadata 'vqa'): enough to regenerate its
 * training and validation questions (so that test questions can avoid them) and the grid features.
 */
export interface VqaTaskRecord {
  layout: string;
  rows: number;
  cols: number;
  objects: number;
  noise: number;
  kinds: VqaKind[];
  features: number;
  /** trainVqa's seed s: training questions from seed 2s, validation from 2s + 1. */
  seed: number;
  trainQuestions: number;
  validationQuestions: number;
  /** The last validation accuracy before saving. */
  validationAccuracy: number;
}

export interface VqaTrainResult {
  model: DMN;
  vocab: Vocabulary;
  task: VqaTaskRecord;
  validation: VqaExample[];
  history: VqaValidationPoint[];
  metrics: {
    accuracy: number; bestAccuracy: number; accuracyByKind: Record<string, number>; trainQuestions: number; validationQuestions: number;
    steps: number; epochs: number; seconds: number; questionsPerSecond: number; parameters: number; secondsToTarget: number | null;
  };
}

/** Trains a visual DMN+ on the built-in grid task; validation questions come from another seed. */
export function trainVqa(rt: Runtime, options: VqaTrainOptions = {}): VqaTrainResult {
  const seed = options.seed ?? 0;
  const t = options.task ?? {};
  const task = { rows: t.rows ?? 3, cols: t.cols ?? 3, objects: t.objects ?? 3, noise: t.noise ?? 0.1, kinds: [...(t.kinds ?? ['colour-of', 'shape-of', 'relation'] as VqaKind[])] };
  const { train, validation } = vqaSplit({ ...task, seed: 2 * seed, train: options.trainQuestions ?? 3000, validation: options.validationQuestions ?? 500 });
  const vocab = vqaVocabulary();
  const passes = options.passes ?? 3;
  const enc = train.map((e) => encodeVqa(e, vocab));
  const venc = validation.map((e) => encodeVqa(e, vocab));
  const {
    task: _t, trainQuestions: _tq, validationQuestions: _vq, epochs: _e, seconds: _s, targetAccuracy: _ta, batchSize: _b, lr: _lr, clipNorm: _c,
    clock: _ck, log: _l, progress: _p, ...dmnOptions
  } = options;
  // Options left undefined (a CLI flag not given) keep this task's defaults.
  const given = Object.fromEntries(Object.entries(dmnOptions).filter(([, v]) => v !== undefined));
  const model = new DMN(rt, {
    variant: 'dmn+', embeddingDim: 32, hiddenSize: 32, dropout: 0, ...given, input: 'visual', visualFeatures: train[0].features, vocabSize: vocab.size, seed,
  });
  const trainer = new Trainer(model, { lr: options.lr ?? 3e-3, clipNorm: options.clipNorm ?? 5, seed });
  const batchSize = options.batchSize ?? 32;
  const validBatches = miniBatches(venc.length, 250).map((idx) => makeVisualBatch(Array.from(idx, (i) => venc[i]), passes));
  const clock = options.clock ?? (() => performance.now());
  const maxSeconds = options.seconds ?? Infinity;
  const epochs = options.epochs ?? (options.seconds !== undefined ? 1000 : 10);
  const target = options.targetAccuracy ?? Infinity;
  const history: VqaValidationPoint[] = [];
  let trainMs = 0, questions = 0, lossSum = 0, lossCount = 0, best = 0, epoch = 0;
  let secondsToTarget: number | null = null;
  let done = false;
  for (; epoch < epochs && !done; epoch++) {
    const batches = miniBatches(enc.length, batchSize, { rng: trainer.rng });
    const bar = options.progress ? new ProgressBar({ total: batches.length * batchSize, label: `epoch ${epoch + 1}`, unit: 'q' }) : null;
    for (const idx of batches) {
      const t0 = clock();
      const { loss } = trainer.trainStep(makeVisualBatch(Array.from(idx, (i) => enc[i]), passes));
      trainMs += clock() - t0;
      questions += idx.length;
      lossSum += loss;
      lossCount++;
      bar?.tick(idx.length, loss);
      if (trainMs / 1000 >= maxSeconds) { done = true; break; }
    }
    bar?.finish();
    const { accuracy } = model.evaluate(validBatches);
    best = Math.max(best, accuracy);
    const point = { step: trainer.step, epoch: epoch + 1, seconds: trainMs / 1000, accuracy, loss: lossSum / Math.max(1, lossCount) };
    history.push(point);
    lossSum = lossCount = 0;
    options.log?.(`epoch ${point.epoch} step ${point.step}: train loss ${point.loss.toFixed(4)}, validation accuracy ${(accuracy * 100).toFixed(1)}% (${point.seconds.toFixed(1)} s training)`);
    if (accuracy >= target) {
      secondsToTarget ??= point.seconds;
      done = true;
    }
  }
  const seconds = trainMs / 1000;
  const accuracy = history[history.length - 1].accuracy;
  return {
    model, vocab, validation, history,
    task: { layout: VQA_FEATURE_LAYOUT, ...task, features: train[0].features, seed, trainQuestions: train.length, validationQuestions: validation.length, validationAccuracy: accuracy },
    metrics: {
      accuracy, bestAccuracy: best, accuracyByKind: accuracyByKind(model, vocab, validation),
      trainQuestions: train.length, validationQuestions: validation.length, steps: trainer.step, epochs: epoch, seconds,
      questionsPerSecond: questions / Math.max(1e-9, seconds), parameters: model.parameterCount, secondsToTarget,
    },
  };
}

/** One answered question with its gates over the grid: gates[pass][cell] (row-major cells). */
export interface AnsweredVqa {
  example: VqaExample;
  predicted: string;
  correct: boolean;
  gates: number[][];
}

/** Answers each question and reads every region's gate in every pass back into grid order. */
export function answerVqa(model: DMN, vocab: Vocabulary, examples: VqaExample[]): AnsweredVqa[] {
  const out: AnsweredVqa[] = [];
  for (let k = 0; k < examples.length; k += 250) {
    const part = examples.slice(k, k + 250);
    const batch = makeVisualBatch(part.map((e) => encodeVqa(e, vocab)), model.options.passes);
    const { answers, gates } = model.predict(batch);
    const position = snakePositions(part[0].rows, part[0].cols);
    part.forEach((e, b) => {
      const predicted = vocab.token(answers[b]);
      out.push({
        example: e, predicted, correct: predicted === e.answer,
        gates: gates.map((g) => Array.from(position, (p) => g[b * batch.M + p])),
      });
    });
  }
  return out;
}

/** Accuracy of answered questions, overall and per kind of question. */
export function scoreVqa(answered: AnsweredVqa[]): { accuracy: number; questions: number; byKind: Record<string, number> } {
  const hits: Record<string, [number, number]> = {};
  let correct = 0;
  for (const a of answered) {
    const h = (hits[a.example.kind] ??= [0, 0]);
    h[0] += a.correct ? 1 : 0;
    h[1]++;
    correct += a.correct ? 1 : 0;
  }
  return { accuracy: correct / Math.max(1, answered.length), questions: answered.length, byKind: Object.fromEntries(Object.entries(hits).map(([k, [c, n]]) => [k, c / n])) };
}

/** Validation accuracy per kind of question. */
export function accuracyByKind(model: DMN, vocab: Vocabulary, examples: VqaExample[]): Record<string, number> {
  return scoreVqa(answerVqa(model, vocab, examples)).byKind;
}

/** A trained visual model as one safetensors file: weights, vocabulary, options and its task (VqaTaskRecord). */
export function saveVqaModel(result: Pick<VqaTrainResult, 'model' | 'vocab' | 'task'>): Uint8Array {
  return saveBabiModel(result.model, result.vocab, { vqa: JSON.stringify(result.task) });
}

const FILE = 'visual DMN model file';

/** The task record of a saved visual model, checked against this version's task before any model is built. */
function vqaRecord(meta: Record<string, string>): VqaTaskRecord {
  const hint = 'save one with `rnn-wasm train vqa --save FILE`';
  if (meta.format !== 'rnn-wasm-dmn') throw new Error(`not a ${FILE}: its metadata format is ${JSON.stringify(meta.format ?? null)}, expected "rnn-wasm-dmn" (${hint})`);
  const options = metadataObject(meta, 'options', FILE);
  if (options.input !== 'visual') throw new Error(`not a ${FILE}: a bAbI DMN (input ${JSON.stringify(options.input)}, expected "visual"); test it with \`rnn-wasm babi --model FILE --test FILE\``);
  if (meta.vqa === undefined) throw new Error(`${FILE}: metadata 'vqa' (grid size, objects, noise, kinds, feature layout, seeds) is missing: saved by an older rnn-wasm; ${hint} again`);
  const r = metadataObject(meta, 'vqa', FILE) as unknown as VqaTaskRecord;
  if (r.layout !== VQA_FEATURE_LAYOUT) throw new Error(`${FILE}: feature layout ${JSON.stringify(r.layout)} is not this version's ${JSON.stringify(VQA_FEATURE_LAYOUT)}`);
  for (const [key, min] of [['rows', 1], ['cols', 1], ['objects', 2], ['features', 1], ['seed', 0], ['trainQuestions', 1], ['validationQuestions', 0]] as const) {
    if (!Number.isSafeInteger(r[key]) || r[key] < min) throw new Error(`${FILE}: metadata 'vqa' ${key} must be an integer >= ${min}, got ${JSON.stringify(r[key])}`);
  }
  if (!(r.noise >= 0 && Number.isFinite(r.noise))) throw new Error(`${FILE}: metadata 'vqa' noise must be a finite number >= 0, got ${JSON.stringify(r.noise)}`);
  if (!Array.isArray(r.kinds) || r.kinds.length === 0) throw new Error(`${FILE}: metadata 'vqa' kinds must be a non-empty list, got ${JSON.stringify(r.kinds)}`);
  if (r.features !== vqaFeatureCount(r.rows, r.cols) || r.features !== options.visualFeatures) {
    throw new Error(`${FILE}: metadata 'vqa' features ${r.features} does not match its ${r.rows} x ${r.cols} grid (${vqaFeatureCount(r.rows, r.cols)}) or the model's visualFeatures ${JSON.stringify(options.visualFeatures)}`);
  }
  return r;
}

/** Loads a model saved by saveVqaModel (`rnn-wasm train vqa --save`), with its task record. */
export function loadVqaModel(rt: Runtime, bytes: Uint8Array): { model: DMN; vocab: Vocabulary; task: VqaTaskRecord } {
  let file: ReturnType<typeof readSafetensors>;
  try {
    file = readSafetensors(bytes);
  } catch (e) {
    throw new Error(`not a ${FILE}: ${(e as Error).message}`);
  }
  const task = vqaRecord(safetensorsMetadata(file));
  const { model, vocab } = loadBabiModel(rt, bytes);
  const expected = vqaVocabulary().toJSON().tokens, got = vocab.toJSON().tokens;
  if (got.length !== expected.length || got.some((t, i) => t !== expected[i])) {
    model.dispose();
    throw new Error(`${FILE}: its vocabulary (${vocab.size} words) is not the visual task's (${expected.length} words: ${expected.slice(2).join(' ')})`);
  }
  return { model, vocab, task };
}
