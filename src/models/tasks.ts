// Ready-made training recipes, one per model: data (built-in synthetic by
// default, or a real file), model, Trainer, metrics, and a few examples of
// what the model learned. `rnn-wasm train <task>` and the examples call these.
import type { Runtime } from '../runtime/runtime.js';
import { padBatch, miniBatches, stratifiedSplit } from '../data/batch.js';
import { loadLabelledSentences, type LabelledSentence } from '../data/sentiment.js';
import { syntheticSentiment } from '../data/synthetic.js';
import { tokenizeWords } from '../data/tokenize.js';
import { UNK_ID, Vocabulary } from '../data/vocab.js';
import { Trainer, type EpochSummary } from '../train/trainer.js';
import { SequenceClassifier, type ClassificationBatch, type Pooling } from './classifier.js';
import type { CellName } from './common.js';

export interface TaskOptions {
  /** Seed of data split, initialisation, shuffling and dropout (default 0). */
  seed?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  hiddenSize?: number;
  cell?: CellName;
  /** Progress bar on stderr: 'auto' (TTY only, default), true, false. */
  progress?: boolean | 'auto';
  /** One line per epoch (e.g. console.error). */
  log?: (line: string) => void;
  /** Checkpoint every N steps to this path, and resume from it when it exists. */
  checkpoint?: { path: string; every: number };
  resume?: boolean;
}

export interface TaskResult<M> {
  model: M;
  trainer: Trainer<unknown>;
  /** Final metrics (the CLI prints them as one JSON line with --json). */
  metrics: Record<string, number | string>;
  /** Human-readable lines showing what the model learned. */
  examples: string[];
  history: EpochSummary[];
}

function epochLogger(log: ((line: string) => void) | undefined, epochs: number) {
  return (s: EpochSummary) => {
    if (!log) return;
    const v = s.validation ? Object.entries(s.validation).map(([k, x]) => `val ${k} ${x.toFixed(4)}`).join(', ') : '';
    log(`epoch ${s.epoch + 1}/${epochs}: train loss ${s.loss.toFixed(4)}${v ? `, ${v}` : ''} (${s.seconds.toFixed(1)} s)`);
  };
}

async function maybeResume(trainer: Trainer<unknown>, options: TaskOptions): Promise<void> {
  if (!options.resume || !options.checkpoint) return;
  const { access } = await import('node:fs/promises');
  try {
    await access(options.checkpoint.path);
  } catch {
    return; // nothing saved yet: start from scratch
  }
  await trainer.resume(options.checkpoint.path);
  options.log?.(`resumed from ${options.checkpoint.path} at step ${trainer.step}`);
}

// ---------------------------------------------------------------- sentiment (many-to-one)

export interface SentimentOptions extends TaskOptions {
  /** 'sentence<TAB>label' file(s) or a directory of them; default: synthetic sentences. */
  data?: string | LabelledSentence[];
  /** Held-out fraction, stratified by label (default 0.2). */
  validationFraction?: number;
  embeddingDim?: number;
  dropout?: number;
  /** Words seen fewer times in the training split map to <unk> (default 2: rarer words overfit). */
  minCount?: number;
  /** AdamW decoupled weight decay (default 0: plain Adam). */
  weightDecay?: number;
  pooling?: Pooling;
}

