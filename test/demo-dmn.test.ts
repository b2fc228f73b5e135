// The DMN demo: trains on the built-in generator within its budget, answers fresh stories and
// draws the gates; its machine-readable result carries what it printed.
import { expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import { runDmnDemo } from '../src/cli/demo-dmn.js';
import { generateBabi, parseBabi, splitBabi } from '../src/data/babi.js';

it('runDmnDemo trains, answers fresh stories and charts every fact\'s gate per pass', async () => {
  const rt = await runtimeFor('simd');
  const lines: string[] = [];
  // A step budget (not seconds), so a loaded machine trains as far as an idle one; task 1
  // stops early at 99.5% validation accuracy (about 225 steps at seed 0).
  const r = await runDmnDemo({ rt, task: 1, steps: 600, write: (l) => lines.push(l) });
  expect(r.steps).toBeLessThan(600);
  expect(r.freshAccuracy).toBeGreaterThanOrEqual(0.9);
  expect(r.stories.length).toBe(3);
  for (const s of r.stories) {
    expect(s.gates.length).toBe(3);
    for (const g of s.gates) {
      expect(g.length).toBe(s.facts.length);
      // Softmax gates over the facts sum to 1.
      expect(Math.abs(g.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-4);
    }
  }
  const text = lines.join('\n');
  expect(text).toContain('pass 1');
  expect(text).toContain(`Q: ${r.stories[0].question}?`);
  expect(text).toMatch(/█/);
  const json: string[] = [];
  const quick = await runDmnDemo({ rt, steps: 10, json: true, write: (l) => json.push(l) });
  // The step budget is rounded up to one whole pass over the default task's training questions.
  const stepsPerEpoch = Math.ceil(splitBabi(parseBabi(generateBabi({ task: 2, stories: 800, seed: 0 }))).train.length / 32);
  expect(quick.steps).toBe(stepsPerEpoch);
  expect(json.length).toBe(1);
  expect(JSON.parse(json[0]).stories.length).toBe(quick.stories.length);
});
