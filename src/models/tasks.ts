// Ready-made training recipes, one per model: data (built-in synthetic by
// default, or a real file), model, Trainer, metrics, and a few examples of
// what the model learned. `rnn-wasm train <task>` and the examples call these.
import type { Runtime } from '../runtime/runtime.js';
import { padBatch, miniBatches, stratifiedSplit } from '../data/batch.js';
import { loadLabelledSentences, type LabelledSentence } from '../data/sentiment.js';
import { SCENE_COLOURS, syntheticRepeatTagging, syntheticScenes, syntheticSentiment } from '../data/synthetic.js';
import { builtinCorpus } from '../data/corpus.js';
import { tokenizeChars, tokenizeWords } from '../data/tokenize.js';
import { Rng } from '../train/rng.js';
import { cosineSchedule } from '../train/schedule.js';
import { UNK_ID, Vocabulary } from '../data/vocab.js';
import { Trainer, type EpochSummary, type Trainable, type TrainerOptions } from '../train/trainer.js';
import { SequenceClassifier, type ClassificationBatch, type Pooling } from './classifier.js';
import type { CellName } from './common.js';
import { SequenceTagger, type TaggingBatch } from './tagger.js';
import { SequenceGenerator, type GenerationBatch } from './generator.js';
import { CharLanguageModel, streamChunks, type StreamChunk } from './charlm.js';

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

/**
 * A recipe's Trainer: the settings every recipe shares (seed, clipping at global norm 5, the
 * progress option, the checkpoint) under its own, then, when asked and a checkpoint exists, a
 * resume from it. checkpointed = false: a side run that neither saves nor resumes.
 */
async function recipeTrainer<B>(model: Trainable<B>, options: TaskOptions, settings: TrainerOptions, checkpointed = true): Promise<Trainer<B>> {
  const checkpoint = checkpointed ? options.checkpoint : undefined;
  const trainer = new Trainer<B>(model, { clipNorm: 5, seed: options.seed ?? 0, progress: options.progress ?? 'auto', checkpoint, ...settings });
  if (!options.resume || !checkpoint) return trainer;
  const { access } = await import('node:fs/promises');
  try {
    await access(checkpoint.path);
  } catch {
    return trainer; // nothing saved yet: start from scratch
  }
  await trainer.resume(checkpoint.path);
  options.log?.(`resumed from ${checkpoint.path} at step ${trainer.step}`);
  return trainer;
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
  /** Cosine decay of the learning rate to 0 over the run (default false: constant). */
  cosine?: boolean;
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
  const lr = options.lr ?? 3e-3;
  const stepsPerEpoch = Math.ceil(trainIdx.length / batchSize);
  const trainer = await recipeTrainer<ClassificationBatch>(model, options, {
    optimizer: options.weightDecay ? 'adamw' : 'adam', weightDecay: options.weightDecay, lr,
    schedule: options.cosine ? cosineSchedule(lr, epochs * stepsPerEpoch) : undefined,
  });
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

// ---------------------------------------------------------------- tagger (many-to-many, synced)

export interface TaggerOptions extends TaskOptions {
  /**
   * Real data: a file of lines 'token token ...<TAB>tag tag ...' (one tag per
   * token, whitespace-separated); 20% is held out. Default: synthetic tags.
   */
  data?: string;
  /** Synthetic training sequences (default 2000); validation is a further 500. */
  count?: number;
  /** Look-back/look-ahead distance of the synthetic tags (default 2). */
  distance?: number;
  /** Also train the same model one-directional (same hidden size) for comparison (default true). */
  compareUnidirectional?: boolean;
}

/** Parses 'tokens<TAB>tags' lines; a malformed line throws naming the file and line. */
export function parseTaggedLines(text: string, source = 'input'): { tokens: string[][]; tagTokens: string[][] } {
  const tokens: string[][] = [];
  const tagTokens: string[][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const parts = line.split('\t');
    if (parts.length !== 2) throw new Error(`${source}:${i + 1}: expected 'tokens<TAB>tags', found ${parts.length - 1} TABs`);
    const toks = parts[0].trim().split(/\s+/).filter((t) => t !== '');
    const tags = parts[1].trim().split(/\s+/).filter((t) => t !== '');
    if (toks.length === 0) throw new Error(`${source}:${i + 1}: no tokens`);
    if (toks.length !== tags.length) throw new Error(`${source}:${i + 1}: ${toks.length} tokens but ${tags.length} tags`);
    tokens.push(toks);
    tagTokens.push(tags);
  });
  if (tokens.length < 10) throw new Error(`${source}: found only ${tokens.length} tagged sequences`);
  return { tokens, tagTokens };
}

