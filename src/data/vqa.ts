// A synthetic visual question-answering task for the DMN's visual input module, built in (a
// seeded generator, nothing to download): an R x C grid (default 3 x 3) holding a few coloured
// shapes, each shape and each colour at most once per grid, so that "the circle" and "the red
// shape" name one object. Every region is a feature vector, as a CNN would give for it:
//   [shape one-hot (4) | colour one-hot (4) | row one-hot (R) | column one-hot (C)] + N(0, noise²)
// (empty regions: zeros in the first 8; the coordinates play the part of a CNN's coordinate
// channels, so that "left of" needs no counting along the snake). Questions:
//   what colour is the circle ?                 -> red      (supporting: the circle)
//   what shape is red ?                         -> circle   (supporting: the red shape)
//   what colour is the shape left of the circle ?  -> blue  (supporting: the circle, then its neighbour)
//   what shape is above the red shape ?         -> star     (relations: left of, right of, above, below)
import { Rng } from '../train/rng.js';
import { checkSize } from '../runtime/check.js';
import { Vocabulary } from './vocab.js';

export const VQA_SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export const VQA_COLOURS = ['red', 'green', 'blue', 'yellow'] as const;
export type VqaShape = (typeof VQA_SHAPES)[number];
export type VqaColour = (typeof VQA_COLOURS)[number];
export type VqaKind = 'colour-of' | 'shape-of' | 'relation';
const RELATIONS = [
  { words: ['left', 'of'], dr: 0, dc: -1 },
  { words: ['right', 'of'], dr: 0, dc: 1 },
  { words: ['above'], dr: -1, dc: 0 },
  { words: ['below'], dr: 1, dc: 0 },
];

export interface VqaObject {
  /** Row-major cell index r * cols + c. */
  cell: number;
  shape: VqaShape;
  colour: VqaColour;
}

export interface VqaExample {
  rows: number;
  cols: number;
  features: number;
  /** [rows * cols * features], cell (r, c) at (r * cols + c) * features. */
  grid: Float32Array;
  objects: VqaObject[];
  question: string[];
  answer: string;
  kind: VqaKind;
  /** Cells the answer rests on, in the order a reasoner visits them. */
  supporting: number[];
}

export interface VqaGenerateOptions {
  /** How many questions. */
  count: number;
  seed: number;
  /** Default 3. */
  rows?: number;
  /** Default 3. */
  cols?: number;
  /** Objects per grid, at least 2 and at most 4 (default 3). */
  objects?: number;
  /** Standard deviation of the Gaussian noise on every feature (default 0.1). */
  noise?: number;
  /** Which kinds of question, drawn uniformly (default all three). */
  kinds?: readonly VqaKind[];
}

