// Opt-in (`npm run test:long`): every attention variant trains on copy of 1..20 digits, 3000 steps
// of the toy recipe (test/seq2seq-toy-recipe.ts); figures appended to results/seq2seq-toy/runs.jsonl.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { ATTENTION_KINDS } from '../../src/models/seq2seq.js';
import { trainToyAndRecord as run } from '../seq2seq-toy-recipe.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

describe('every attention variant on copy 1..20 (3000 steps)', () => {
  // Every attention variant >= 0.9 (hard, which learns by REINFORCE, >= 0.5); none cannot copy
  // the longer half of the strings through a 32-float state: <= 0.5.
  for (const attention of ATTENTION_KINDS) {
    it(attention, () => {
      const em = run(rt, 'every-variant', { task: 'copy', maxLength: 20, steps: 3000, attention });
      if (attention === 'none') expect(em).toBeLessThanOrEqual(0.5);
      else expect(em).toBeGreaterThanOrEqual(attention === 'hard' ? 0.5 : 0.9);
    });
  }
});