function taggingBatches(data: { tokens: string[][]; tags: Int32Array[] }, vocab: Vocabulary) {
  const encoded = data.tokens.map((t) => vocab.encode(t));
  return (idx: ArrayLike<number>): TaggingBatch => {
    const seqs = Array.from(idx, (i) => encoded[i]);
    const padded = padBatch(seqs);
    const tags = padBatch(Array.from(idx, (i) => data.tags[i]), { padId: 0 });
    return { ids: padded.ids, lengths: padded.lengths, tags: tags.ids };
  };
}

/**
 * Tags that need both sides (tag = token equals the one k steps before, and/or
 * k steps after): a bidirectional tagger against the same model reading
 * forward only. Default data: synthetic; --data is not used by this task.
 */
export async function trainTagger(rt: Runtime, options: TaggerOptions = {}): Promise<TaskResult<SequenceTagger>> {
  const seed = options.seed ?? 0;
  const distance = options.distance ?? 2;
  let all: { tokens: string[][]; tags: Int32Array[]; tagNames: string[] };
  let trainIdx: Int32Array;
  let validIdx: Int32Array;
  if (options.data) {
    const { readFile } = await import('node:fs/promises');
    const parsed = parseTaggedLines(await readFile(options.data, 'utf8'), options.data);
    const tagNames = [...new Set(parsed.tagTokens.flat())].sort();
    const tagId = new Map(tagNames.map((t, i) => [t, i]));
    all = { tokens: parsed.tokens, tags: parsed.tagTokens.map((t) => Int32Array.from(t, (x) => tagId.get(x)!)), tagNames };
    const order = new Rng(seed).permutation(all.tokens.length);
    const nValid = Math.max(1, Math.round(all.tokens.length * 0.2));
    validIdx = order.slice(0, nValid).sort();
    trainIdx = order.slice(nValid).sort();
  } else {
    const n = options.count ?? 2000;
    all = syntheticRepeatTagging({ count: n + 500, seed, distance });
    trainIdx = Int32Array.from({ length: n }, (_, i) => i);
    validIdx = Int32Array.from({ length: 500 }, (_, i) => n + i);
  }
  const count = trainIdx.length;
  // The vocabulary sees the training part only.
  const vocab = Vocabulary.build(Array.from(trainIdx, (i) => all.tokens[i]));
  const toBatch = taggingBatches(all, vocab);
  const validBatches = miniBatches(validIdx.length, 250).map((b) => toBatch(Array.from(b, (k) => validIdx[k])));
  const batchSize = options.batchSize ?? 32;
  const epochs = options.epochs ?? 6;
  const fitOne = async (bidirectional: boolean, log: ((line: string) => void) | undefined, withCheckpoint: boolean) => {
    const model = new SequenceTagger(rt, {
      vocabSize: vocab.size, numTags: all.tagNames.length, hiddenSize: options.hiddenSize ?? 32, cell: options.cell ?? 'gru', bidirectional, seed,
    });
    const trainer = await recipeTrainer<TaggingBatch>(model, options, { lr: options.lr ?? 1e-2 }, withCheckpoint);
    const history = await trainer.fit({
      epochs,
      batches: (_e, rng) => miniBatches(count, batchSize, { rng }).map((b) => toBatch(Array.from(b, (k) => trainIdx[k]))),
      validate: () => model.evaluate(validBatches),
      onEpoch: epochLogger(log, epochs),
      itemsPerBatch: batchSize,
      unit: 'seq',
    });
    return { model, trainer, history };
  };
  const t0 = performance.now();
  const bi = await fitOne(true, options.log ? (l) => options.log!(`[bidirectional] ${l}`) : undefined, true);
  const biMetrics = bi.model.evaluate(validBatches);
  const metrics: Record<string, number | string> = {
    task: 'tagger', accuracy: biMetrics.accuracy, sequenceAccuracy: biMetrics.sequenceAccuracy,
  };
  if (options.compareUnidirectional ?? true) {
    const uni = await fitOne(false, options.log ? (l) => options.log!(`[forward only ] ${l}`) : undefined, false);
    const uniMetrics = uni.model.evaluate(validBatches);
    metrics.unidirectionalAccuracy = uniMetrics.accuracy;
    metrics.unidirectionalSequenceAccuracy = uniMetrics.sequenceAccuracy;
    uni.trainer.optimizer.dispose();
    uni.model.dispose();
  }
  Object.assign(metrics, { epochs, steps: bi.trainer.step, seconds: (performance.now() - t0) / 1000, parameters: bi.model.parameterCount });
  const shown = [validIdx[0], validIdx[1], validIdx[2]];
  const batch = toBatch(shown);
  const pred = bi.model.predict(batch);
  const B = shown.length;
  const examples = shown.flatMap((i, b) => {
    const len = batch.lengths[b];
    const sep = options.data ? ' ' : '';
    const tagsOf = (src: ArrayLike<number>) => Array.from({ length: len }, (_, t) => (options.data ? all.tagNames[src[t * B + b]] : String(src[t * B + b]))).join(sep);
    return [
      options.data
        ? `tokens  ${all.tokens[i].join(' ')}`
        : `tokens  ${all.tokens[i].join('')}   (tag = [x_t = x_t-${distance}] + 2 [x_t = x_t+${distance}])`,
      `truth   ${tagsOf(batch.tags!)}`,
      `bi-RNN  ${tagsOf(pred)}`,
    ];
  });
  return { model: bi.model, trainer: bi.trainer as Trainer<unknown>, history: bi.history, metrics, examples };
}