/** Features per region for a grid of this size. */
export function vqaFeatureCount(rows: number, cols: number): number {
  return VQA_SHAPES.length + VQA_COLOURS.length + rows + cols;
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A question about the objects, or null when this kind has none here (no neighbour in any direction). */
function askQuestion(kind: VqaKind, objects: VqaObject[], rows: number, cols: number, rng: Rng): Pick<VqaExample, 'question' | 'answer' | 'supporting'> | null {
  const o = objects[rng.int(objects.length)];
  if (kind === 'colour-of') return { question: ['what', 'colour', 'is', 'the', o.shape], answer: o.colour, supporting: [o.cell] };
  if (kind === 'shape-of') return { question: ['what', 'shape', 'is', o.colour], answer: o.shape, supporting: [o.cell] };
  const pairs: { anchor: VqaObject; target: VqaObject; words: string[] }[] = [];
  for (const anchor of objects) {
    const r = Math.floor(anchor.cell / cols), c = anchor.cell % cols;
    for (const rel of RELATIONS) {
      const rr = r + rel.dr, cc = c + rel.dc;
      if (rr < 0 || rr >= rows || cc < 0 || cc >= cols) continue;
      const target = objects.find((t) => t.cell === rr * cols + cc);
      if (target) pairs.push({ anchor, target, words: rel.words });
    }
  }
  if (pairs.length === 0) return null;
  const { anchor, target, words } = pairs[rng.int(pairs.length)];
  // Half ask for the colour of the neighbour of a shape, half for the shape of the neighbour of a colour.
  return rng.int(2) === 0
    ? { question: ['what', 'colour', 'is', 'the', 'shape', ...words, 'the', anchor.shape], answer: target.colour, supporting: [anchor.cell, target.cell] }
    : { question: ['what', 'shape', 'is', ...words, 'the', anchor.colour, 'shape'], answer: target.shape, supporting: [anchor.cell, target.cell] };
}

/** `count` seeded questions, each about its own random grid. */
export function generateVqa(options: VqaGenerateOptions): VqaExample[] {
  const count = checkSize('generateVqa count', options.count, 1);
  const rows = checkSize('generateVqa rows', options.rows ?? 3, 1);
  const cols = checkSize('generateVqa cols', options.cols ?? 3, 1);
  const n = options.objects ?? 3;
  if (!Number.isInteger(n) || n < 2 || n > Math.min(VQA_SHAPES.length, rows * cols)) throw new RangeError(`generateVqa objects must be an integer in [2, ${Math.min(VQA_SHAPES.length, rows * cols)}], got ${n}`);
  const noise = options.noise ?? 0.1;
  if (!(noise >= 0 && Number.isFinite(noise))) throw new RangeError(`generateVqa noise must be a finite number >= 0, got ${noise}`);
  const kinds = options.kinds ?? ['colour-of', 'shape-of', 'relation'];
  if (kinds.length === 0 || kinds.some((k) => k !== 'colour-of' && k !== 'shape-of' && k !== 'relation')) throw new RangeError(`generateVqa kinds must be some of colour-of, shape-of, relation, got ${JSON.stringify(kinds)}`);
  const rng = new Rng(options.seed);
  const F = vqaFeatureCount(rows, cols), S = VQA_SHAPES.length, C = VQA_COLOURS.length;
  const out: VqaExample[] = [];
  while (out.length < count) {
    const cells = shuffled(Array.from({ length: rows * cols }, (_, i) => i), rng).slice(0, n);
    const shapes = shuffled(VQA_SHAPES, rng), colours = shuffled(VQA_COLOURS, rng);
    const objects = cells.map((cell, i) => ({ cell, shape: shapes[i], colour: colours[i] })).sort((a, b) => a.cell - b.cell);
    const kind = kinds[rng.int(kinds.length)];
    const qa = askQuestion(kind, objects, rows, cols, rng);
    if (!qa) continue;
    const grid = new Float32Array(rows * cols * F);
    for (let cell = 0; cell < rows * cols; cell++) {
      const o = cell * F;
      grid[o + S + C + Math.floor(cell / cols)] = 1;
      grid[o + S + C + rows + (cell % cols)] = 1;
    }
    for (const ob of objects) {
      grid[ob.cell * F + VQA_SHAPES.indexOf(ob.shape)] = 1;
      grid[ob.cell * F + S + VQA_COLOURS.indexOf(ob.colour)] = 1;
    }
    if (noise > 0) for (let i = 0; i < grid.length; i++) grid[i] += noise * rng.normal();
    out.push({ rows, cols, features: F, grid, objects, kind, ...qa });
  }
  return out;
}

/** What identifies an example apart from its noise: the objects and the question. */
export function vqaKey(e: VqaExample): string {
  return `${e.rows}x${e.cols}|${e.objects.map((o) => `${o.cell}:${o.shape}:${o.colour}`).join(',')}|${e.question.join(' ')}`;
}

/**
 * `count` questions of `seed` none of which shares its grid and question with `seen` (vqaKey)
 * (repeats among themselves are kept, as in any draw). generateVqa's output for a seed is prefix-stable (count n gives the first n of
 * count m > n), so drawing more when the filter dropped some keeps every earlier pick.
 */
function unseenQuestions(options: Omit<VqaGenerateOptions, 'count'>, count: number, seen: Set<string>): VqaExample[] {
  for (let drawn = Math.ceil(count * 1.2) + 10; ; drawn *= 2) {
    const fresh = generateVqa({ ...options, count: drawn }).filter((e) => !seen.has(vqaKey(e)));
    if (fresh.length >= count) return fresh.slice(0, count);
    if (drawn > 20 * count + 1000) throw new RangeError(`only ${fresh.length} of ${count} questions are unseen in training (of ${drawn} drawn): the task has too few different grids and questions; ask fewer`);
  }
}

/**
 * Training and validation questions from two seeds (validation uses seed + 1), the validation
 * set without any grid-and-question that also occurs in training: disjoint, not only by seed.
 */
export function vqaSplit(options: Omit<VqaGenerateOptions, 'count'> & { train: number; validation: number }): { train: VqaExample[]; validation: VqaExample[] } {
  const { train: nTrain, validation: nValid, ...rest } = options;
  const train = generateVqa({ ...rest, count: nTrain });
  const validation = unseenQuestions({ ...rest, seed: options.seed + 1 }, checkSize('vqaSplit validation', nValid, 0), new Set(train.map(vqaKey)));
  return { train, validation };
}

/**
 * The seed of test set n: negative (-1 - n), while trainVqa's training and validation seeds are
 * 2s and 2s + 1 for its seed s >= 0, so no test seed is ever a training or validation seed.
 */
export const vqaTestSeed = (n: number): number => -1 - checkSize('vqaTestSeed n', n, 0);

/**
 * `test` fresh questions for a model trained on vqaSplit(options): from test seed `testSeed`
 * (vqaTestSeed), of `testTask` (default the training task), and, like the validation set,
 * without any grid-and-question of the training or validation set: disjoint by seed and by content.
 */
export function vqaTestSet(options: Omit<VqaGenerateOptions, 'count'> & { train: number; validation: number; test: number; testSeed: number; testTask?: Omit<VqaGenerateOptions, 'count' | 'seed'> }): VqaExample[] {
  const { test, testSeed, testTask, ...split } = options;
  const { train, validation } = vqaSplit(split);
  const { train: _t, validation: _v, seed: _s, ...task } = split;
  const seen = new Set([...train, ...validation].map(vqaKey));
  return unseenQuestions({ ...task, ...testTask, seed: vqaTestSeed(testSeed) }, checkSize('vqaTestSet test', test, 1), seen);
}

/** The region features' layout, named so that a saved model of another layout is refused. */
export const VQA_FEATURE_LAYOUT = `shape one-hot (${VQA_SHAPES.join(',')}) | colour one-hot (${VQA_COLOURS.join(',')}) | row one-hot | column one-hot | + N(0, noise^2)`;

/** The question words and answers of every shape, colour and relation (the same for every seed). */
export function vqaVocabulary(): Vocabulary {
  return Vocabulary.build([['what', 'colour', 'shape', 'is', 'the', 'of', 'left', 'right', 'above', 'below'], [...VQA_SHAPES], [...VQA_COLOURS]]);
}
