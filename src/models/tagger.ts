// Many-to-many, synced: one tag per input step (video-frame classification
// style). Bidirectional by default, so each step's tag can use both sides.
// ids: [T, B] -> Embedding [T,B,E] -> dropout -> (bi)RNN [T,B,D*H] -> Linear -> logits [T,B,K]
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { recurrent } from '../layers/ops.js';
import { argmax } from '../layers/tensor-ops.js';
import type { Variable } from '../train/tape.js';
import { checkTokenBatch, tokenStack, type CellName, type TokenBatch, TokenStackModel } from './common.js';

export interface SequenceTaggerOptions {
  vocabSize: number;
  numTags: number;
  /** Default 32. */
  embeddingDim?: number;
  /** Default 64. */
  hiddenSize?: number;
  /** Default 'gru'. */
  cell?: CellName;
  /** Default true. */
  bidirectional?: boolean;
  /** Default 1. */
  numLayers?: number;
  /** Dropout on the embeddings (default 0). */
  dropout?: number;
  /** Default 0. */
  paddingIdx?: number;
  seed?: number;
}

/** ids and tags [T, B] time-major, lengths [B]; tags past a length are ignored. */
export interface TaggingBatch extends TokenBatch {
  tags?: Int32Array;
}

export class SequenceTagger extends TokenStackModel<Required<SequenceTaggerOptions>> {
  constructor(rt: Runtime, options: SequenceTaggerOptions) {
    const o: Required<SequenceTaggerOptions> = {
      embeddingDim: 32, hiddenSize: 64, cell: 'gru', bidirectional: true, numLayers: 1, dropout: 0, paddingIdx: 0, seed: 0,
      ...options,
    };
    checkSize('numTags', o.numTags, 2);
    super(rt, o, tokenStack({ ...o, outFeatures: o.numTags }), o.seed);
  }

  /** Logits [T, B, numTags]. */
  logits(batch: TaggingBatch): Variable {
    const tape = this.tape;
    const x = this.embed(batch);
    const { output } = recurrent(tape, this.rnn, x, { lengths: batch.lengths });
    return this.fc.forward(tape, output);
  }

  /** 1 at valid steps, 0 past each sequence's length, [T, B]. */
  static mask(T: number, lengths: Int32Array): Float32Array {
    const B = lengths.length;
    const m = new Float32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]; t++) m[t * B + b] = 1;
    return m;
  }

  /** Mean cross-entropy over the valid steps. */
  loss(batch: TaggingBatch): number {
    const [T] = checkTokenBatch(batch);
    if (!batch.tags || batch.tags.length !== batch.ids.length) throw new ShapeError(`batch.tags must be an Int32Array [T, B] like ids (${batch.ids.length} values)`);
    return crossEntropyLoss(this.tape, this.logits(batch), batch.tags, { mask: SequenceTagger.mask(T, batch.lengths) });
  }

  /** Predicted tag per step [T, B] (eval mode); -1 past each length. */
  predict(batch: TaggingBatch): Int32Array {
    const [T, B] = checkTokenBatch(batch);
    return this.withEval(() => {
      this.tape.reset();
      const best = argmax(this.logits(batch));
      const out = new Int32Array(T * B).fill(-1);
      for (let b = 0; b < B; b++) for (let t = 0; t < batch.lengths[b]; t++) out[t * B + b] = best[t * B + b];
      return out;
    });
  }

  /** Step accuracy and whole-sequence accuracy over labelled batches. */
  evaluate(batches: TaggingBatch[]): { accuracy: number; sequenceAccuracy: number } {
    let ok = 0, steps = 0, seqOk = 0, seqs = 0;
    for (const batch of batches) {
      const pred = this.predict(batch);
      const B = batch.lengths.length;
      for (let b = 0; b < B; b++) {
        let all = true;
        for (let t = 0; t < batch.lengths[b]; t++) {
          const hit = pred[t * B + b] === batch.tags![t * B + b];
          ok += hit ? 1 : 0;
          all &&= hit;
        }
        steps += batch.lengths[b];
        seqOk += all ? 1 : 0;
        seqs++;
      }
    }
    return { accuracy: ok / Math.max(1, steps), sequenceAccuracy: seqOk / Math.max(1, seqs) };
  }
}
