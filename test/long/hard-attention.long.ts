// Opt-in (`npm run test:long`): hard attention on reverse of 1..6 digits, 800 steps, 4 seeds, at a
// constant and at a cosine learning rate; figures appended to results/seq2seq-toy/runs.jsonl
// (name 'hard'). The same file run against the seq2seq.ts before per-token rewards
// (`git show a956948:src/models/seq2seq.ts > src/models/seq2seq.ts`) gives the 'before' column of
// results/seq2seq-toy/README.md; the floor below is for the current code.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { trainToyAndRecord as run } from '../seq2seq-toy-recipe.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

describe('hard attention on reverse 1..6 (800 steps)', () => {
  for (const schedule of ['constant', 'cosine'] as const) {
    it(`${schedule} learning rate, seeds 1-4: mean exact match >= ${schedule === 'cosine' ? 0.85 : 0.7}`, () => {
      let sum = 0;
      for (const seed of [1, 2, 3, 4]) sum += run(rt, 'hard', { task: 'reverse', maxLength: 6, steps: 800, attention: 'hard', seed, schedule, trainCount: 10000 });
      expect(sum / 4).toBeGreaterThanOrEqual(schedule === 'cosine' ? 0.85 : 0.7);
    });
  }
});
