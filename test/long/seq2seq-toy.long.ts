// Opt-in full-length toy runs (`npm run test:long`, a few minutes of CPU): copy / reverse / sort of
// digit strings of length 1..20 to >= 99% exact match with attention; attention against no
// attention on inputs of length 16..20; every attention variant on copy 1..20. Each run appends
// its figures (task, lengths, steps, CPU seconds, exact match) to results/seq2seq-toy/runs.jsonl;
// results/seq2seq-toy/README.md has the table. The default suite's shorter versions are in
// test/seq2seq-toy.test.ts.
import { appendFileSync, mkdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { ATTENTION_KINDS } from '../../src/models/seq2seq.js';
import { TOY_TASKS } from '../../src/data/toy-sequences.js';
import { trainToy, type ToyRun } from '../seq2seq-toy-recipe.js';

const OUT = 'results/seq2seq-toy/runs.jsonl';
let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
  mkdirSync('results/seq2seq-toy', { recursive: true });
});

function run(name: string, r: ToyRun): number {
  const result = trainToy(rt, r);
  const line = { name, ...r, evaluationLengths: `${r.evaluationMinLength ?? 1}..${r.maxLength}`, ...result, cpuSeconds: +result.cpuSeconds.toFixed(1), node: process.version, date: new Date().toISOString() };
  appendFileSync(OUT, JSON.stringify(line) + '\n');
  return result.exactMatch;
}

describe('toy tasks, lengths 1..20', () => {
  for (const task of TOY_TASKS) {
    it.each([1, 2, 3])(`${task} with luong-general attention: >= 99%% exact match (seed %i)`, (seed) => {
      expect(run('full-length', { task, maxLength: 20, steps: 3000, attention: 'luong-general', seed })).toBeGreaterThanOrEqual(0.99);
    });
  }

  it.each([1, 2, 3])('attention beats no attention on inputs of length 16..20 (copy, same budget, seed %i)', (seed) => {
    const base: ToyRun = { task: 'copy', maxLength: 20, steps: 3000, evaluationMinLength: 16, seed };
    const withAttention = run('attention-vs-none', { ...base, attention: 'luong-general' });
    const without = run('attention-vs-none', { ...base, attention: 'none' });
    expect(withAttention).toBeGreaterThanOrEqual(0.95);
    expect(without).toBeLessThanOrEqual(0.05);
  });

  for (const attention of ATTENTION_KINDS) {
    it(`every variant on copy 1..20: ${attention}`, () => {
      const em = run('every-variant', { task: 'copy', maxLength: 20, steps: 3000, attention });
      expect(em).toBeGreaterThanOrEqual(attention === 'none' ? 0 : attention === 'hard' ? 0.5 : 0.9);
    });
  }
});