// ---------------------------------------------------------------- caption (one-to-many)

export interface CaptionOptions extends TaskOptions {
  /**
   * Real data: a file of lines 'f1 f2 ... fF<TAB>caption words' (numbers
   * separated by spaces or commas, the same F on every line); 20% is held out.
   * Default: synthetic scenes.
   */
  data?: string;
  /** Synthetic training scenes (default 2000); validation is a further 300. */
  count?: number;
  /** Gaussian noise added to the scene features (default 0.1). */
  noise?: number;
}

/** Parses 'features<TAB>caption' lines into a feature matrix and word lists. */
export function parseCaptionLines(text: string, source = 'input'): { features: Float32Array; featureSize: number; captions: string[][] } {
  const rows: number[][] = [];
  const captions: string[][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const parts = line.split('\t');
    if (parts.length !== 2) throw new Error(`${source}:${i + 1}: expected 'features<TAB>caption', found ${parts.length - 1} TABs`);
    const values = parts[0].trim().split(/[\s,]+/).filter((v) => v !== '').map(Number);
    if (values.length === 0 || values.some((v) => !Number.isFinite(v))) throw new Error(`${source}:${i + 1}: features must be finite numbers`);
    if (rows.length > 0 && values.length !== rows[0].length) throw new Error(`${source}:${i + 1}: ${values.length} features, the first line has ${rows[0].length}`);
    const words = tokenizeWords(parts[1]);
    if (words.length === 0) throw new Error(`${source}:${i + 1}: empty caption`);
    rows.push(values);
    captions.push(words);
  });
  if (rows.length < 10) throw new Error(`${source}: found only ${rows.length} captioned vectors`);
  const featureSize = rows[0].length;
  const features = new Float32Array(rows.length * featureSize);
  rows.forEach((r, i) => features.set(r, i * featureSize));
  return { features, featureSize, captions };
}

