// Batching: padding variable-length sequences into one Int32 matrix with lengths and a mask,
// seeded shuffled mini-batches, and a stratified train/validation split.
import { Rng } from '../train/rng.js';

export type Layout = 'TB' | 'BT';

export interface PaddedBatch {
  /** [T, B] (layout 'TB', time-first as torch's default) or [B, T] ('BT', batch-first). */
  ids: Int32Array;
  shape: [number, number];
  layout: Layout;
  /** Length of each sequence after truncation, in batch order. */
  lengths: Int32Array;
  /** Same layout as ids: 1 where a real token is, 0 on padding (multiply per-step losses by it). */
  mask: Float32Array;
  /** T, the padded length. */
  steps: number;
  /** B, the number of sequences. */
  batch: number;
}

export interface PadOptions {
  /** Default 'TB'. */
  layout?: Layout;
  /** Value written at padded positions. Default 0 (<pad>); use e.g. -100 for ignored targets. */
  padId?: number;
  /** Pad to exactly this many steps (default: the longest sequence). */
  length?: number;
  /** Cut sequences longer than `length` instead of throwing. */
  truncate?: boolean;
  /** Allow empty sequences (recurrent layers need length >= 1, so the default is to throw). */
  allowEmpty?: boolean;
}

/** Pads sequences of token ids into one batch. */
export function padBatch(sequences: ArrayLike<number>[], options: PadOptions = {}): PaddedBatch {
  const layout = options.layout ?? 'TB';
  if (layout !== 'TB' && layout !== 'BT') throw new RangeError(`padBatch: layout must be 'TB' or 'BT', got ${String(layout)}`);
  const padId = options.padId ?? 0;
  if (!Number.isInteger(padId) || padId < -2147483648 || padId > 2147483647) throw new RangeError(`padBatch: padId must be an int32, got ${padId}`);
  if (!Array.isArray(sequences) || sequences.length === 0) throw new RangeError('padBatch: need a non-empty array of sequences');
  const B = sequences.length;
  let longest = 0;
  for (let b = 0; b < B; b++) {
    const s = sequences[b];
    if (s === null || typeof s !== 'object' || typeof s.length !== 'number') throw new TypeError(`padBatch: sequence ${b} is not an array of ids`);
    if (s.length === 0 && !options.allowEmpty) {
      throw new RangeError(`padBatch: sequence ${b} is empty; recurrent layers need length >= 1 (drop it, or pass allowEmpty)`);
    }
    longest = Math.max(longest, s.length);
  }
  let T = longest;
  if (options.length !== undefined) {
    if (!Number.isInteger(options.length) || options.length < 1) throw new RangeError(`padBatch: length must be an integer >= 1, got ${options.length}`);
    if (options.length < longest && !options.truncate) {
      throw new RangeError(`padBatch: a sequence has ${longest} steps, more than length ${options.length} (pass truncate: true to cut)`);
    }
    T = options.length;
  }
  if (T === 0) T = 1; // all sequences empty (allowEmpty): keep one all-padding step
  const ids = new Int32Array(T * B).fill(padId);
  const mask = new Float32Array(T * B);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const s = sequences[b];
    const n = Math.min(s.length, T);
    lengths[b] = n;
    for (let t = 0; t < n; t++) {
      const v = s[t];
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new RangeError(`padBatch: sequence ${b}, step ${t}: ${v} is not an int32 id`);
      const at = layout === 'TB' ? t * B + b : b * T + t;
      ids[at] = v;
      mask[at] = 1;
    }
  }
  return { ids, shape: layout === 'TB' ? [T, B] : [B, T], layout, lengths, mask, steps: T, batch: B };
}

export interface MiniBatchOptions {
  /** Shuffle with this generator (or a new Rng(seed)); without either, the order is 0..n-1. */
  rng?: Rng;
  seed?: number;
  /** Drop a last batch smaller than batchSize. Default false. */
  dropLast?: boolean;
  /**
   * Sequence lengths, to reduce padding: after shuffling, each window of bucketBatches batches
   * is sorted by length before cutting, and the resulting batches are shuffled again.
   */
  lengths?: ArrayLike<number>;
  /** Batches per sorting window when lengths are given (default 16). */
  bucketBatches?: number;
}

/**
 * The index batches of one epoch over n examples: every index appears once (except those cut
 * by dropLast). With a seed or rng the order is shuffled reproducibly.
 */
export function miniBatches(n: number, batchSize: number, options: MiniBatchOptions = {}): Int32Array[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`miniBatches: n must be an integer >= 0, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`miniBatches: batchSize must be an integer >= 1, got ${batchSize}`);
  const rng = options.rng ?? (options.seed !== undefined ? new Rng(options.seed) : undefined);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (rng) rng.shuffle<number, Int32Array>(order);
  const lengths = options.lengths;
  if (lengths !== undefined) {
    if (lengths.length !== n) throw new RangeError(`miniBatches: lengths has ${lengths.length} entries, expected ${n}`);
    const window = batchSize * (options.bucketBatches ?? 16);
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`miniBatches: bucketBatches must be an integer >= 1, got ${options.bucketBatches}`);
    for (let start = 0; start < n; start += window) {
      const part = order.subarray(start, Math.min(n, start + window));
      // Sort by length, keeping the shuffled order among equal lengths (stable).
      const sorted = Array.from(part).sort((a, b) => lengths[a] - lengths[b]);
      part.set(sorted);
    }
  }
  const batches: Int32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    if (end - start < batchSize && options.dropLast) break;
    batches.push(order.slice(start, end));
  }
  if (lengths !== undefined && rng) rng.shuffle(batches);
  return batches;
}

export interface Split {
  /** Indices into the dataset, ascending. */
  train: Int32Array;
  validation: Int32Array;
}

/**
 * Splits indices so every label keeps its proportion: for a label with c examples,
 * round(c * validationFraction) go to validation, clamped so that a label with at least two
 * examples has at least one on each side (when 0 < validationFraction < 1).
 */
export function stratifiedSplit(labels: ArrayLike<number | string>, validationFraction: number, seed: number | Rng = 0): Split {
  if (!(validationFraction >= 0 && validationFraction <= 1)) {
    throw new RangeError(`stratifiedSplit: validationFraction must be in [0, 1], got ${validationFraction}`);
  }
  const rng = typeof seed === 'number' ? new Rng(seed) : seed;
  const byLabel = new Map<number | string, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (typeof l === 'number' && !Number.isFinite(l)) throw new RangeError(`stratifiedSplit: label ${i} is ${l}`);
    let list = byLabel.get(l);
    if (!list) byLabel.set(l, (list = []));
    list.push(i);
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (const list of byLabel.values()) {
    rng.shuffle(list);
    let k = Math.round(list.length * validationFraction);
    if (validationFraction > 0 && validationFraction < 1 && list.length >= 2) k = Math.min(list.length - 1, Math.max(1, k));
    for (let j = 0; j < list.length; j++) (j < k ? validation : train).push(list[j]);
  }
  const asc = (a: number, b: number) => a - b;
  return { train: Int32Array.from(train.sort(asc)), validation: Int32Array.from(validation.sort(asc)) };
}
