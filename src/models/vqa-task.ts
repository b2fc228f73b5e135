// The visual QA recipe behind `rnn-wasm train vqa`: the built-in grid task (src/data/vqa.ts), a
// DMN+ with the visual input module, Adam, validation accuracy on questions of another seed as it
// trains (time- or epoch-limited), and each question's gates over the grid per pass. A trained
// model saves and loads as any DMN (saveBabiModel / loadBabiModel of dmn-task.ts).
import type { Runtime } from '../runtime/runtime.js';
import { miniBatches } from '../data/batch.js';
import { vqaSplit, vqaVocabulary, type VqaExample, type VqaGenerateOptions } from '../data/vqa.js';
import type { Vocabulary } from '../data/vocab.js';
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

export interface VqaTrainResult {
  model: DMN;
  vocab: Vocabulary;
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
  const { train, validation } = vqaSplit({ ...options.task, seed: 2 * seed, train: options.trainQuestions ?? 3000, validation: options.validationQuestions ?? 500 });
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
  return {
    model, vocab, validation, history,
    metrics: {
      accuracy: history[history.length - 1].accuracy, bestAccuracy: best, accuracyByKind: accuracyByKind(model, vocab, validation),
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

/** Validation accuracy per kind of question. */
export function accuracyByKind(model: DMN, vocab: Vocabulary, examples: VqaExample[]): Record<string, number> {
  const hits: Record<string, [number, number]> = {};
  for (const a of answerVqa(model, vocab, examples)) {
    const h = (hits[a.example.kind] ??= [0, 0]);
    h[0] += a.correct ? 1 : 0;
    h[1]++;
  }
  return Object.fromEntries(Object.entries(hits).map(([k, [c, n]]) => [k, c / n]));
}