/** Describes synthetic scenes ("two small red circles") from their feature vectors. */
export async function trainCaptioner(rt: Runtime, options: CaptionOptions = {}): Promise<TaskResult<SequenceGenerator>> {
  const seed = options.seed ?? 0;
  let scenes: { features: Float32Array; featureSize: number; captions: string[][] };
  let trainIdx: number[];
  let validIdx: number[];
  if (options.data) {
    const { readFile } = await import('node:fs/promises');
    scenes = parseCaptionLines(await readFile(options.data, 'utf8'), options.data);
    const order = Array.from(new Rng(seed).permutation(scenes.captions.length));
    const nValid = Math.max(1, Math.round(order.length * 0.2));
    validIdx = order.slice(0, nValid).sort((a, b) => a - b);
    trainIdx = order.slice(nValid).sort((a, b) => a - b);
  } else {
    const n = options.count ?? 2000;
    scenes = syntheticScenes({ count: n + 300, seed, noise: options.noise ?? 0.1 });
    trainIdx = Array.from({ length: n }, (_, i) => i);
    validIdx = Array.from({ length: 300 }, (_, i) => n + i);
  }
  const count = trainIdx.length;
  const vocab = Vocabulary.build(trainIdx.map((i) => scenes.captions[i]), { specials: ['<bos>', '<eos>'] });
  const bos = vocab.id('<bos>');
  const eos = vocab.id('<eos>');
  const F = scenes.featureSize;
  const captionIds = scenes.captions.map((c) => vocab.encode(c));
  const maxWords = Math.max(...scenes.captions.map((c) => c.length));
  const toBatch = (idx: ArrayLike<number>): GenerationBatch => {
    const list = Array.from(idx);
    const inputs = padBatch(list.map((i) => Int32Array.of(bos, ...captionIds[i])));
    const targets = padBatch(list.map((i) => Int32Array.of(...captionIds[i], eos)));
    const features = new Float32Array(list.length * F);
    list.forEach((i, b) => features.set(scenes.features.subarray(i * F, (i + 1) * F), b * F));
    return { features, inputs: inputs.ids, targets: targets.ids, lengths: inputs.lengths };
  };
  const validFeatures = toBatch(validIdx).features;
  const exactMatch = (model: SequenceGenerator) => {
    const out = model.generate(validFeatures, { maxLength: maxWords + 1 });
    let ok = 0;
    out.forEach((ids, k) => (ok += vocab.decode(ids).join(' ') === scenes.captions[validIdx[k]].join(' ') ? 1 : 0));
    return ok / out.length;
  };
  const model = new SequenceGenerator(rt, {
    featureSize: F, vocabSize: vocab.size, bosId: bos, eosId: eos, hiddenSize: options.hiddenSize ?? 64, cell: options.cell ?? 'gru', seed,
  });
  const batchSize = options.batchSize ?? 32;
  const epochs = options.epochs ?? 5;
  const trainer = await recipeTrainer<GenerationBatch>(model, options, { lr: options.lr ?? 1e-2 });
  const t0 = performance.now();
  const history = await trainer.fit({
    epochs,
    batches: (_e, rng) => miniBatches(count, batchSize, { rng }).map((b) => toBatch(Array.from(b, (k) => trainIdx[k]))),
    validate: () => ({ exactMatch: exactMatch(model) }),
    onEpoch: epochLogger(options.log, epochs),
    itemsPerBatch: batchSize,
    unit: 'seq',
  });
  const seconds = (performance.now() - t0) / 1000;
  const accuracy = exactMatch(model);
  const rng = new Rng(seed + 1);
  const shown = validIdx.slice(0, 4);
  const shownFeatures = toBatch(shown).features;
  const greedy = model.generate(shownFeatures, { maxLength: maxWords + 1 });
  const warm = model.generate(shownFeatures, { maxLength: maxWords + 1, temperature: 1, rng });
  const examples = shown.map((i, k) => `truth "${scenes.captions[i].join(' ')}"  greedy "${vocab.decode(greedy[k]).join(' ')}"  T=1 "${vocab.decode(warm[k]).join(' ')}"`);
  if (!options.data) {
    // An ambiguous scene: the first one with its colour feature split between red and blue.
    const mixed = scenes.features.slice(0, F);
    mixed.fill(0, 0, SCENE_COLOURS.length);
    mixed[SCENE_COLOURS.indexOf('red')] = 0.5;
    mixed[SCENE_COLOURS.indexOf('blue')] = 0.5;
    const repeated = new Float32Array(5 * F);
    for (let k = 0; k < 5; k++) repeated.set(mixed, k * F);
    const samples = model.generate(repeated, { maxLength: maxWords + 1, temperature: 1, rng }).map((ids) => `"${vocab.decode(ids).join(' ')}"`);
    examples.push(`"${scenes.captions[0].join(' ')}" recoloured half red, half blue: greedy "${vocab.decode(model.generate(mixed, { maxLength: maxWords + 1 })[0]).join(' ')}"  T=1 samples ${samples.join(' ')}`);
  }
  return {
    model, trainer: trainer as Trainer<unknown>, history, examples,
    metrics: { task: 'caption', exactMatch: accuracy, epochs, steps: trainer.step, seconds, parameters: model.parameterCount },
  };
}

