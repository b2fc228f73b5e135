// Many-to-one: a sequence of tokens -> one class (e.g. sentiment).
// ids: [T, B] -> Embedding [T,B,E] -> dropout -> (bi)RNN [T,B,D*H]
//   -> pooling over valid steps [B, D*H] (max, mean, both, or last state)
//   -> dropout -> Linear -> logits [B, C]
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { maxOverTime, meanOverTime, recurrent, selectFirstAxis } from '../layers/ops.js';
import { argmaxRows, concat, softmax } from '../layers/tensor-ops.js';
import type { Variable } from '../train/tape.js';
import { tokenStack, type CellName, type TokenBatch, TokenStackModel } from './common.js';

export type Pooling = 'max' | 'mean' | 'maxmean' | 'last';

export interface SequenceClassifierOptions {
  vocabSize: number;
  numClasses: number;
  /** Default 64. */
  embeddingDim?: number;
  /** Default 64. */
  hiddenSize?: number;
  /** Default 'gru'. */
  cell?: CellName;
  /** Default true. */
  bidirectional?: boolean;
  /** Default 1. */
  numLayers?: number;
  /** Default 'max'. */
  pooling?: Pooling;
  /** Dropout on embeddings and on the pooled features (default 0). */
  dropout?: number;
  /** Token id of padding (row kept zero); default 0. */
  paddingIdx?: number;
  /** Seed of initialisation and dropout (default 0). */
  seed?: number;
}

/** A padded batch: ids [T, B] time-major, lengths [B], labels [B]. */
export interface ClassificationBatch extends TokenBatch {
  labels?: Int32Array;
}

export class SequenceClassifier extends TokenStackModel<Required<SequenceClassifierOptions>> {
  constructor(rt: Runtime, options: SequenceClassifierOptions) {
    const o: Required<SequenceClassifierOptions> = {
      embeddingDim: 64, hiddenSize: 64, cell: 'gru', bidirectional: true, numLayers: 1, pooling: 'max', dropout: 0, paddingIdx: 0, seed: 0,
      ...options,
    };
    checkSize('numClasses', o.numClasses, 2);
    if (!['max', 'mean', 'maxmean', 'last'].includes(o.pooling)) throw new RangeError(`pooling must be 'max', 'mean', 'maxmean' or 'last', got ${String(o.pooling)}`);
    const D = o.bidirectional ? 2 : 1;
    const fcInFeatures = (o.pooling === 'maxmean' ? 2 : 1) * D * o.hiddenSize;
    super(rt, o, tokenStack({ ...o, outFeatures: o.numClasses, fcInFeatures }), o.seed);
  }

  /** Logits [B, numClasses] on the model's tape (records in training mode). */
  logits(batch: ClassificationBatch): Variable {
    const tape = this.tape;
    const x = this.embed(batch);
    const { output, hN } = recurrent(tape, this.rnn, x, { lengths: batch.lengths });
    let pooled: Variable;
    const pooling = this.options.pooling;
    if (pooling === 'max') pooled = maxOverTime(tape, output, batch.lengths);
    else if (pooling === 'mean') pooled = meanOverTime(tape, output, batch.lengths);
    else if (pooling === 'maxmean') pooled = concat(tape, [maxOverTime(tape, output, batch.lengths), meanOverTime(tape, output, batch.lengths)]);
    else pooled = this.lastStates(hN);
    return this.fc.forward(tape, this.drop.forward(tape, pooled));
  }

  /** [B, D*H] from hN [L*D, B, H]: the last layer's forward (and backward) final states. */
  private lastStates(hN: Variable): Variable {
    const D = this.options.bidirectional ? 2 : 1;
    const L = this.options.numLayers;
    const parts: Variable[] = [];
    for (let d = 0; d < D; d++) {
      const k = (L - 1) * D + d;
      parts.push(selectFirstAxis(this.tape, hN, k));
    }
    return parts.length === 1 ? parts[0] : concat(this.tape, parts);
  }

  loss(batch: ClassificationBatch): number {
    if (!batch.labels || batch.labels.length !== batch.lengths.length) throw new ShapeError(`batch.labels must hold ${batch.lengths.length} class ids`);
    return crossEntropyLoss(this.tape, this.logits(batch), batch.labels);
  }

  /** Class probabilities [B, numClasses] (eval mode, nothing recorded). */
  predictProba(batch: ClassificationBatch): Float32Array {
    return this.withEval(() => {
      this.tape.reset();
      return softmax(this.tape, this.logits(batch)).toArray();
    });
  }

  /** Predicted class per sequence. */
  predict(batch: ClassificationBatch): Int32Array {
    return argmaxRows(this.predictProba(batch), this.options.numClasses);
  }

  /** Accuracy and mean loss over labelled batches (eval mode). */
  evaluate(batches: ClassificationBatch[]): { accuracy: number; loss: number } {
    let correct = 0, total = 0, lossSum = 0;
    const C = this.options.numClasses;
    for (const batch of batches) {
      const p = this.predictProba(batch);
      const predicted = argmaxRows(p, C);
      const labels = batch.labels!;
      for (let b = 0; b < labels.length; b++) {
        if (predicted[b] === labels[b]) correct++;
        lossSum -= Math.log(Math.max(p[b * C + labels[b]], 1e-30));
      }
      total += labels.length;
    }
    return { accuracy: correct / Math.max(1, total), loss: lossSum / Math.max(1, total) };
  }
}
