// The bAbI recipe behind `rnn-wasm train babi`, `rnn-wasm babi` and the DMN demo: data (a bAbI
// file, or the built-in generator), a DMN, Adam, validation accuracy on the last 10% of the
// training file's questions as it trains (time- or epoch-limited), saving the weights with the
// vocabulary and options in one safetensors file, and the lecture's picture of the gates.
import type { Runtime } from '../runtime/runtime.js';
import { miniBatches } from '../data/batch.js';
import { answerToken, babiVocabulary, encodeBabi, renameWords, renameableAnswerIds, splitBabi, type BabiExample, type EncodedBabi } from '../data/babi.js';
import { Vocabulary } from '../data/vocab.js';
import { metadataObject, readSafetensors, safetensorsMetadata, writeSafetensors } from '../io/safetensors.js';
import { ProgressBar } from '../train/progress.js';
import { Rng } from '../train/rng.js';
import { Trainer } from '../train/trainer.js';
import { DMN, makeDMNBatch, type DMNBatch, type DMNOptions } from './dmn.js';

export interface BabiTrainOptions extends Partial<DMNOptions> {
  /** Training questions; the last `validationFraction` of them are held out for validation. */
  examples: BabiExample[];
  validationFraction?: number;
  /** Stop after this many epochs (default 1000 when `seconds` is given, else 20). */
  epochs?: number;
  /** Stop after this much training time (validation time excluded). */
  seconds?: number;
  /** Stop as soon as validation accuracy reaches this (default 1: never early). */
  targetAccuracy?: number;
  /** Validate every this many steps (default: once per epoch). */
  validateEvery?: number;
  batchSize?: number;
  lr?: number;
  /** L2 penalty as Adam weight decay (default 0). */
  l2?: number;
  /** Gradient clipping at this global norm (default 10). */
  clipNorm?: number;
  /** Sort within windows of batches by fact count, to cut padding (default true). */
  bucket?: boolean;
  /**
   * Give every training question its own random renaming of the answer words that are story
   * words (places, colours): augmentation for small files such as qa3's 1k, where the model
   * otherwise memorises. Only for tasks whose answers are interchangeable names (not qa15's
   * singular/plural animals, nor qa20's fixed motives). Default false.
   */
  renameAnswers?: boolean;
  /**
   * More groups of interchangeable words, renamed the same way (e.g. the people of a task:
   * `babiProperNames` of its file). Every word must be a word of the training questions and in
   * one group only (the answer group included). Default none.
   */
  renameWords?: string[][];
  /** One line per validation. */
  log?: (line: string) => void;
  /** Progress bar on stderr (default false). */
  progress?: boolean;
  /**
   * Which weights the model ends with: 'best' (default) restores the weights of the best
   * validation point (early stopping: what `--save` writes and what `babi --model` then scores),
   * 'last' keeps the final step's.
   */
  keep?: 'best' | 'last';
  /** Milliseconds clock that times the training steps (default performance.now; the CLI's --clock cpu passes process CPU time). */
  clock?: () => number;
  /** Called after every step with the training seconds so far and the step's loss. */
  onStep?: (info: { step: number; seconds: number; loss: number }) => void;
}

export interface BabiValidationPoint {
  step: number;
  epoch: number;
  seconds: number;
  accuracy: number;
  loss: number;
}

export interface BabiTrainResult {
  model: DMN;
  vocab: Vocabulary;
  history: BabiValidationPoint[];
  /** The training recipe as run, defaults resolved (the model's own options are `model.config`). */
  training: { batchSize: number; lr: number; l2: number; clipNorm: number; bucket: boolean; renameAnswers: boolean; renameWords: string[][]; keep: 'best' | 'last'; validateEvery: number | null; validationFraction: number };
  metrics: {
    accuracy: number; bestAccuracy: number; trainQuestions: number; validationQuestions: number; steps: number; epochs: number;
    seconds: number; questionsPerSecond: number; parameters: number; vocabSize: number; variant: string;
    secondsToTarget: number | null;
    /** The step whose weights the model holds (the best validation point's with keep 'best'). */
    keptStep: number;
  };
}

