// One-to-many: a feature vector -> a token sequence (image captioning without
// the CNN: the vector stands for image features). The vector sets the
// decoder's initial state; training uses teacher forcing, generation feeds
// each sampled token back in (greedy or with a temperature).
// features: [B, F] -> Linear -> tanh -> h0 [1, B, H]
// tokens: [T, B] (<bos> + caption) -> Embedding [T,B,E] -> RNN(h0) [T,B,H] -> Linear -> logits [T,B,V]
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { Linear } from '../layers/linear.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { recurrent, tanh } from '../layers/ops.js';
import type { Rng } from '../train/rng.js';
import type { Variable } from '../train/tape.js';
import { sampleRow, tokenStack, type CellName, TokenStackModel } from './common.js';

export interface SequenceGeneratorOptions {
  featureSize: number;
  vocabSize: number;
  /** Token that starts every decoder input. */
  bosId: number;
  /** Token that ends a caption (generation stops there). */
  eosId: number;
  /** Default 32. */
  embeddingDim?: number;
  /** Default 64. */
  hiddenSize?: number;
  /** Default 'gru'. */
  cell?: CellName;
  /** Default 0. */
  paddingIdx?: number;
  seed?: number;
}

/**
 * features [B, F]; inputs [T, B] = <bos> + caption (padded); targets [T, B] =
 * caption + <eos> (padded); lengths [B] = caption length + 1.
 */
export interface GenerationBatch {
  features: Float32Array;
  inputs: Int32Array;
  targets: Int32Array;
  lengths: Int32Array;
}

export interface GenerateOptions {
  /** Stop after this many tokens (default 20). */
  maxLength?: number;
  /** 0 (default): greedy argmax; > 0: sample from softmax(logits / temperature). */
  temperature?: number;
  /** Required when temperature > 0. */
  rng?: Rng;
}

export class SequenceGenerator extends TokenStackModel<Required<SequenceGeneratorOptions>, { init: Linear }> {

  constructor(rt: Runtime, options: SequenceGeneratorOptions) {
    const o: Required<SequenceGeneratorOptions> = { embeddingDim: 32, hiddenSize: 64, cell: 'gru', paddingIdx: 0, seed: 0, ...options };
    checkSize('featureSize', o.featureSize, 1);
    checkSize('vocabSize', o.vocabSize, 2);
    for (const k of ['bosId', 'eosId'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 0 || o[k] >= o.vocabSize) throw new RangeError(`${k} must be a token id in [0, ${o.vocabSize}), got ${o[k]}`);
    }
    super(rt, o, { init: Linear.declare({ inFeatures: o.featureSize, outFeatures: o.hiddenSize }), ...tokenStack({ ...o, outFeatures: o.vocabSize }) }, o.seed);
  }

  /** features [B, F] -> h0: Linear then tanh. */
  get init(): Linear {
    return this.layers.init;
  }

  /** h0 [1, B, H] = tanh(W features + b). */
  private initialState(features: Float32Array, B: number): Variable {
    const F = this.options.featureSize;
    if (!(features instanceof Float32Array) || features.length !== B * F) {
      throw new ShapeError(`features must be a Float32Array [B, ${F}] with B = ${B}, got ${features?.length} values`);
    }
    const tape = this.tape;
    return tanh(tape, this.init.forward(tape, tape.input(features, [1, B, F])));
  }

  /** Teacher-forced logits [T, B, V]. */
  logits(batch: GenerationBatch): Variable {
    const B = batch.lengths?.length;
    if (!(batch.lengths instanceof Int32Array) || !B) throw new ShapeError('batch.lengths must be a non-empty Int32Array [B]');
    if (!(batch.inputs instanceof Int32Array) || batch.inputs.length % B !== 0) throw new ShapeError(`batch.inputs must be an Int32Array [T, B] with B = ${B}`);
    const T = batch.inputs.length / B;
    const tape = this.tape;
    const h0 = this.initialState(batch.features, B);
    const x = this.embedding.forward(tape, batch.inputs, [T, B]);
    const { output } = recurrent(tape, this.rnn, x, { h0, lengths: batch.lengths });
    return this.fc.forward(tape, output);
  }

  /** Mean cross-entropy of the next token over valid steps. */
  loss(batch: GenerationBatch): number {
    if (!(batch.targets instanceof Int32Array) || batch.targets.length !== batch.inputs?.length) throw new ShapeError('batch.targets must be an Int32Array shaped like inputs');
    const T = batch.inputs.length / batch.lengths.length;
    const B = batch.lengths.length;
    const mask = new Float32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < batch.lengths[b]; t++) mask[t * B + b] = 1;
    return crossEntropyLoss(this.tape, this.logits(batch), batch.targets, { mask });
  }

  /**
   * Token ids for each feature vector (without <bos>, up to and excluding
   * <eos>), one step at a time in eval mode: each step's token is fed back.
   */
  generate(features: Float32Array, options: GenerateOptions = {}): number[][] {
    const F = this.options.featureSize;
    if (!(features instanceof Float32Array) || features.length === 0 || features.length % F !== 0) {
      throw new ShapeError(`features must be a Float32Array [B, ${F}], got ${features?.length} values`);
    }
    const B = features.length / F;
    const maxLength = checkSize('maxLength', options.maxLength ?? 20, 1);
    const temperature = options.temperature ?? 0;
    if (temperature > 0 && !options.rng) throw new Error('generate: temperature > 0 needs options.rng (a seeded Rng)');
    const V = this.options.vocabSize;
    return this.withEval(() => {
      const tape = this.tape;
      tape.reset();
      let h = this.initialState(features, B);
      let c: Variable | undefined;
      let tokens = new Int32Array(B).fill(this.options.bosId);
      const out: number[][] = Array.from({ length: B }, () => []);
      const done = new Array<boolean>(B).fill(false);
      for (let step = 0; step < maxLength && done.includes(false); step++) {
        const x = this.embedding.forward(tape, tokens, [1, B]);
        const r = recurrent(tape, this.rnn, x, { h0: h, c0: c });
        const logits = this.fc.forward(tape, r.output).toArray();
        h = r.hN;
        c = r.cN;
        const next = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          next[b] = sampleRow(logits, b, V, temperature, options.rng!);
          if (!done[b]) {
            if (next[b] === this.options.eosId) done[b] = true;
            else out[b].push(next[b]);
          }
        }
        tokens = next;
      }
      return out;
    });
  }
}