// ---------------------------------------------------------------- char LM

export interface CharLMOptions extends TaskOptions {
  /** A text file; default: the built-in corpus (nursery rhymes + generated sentences). */
  data?: string;
  /** Characters per truncated-BPTT chunk (default 64). */
  steps?: number;
  /** Characters sampled to show what it learned (default 200). */
  sampleLength?: number;
  temperature?: number;
}

/** Karpathy's char-rnn: an LSTM over characters trained with truncated BPTT, then sampled. */
export async function trainCharLM(rt: Runtime, options: CharLMOptions = {}): Promise<TaskResult<CharLanguageModel>> {
  const seed = options.seed ?? 0;
  let text: string;
  if (options.data) {
    const { readFile } = await import('node:fs/promises');
    text = await readFile(options.data, 'utf8');
    if (text.length < 200) throw new Error(`--data: ${options.data} has only ${text.length} characters; a language model needs more text`);
  } else text = builtinCorpus();
  const chars = tokenizeChars(text);
  const vocab = Vocabulary.build([chars]);
  const stream = vocab.encode(chars);
  // The last 10% is held out.
  const cut = Math.floor(stream.length * 0.9);
  const batchSize = options.batchSize ?? 16;
  const steps = options.steps ?? 64;
  const trainChunks = streamChunks(stream.subarray(0, cut), batchSize, steps);
  const validChunks = streamChunks(stream.subarray(cut), 1, Math.min(steps, Math.floor((stream.length - cut - 1) / 2)));
  const model = new CharLanguageModel(rt, { vocabSize: vocab.size, hiddenSize: options.hiddenSize ?? 128, cell: options.cell ?? 'lstm', seed });
  const epochs = options.epochs ?? 10;
  const trainer = await recipeTrainer<StreamChunk>(model, options, { lr: options.lr ?? 5e-3 });
  const t0 = performance.now();
  const history = await trainer.fit({
    epochs,
    // A stream is not shuffled: chunks run in order so each starts where the last one ended.
    batches: () => trainChunks,
    validate: () => model.evaluate(validChunks),
    onEpoch: epochLogger(options.log, epochs),
    itemsPerBatch: batchSize * steps,
    unit: 'char',
  });
  const seconds = (performance.now() - t0) / 1000;
  const final = model.evaluate(validChunks);
  const rng = new Rng(seed + 1);
  const prompt = vocab.encode(tokenizeChars('The '));
  const temperature = options.temperature ?? 0.7;
  const sampled = model.sample(prompt, options.sampleLength ?? 200, { temperature, rng });
  const sample = 'The ' + vocab.decode(sampled).join('');
  return {
    model, trainer: trainer as Trainer<unknown>, history,
    examples: [`sample at temperature ${temperature}:`, ...sample.split('\n').map((l) => `  ${l}`)],
    metrics: {
      task: 'charlm', loss: final.loss, bitsPerChar: final.bitsPerChar, characters: stream.length, vocabSize: vocab.size,
      epochs, steps: trainer.step, seconds, parameters: model.parameterCount, sample,
    },
  };
}
