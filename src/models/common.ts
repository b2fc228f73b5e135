// Shared by the four models: the recurrent cell choice, greedy/temperature
// sampling from logits, and argmax.
import type { Runtime } from '../runtime/runtime.js';
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

/** A recurrent layer inside a model's block, initialised from the model's generator. */
export function makeRecurrent(rt: Runtime, cell: CellName, options: RecurrentOptions, block: ParameterBlock, prefix: string, rng: Rng): RecurrentLayer {
  const o = { ...options, block, prefix, seed: rng.int(2 ** 31) };
  return cell === 'gru' ? new GRU(rt, o) : cell === 'lstm' ? new LSTM(rt, o) : new RNN(rt, o);
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
