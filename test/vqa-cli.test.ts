// `rnn-wasm train vqa` (in process: metrics as JSON, the SVGs of the gates, a saved model that
// loads as a DMN) and the grid attention picture (src/viz/grid-attention.ts).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/cli/args.js';
import { train } from '../src/cli/train.js';
import { gridAttentionSvg } from '../src/viz/grid-attention.js';

const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-vqa-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rnn-wasm train vqa', () => {
  it('trains, prints JSON metrics, writes one SVG per shown question and a loadable model', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const save = join(dir, 'vqa.safetensors');
      const code = await train(parseArgs(['train', 'vqa', '--epochs', '1', '--train', '300', '--validation', '60', '--hidden', '8', '--embedding', '8', '--svg', join(dir, 'svg'), '--show', '2', '--save', save, '--json']));
      expect(code).toBe(0);
      const m = JSON.parse(out.at(-1)!);
      expect(m).toMatchObject({ task: 'vqa', trainQuestions: 300, validationQuestions: 60, epochs: 1, steps: 10 });
      expect(m.accuracy).toBeGreaterThanOrEqual(0);
      expect(Object.keys(m.accuracyByKind).sort()).toEqual(['colour-of', 'relation', 'shape-of']);
      expect(readdirSync(join(dir, 'svg')).sort()).toEqual(['vqa-attention-1.svg', 'vqa-attention-2.svg']);
      const svg = readFileSync(join(dir, 'svg', 'vqa-attention-1.svg'), 'utf8');
      expect(svg).toMatch(/^<svg /);
      expect(svg).toMatch(/Q: what /);
      expect(svg.match(/class="cell"/g)).toHaveLength(3 * 9);
      const { createRuntime } = await import('../src/runtime/runtime.js');
      const { loadBabiModel } = await import('../src/models/dmn-task.js');
      const { model } = loadBabiModel(await createRuntime(), readFileSync(save));
      expect(model.config).toMatchObject({ input: 'visual', visualFeatures: 14, hiddenSize: 8 });
      model.dispose();
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });

  it('keeps the task defaults for options left undefined (flags not given)', async () => {
    const { trainVqa } = await import('../src/models/vqa-task.js');
    const { runtimeFor } = await import('./helpers.js');
    const r = trainVqa(await runtimeFor('simd'), { epochs: 1, trainQuestions: 40, validationQuestions: 10, hiddenSize: undefined, embeddingDim: undefined, dropout: undefined });
    expect(r.model.config).toMatchObject({ hiddenSize: 32, embeddingDim: 32, dropout: 0, input: 'visual' });
    r.model.dispose();
  });

  it('refuses options it does not know and bad values with a usage error', async () => {
    await expect(train(parseArgs(['train', 'vqa', '--data', 'x.txt']))).rejects.toThrow(/train vqa: unknown option --data/);
    await expect(train(parseArgs(['train', 'vqa', '--kinds', 'colour-of,size']))).rejects.toThrow(/--kinds must be a comma list of colour-of, shape-of, relation/);
    await expect(train(parseArgs(['train', 'vqa', '--gate', 'relu']))).rejects.toThrow(/--gate must be softmax or sigmoid/);
  });
});

describe('gridAttentionSvg', () => {
  it('draws the image panel and one shaded panel per pass, darker for larger gates', () => {
    const gates = [[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]];
    const svg = gridAttentionSvg(gates, 2, 2, { cells: [{ shape: 'circle', colour: 'red' }, null, { shape: 'star', colour: '#00f' }, null], title: 'Q & A', highlight: [0] });
    expect(svg).toContain('Q &amp; A');
    expect(svg.match(/class="panel"/g)).toHaveLength(3);
    expect(svg.match(/class="cell"/g)).toHaveLength(8);
    const fills = [...svg.matchAll(/class="cell"[^>]*fill="rgb\((\d+)/g)].map((m) => Number(m[1]));
    expect(fills[0]).toBeLessThan(fills[1]);
    // A uniform pass is pale: its scale's top is twice the uniform gate.
    expect(fills[4]).toBeGreaterThan(100);
    expect(svg).toContain('stroke="#e6550d"');
    expect(() => gridAttentionSvg([[0.5, 0.5]], 2, 2)).toThrow(/gates\[0\] has 2 values, a 2 x 2 grid needs 4/);
    expect(() => gridAttentionSvg([[NaN, 0, 0, 0]], 2, 2)).toThrow(/gates\[0\]\[0\] must be finite/);
    expect(() => gridAttentionSvg([], 2, 2)).toThrow(/non-empty array of passes/);
    expect(() => gridAttentionSvg([[1, 0, 0, 0]], 2, 2, { cells: [null] })).toThrow(/cells has 1 entries/);
  });
});
