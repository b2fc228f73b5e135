// Shared by the four models: the recurrent cell choice, the embedding ->
// recurrent -> linear stack they are built on, token-batch checks,
// greedy/temperature sampling from logits, and argmax.
import { ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { Embedding, type EmbeddingOptions } from '../layers/embedding.js';
import { Linear, type LinearOptions } from '../layers/linear.js';
import type { LayerPlan, Model } from '../train/model.js';
import type { ParameterBlock, ParameterSpec } from '../runtime/tensor.js';
import { GRU } from '../layers/gru.js';
import { LSTM } from '../layers/lstm.js';
import { RNN } from '../layers/rnn.js';
import type { RecurrentLayer, RecurrentOptions } from '../layers/recurrent.js';
import type { Rng } from '../train/rng.js';

export type CellName = 'gru' | 'lstm' | 'rnn';

export function checkCell(cell: unknown): CellName {
  if (cell !== 'gru' && cell !== 'lstm' && cell !== 'rnn') throw new RangeError(`cell must be 'gru', 'lstm' or 'rnn', got ${String(cell)}`);
  return cell;
}

export function recurrentSpecs(cell: CellName, options: RecurrentOptions): ParameterSpec[] {
  return cell === 'gru' ? GRU.parameterSpecs(options) : cell === 'lstm' ? LSTM.parameterSpecs(options) : RNN.parameterSpecs(options);
}

/** A recurrent layer inside a model's block, initialised from the model's generator, which also draws its dropout masks. */
export function makeRecurrent(rt: Runtime, cell: CellName, options: RecurrentOptions, block: ParameterBlock, prefix: string, rng: Rng): RecurrentLayer {
  const o = { ...options, block, prefix, seed: rng.int(2 ** 31), dropoutRng: rng };
  return cell === 'gru' ? new GRU(rt, o) : cell === 'lstm' ? new LSTM(rt, o) : new RNN(rt, o);
}

/** The layers every token model is built on: embedding. -> rnn. -> fc. */
export interface TokenStackOptions {
  cell: CellName;
  embedding: EmbeddingOptions;
  recurrent: RecurrentOptions;
  fc: LinearOptions;
}

export interface TokenStack {
  embedding: Embedding;
  rnn: RecurrentLayer;
  fc: Linear;
}

/** The stack's parameter plan, for the Model constructor. */
export function tokenStackPlan(o: TokenStackOptions): LayerPlan[] {
  return [
    { prefix: 'embedding.', specs: Embedding.parameterSpecs(o.embedding) },
    { prefix: 'rnn.', specs: recurrentSpecs(o.cell, o.recurrent) },
    { prefix: 'fc.', specs: Linear.parameterSpecs(o.fc) },
  ];
}

/** Makes the stack's layers inside the model's block, initialised in a fixed order from its generator. */
export function buildTokenStack(model: Model, o: TokenStackOptions): TokenStack {
  const embedding = new Embedding(model.rt, o.embedding, { block: model.params, prefix: 'embedding.' });
  embedding.resetParameters(model.rng);
  const rnn = makeRecurrent(model.rt, o.cell, o.recurrent, model.params, 'rnn.', model.rng);
  const fc = new Linear(model.rt, o.fc, { block: model.params, prefix: 'fc.' });
  fc.resetParameters(model.rng);
  return { embedding, rnn, fc };
}

/** Checks a time-first token batch (ids [T, B], lengths [B]); returns [T, B]. */
export function checkTokenBatch(batch: { ids: Int32Array; lengths: Int32Array }): [number, number] {
  const B = batch.lengths?.length;
  if (!(batch.lengths instanceof Int32Array) || B === 0) throw new ShapeError('batch.lengths must be a non-empty Int32Array [B]');
  if (!(batch.ids instanceof Int32Array) || batch.ids.length % B !== 0) {
    throw new ShapeError(`batch.ids must be an Int32Array [T, B] with B = ${B}, got ${batch.ids?.length} ids`);
  }
  return [batch.ids.length / B, B];
}

/** Index of the largest value in row r of [rows, n] logits. */
export function argmaxRow(logits: Float32Array, r: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (logits[r * n + j] > logits[r * n + best]) best = j;
  return best;
}

/**
 * Draws from softmax(logits / temperature) of row r; temperature 0 is greedy
 * (argmax). Higher temperature flattens the distribution.
 */
export function sampleRow(logits: Float32Array, r: number, n: number, temperature: number, rng: Rng): number {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be a finite number >= 0, got ${temperature}`);
  if (temperature === 0) return argmaxRow(logits, r, n);
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, logits[r * n + j]);
  const w = new Float64Array(n);
  for (let j = 0; j < n; j++) w[j] = Math.exp((logits[r * n + j] - max) / temperature);
  return rng.categorical(w);
}
