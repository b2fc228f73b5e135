// Toy sequence-to-sequence tasks over digit strings (copy, reverse, sort) with a training set and
// an evaluation set that are disjoint BY CONSTRUCTION: every digit string belongs to exactly one
// side, decided by a hash of the string itself (not by the sampling order or the seed). So a
// model scored on the evaluation side has never been trained on any of its sources, whatever
// seeds, counts or lengths the two sets are drawn with. Short strings have few distinct values
// (10 of length 1, 100 of length 2), so both sides are drawn from their own part of the space
// rather than deduplicated after the fact.
import { Rng } from '../train/rng.js';
import type { Vocabulary } from './vocab.js';
import { digitTaskExamples, digitVocabulary, type DigitTask } from './dates.js';
import type { IdPair } from '../models/seq2seq-tasks.js';

export const TOY_TASKS: readonly DigitTask[] = ['copy', 'reverse', 'sort'];

/** One in this many digit strings is on the evaluation side. */
export const TOY_EVALUATION_SHARE = 8;

/** Which side a digit string is on: FNV-1a of its digits, modulo TOY_EVALUATION_SHARE. */
export function isEvaluationString(digits: readonly string[]): boolean {
  let h = 0x811c9dc5;
  for (const d of digits) h = Math.imul(h ^ d.charCodeAt(0), 0x01000193);
  h ^= digits.length;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return ((h ^ (h >>> 13)) >>> 0) % TOY_EVALUATION_SHARE === 0;
}

export interface ToySplitOptions {
  task: DigitTask;
  /** Training pairs (default 10000). */
  trainCount?: number;
  /** Evaluation pairs (default 400). */
  evaluationCount?: number;
  /** Source lengths are uniform in [minLength, maxLength] (defaults 1 and 20). */
  minLength?: number;
  maxLength?: number;
  /** Evaluation lengths, when they differ from training's (e.g. only long inputs). */
  evaluationMinLength?: number;
  evaluationMaxLength?: number;
  /** Seed of both draws (default 0); the sides stay disjoint for every seed. */
  seed?: number;
}

export interface ToySplit {
  vocabulary: Vocabulary;
  train: IdPair[];
  evaluation: IdPair[];
}

/** Draws `count` examples of the task on one side of the hash split (rejection sampling). */
function drawSide(task: DigitTask, count: number, rng: Rng, minLength: number, maxLength: number, evaluationSide: boolean, vocabulary: Vocabulary): IdPair[] {
  const out: IdPair[] = [];
  // Rejection keeps about 1/8 (evaluation) or 7/8 (training) of the draws; the cap catches a
  // length range too small to hold enough strings on one side.
  for (let tries = 0; out.length < count; tries++) {
    if (tries > 100 * count + 1000) throw new Error(`toy ${task}: could not draw ${count} ${evaluationSide ? 'evaluation' : 'training'} strings of length ${minLength}..${maxLength}`);
    const [e] = digitTaskExamples(task, 1, rng, maxLength, minLength);
    if (isEvaluationString(e.source) !== evaluationSide) continue;
    out.push({ source: vocabulary.encode(e.source), target: vocabulary.encode(e.target) });
  }
  return out;
}

/** A training set and an evaluation set of one toy task, disjoint by construction. */
export function toySplit(options: ToySplitOptions): ToySplit {
  const minLength = options.minLength ?? 1, maxLength = options.maxLength ?? 20;
  if (!Number.isInteger(minLength) || !Number.isInteger(maxLength) || minLength < 1 || maxLength < minLength) {
    throw new RangeError(`toySplit: need integers 1 <= minLength <= maxLength, got ${minLength}..${maxLength}`);
  }
  const vocabulary = digitVocabulary();
  const seed = options.seed ?? 0;
  const train = drawSide(options.task, options.trainCount ?? 10000, new Rng(seed * 2 + 1), minLength, maxLength, false, vocabulary);
  const evaluation = drawSide(options.task, options.evaluationCount ?? 400, new Rng(seed * 2 + 2), options.evaluationMinLength ?? minLength, options.evaluationMaxLength ?? maxLength, true, vocabulary);
  return { vocabulary, train, evaluation };
}
