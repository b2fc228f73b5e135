// `rnn-wasm vqa --model FILE`: a visual model saved by `train vqa --save` (the built dist/cli.js,
// as a user runs it) answers fresh questions about as well as its validation said, above chance;
// --show prints the grid and the gates; save + load predicts bit for bit the same; the test
// questions share no grid-and-question with training or validation; wrong files fail clearly.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/cli/args.js';
import { vqaCommand } from '../src/cli/vqa.js';
import { generateVqa, vqaKey, vqaSplit, vqaTestSeed, vqaTestSet, vqaVocabulary } from '../src/data/vqa.js';
import { Vocabulary } from '../src/data/vocab.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { saveBabiModel, trainBabi } from '../src/models/dmn-task.js';
import { makeVisualBatch } from '../src/models/dmn-visual.js';
import { encodeVqa, loadVqaModel, saveVqaModel, trainVqa } from '../src/models/vqa-task.js';
import { generateBabi, parseBabi } from '../src/data/babi.js';
import { runCli, runtimeFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-vqa-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args);

describe('rnn-wasm vqa --model (built CLI)', () => {
  const model = join(dir, 'vqa.safetensors');

  it('tests a model saved by train vqa --save: accuracy near its validation accuracy, above chance, per kind', () => {
    // A step budget, not a time budget: 6 epochs of 2000 questions in batches of 32 = 378 steps (~2 s);
    // gate supervision makes it robust (seeds 0-3: 92-95% validation; without, 65-83%).
    const trained = cli('train', 'vqa', '--epochs', '6', '--train', '2000', '--validation', '400', '--supervise', '0.5', '--save', model, '--json', '--quiet');
    expect(trained.status, trained.stderr).toBe(0);
    const t = JSON.parse(trained.stdout.trim().split('\n').at(-1)!);
    expect(t.steps).toBe(378);
    const r = cli('vqa', '--model', model, '--questions', '400', '--json');
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m).toMatchObject({ questions: 400, seed: 0, testSeed: -1, task: { rows: 3, cols: 3, objects: 3, noise: 0.1 } });
    expect(m.trained).toMatchObject({ seed: 0, trainQuestions: 2000, validationQuestions: 400, features: 14, validationAccuracy: t.accuracy });
    expect(typeof m.accuracy).toBe('number');
    // Chance is 1/4 (the question says colour or shape, four of each); 400 fresh questions vs 400 validation ones.
    expect(m.accuracy).toBeGreaterThan(0.6);
    expect(Math.abs(m.accuracy - t.accuracy)).toBeLessThan(0.1);
    expect(Object.keys(m.byKind).sort()).toEqual(['colour-of', 'relation', 'shape-of']);
    for (const a of Object.values(m.byKind)) expect(a).toBeGreaterThanOrEqual(0);
    // Another test seed is another set, and the same seed the same numbers.
    const again = JSON.parse(cli('vqa', '--model', model, '--questions', '400', '--json').stdout);
    expect(again.accuracy).toBe(m.accuracy);
    // The test options override the recorded task: shape questions only.
    const shapes = JSON.parse(cli('vqa', '--model', model, '--questions', '100', '--seed', '3', '--kinds', 'shape-of', '--json').stdout);
    expect(shapes).toMatchObject({ testSeed: -4, task: { kinds: ['shape-of'] } });
    expect(Object.keys(shapes.byKind)).toEqual(['shape-of']);
  });

  it('--show 1 prints the grid, the answer and every region\'s gate per pass; --svg writes its picture', () => {
    const r = cli('vqa', '--model', model, '--questions', '20', '--show', '1', '--svg', join(dir, 'svg'));
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^accuracy \d+\.\d% on 20 fresh questions \(/);
    expect(lines[1]).toMatch(/test seed -1, no grid-and-question of its 2000 training or 400 validation questions/);
    expect(r.stdout).toMatch(/region +pass 1 +pass 2 +pass 3/);
    const regions = lines.filter((l) => /row \d col \d/.test(l));
    expect(regions).toHaveLength(9);
    // Each region: a bar and a gate per pass; softmax gates of a pass sum to 1.
    const gates = regions.map((l) => [...l.matchAll(/[█·]{10} (\d\.\d\d)/g)].map((g) => Number(g[1])));
    for (const g of gates) expect(g).toHaveLength(3);
    for (let p = 0; p < 3; p++) expect(gates.reduce((s, g) => s + g[p], 0)).toBeCloseTo(1, 1);
    expect(r.stdout).toMatch(/Q: what .*\?  A: \w+ \((correct|truth: \w+)\)/);
    expect(readdirSync(join(dir, 'svg'))).toEqual(['vqa-attention-1.svg']);
    expect(readFileSync(join(dir, 'svg', 'vqa-attention-1.svg'), 'utf8')).toMatch(/^<svg [\s\S]*Q: what /);
  });
});