export function babiBatches(encoded: EncodedBabi[], batchSize: number, passes: number): DMNBatch[] {
  return miniBatches(encoded.length, batchSize).map((idx) => makeDMNBatch(Array.from(idx, (i) => encoded[i]), passes));
}

function checkRenameWords(groups: unknown): void {
  if (!Array.isArray(groups)) throw new TypeError(`renameWords must be an array of word groups (string arrays), got ${JSON.stringify(groups)}`);
  const seen = new Set<string>();
  groups.forEach((g, k) => {
    if (!Array.isArray(g) || g.length < 2 || !g.every((w) => typeof w === 'string' && w !== '')) {
      throw new TypeError(`renameWords[${k}] must be at least 2 words, got ${JSON.stringify(g)}`);
    }
    // Lower-cased as the vocabulary is: 'Mary' and 'mary' are one word (twice, it would break the renaming's one-to-one map).
    for (const w of g as string[]) {
      const word = w.toLowerCase();
      if (seen.has(word)) throw new RangeError(`renameWords: '${word}' is in two groups; a word can be renamed within one group only`);
      seen.add(word);
    }
  });
}

/** The id groups to rename: the answer group (renameAnswers), then renameWords's, checked against the vocabulary. */
function renameGroupIds(training: BabiTrainResult['training'], enc: EncodedBabi[], vocab: Vocabulary): Int32Array[] {
  const groups: Int32Array[] = [];
  const answers = training.renameAnswers ? renameableAnswerIds(enc) : new Int32Array(0);
  if (answers.length > 1) groups.push(answers);
  for (const g of training.renameWords) {
    const ids = Int32Array.from(g, (w) => {
      const id = vocab.id(w.toLowerCase());
      if (id <= 1) throw new RangeError(`renameWords: '${w}' is not a word of the training questions`);
      if (answers.includes(id)) throw new RangeError(`renameWords: '${w}' is an answer word, which renameAnswers already renames`);
      return id;
    });
    groups.push(ids);
  }
  return groups;
}

