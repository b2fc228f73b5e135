// Seeded synthetic datasets for the four tasks of a recurrent-network course:
//   many-to-one   syntheticSentiment      token sequence -> class (negation makes order matter)
//   one-to-many   syntheticScenes         feature vector -> caption ("two small red circles")
//   many-to-many  syntheticRepeatTagging  per-step tags that need context from both sides
//   char LM       charLanguageModelBatch  windows of a character stream, targets shifted by one
// Each returns plain data (strings, tokens, numbers) that flows through the same tokenizer,
// Vocabulary and padBatch as real data. Same seed, same data.
import { Rng } from '../train/rng.js';
import type { LabelledSentence } from './sentiment.js';
import type { Layout } from './batch.js';

function checkCount(name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function seedRng(seed: number | Rng | undefined): Rng {
  return seed instanceof Rng ? seed : new Rng(seed ?? 0);
}

// ---------------------------------------------------------------------------------------
// Many-to-one: sentiment-like classification

export const POSITIVE_WORDS = ['good', 'great', 'excellent', 'love', 'wonderful', 'nice', 'happy', 'best', 'enjoyed', 'perfect'];
export const NEGATIVE_WORDS = ['bad', 'awful', 'terrible', 'hate', 'poor', 'boring', 'sad', 'worst', 'broken', 'disappointing'];
export const NEUTRAL_WORDS = ['the', 'movie', 'food', 'it', 'was', 'service', 'phone', 'this', 'a', 'and', 'very', 'really', 'i', 'we', 'story', 'place', 'is', 'so'];
export const NEGATORS = ['not', 'never'];

export interface SyntheticSentimentOptions {
  count: number;
  seed?: number | Rng;
  minLength?: number;
  maxLength?: number;
  /** Probability that a sentiment word is preceded by a negator that flips it (default 0.3). */
  negation?: number;
}

/**
 * Sentences of filler words with one to three sentiment words placed anywhere; "not"/"never"
 * right before a sentiment word flips its polarity. The label is 1 when the (flipped)
 * polarities sum to more than zero, 0 when less; ties are redrawn. Labels alternate 0, 1, 0, ...
 * so the classes are balanced (shuffle or split with the helpers).
 */
export function syntheticSentiment(options: SyntheticSentimentOptions): LabelledSentence[] {
  const count = checkCount('syntheticSentiment count', options.count);
  const minLength = checkCount('minLength', options.minLength ?? 4, 2);
  const maxLength = checkCount('maxLength', options.maxLength ?? 12, minLength);
  const negation = options.negation ?? 0.3;
  if (!(negation >= 0 && negation <= 1)) throw new RangeError(`negation must be in [0, 1], got ${negation}`);
  const rng = seedRng(options.seed);
  const out: LabelledSentence[] = [];
  for (let i = 0; i < count; i++) {
    const want = i % 2;
    for (;;) {
      const length = rng.integer(minLength, maxLength);
      const words = Array.from({ length }, () => NEUTRAL_WORDS[rng.int(NEUTRAL_WORDS.length)]);
      const sentimentCount = 1 + rng.int(Math.min(3, Math.floor(length / 2)));
      let score = 0;
      const used = new Set<number>();
      for (let k = 0; k < sentimentCount; k++) {
        const pos = 1 + rng.int(length - 1); // position 0 stays free for a negator
        if (used.has(pos) || used.has(pos - 1) || used.has(pos + 1)) continue;
        used.add(pos);
        const positive = rng.bernoulli(0.5);
        words[pos] = positive ? POSITIVE_WORDS[rng.int(POSITIVE_WORDS.length)] : NEGATIVE_WORDS[rng.int(NEGATIVE_WORDS.length)];
        let polarity = positive ? 1 : -1;
        if (rng.bernoulli(negation)) {
          words[pos - 1] = NEGATORS[rng.int(NEGATORS.length)];
          polarity = -polarity;
        }
        score += polarity;
      }
      if (score === 0 || (score > 0 ? 1 : 0) !== want) continue;
      out.push({ sentence: words.join(' '), label: want });
      break;
    }
  }
  return out;
}

/** The label syntheticSentiment assigns to a token list (for tests and error analysis). */
export function syntheticSentimentLabel(tokens: string[]): number | null {
  let score = 0;
  for (let i = 0; i < tokens.length; i++) {
    const p = POSITIVE_WORDS.includes(tokens[i]) ? 1 : NEGATIVE_WORDS.includes(tokens[i]) ? -1 : 0;
    if (p === 0) continue;
    score += i > 0 && NEGATORS.includes(tokens[i - 1]) ? -p : p;
  }
  return score === 0 ? null : score > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// One-to-many: scene features -> caption

export const SCENE_COLOURS = ['red', 'green', 'blue', 'yellow', 'purple'];
export const SCENE_SHAPES = ['circle', 'square', 'triangle', 'star'];
export const SCENE_COUNTS = ['one', 'two', 'three', 'four'];
export const SCENE_SIZES = ['', 'small', 'big'];

export interface Scene {
  count: number; // 1..4
  colour: string;
  shape: string;
  /** '' when the caption names no size. */
  size: string;
}

export interface SceneDataset {
  scenes: Scene[];
  /** [count, featureSize], row-major: one-hot colour | one-hot shape | one-hot count | one-hot size, plus noise. */
  features: Float32Array;
  featureSize: number;
  /** Caption tokens, e.g. ['two', 'small', 'red', 'circles'] (add <bos>/<eos> when encoding). */
  captions: string[][];
}

/** The caption of a scene: count word, optional size, colour, shape (plural for counts > 1). */
export function sceneCaption(scene: Scene): string[] {
  const noun = scene.count > 1 ? `${scene.shape}s` : scene.shape;
  return [SCENE_COUNTS[scene.count - 1], ...(scene.size ? [scene.size] : []), scene.colour, noun];
}

export const SCENE_FEATURE_SIZE = SCENE_COLOURS.length + SCENE_SHAPES.length + SCENE_COUNTS.length + SCENE_SIZES.length;

/** Random scenes, their feature vectors (one-hot blocks plus optional Gaussian noise) and captions. */
export function syntheticScenes(options: { count: number; seed?: number | Rng; noise?: number }): SceneDataset {
  const count = checkCount('syntheticScenes count', options.count);
  const noise = options.noise ?? 0;
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`noise must be a finite number >= 0, got ${noise}`);
  const rng = seedRng(options.seed);
  // Noise from its own stream, so the scenes are the same with or without noise.
  const noiseRng = rng.split();
  const F = SCENE_FEATURE_SIZE;
  const features = new Float32Array(count * F);
  const scenes: Scene[] = [];
  const captions: string[][] = [];
  for (let i = 0; i < count; i++) {
    const c = rng.int(SCENE_COLOURS.length);
    const s = rng.int(SCENE_SHAPES.length);
    const n = rng.int(SCENE_COUNTS.length);
    const z = rng.int(SCENE_SIZES.length);
    const scene: Scene = { count: n + 1, colour: SCENE_COLOURS[c], shape: SCENE_SHAPES[s], size: SCENE_SIZES[z] };
    const row = features.subarray(i * F, (i + 1) * F);
    row[c] = 1;
    row[SCENE_COLOURS.length + s] = 1;
    row[SCENE_COLOURS.length + SCENE_SHAPES.length + n] = 1;
    row[SCENE_COLOURS.length + SCENE_SHAPES.length + SCENE_COUNTS.length + z] = 1;
    if (noise > 0) for (let f = 0; f < F; f++) row[f] += noiseRng.normal(0, noise);
    scenes.push(scene);
    captions.push(sceneCaption(scene));
  }
  return { scenes, features, featureSize: F, captions };
}

// ---------------------------------------------------------------------------------------
// Many-to-many: tags that need both directions

export interface RepeatTaggingOptions {
  count: number;
  seed?: number | Rng;
  minLength?: number;
  maxLength?: number;
  /** Alphabet size (tokens 'a', 'b', ...), 2..26. Default 4. */
  symbols?: number;
  /** The look-back and look-ahead distance k. Default 2. */
  distance?: number;
}

export interface TaggingDataset {
  /** Token strings per sequence. */
  tokens: string[][];
  /** Tag per step, in 0..3: bit 0 = equals the token k steps BEFORE, bit 1 = equals the token k steps AFTER. */
  tags: Int32Array[];
  tagNames: string[];
}

/**
 * Tag t = [x_t == x_{t-k}] + 2 [x_t == x_{t+k}] (missing neighbours count as different).
 * Tokens are i.i.d. uniform, so at step t a forward-only model has seen nothing that predicts
 * bit 1: its best accuracy on that bit is 1 - 1/symbols, and on the full tag at most that,
 * while a bidirectional model can be exact.
 */
export function syntheticRepeatTagging(options: RepeatTaggingOptions): TaggingDataset {
  const count = checkCount('syntheticRepeatTagging count', options.count);
  const k = checkCount('distance', options.distance ?? 2, 1);
  const minLength = checkCount('minLength', options.minLength ?? 6, 1);
  const maxLength = checkCount('maxLength', options.maxLength ?? 16, minLength);
  const symbols = checkCount('symbols', options.symbols ?? 4, 2);
  if (symbols > 26) throw new RangeError(`symbols must be at most 26, got ${symbols}`);
  const rng = seedRng(options.seed);
  const tokens: string[][] = [];
  const tags: Int32Array[] = [];
  for (let i = 0; i < count; i++) {
    const T = rng.integer(minLength, maxLength);
    const x = Array.from({ length: T }, () => rng.int(symbols));
    const tag = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      tag[t] = (t - k >= 0 && x[t - k] === x[t] ? 1 : 0) + (t + k < T && x[t + k] === x[t] ? 2 : 0);
    }
    tokens.push(x.map((v) => String.fromCharCode(97 + v)));
    tags.push(tag);
  }
  return { tokens, tags, tagNames: ['none', 'before', 'after', 'both'] };
}

