// Shared by the four models: the recurrent cell choice, the embedding ->
// recurrent -> linear stack they are built on (declared once by name, see
// Model), token-batch checks, greedy/temperature sampling from logits, and argmax.
import { ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { Embedding, type EmbeddingOptions } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { Model, type LayerDeclaration } from '../train/model.js';
import type { Variable } from '../train/tape.js';
import { Dropout } from '../layers/dropout.js';
import type { ParameterBlock, ParameterSpec } from '../runtime/tensor.js';
import { RecurrentLayer, recurrentParameterSpecs, type RecurrentOptions } from '../layers/recurrent.js';
import { recurrentKind, type RecurrentName } from '../kernels/cell-kinds.js';
import type { Rng } from '../train/rng.js';

/** 'lstm', 'gru' or 'rnn': the names of CELL_KINDS' sequence cells (src/kernels/cell-kinds.ts). */
export type CellName = RecurrentName;

export function checkCell(cell: unknown): CellName {
  return recurrentKind(cell).name as CellName;
}

export function recurrentSpecs(cell: CellName, options: RecurrentOptions): ParameterSpec[] {
  return recurrentParameterSpecs(recurrentKind(cell).gates, options);
}

/**
 * A recurrent layer of the cell kind `cell` names, inside a model's block, initialised from
 * the model's generator, which also draws its dropout masks.
 */
export function makeRecurrent(rt: Runtime, cell: CellName, options: RecurrentOptions, block: ParameterBlock, prefix: string, rng: Rng): RecurrentLayer {
  const o = { ...options, block, prefix, seed: rng.int(2 ** 31), dropoutRng: rng };
  return new RecurrentLayer(rt, recurrentKind(cell).kind, o);
}

/** A recurrent layer as a model's sub-layer, declared once under its name (see Model). */
export function recurrentDeclaration(cell: CellName, options: RecurrentOptions): LayerDeclaration<RecurrentLayer> {
  return { specs: recurrentSpecs(cell, options), create: (model, prefix) => makeRecurrent(model.rt, cell, options, model.params, prefix, model.rng) };
}

/** The layers every token model is built on: embedding. -> rnn. -> fc. */
export interface TokenStack {
  embedding: Embedding;
  rnn: RecurrentLayer;
  fc: Linear;
}

/** The token stack's sizes, as the models' options name them. */
export interface TokenStackOptions {
  cell: CellName;
  vocabSize: number;
  embeddingDim: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  paddingIdx?: number;
  /** Outputs of fc (classes, tags, vocabulary). */
  outFeatures: number;
  /** Inputs of fc; default the recurrent output width (2 * hiddenSize when bidirectional). */
  fcInFeatures?: number;
}

/**
 * The token stack's declarations for the Model constructor, in the order the
 * block holds them and the model's generator initialises them.
 */
export function tokenStack(o: TokenStackOptions): { [K in keyof TokenStack]: LayerDeclaration<TokenStack[K]> } {
  checkCell(o.cell);
  const recurrent: RecurrentOptions = { inputSize: o.embeddingDim, hiddenSize: o.hiddenSize };
  if (o.numLayers !== undefined) recurrent.numLayers = o.numLayers;
  if (o.bidirectional !== undefined) recurrent.bidirectional = o.bidirectional;
  const embedding: EmbeddingOptions = { numEmbeddings: o.vocabSize, embeddingDim: o.embeddingDim };
  if (o.paddingIdx !== undefined) embedding.paddingIdx = o.paddingIdx;
  const fcInFeatures = o.fcInFeatures ?? (o.bidirectional ? 2 : 1) * o.hiddenSize;
  return {
    embedding: Embedding.declare(embedding),
    rnn: recurrentDeclaration(o.cell, recurrent),
    fc: Linear.declare({ inFeatures: fcInFeatures, outFeatures: o.outFeatures }),
  };
}

/**
 * The four models' shared constructor: the options (defaults applied), the
 * declared token stack (plus any extra layers, declared first) and the stack's
 * layers under their names.
 */
export abstract class TokenStackModel<Options extends object, Extra extends object = object> extends Model<TokenStack & Extra> {
  /** Dropout with p = options.dropout (none when the model has no such option), masks from the model's generator. */
  protected readonly drop: Dropout;

  constructor(
    rt: Runtime,
    readonly options: Options,
    layers: { [K in keyof (TokenStack & Extra)]: LayerDeclaration<(TokenStack & Extra)[K]> },
    seed: number,
  ) {
    super(rt, layers, seed);
    this.drop = new Dropout(rt, { p: (options as { dropout?: number }).dropout ?? 0 }, this.rng);
  }

  /** The batch's tokens embedded, then dropped out: [T, B, embeddingDim]. */
  protected embed(batch: TokenBatch): Variable {
    const [T, B] = checkTokenBatch(batch);
    return this.drop.forward(this.tape, this.embedding.forward(this.tape, batch.ids, [T, B]));
  }

  get embedding(): Embedding {
    return this.layers.embedding;
  }

  get rnn(): RecurrentLayer {
    return this.layers.rnn;
  }

  get fc(): Linear {
    return this.layers.fc;
  }
}

/** A padded time-first batch of token ids: ids [T, B], lengths [B]. */
export interface TokenBatch {
  ids: Int32Array;
  lengths: Int32Array;
}

/** Checks a time-first token batch (ids [T, B], lengths [B]); returns [T, B]. */
export function checkTokenBatch(batch: TokenBatch): [number, number] {
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
