// Shared by the layer, tape and model tests: float64 central differences and
// vector-Jacobian comparison, and a small bag-of-tokens model and task for
// the trainer and checkpoint tests.
import type { Runtime } from '../src/runtime/runtime.js';
import { Model } from '../src/train/model.js';
import { Rng } from '../src/train/rng.js';
import { Linear } from '../src/layers/linear.js';
import { Embedding } from '../src/layers/embedding.js';
import { Dropout } from '../src/layers/dropout.js';
import { crossEntropyLoss } from '../src/layers/losses.js';
import { meanOverTime, tanh } from '../src/layers/ops.js';

// Central differences live with the kernel helpers; re-exported for the layer and model tests.
export { numericalGradient, toF64 } from './kernel-helpers.js';

/** Largest |a-b| / (atol + |b|) style error: |a-b| / max(scale, |b|) where scale is the largest |b|*0.01 floor. */
export function gradError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let refMax = 0;
  for (let i = 0; i < ref.length; i++) refMax = Math.max(refMax, Math.abs(ref[i]));
  const floor = Math.max(1e-3, refMax * 1e-2);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / Math.max(floor, Math.abs(ref[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** sum_i r[i] * y[i] in float64. */
export function dot(r: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i] * y[i];
  return s;
}

/** Seeded uniform in [0,1) as an InitRandom-compatible source (mulberry32). */
export function testRandom(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform: next,
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}

export interface TokenBatch {
  ids: Int32Array; // [T, B]
  lengths: number[];
  labels: number[];
}

/** Label 1 when token 2 occurs more often than token 3: learnable from a bag of tokens. */
export function countingTask(n: number, seed: number): { tokens: number[]; label: number }[] {
  const rng = new Rng(seed);
  const out: { tokens: number[]; label: number }[] = [];
  while (out.length < n) {
    const len = 3 + rng.int(6);
    const tokens = Array.from({ length: len }, () => 1 + rng.int(7));
    const a = tokens.filter((t) => t === 2).length;
    const b = tokens.filter((t) => t === 3).length;
    if (a === b) continue;
    out.push({ tokens, label: a > b ? 1 : 0 });
  }
  return out;
}

export function collate(examples: { tokens: number[]; label: number }[]): TokenBatch {
  const T = Math.max(...examples.map((e) => e.tokens.length));
  const B = examples.length;
  const ids = new Int32Array(T * B);
  examples.forEach((e, b) => e.tokens.forEach((tok, t) => (ids[t * B + b] = tok)));
  return { ids, lengths: examples.map((e) => e.tokens.length), labels: examples.map((e) => e.label) };
}

/** Embedding -> dropout -> Linear -> tanh -> mean over time -> Linear: small, fast, uses every RNG. */
export class BagClassifier extends Model<{ emb: Embedding; hidden: Linear; out: Linear }> {
  readonly drop: Dropout;
  constructor(rt: Runtime, seed: number) {
    super(rt, {
      emb: Embedding.declare({ numEmbeddings: 8, embeddingDim: 8, paddingIdx: 0 }),
      hidden: Linear.declare({ inFeatures: 8, outFeatures: 16 }),
      out: Linear.declare({ inFeatures: 16, outFeatures: 2 }),
    }, seed);
    this.drop = new Dropout(rt, { p: 0.1 }, this.rng);
  }
  logits(batch: TokenBatch) {
    const tape = this.tape;
    const T = batch.ids.length / batch.lengths.length;
    const { emb, hidden, out } = this.layers;
    const x = this.drop.forward(tape, emb.forward(tape, batch.ids, [T, batch.lengths.length]));
    return out.forward(tape, meanOverTime(tape, tanh(tape, hidden.forward(tape, x)), batch.lengths));
  }
  loss(batch: TokenBatch): number {
    return crossEntropyLoss(this.tape, this.logits(batch), batch.labels);
  }
  accuracy(batch: TokenBatch): number {
    this.tape.reset();
    const l = this.logits(batch).toArray();
    let ok = 0;
    batch.labels.forEach((y, b) => (ok += (l[2 * b + 1] > l[2 * b] ? 1 : 0) === y ? 1 : 0));
    return ok / batch.labels.length;
  }
}

export function shuffledBatches(data: { tokens: number[]; label: number }[], batchSize: number) {
  return (_epoch: number, rng: Rng) => {
    const order = rng.permutation(data.length);
    const batches: TokenBatch[] = [];
    for (let i = 0; i < data.length; i += batchSize) batches.push(collate(Array.from(order.subarray(i, i + batchSize), (k) => data[k])));
    return batches;
  };
}

