// Real-data paths of the recipes (--data) and the `rnn-wasm train` command itself.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Rng } from '../src/train/rng.js';
import { parseCaptionLines, parseTaggedLines, readLabelledData, trainCaptioner, trainTagger } from '../src/models/tasks.js';
import { parseArgs } from '../src/cli/args.js';
import { train } from '../src/cli/train.js';

const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Sentences of determiners, nouns and verbs tagged by word class.
function taggedFile(n: number, seed: number): string {
  const rng = new Rng(seed);
  const nouns = ['dog', 'cat', 'ball', 'tree'];
  const verbs = ['sees', 'likes', 'finds'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const words: string[] = [];
    const tags: string[] = [];
    const len = 3 + rng.int(6);
    for (let t = 0; t < len; t++) {
      const r = rng.int(3);
      if (r === 0) { words.push('the'); tags.push('DET'); }
      else if (r === 1) { words.push(nouns[rng.int(4)]); tags.push('NOUN'); }
      else { words.push(verbs[rng.int(3)]); tags.push('VERB'); }
    }
    lines.push(`${words.join(' ')}\t${tags.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

describe('real-data files', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(BUILDS[0]);
  });

  it('tagger --data: learns word classes from a tokens<TAB>tags file', async () => {
    const path = join(dir, 'tags.tsv');
    writeFileSync(path, taggedFile(400, 1));
    const r = await trainTagger(rt, { data: path, epochs: 4, progress: false, compareUnidirectional: false });
    expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.examples[1]).toMatch(/^truth\s+(DET|NOUN|VERB)( (DET|NOUN|VERB))*$/);
  });

  it('caption --data: learns to name the active one-hot feature', async () => {
    const words = ['red', 'green', 'blue', 'yellow'];
    const shapes = ['circle', 'square'];
    const rng = new Rng(2);
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const c = rng.int(4), s = rng.int(2);
      const f = [0, 0, 0, 0, 0, 0];
      f[c] = 1;
      f[4 + s] = 1;
      lines.push(`${f.join(',')}\t${words[c]} ${shapes[s]}`);
    }
    const path = join(dir, 'captions.tsv');
    writeFileSync(path, lines.join('\n'));
    const r = await trainCaptioner(rt, { data: path, epochs: 6, progress: false });
    expect(r.metrics.exactMatch).toBeGreaterThanOrEqual(0.9);
  });

  it('malformed files get errors naming the file and line', async () => {
    expect(() => parseTaggedLines('a b\tX\n', 'f.tsv')).toThrow(/f.tsv:1: 2 tokens but 1 tags/);
    expect(() => parseTaggedLines('a b X Y\n', 'f.tsv')).toThrow(/f.tsv:1: expected 'tokens<TAB>tags'/);
    expect(() => parseCaptionLines('1,2\tred\n1,x\tblue\n', 'c.tsv')).toThrow(/c.tsv:2: features must be finite numbers/);
    expect(() => parseCaptionLines('1,2\tred\n1,2,3\tblue\n', 'c.tsv')).toThrow(/c.tsv:2: 3 features, the first line has 2/);
    const bad = join(dir, 'bad_labelled.txt');
    writeFileSync(bad, 'good movie\t1\nbad movie\t7\n');
    await expect(readLabelledData(bad)).rejects.toThrow(/bad_labelled.txt:2: label 7/);
    await expect(readLabelledData(join(dir, 'missing.txt'))).rejects.toThrow(/does not exist/);
  });
});

describe('rnn-wasm train (CLI)', () => {
  it('--json prints the final metrics as one JSON line; unknown tasks and bad flags are refused', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await train(parseArgs(['train', 'caption', '--epochs', '1', '--json', '--quiet', '--seed', '5']))).toBe(0);
      expect(out.length).toBe(1);
      const metrics = JSON.parse(out[0]);
      expect(metrics.task).toBe('caption');
      expect(metrics.seed).toBe(5);
      expect(metrics.epochs).toBe(1);
      expect(typeof metrics.exactMatch).toBe('number');
      expect(await train(parseArgs(['train', 'translate']))).toBe(2);
      await expect(train(parseArgs(['train', 'caption', '--cell', 'tcn']))).rejects.toThrow(/--cell must be lstm, gru or rnn, got 'tcn'/);
      await expect(train(parseArgs(['train', 'caption', '--lr', '-1']))).rejects.toThrow(/--lr must be a positive number/);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });

  it('same seed, same final metrics (bit for bit) through the CLI', async () => {
    const runs: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void runs.push(s));
    try {
      for (let i = 0; i < 2; i++) await train(parseArgs(['train', 'tagger', '--epochs', '1', '--json', '--quiet', '--seed', '3']));
    } finally {
      log.mockRestore();
    }
    const [a, b] = runs.map((s) => JSON.parse(s));
    delete a.seconds;
    delete b.seconds;
    expect(b).toEqual(a);
  });
});
