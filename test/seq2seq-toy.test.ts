// Seq2seq on the toy digit-string tasks (src/data/toy-sequences.ts): the train/evaluation split is
// disjoint by construction; with attention every task reaches >= 99% exact match on strings it
// never saw; and on long inputs attention beats no attention by a wide margin under the same
// budget. The full-length (1..20) runs are opt-in: `npm run test:long` (test/long/seq2seq-toy.long.ts,
// figures in results/seq2seq-toy/README.md). Budgets are optimizer steps, so results do not depend
// on the machine's speed; the recipe is test/seq2seq-toy-recipe.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { isEvaluationString, toySplit, TOY_TASKS } from '../src/data/toy-sequences.js';
import { trainToy } from './seq2seq-toy-recipe.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

describe('toy digit-string tasks', () => {
  it('copy / reverse / sort targets; train and evaluation sets disjoint for any seeds; seeded', () => {
    const key = (ids: Int32Array) => Array.from(ids).join(',');
    for (const task of TOY_TASKS) {
      const a = toySplit({ task, trainCount: 1000, evaluationCount: 200, maxLength: 5, seed: 1 });
      const b = toySplit({ task, trainCount: 1000, evaluationCount: 200, maxLength: 5, seed: 2 });
      const evaluation = new Set([...a.evaluation, ...b.evaluation].map((p) => key(p.source)));
      for (const p of [...a.train, ...b.train]) expect(evaluation.has(key(p.source)), `${task}: training source ${key(p.source)}`).toBe(false);
      const again = toySplit({ task, trainCount: 1000, evaluationCount: 200, maxLength: 5, seed: 1 });
      expect(again.train.map((p) => key(p.source))).toEqual(a.train.map((p) => key(p.source)));
      for (const p of a.evaluation) {
        const digits = Array.from(p.source, (id) => a.vocabulary.token(id));
        expect(isEvaluationString(digits)).toBe(true);
        const want = task === 'copy' ? digits : task === 'reverse' ? digits.slice().reverse() : digits.slice().sort();
        expect(Array.from(p.target, (id) => a.vocabulary.token(id))).toEqual(want);
        expect(p.source.length).toBeGreaterThanOrEqual(1);
        expect(p.source.length).toBeLessThanOrEqual(5);
      }
    }
    // The evaluation side is about 1/8 of all strings of a length (here all 10^4 of length 4).
    let held = 0;
    for (let n = 0; n < 10000; n++) if (isEvaluationString(String(n).padStart(4, '0').split(''))) held++;
    expect(held).toBeGreaterThan(1100);
    expect(held).toBeLessThan(1400);
    expect(() => toySplit({ task: 'copy', minLength: 3, maxLength: 2 })).toThrow(/1 <= minLength <= maxLength/);
    expect(() => toySplit({ task: 'copy', trainCount: 0, evaluationCount: 20, maxLength: 1 })).toThrow(/could not draw 20 evaluation strings of length 1..1/);
  });
});

describe('seq2seq with attention learns the toy tasks (strings of length 1..12, never seen in training)', () => {
  // luong-general, GRU 32, 2500 steps of 32 pairs, about 5.5 CPU s each. Measured on the 400
  // evaluation strings, seeds 1 / 2: copy 1 / 1, reverse 0.995 / 1, sort 0.9975 / 0.995 (2000
  // steps: reverse 0.9925 / 0.995, sort 0.9975 / 0.99, too close to the line).
  it.each(TOY_TASKS)('%s: >= 99% exact match', (task) => {
    const { exactMatch } = trainToy(rt, { task, maxLength: 12, steps: 2500, attention: 'luong-general' });
    expect(exactMatch, `${task} exact match`).toBeGreaterThanOrEqual(0.99);
  });
});

describe('attention against no attention on long inputs', () => {
  // Copy, trained on lengths 1..20 with the same budget (1200 steps), scored on lengths 16..20:
  // measured attention 0.91 / 0.935 / 0.905 (seeds 1 / 2 / 3), none 0 / 0 / 0 (a GRU state of 32
  // cannot carry 16+ digits).
  it('copy of 16..20 digits: luong-general >= 0.6, none <= 0.05', () => {
    const run = { task: 'copy' as const, maxLength: 20, steps: 1200, evaluationMinLength: 16, evaluationCount: 200 };
    const withAttention = trainToy(rt, { ...run, attention: 'luong-general' }).exactMatch;
    const without = trainToy(rt, { ...run, attention: 'none' }).exactMatch;
    expect(withAttention, 'luong-general exact match on 16..20 digits').toBeGreaterThanOrEqual(0.6);
    expect(without, 'no attention exact match on 16..20 digits').toBeLessThanOrEqual(0.05);
  });
});