/** Trains a DMN on bAbI questions; validation is the last 10% (by default) of them. */
export function trainBabi(rt: Runtime, options: BabiTrainOptions): BabiTrainResult {
  const keep = options.keep ?? 'best';
  if (keep !== 'best' && keep !== 'last') throw new RangeError(`keep must be 'best' or 'last', got ${String(keep)}`);
  if (options.renameAnswers !== undefined && typeof options.renameAnswers !== 'boolean') {
    throw new TypeError(`renameAnswers must be true or false, got ${JSON.stringify(options.renameAnswers)}`);
  }
  if (options.renameWords !== undefined) checkRenameWords(options.renameWords);
  const training: BabiTrainResult['training'] = {
    batchSize: options.batchSize ?? 100, lr: options.lr ?? 1e-3, l2: options.l2 ?? 0, clipNorm: options.clipNorm ?? 10,
    bucket: options.bucket !== false, renameAnswers: options.renameAnswers === true, renameWords: (options.renameWords ?? []).map((g) => [...g]), keep, validateEvery: options.validateEvery ?? null, validationFraction: options.validationFraction ?? 0.1,
  };
  const { train, validation } = splitBabi(options.examples, training.validationFraction);
  // The vocabulary sees the training part only: validation words it never saw map to <unk>.
  const vocab = babiVocabulary(train, { answerWords: options.answerModule === 'gru' });
  const enc = train.map((e) => encodeBabi(e, vocab));
  const venc = validation.map((e) => encodeBabi(e, vocab));
  const renameGroups = renameGroupIds(training, enc, vocab); // before the model: a bad word leaks nothing
  const passes = options.passes ?? 3;
  const { examples: _e, validationFraction: _v, keep: _kp, epochs: _ep, seconds: _s, targetAccuracy: _t, validateEvery: _ve, batchSize: _b, lr: _lr, l2: _l2,
    clipNorm: _c, bucket: _bk, renameAnswers: _ra, renameWords: _rw, log: _lg, progress: _p, onStep: _os, clock: _ck, ...dmnOptions } = options;
  const model = new DMN(rt, { ...dmnOptions, vocabSize: vocab.size });
  const trainer = new Trainer(model, { lr: training.lr, clipNorm: training.clipNorm, weightDecay: training.l2, seed: options.seed ?? 0 });
  const validBatches = babiBatches(venc, 250, passes);
  const maxSeconds = options.seconds ?? Infinity;
  const epochs = options.epochs ?? (options.seconds !== undefined ? 1000 : 20);
  const target = options.targetAccuracy ?? 1.01;
  const factCounts = enc.map((e) => e.facts.length);
  // Its own generator, so renaming leaves the batch order of a seed unchanged.
  const renameRng = new Rng(`${options.seed ?? 0}:rename-answers`);
  const renameMap = Int32Array.from({ length: vocab.size }, (_, i) => i);
  const trainExample = (i: number) =>
    renameGroups.length > 0 ? renameWords(enc[i], renameGroups, renameGroups.map((ids) => renameRng.permutation(ids.length)), renameMap) : enc[i];
  const history: BabiValidationPoint[] = [];
  let trainMs = 0, questions = 0, lossSum = 0, lossCount = 0, best = 0;
  let secondsToTarget: number | null = null;
  let epoch = 0;
  // The best validation point's weights (copied at each improvement: one block copy, about 1 MB).
  let bestWeights: Float32Array | null = null, bestStep = -1;
  const validate = () => {
    const { accuracy } = model.evaluate(validBatches);
    if (accuracy > best || bestStep < 0) {
      best = accuracy;
      bestStep = trainer.step;
      if (keep === 'best') bestWeights = model.params.valuesView().slice();
    }
    const point = { step: trainer.step, epoch, seconds: trainMs / 1000, accuracy, loss: lossSum / Math.max(1, lossCount) };
    history.push(point);
    lossSum = 0;
    lossCount = 0;
    if (accuracy >= target && secondsToTarget === null) secondsToTarget = point.seconds;
    options.log?.(`step ${point.step} epoch ${epoch + 1}: train loss ${point.loss.toFixed(4)}, validation accuracy ${(accuracy * 100).toFixed(1)}% (${point.seconds.toFixed(1)} s training, ${Math.round(questions / Math.max(1e-9, trainMs / 1000))} questions/s)`);
    return accuracy;
  };
  const clock = options.clock ?? (() => performance.now());
  let done = false;
  for (; epoch < epochs && !done; epoch++) {
    const batches = miniBatches(enc.length, training.batchSize, { rng: trainer.rng, lengths: training.bucket ? factCounts : undefined });
    const bar = options.progress ? new ProgressBar({ total: batches.length, label: `epoch ${epoch + 1}`, unit: 'q' }) : null;
    for (let k = 0; k < batches.length; k++) {
      const t0 = clock();
      const batch = makeDMNBatch(Array.from(batches[k], trainExample), passes);
      const { loss } = trainer.trainStep(batch);
      trainMs += clock() - t0;
      questions += batch.B;
      lossSum += loss;
      lossCount++;
      bar?.update(k + 1, loss);
      options.onStep?.({ step: trainer.step, seconds: trainMs / 1000, loss });
      if (options.validateEvery && trainer.step % options.validateEvery === 0 && validate() >= target) { done = true; break; }
      if (trainMs / 1000 >= maxSeconds) { done = true; break; }
    }
    bar?.finish();
    if (!options.validateEvery || done) {
      if (!(done && history.length > 0 && history[history.length - 1].step === trainer.step) && validate() >= target) done = true;
    }
  }
  const last = history[history.length - 1];
  const seconds = trainMs / 1000;
  let keptStep = trainer.step, accuracy = last.accuracy;
  if (keep === 'best' && bestWeights && bestStep !== trainer.step) {
    model.params.valuesView().set(bestWeights);
    keptStep = bestStep;
    accuracy = best;
  }
  return {
    model, vocab, history,
    training,
    metrics: {
      accuracy, bestAccuracy: best, trainQuestions: train.length, validationQuestions: validation.length, steps: trainer.step,
      epochs: Math.min(epoch, epochs), seconds, questionsPerSecond: questions / Math.max(1e-9, seconds), parameters: model.parameterCount,
      vocabSize: vocab.size, variant: model.options.variant, secondsToTarget, keptStep,
    },
  };
}

