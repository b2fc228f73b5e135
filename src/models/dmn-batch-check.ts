// The whole check of a DMNBatch before DMN.forward records anything (issue 18): a batch built
// by hand or edited after makeDMNBatch must fail here, naming the field, not half-way through
// the tape (where the ops already recorded would stay on it and its arena would grow).
import { describe, ShapeError } from '../runtime/check.js';
import type { DMNBatch } from './dmn.js';

function sized(name: string, a: unknown, n: number): Int32Array {
  if (!(a instanceof Int32Array) || a.length !== n) {
    throw new ShapeError(`DMN batch ${name} must have ${n} values (an Int32Array), got ${a instanceof Int32Array ? a.length : describe(a)}`);
  }
  return a;
}

/** n values per row of B (a time-first [T, B] layout); returns T. */
function rows(name: string, a: unknown, B: number): number {
  if (!(a instanceof Int32Array) || a.length === 0 || a.length % B !== 0) {
    throw new ShapeError(`DMN batch ${name} must have a multiple of B = ${B} values (an Int32Array), got ${a instanceof Int32Array ? a.length : describe(a)}`);
  }
  return a.length / B;
}

function inRange(name: string, a: Int32Array, lo: number, hi: number): void {
  for (let i = 0; i < a.length; i++) {
    if (!(a[i] >= lo && a[i] <= hi)) throw new RangeError(`DMN batch ${name}[${i}] = ${a[i]} must be an integer in ${lo}..${hi}`);
  }
}

/** Shapes and ranges of every field `input` ('words' or 'fusion'; other input modules check their own) reads. */
export function checkDMNBatch(batch: DMNBatch, vocabSize: number, input: string): void {
  if (batch === null || typeof batch !== 'object') throw new TypeError(`DMN batch must be a DMNBatch (makeDMNBatch), got ${describe(batch)}`);
  const { B, M } = batch;
  if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(M) && M >= 1)) throw new RangeError(`DMN batch B and M must be integers >= 1, got B ${B}, M ${M}`);
  for (const name of ['answers', 'factCounts', 'questionLengths'] as const) {
    if (batch[name]?.length !== B) throw new ShapeError(`DMN batch ${name} must have ${B} values (B), got ${batch[name]?.length}`);
  }
  inRange('factCounts', sized('factCounts', batch.factCounts, B), 1, M);
  inRange('questionLengths', sized('questionLengths', batch.questionLengths, B), 1, rows('questionIds', batch.questionIds, B));
  if (input === 'words') {
    const Tw = rows('storyIds', batch.storyIds, B);
    inRange('storyLengths', sized('storyLengths', batch.storyLengths, B), 1, Tw);
    inRange('factEnds', sized('factEnds', batch.factEnds, B * M), 0, Tw - 1);
  } else if (input === 'fusion') {
    if (!(Number.isInteger(batch.L) && batch.L >= 1)) throw new RangeError(`DMN batch L must be an integer >= 1, got ${batch.L}`);
    inRange('sentenceLengths', sized('sentenceLengths', batch.sentenceLengths, M * B), 0, batch.L);
    inRange('sentenceIds', sized('sentenceIds', batch.sentenceIds, M * B * batch.L), 0, vocabSize - 1);
  }
}