describe('saved visual models', () => {
  it('save + load predicts bit for bit the same answers and gates, and keeps the task record', async () => {
    const rt = await runtimeFor('simd');
    const r = trainVqa(rt, { epochs: 1, trainQuestions: 200, validationQuestions: 50, hiddenSize: 8, embeddingDim: 8, seed: 3, task: { noise: 0.2 } });
    const back = loadVqaModel(rt, saveVqaModel(r));
    expect(back.task).toEqual(r.task);
    expect(back.task).toMatchObject({ seed: 3, noise: 0.2, rows: 3, cols: 3, objects: 3, trainQuestions: 200, validationQuestions: 50 });
    const batch = makeVisualBatch(r.validation.map((e) => encodeVqa(e, r.vocab)), 3);
    const a = r.model.predict(batch), b = back.model.predict(batch);
    expect(Array.from(b.answers)).toEqual(Array.from(a.answers));
    expect(b.gates.map((g) => Array.from(g))).toEqual(a.gates.map((g) => Array.from(g)));
    r.model.dispose();
    back.model.dispose();
  });

  it('test questions share no grid-and-question with training or validation; seeds are disjoint', () => {
    const split = { seed: 0, rows: 2, cols: 2, objects: 2, train: 600, validation: 100 };
    const { train, validation } = vqaSplit(split);
    const test = vqaTestSet({ ...split, test: 200, testSeed: 0 });
    expect(test).toHaveLength(200);
    const seen = new Set([...train, ...validation].map(vqaKey));
    // A 2 x 2 grid with 2 objects has few grids: a plain draw of another seed repeats many training ones.
    expect(generateVqa({ ...split, seed: vqaTestSeed(0), count: 200 }).filter((e) => seen.has(vqaKey(e))).length).toBeGreaterThan(20);
    expect(test.filter((e) => seen.has(vqaKey(e)))).toEqual([]);
    // Same arguments, same questions; trainVqa's seeds are 2s and 2s + 1 >= 0, test seeds -1 - n < 0.
    expect(vqaTestSet({ ...split, test: 200, testSeed: 0 }).map(vqaKey)).toEqual(test.map(vqaKey));
    expect([vqaTestSeed(0), vqaTestSeed(5)]).toEqual([-1, -6]);
    expect(() => vqaTestSeed(-1)).toThrow(/vqaTestSeed n must be an integer >= 0, got -1/);
    // Too few distinct grids for the questions asked: a clear error, not a loop.
    expect(() => vqaTestSet({ seed: 0, rows: 1, cols: 2, objects: 2, kinds: ['colour-of'], train: 5000, validation: 0, test: 100, testSeed: 0 })).toThrow(/only 0 of 100 questions are unseen in training/);
  });

  it("keeps the validation sets trainVqa drew before (the first N unseen of seed + 1's ceil(1.2 N) + 10)", () => {
    const { train, validation } = vqaSplit({ seed: 4, train: 3000, validation: 500 });
    const seen = new Set(train.map(vqaKey));
    const old = generateVqa({ seed: 5, count: 610 }).filter((e) => !seen.has(vqaKey(e))).slice(0, 500);
    expect(validation.map(vqaKey)).toEqual(old.map(vqaKey));
    expect(Array.from(validation[7].grid)).toEqual(Array.from(old[7].grid));
  });

  it('refuses a bAbI model, a translation model, an old or lying visual file, with the reason', async () => {
    const rt = await runtimeFor('simd');
    const visual = trainVqa(rt, { epochs: 1, trainQuestions: 40, validationQuestions: 10, hiddenSize: 4, embeddingDim: 4 });
    const babi = trainBabi(rt, { examples: parseBabi(generateBabi({ task: 1, stories: 5, seed: 1 })), epochs: 1, hiddenSize: 4, embeddingDim: 4 });
    const lying = (change: Record<string, unknown>) => saveVqaModel({ ...visual, task: { ...visual.task, ...change } });
    const tokens = vqaVocabulary().toJSON().tokens;
    const shuffled = new Vocabulary([tokens[0], tokens[1], ...tokens.slice(2).reverse()]);
    const files: [string, Uint8Array, RegExp][] = [
      ['babi', saveBabiModel(babi.model, babi.vocab), /not a visual DMN model file: a bAbI DMN \(input "fusion", expected "visual"\); test it with `rnn-wasm babi --model FILE --test FILE`/],
      ['seq2seq', writeSafetensors({}, { format: 'rnn-wasm-seq2seq' }), /not a visual DMN model file: its metadata format is "rnn-wasm-seq2seq", expected "rnn-wasm-dmn"/],
      ['old', saveBabiModel(visual.model, visual.vocab), /metadata 'vqa' \(grid size, objects, noise, kinds, feature layout, seeds\) is missing: saved by an older rnn-wasm/],
      ['layout', lying({ layout: 'rgb' }), /feature layout "rgb" is not this version's "shape one-hot/],
      ['features', lying({ features: 15 }), /metadata 'vqa' features 15 does not match its 3 x 3 grid \(14\) or the model's visualFeatures 14/],
      ['rows', lying({ rows: 0 }), /metadata 'vqa' rows must be an integer >= 1, got 0/],
      ['kinds', lying({ kinds: [] }), /metadata 'vqa' kinds must be a non-empty list/],
      ['vocabulary', saveBabiModel(visual.model, shuffled, { vqa: JSON.stringify(visual.task) }), /its vocabulary \(\d+ words\) is not the visual task's/],
      ['not safetensors', new TextEncoder().encode('what colour is the circle?'), /^not a visual DMN model file: header length .* is absurdly large/],
    ];
    const live = rt.mem.liveBytes;
    for (const [name, bytes, message] of files) {
      expect(() => loadVqaModel(rt, bytes), name).toThrow(message);
      writeFileSync(join(dir, `${name}.safetensors`), bytes);
    }
    expect(rt.mem.liveBytes, 'a refused file leaves no model behind').toBeLessThanOrEqual(live);
    // The command says the same, exit 1, before printing anything.
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await expect(vqaCommand(parseArgs(['vqa', '--model', join(dir, 'babi.safetensors')]))).rejects.toThrow(/a bAbI DMN/);
      await expect(vqaCommand(parseArgs(['vqa', '--model', join(dir, 'old.safetensors')]))).rejects.toThrow(/metadata 'vqa' .* is missing/);
      writeFileSync(join(dir, 'visual.safetensors'), saveVqaModel(visual));
      await expect(vqaCommand(parseArgs(['vqa', '--model', join(dir, 'visual.safetensors'), '--rows', '4']))).rejects.toThrow(/--rows 4 --cols 3: a 4 x 3 grid has 15 features per region, the model reads 14/);
      await expect(vqaCommand(parseArgs(['vqa', '--model', join(dir, 'visual.safetensors'), '--objects', '5']))).rejects.toThrow(/--objects must be 2 to 4 for a 3 x 3 grid, got 5/);
      expect(out).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
    }
    visual.model.dispose();
    babi.model.dispose();
  });
});