/** The weights, the vocabulary and the options in one safetensors file (`extra`: more metadata, e.g. the visual task). */
export function saveBabiModel(model: DMN, vocab: Vocabulary, extra: Record<string, string> = {}): Uint8Array {
  return writeSafetensors(model.stateDict(), {
    ...extra, format: 'rnn-wasm-dmn', vocabulary: JSON.stringify(vocab.toJSON()), options: JSON.stringify(model.config),
  });
}

export function loadBabiModel(rt: Runtime, bytes: Uint8Array): { model: DMN; vocab: Vocabulary } {
  const file = readSafetensors(bytes);
  const meta = safetensorsMetadata(file);
  if (meta.format !== 'rnn-wasm-dmn' || !meta.vocabulary || !meta.options) {
    throw new Error('not a DMN model file: its safetensors metadata lacks format "rnn-wasm-dmn", vocabulary and options (save one with `rnn-wasm train babi --save FILE`)');
  }
  // Clear errors for lying metadata, and no model left behind when the weights do not fit.
  const options = metadataObject(meta, 'options', 'DMN model file') as unknown as DMNOptions;
  const vocabJson = metadataObject(meta, 'vocabulary', 'DMN model file');
  let vocab: Vocabulary;
  try {
    vocab = Vocabulary.fromJSON(vocabJson as never);
  } catch (e) {
    throw new Error(`DMN model file: metadata 'vocabulary': ${(e as Error).message}`);
  }
  const model = new DMN(rt, { ...options, vocabSize: vocab.size });
  const dict: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(file)) if (k !== '__metadata__') dict[k] = t as { shape: number[]; data: Float32Array };
  try {
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, vocab };
}

/** Accuracy of a trained model on questions (words it never saw map to <unk>). */
export function evaluateBabi(model: DMN, vocab: Vocabulary, examples: BabiExample[]): { accuracy: number; questions: number } {
  return model.evaluate(babiBatches(examples.map((e) => encodeBabi(e, vocab)), 250, model.options.passes));
}

export interface AnsweredStory {
  facts: string[];
  question: string;
  answer: string;
  predicted: string;
  correct: boolean;
  supporting: number[];
  /** gates[pass][fact] */
  gates: number[][];
}

/** Answers each example and reads off every fact's gate in every pass. */
export function answerStories(model: DMN, vocab: Vocabulary, examples: BabiExample[]): AnsweredStory[] {
  if (examples.length === 0) return [];
  const batch = makeDMNBatch(examples.map((e) => encodeBabi(e, vocab)), model.options.passes);
  const { answers, gates, words } = model.predict(batch);
  return examples.map((e, b) => {
    const predicted = words ? Array.from(words[b], (w) => vocab.token(w)).join(',') : vocab.token(answers[b]);
    return {
      facts: e.facts.map((f) => f.join(' ')), question: e.question.join(' '), answer: answerToken(e), predicted, correct: predicted === answerToken(e),
      supporting: e.supporting, gates: gates.map((g) => Array.from(g.subarray(b * batch.M, b * batch.M + e.facts.length))),
    };
  });
}

/** The lecture's picture: each fact with a bar per pass for its gate (supporting facts starred). */
export function gateChart(story: AnsweredStory, width = 10, label = 'fact'): string[] {
  const bar = (g: number) => {
    const n = Math.round(Math.max(0, Math.min(1, g)) * width);
    return '█'.repeat(n) + '·'.repeat(width - n);
  };
  const passes = story.gates.length;
  const factWidth = Math.min(44, Math.max(...story.facts.map((f) => f.length)));
  const lines = [`${''.padEnd(4)}${label.padEnd(factWidth)}  ${Array.from({ length: passes }, (_, t) => `pass ${t + 1}`.padEnd(width + 6)).join('')}`];
  story.facts.forEach((f, i) => {
    const mark = story.supporting.includes(i) ? '*' : ' ';
    const text = f.length > factWidth ? f.slice(0, factWidth - 1) + '…' : f.padEnd(factWidth);
    lines.push(`${String(i + 1).padStart(2)}${mark} ${text}  ${story.gates.map((g) => `${bar(g[i])} ${g[i].toFixed(2)} `).join('')}`);
  });
  lines.push(`    Q: ${story.question}?  A: ${story.predicted} ${story.correct ? '(correct)' : `(truth: ${story.answer})`}`);
  return lines;
}
