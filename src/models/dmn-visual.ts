// The DMN+ visual input module (Xiong et al. 2016, section 3.2; the lecture's "VQA input
// module"): a feature grid [R, C, F], as a CNN's last convolution would give per image region,
// is read in the lecture's snake order (rows top to bottom, even rows left to right, odd rows
// right to left, so consecutive facts are always neighbours), each region projected into the
// question's space (tanh(W f + b), the paper's "linear layer with tanh activation"), then the
// same bidirectional GRU input-fusion layer as the textual 'fusion' module. Its states, the two
// directions summed (or concatenated), are the facts; the rest of the DMN is unchanged.
import { checkAllFinite, checkSize, ShapeError } from '../runtime/check.js';
import type { Dropout } from '../layers/dropout.js';
import type { Linear } from '../layers/linear.js';
import { recurrent, tanh } from '../layers/ops.js';
import type { RecurrentLayer } from '../layers/recurrent.js';
import type { Variable, Tape } from '../train/tape.js';
import type { DMNBatch } from './dmn.js';

/** A batch's feature grids, time-first in snake order: values [M = R*C, B, F]. */
export interface VisualGrid {
  rows: number;
  cols: number;
  features: number;
  values: Float32Array;
}

/** One visual question: a grid [R, C, F] row-major, the question's ids and the answer's class. */
export interface VisualExample {
  rows: number;
  cols: number;
  features: number;
  /** [R * C * F], cell (r, c) at (r * C + c) * F. */
  grid: Float32Array;
  question: Int32Array;
  answer: number;
  /** Cells (row-major indices r * C + c) the answer rests on, one per pass at most (gate supervision, display). */
  supporting: number[];
}

/** order[p] = the row-major cell index read at step p of the snake. */
export function snakeOrder(rows: number, cols: number): Int32Array {
  checkSize('snakeOrder rows', rows, 1);
  checkSize('snakeOrder cols', cols, 1);
  const order = new Int32Array(rows * cols);
  for (let p = 0; p < order.length; p++) {
    const r = Math.floor(p / cols), k = p % cols;
    order[p] = r * cols + (r % 2 === 0 ? k : cols - 1 - k);
  }
  return order;
}

/** The inverse: position[cell] = the step of the snake that reads that cell. */
export function snakePositions(rows: number, cols: number): Int32Array {
  const order = snakeOrder(rows, cols);
  const position = new Int32Array(order.length);
  order.forEach((cell, p) => (position[cell] = p));
  return position;
}

/**
 * Pads visual questions into a DMNBatch for `input: 'visual'`: every grid's regions become its
 * M = R*C facts (all valid), in snake order; supporting cells become fact indices.
 */
export function makeVisualBatch(examples: VisualExample[], passes = 3): DMNBatch {
  const B = examples.length;
  if (B === 0) throw new ShapeError('makeVisualBatch: needs at least one example');
  const { rows: R, cols: C, features: F } = examples[0];
  checkSize('makeVisualBatch rows', R, 1);
  checkSize('makeVisualBatch cols', C, 1);
  checkSize('makeVisualBatch features', F, 1);
  const M = R * C;
  examples.forEach((e, b) => {
    if (e.rows !== R || e.cols !== C || e.features !== F) {
      throw new ShapeError(`makeVisualBatch: example ${b} has a [${e.rows}, ${e.cols}, ${e.features}] grid, example 0 [${R}, ${C}, ${F}]; a batch needs one grid shape`);
    }
    if (!(e.grid instanceof Float32Array) || e.grid.length !== M * F) throw new ShapeError(`makeVisualBatch: example ${b} grid must be a Float32Array of R*C*F = ${M * F} values, got ${e.grid?.length}`);
    checkAllFinite(`makeVisualBatch example ${b} grid`, e.grid);
    if (e.question.length === 0) throw new ShapeError(`makeVisualBatch: example ${b} has an empty question`);
  });
  const order = snakeOrder(R, C), position = snakePositions(R, C);
  const values = new Float32Array(M * B * F);
  const Tq = Math.max(...examples.map((e) => e.question.length));
  const questionIds = new Int32Array(Tq * B), questionLengths = new Int32Array(B), answers = new Int32Array(B);
  const supporting = new Int32Array(B * passes).fill(-1);
  examples.forEach((e, b) => {
    for (let p = 0; p < M; p++) values.set(e.grid.subarray(order[p] * F, (order[p] + 1) * F), (p * B + b) * F);
    e.question.forEach((w, j) => (questionIds[j * B + b] = w));
    questionLengths[b] = e.question.length;
    answers[b] = e.answer;
    e.supporting.forEach((cell, t) => {
      if (!(Number.isInteger(cell) && cell >= 0 && cell < M)) throw new RangeError(`makeVisualBatch: example ${b} supporting cell ${cell} is outside the grid [0, ${M})`);
      if (t < passes) supporting[b * passes + t] = position[cell];
    });
  });
  return {
    B, M, factCounts: new Int32Array(B).fill(M), storyIds: new Int32Array(0), storyLengths: new Int32Array(B), factEnds: new Int32Array(B * M),
    sentenceIds: new Int32Array(0), sentenceLengths: new Int32Array(M * B), L: 0, questionIds, questionLengths, answers, supporting, passes,
    grid: { rows: R, cols: C, features: F, values },
  };
}

/** The layers the visual module reads with (the DMN's own). */
export interface VisualLayers {
  projection: Linear;
  rnn: RecurrentLayer;
  dropout: Dropout;
}

/** The bidirectional GRU's states [M, B, 2H] over a batch's grids (tanh projection, dropout first); the DMN merges them into facts. */
export function visualSequence(tape: Tape, layers: VisualLayers, batch: DMNBatch): Variable {
  const grid = batch.grid;
  if (!grid) throw new ShapeError("DMN input 'visual' needs a batch with a feature grid (makeVisualBatch builds one)");
  const F = layers.projection.inFeatures;
  if (grid.features !== F) throw new ShapeError(`DMN visual input: the grid has ${grid.features} features per region, the model was built for visualFeatures = ${F}`);
  if (grid.rows * grid.cols !== batch.M || grid.values.length !== batch.M * batch.B * F) {
    throw new ShapeError(`DMN visual input: grid values must be [M = ${batch.M}, B = ${batch.B}, F = ${F}], got ${grid.values.length} values`);
  }
  const regions = tape.input(grid.values, [batch.M, batch.B, F]);
  const projected = layers.dropout.forward(tape, tanh(tape, layers.projection.forward(tape, regions)));
  return recurrent(tape, layers.rnn, projected).output;
}
