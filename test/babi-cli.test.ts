// `rnn-wasm train babi` then `rnn-wasm babi --model` (the built dist/cli.js, as a user runs them) on
// the built-in generator: the --json line records the model's options and the training recipe as
// run (defaults resolved), so a results file says how each row was trained; the saved model scores
// stories of another generator seed about as well as its validation said.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateBabi } from '../src/data/babi.js';
import { spawnSync } from 'node:child_process';
import { CLI_PATH, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-babi-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, 120_000);

describe('rnn-wasm train babi --json, babi --model (built CLI)', () => {
  it('records the options and recipe it ran, and the saved model answers fresh stories', () => {
    const model = join(dir, 'qa1.safetensors');
    // A step budget: 3 epochs of 4500 training questions in batches of 20 = 675 steps (~3 s).
    const trained = cli('train', 'babi', '--task', '1', '--epochs', '3', '--hidden', '16', '--embedding', '16', '--batch', '20',
      '--supervise', '0.5', '--save', model, '--json', '--quiet');
    expect(trained.status, trained.stderr).toBe(0);
    const t = JSON.parse(trained.stdout.trim().split('\n').at(-1)!);
    expect(t.trainQuestions).toBe(4500);
    expect(t.steps).toBe(3 * Math.ceil(4500 / 20));
    expect(t.model).toMatchObject({ variant: 'dmn+', input: 'fusion', cell: 'attention-gru', memoryUpdate: 'relu', passes: 3,
      embeddingDim: 16, hiddenSize: 16, dropout: 0.1, gateSupervision: 0.5, init: 'xavier', answerModule: 'softmax' });
    expect(t.training).toEqual({ batchSize: 20, lr: 1e-3, l2: 0, clipNorm: 10, bucket: true, renameAnswers: false, renameWords: [], keep: 'best', validateEvery: null,
      validationFraction: 0.1, maxFacts: 40 });
    expect(t.accuracy).toBeGreaterThan(0.9);

    const testFile = join(dir, 'qa1-seed99.txt');
    writeFileSync(testFile, generateBabi({ task: 1, stories: 60, seed: 99 }));
    const r = cli('babi', '--model', model, '--test', testFile, '--json');
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.questions).toBe(300);
    expect(m.variant).toBe('dmn+');
    expect(Math.abs(m.accuracy - t.accuracy)).toBeLessThan(0.08);
  }, 120_000);

  it('--rename-answers --rename-names --rename: the groups it renamed are in the recipe it prints', () => {
    const r = cli('train', 'babi', '--task', '1', '--epochs', '1', '--hidden', '8', '--embedding', '8', '--batch', '50',
      '--rename-answers', '--rename-names', '--rename', 'moved,went', '--json');
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    const names = t.training.renameWords[1];
    expect(t.training.renameAnswers).toBe(true);
    expect(t.training.renameWords[0]).toEqual(['moved', 'went']);
    expect(names.length).toBeGreaterThan(1);
    expect(names).toContain('mary');
    expect(names).not.toContain('the');
    expect(r.stderr).toContain(`renaming the proper names: ${names.join(', ')}`);
  }, 120_000);
});

describe('a --json line longer than a pipe holds', () => {
  it('reaches a reader that starts late, whole (process.exit would cut it at 65,536 bytes)', () => {
    // 900 validation points of history: ~86 KB of JSON. The reader starts once the run's last stderr
    // line ("... whole run ...", printed just before the JSON) is out, so the pipe is full when the CLI ends.
    const log = join(dir, 'late-reader.log');
    const command = `"${process.execPath}" "${CLI_PATH}" train babi --task 1 --epochs 1 --batch 5 --validate-every 1 --hidden 4 --embedding 4 --json 2>"${log}" `
      + `| (until grep -q "whole run" "${log}" 2>/dev/null; do sleep 0.1; done; sleep 0.5; cat)`;
    const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 24 });
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(70_000);
    const result = JSON.parse(r.stdout);
    expect(result.history).toHaveLength(900);
  });
});
