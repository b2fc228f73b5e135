// `rnn-wasm demo`, the README's first command, as a user runs it (the built CLI in a child
// process): short trainings here; the DMN and seq2seq demos' own tests check what they learn.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'demo', ...args], { encoding: 'utf8', env: { ...process.env, RNN_WASM_NO_REEXEC: '1' } });

describe.skipIf(!existsSync(CLI))('rnn-wasm demo', () => {
  it('--json: answers fresh stories with gates for every pass and fact, and translates dates with attention rows that sum to 1', () => {
    // A step budget, not seconds: a loaded machine must not train less than an idle one.
    const r = run('--steps', '40', '--json');
    expect(r.status, r.stderr).toBe(0);
    const { dmn, translate } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(dmn.stories.length).toBe(3);
    for (const story of dmn.stories) {
      expect(story.gates.length).toBe(3); // passes
      for (const pass of story.gates) expect(pass.length).toBe(story.facts.length);
    }
    expect(dmn.freshAccuracy).toBeGreaterThanOrEqual(0);
    expect(translate.steps).toBe(40);
    expect(translate.examples.length).toBeGreaterThan(0);
    for (const ex of translate.examples) {
      expect(ex.attention.length).toBe(ex.target.length);
      for (const row of ex.attention) {
        expect(row.length).toBe(ex.source.length);
        expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 2);
      }
    }
  }, 60_000);

  it('--help says what it does and exits 0; a typo exits 2 naming the option', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/DMN\+.*\n.*gate/s);
    const bad = run('--secnds', '3');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--secnds/);
    for (const steps of ['0', '2.5', 'many']) {
      const badSteps = run('--steps', steps);
      expect(badSteps.status).toBe(2);
      expect(badSteps.stderr).toMatch(/--steps must be a whole number/);
    }
    const both = run('--steps', '3', '--seconds', '3');
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--seconds or --steps/);
  });
});
