// The DMN's GRU answer decoder for multi-word answers (Kumar et al. 2016, section 2.4; the
// lecture: "for variable length answers we use a decoder much like in the translation case"):
//   a⁰ = m (the final memory),  a_t = GRU([y_{t−1}; q], a_{t−1}),  y_t = softmax(W a_t + b)
// y₀ is <pad> (id 0) read as "go", and the decoder ends an answer by predicting <pad>: the words
// of "football,apple" are the targets football, apple, <pad>. Training is teacher-forced (one GRU
// call over the whole answer); prediction is greedy, one step at a time, up to maxLength words.
// The embedding is the DMN's shared one; W, b is the DMN's 'answer.' Linear [V, d].
import { ShapeError } from '../runtime/check.js';
import { PAD_ID } from '../data/vocab.js';
import type { Embedding } from '../layers/embedding.js';
import type { Linear } from '../layers/linear.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { concatFeatures, recurrent } from '../layers/ops.js';
import type { RecurrentLayer } from '../layers/recurrent.js';
import { argmax, gatherRows, reshape } from '../layers/tensor-ops.js';
import type { Tape, Variable } from '../train/tape.js';

export type DMNAnswerModule = 'softmax' | 'gru';

/** A batch's answers word by word: words [B * maxWords] row-major (0-padded), lengths [B] (each >= 1). */
export interface AnswerWords {
  words: Int32Array;
  lengths: Int32Array;
}

/** Packs each question's answer words (ids) into AnswerWords. */
export function packAnswerWords(answers: readonly ArrayLike<number>[]): AnswerWords {
  const B = answers.length;
  const T = Math.max(1, ...answers.map((a) => a.length));
  const words = new Int32Array(B * T), lengths = new Int32Array(B);
  answers.forEach((a, b) => {
    if (a.length === 0) throw new ShapeError(`answer ${b} has no words`);
    for (let j = 0; j < a.length; j++) words[b * T + j] = a[j];
    lengths[b] = a.length;
  });
  return { words, lengths };
}

export class AnswerDecoder {
  constructor(
    readonly embedding: Embedding,
    readonly rnn: RecurrentLayer,
    readonly output: Linear,
    /** Greedy decoding stops after this many words. */
    readonly maxLength: number,
  ) {}

  /** q repeated for T steps: [B, d] -> [T, B, d]. */
  private repeat(tape: Tape, q: Variable, T: number): Variable {
    const [B, d] = q.shape;
    return reshape(tape, gatherRows(tape, q, Int32Array.from({ length: T * B }, (_, i) => i % B)), [T, B, d]);
  }

  /** Logits [T, B, V] of every answer word and of the end, teacher-forced, with their targets [T*B] (-1 past the end). */
  teacherForced(tape: Tape, m: Variable, q: Variable, answer: AnswerWords): { logits: Variable; targets: Int32Array } {
    const [B, d] = m.shape;
    if (answer.lengths.length !== B) throw new ShapeError(`AnswerDecoder: the batch has ${B} questions but ${answer.lengths.length} answers`);
    const W = answer.words.length / B;
    const T = Math.max(...answer.lengths) + 1;
    const inputs = new Int32Array(T * B).fill(PAD_ID), targets = new Int32Array(T * B).fill(-1);
    const lengths = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const n = answer.lengths[b];
      for (let j = 0; j < n; j++) {
        if (answer.words[b * W + j] === PAD_ID) throw new RangeError(`AnswerDecoder: answer ${b} word ${j} is <pad> (id 0), which the decoder reads as the end of an answer`);
        inputs[(j + 1) * B + b] = answer.words[b * W + j];
        targets[j * B + b] = answer.words[b * W + j];
      }
      targets[n * B + b] = PAD_ID;
      lengths[b] = n + 1;
    }
    const x = concatFeatures(tape, [this.embedding.forward(tape, inputs, [T, B]), this.repeat(tape, q, T)]);
    const { output } = recurrent(tape, this.rnn, x, { h0: reshape(tape, m, [1, B, d]), lengths });
    return { logits: this.output.forward(tape, output), targets };
  }

  /** Mean cross-entropy per answer word (and end) under teacher forcing. */
  loss(tape: Tape, m: Variable, q: Variable, answer: AnswerWords): number {
    const { logits, targets } = this.teacherForced(tape, m, q, answer);
    return crossEntropyLoss(tape, logits, targets, { ignoreIndex: -1 });
  }

  /** Greedy answers: each question's word ids, without the end. */
  greedy(tape: Tape, m: Variable, q: Variable): Int32Array[] {
    const [B, d] = m.shape;
    const words: number[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    let previous: Int32Array = new Int32Array(B).fill(PAD_ID);
    let h = reshape(tape, m, [1, B, d]);
    const q1 = reshape(tape, q, [1, B, d]);
    for (let t = 0; t < this.maxLength && done.some((x) => x === 0); t++) {
      const x = concatFeatures(tape, [this.embedding.forward(tape, previous, [1, B]), q1]);
      const { output, hN } = recurrent(tape, this.rnn, x, { h0: h });
      h = hN;
      previous = argmax(this.output.forward(tape, output));
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        if (previous[b] === PAD_ID) done[b] = 1;
        else words[b].push(previous[b]);
      }
    }
    return words.map((w) => Int32Array.from(w));
  }
}