/** Reads a file, a comma-separated list of files, or every .txt/.tsv file (not README) in a directory. */
export async function readLabelledData(spec: string): Promise<LabelledSentence[]> {
  const { stat, readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const files: string[] = [];
  for (const part of spec.split(',').filter((p) => p !== '')) {
    const info = await stat(part).catch(() => {
      throw new Error(`--data: ${part} does not exist`);
    });
    if (info.isDirectory()) {
      const names = (await readdir(part)).filter((n) => /\.(txt|tsv)$/i.test(n) && !/readme/i.test(n)).sort();
      if (names.length === 0) throw new Error(`--data: ${part} holds no .txt or .tsv files`);
      files.push(...names.map((n) => join(part, n)));
    } else files.push(part);
  }
  const out: LabelledSentence[] = [];
  for (const f of files) out.push(...(await loadLabelledSentences(f)));
  if (out.length < 10) throw new Error(`--data: found only ${out.length} labelled sentences`);
  return out;
}

export async function trainSentiment(rt: Runtime, options: SentimentOptions = {}): Promise<TaskResult<SequenceClassifier>> {
  const seed = options.seed ?? 0;
  const data = typeof options.data === 'string'
    ? await readLabelledData(options.data)
    : options.data ?? syntheticSentiment({ count: 2000, seed });
  const split = stratifiedSplit(data.map((d) => d.label), options.validationFraction ?? 0.2, seed);
  const tokens = data.map((d) => tokenizeWords(d.sentence));
  // The vocabulary sees the training split only: held-out words it never saw map to <unk>.
  const vocab = Vocabulary.build(Array.from(split.train, (i) => tokens[i]), { minCount: options.minCount ?? 2 });
  const encode = (i: number) => {
    const ids = vocab.encode(tokens[i]);
    return ids.length > 0 ? ids : Int32Array.of(UNK_ID);
  };
  const encoded = data.map((_, i) => encode(i));
  const labels = Int32Array.from(data, (d) => d.label);
  const numClasses = Math.max(1, ...labels) + 1;
  const toBatch = (idx: ArrayLike<number>): ClassificationBatch => {
    const padded = padBatch(Array.from(idx, (i) => encoded[i]));
    return { ids: padded.ids, lengths: padded.lengths, labels: Int32Array.from(idx, (i) => labels[i]) };
  };
  const batchSize = options.batchSize ?? 32;
  const trainIdx = split.train;
  const trainLengths = Array.from(trainIdx, (i) => encoded[i].length);
  const validBatches = miniBatches(split.validation.length, 256).map((b) => toBatch(Array.from(b, (k) => split.validation[k])));

  const model = new SequenceClassifier(rt, {
    vocabSize: vocab.size, numClasses, embeddingDim: options.embeddingDim ?? 64, hiddenSize: options.hiddenSize ?? 64,
    cell: options.cell ?? 'gru', bidirectional: true, pooling: options.pooling ?? 'max', dropout: options.dropout ?? 0.3, seed,
  });
  const epochs = options.epochs ?? 10;
  const trainer = new Trainer<ClassificationBatch>(model, {
    optimizer: options.weightDecay ? 'adamw' : 'adam', weightDecay: options.weightDecay, lr: options.lr ?? 3e-3, clipNorm: 5, seed, progress: options.progress ?? 'auto', checkpoint: options.checkpoint,
  });
  await maybeResume(trainer as Trainer<unknown>, options);
  const t0 = performance.now();
  const history = await trainer.fit({
    epochs,
    batches: (_epoch, rng) => miniBatches(trainIdx.length, batchSize, { rng, lengths: trainLengths }).map((b) => toBatch(Array.from(b, (k) => trainIdx[k]))),
    validate: () => model.evaluate(validBatches),
    onEpoch: epochLogger(options.log, epochs),
    itemsPerBatch: batchSize,
    unit: 'seq',
  });
  const seconds = (performance.now() - t0) / 1000;
  const final = model.evaluate(validBatches);
  const shown = Array.from(split.validation.slice(0, 6));
  const pred = model.predictProba(toBatch(shown));
  const examples = shown.map((i, k) => {
    const p = pred[k * numClasses + 1];
    const mark = (p > 0.5 ? 1 : 0) === labels[i] ? 'ok ' : 'MISS';
    return `${mark} p(positive)=${p.toFixed(2)} label=${labels[i]}  ${data[i].sentence.slice(0, 80)}`;
  });
  return {
    model, trainer: trainer as Trainer<unknown>, history, examples,
    metrics: {
      task: 'sentiment', accuracy: final.accuracy, loss: final.loss, trainSize: trainIdx.length, validationSize: split.validation.length,
      vocabSize: vocab.size, epochs, steps: trainer.step, seconds, parameters: model.parameterCount,
    },
  };
}