// ---------------------------------------------------------------------------------------
// Character language model batches

export interface LanguageModelBatch {
  /** Ids at steps 0..T-1 of each window, [T, B] or [B, T]. */
  inputs: Int32Array;
  /** The next character of each input position (the same window shifted by one). */
  targets: Int32Array;
  shape: [number, number];
  layout: Layout;
  /** Where each window starts in the stream. */
  offsets: Int32Array;
}

/**
 * B windows of T+1 consecutive ids from `stream` at random offsets (seeded); inputs are the
 * first T, targets the last T. Every window is full length, so no padding or mask is needed.
 */
export function charLanguageModelBatch(
  stream: Int32Array,
  options: { steps: number; batch: number; rng: Rng; layout?: Layout },
): LanguageModelBatch {
  if (!(stream instanceof Int32Array)) throw new TypeError('charLanguageModelBatch: stream must be an Int32Array of ids (vocab.encode(tokenizeChars(text)))');
  const T = checkCount('steps', options.steps, 1);
  const B = checkCount('batch', options.batch, 1);
  const layout = options.layout ?? 'TB';
  if (layout !== 'TB' && layout !== 'BT') throw new RangeError(`layout must be 'TB' or 'BT', got ${String(layout)}`);
  if (stream.length < T + 1) throw new RangeError(`charLanguageModelBatch: the stream has ${stream.length} ids, need at least steps + 1 = ${T + 1}`);
  const inputs = new Int32Array(T * B);
  const targets = new Int32Array(T * B);
  const offsets = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const start = options.rng.int(stream.length - T);
    offsets[b] = start;
    for (let t = 0; t < T; t++) {
      const at = layout === 'TB' ? t * B + b : b * T + t;
      inputs[at] = stream[start + t];
      targets[at] = stream[start + t + 1];
    }
  }
  return { inputs, targets, shape: layout === 'TB' ? [T, B] : [B, T], layout, offsets };
}
