// The DMN's visual input module: snake order, the visual batch, the whole model's gradient
// against central differences (both merges, both cells, both gates, both memory updates), bad
// grids, the generated task (seeded, train and validation disjoint), and a training run that
// must answer questions about grids it never saw.
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import { checkDMNGradient } from './dmn-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { DMN, type DMNOptions } from '../src/models/dmn.js';
import { makeVisualBatch, snakeOrder, snakePositions } from '../src/models/dmn-visual.js';
import { generateVqa, vqaFeatureCount, vqaKey, vqaSplit, vqaVocabulary } from '../src/data/vqa.js';
import { answerVqa, encodeVqa, trainVqa } from '../src/models/vqa-task.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await runtimeFor('simd');
});

describe('snake order', () => {
  it('reads even rows left to right and odd rows right to left', () => {
    expect(Array.from(snakeOrder(3, 3))).toEqual([0, 1, 2, 5, 4, 3, 6, 7, 8]);
    expect(Array.from(snakeOrder(2, 4))).toEqual([0, 1, 2, 3, 7, 6, 5, 4]);
    const order = snakeOrder(3, 4), position = snakePositions(3, 4);
    order.forEach((cell, p) => expect(position[cell]).toBe(p));
    // Consecutive steps are always neighbouring cells.
    for (let p = 1; p < order.length; p++) {
      const [a, b] = [order[p - 1], order[p]];
      expect(Math.abs(Math.floor(a / 4) - Math.floor(b / 4)) + Math.abs((a % 4) - (b % 4))).toBe(1);
    }
  });
});

describe('visual batches', () => {
  const vocab = vqaVocabulary();
  const examples = generateVqa({ count: 4, seed: 3 }).map((e) => encodeVqa(e, vocab));
  it('lays the grid out time-first in snake order with every region a valid fact', () => {
    const batch = makeVisualBatch(examples, 3);
    const F = examples[0].features;
    expect(batch.M).toBe(9);
    expect(Array.from(batch.factCounts)).toEqual([9, 9, 9, 9]);
    // Step 3 of the snake reads cell 5 (row 1, column 2).
    for (let b = 0; b < 4; b++) expect(Array.from(batch.grid!.values.subarray((3 * 4 + b) * F, (3 * 4 + b + 1) * F))).toEqual(Array.from(examples[b].grid.subarray(5 * F, 6 * F)));
    expect(batch.supporting[0]).toBe(snakePositions(3, 3)[examples[0].supporting[0]]);
  });
  it('refuses mixed grid shapes, wrong sizes, NaN, empty questions and cells outside the grid', () => {
    const other = encodeVqa(generateVqa({ count: 1, seed: 1, rows: 2, cols: 3 })[0], vocab);
    expect(() => makeVisualBatch([examples[0], other])).toThrow(/example 1 has a \[2, 3, 13\] grid, example 0 \[3, 3, 14\]/);
    expect(() => makeVisualBatch([{ ...examples[0], grid: new Float32Array(5) }])).toThrow(/grid must be a Float32Array of R\*C\*F = 126 values, got 5/);
    const nan = Float32Array.from(examples[0].grid);
    nan[7] = NaN;
    expect(() => makeVisualBatch([{ ...examples[0], grid: nan }])).toThrow(/grid.*NaN|NaN.*grid/);
    expect(() => makeVisualBatch([{ ...examples[0], question: new Int32Array(0) }])).toThrow(/empty question/);
    expect(() => makeVisualBatch([{ ...examples[0], supporting: [9] }])).toThrow(/supporting cell 9 is outside the grid \[0, 9\)/);
    expect(() => makeVisualBatch([])).toThrow(/at least one example/);
  });
  it('a visual model refuses a text batch and a grid of another feature size', async () => {
    const model = new DMN(rt, { vocabSize: vocab.size, input: 'visual', visualFeatures: 14, embeddingDim: 4, hiddenSize: 4 });
    const { makeDMNBatch } = await import('../src/models/dmn.js');
    const text = makeDMNBatch([{ facts: [Int32Array.of(2, 3)], question: Int32Array.of(2), answer: 2, supporting: [] }]);
    expect(() => model.loss(text)).toThrow(/input 'visual' needs a batch with a feature grid/);
    const small = makeVisualBatch([{ ...examples[0], features: 7, grid: new Float32Array(9 * 7) }]);
    expect(() => model.loss(small)).toThrow(/the grid has 7 features per region, the model was built for visualFeatures = 14/);
    expect(() => new DMN(rt, { vocabSize: 10, input: 'visual' })).toThrow(/visualFeatures/);
    model.dispose();
  });
});

const CONFIGS: [string, Partial<DMNOptions>][] = [
  ['visual, sum, attention-gru, softmax, relu', { variant: 'dmn+' }],
  ['visual, concat, gated-gru, sigmoid, gru', { fusionMerge: 'concat', cell: 'gated-gru', gate: 'sigmoid', memoryUpdate: 'gru' }],
  ['visual with gate supervision', { variant: 'dmn+', gateSupervision: 0.5 }],
];

describe('visual DMN gradient = central differences of its loss', () => {
  it.each(CONFIGS)('%s', (_name, config) => {
    const vocab = vqaVocabulary();
    const examples = generateVqa({ count: 4, seed: 5, rows: 2, cols: 3, objects: 3 }).map((e) => encodeVqa(e, vocab));
    const model = new DMN(rt, {
      vocabSize: vocab.size, input: 'visual', visualFeatures: examples[0].features, embeddingDim: 5, hiddenSize: 4, gateSize: 3, dropout: 0, seed: 2, ...config,
    });
    checkDMNGradient(model, makeVisualBatch(examples, 3));
    model.dispose();
  });
});

describe('the generated visual QA task', () => {
  it('is seeded, names one object per question, and keeps validation disjoint from training', () => {
    expect(generateVqa({ count: 20, seed: 4 })).toEqual(generateVqa({ count: 20, seed: 4 }));
    const es = generateVqa({ count: 300, seed: 9 });
    expect(new Set(es.map((e) => e.kind))).toEqual(new Set(['colour-of', 'shape-of', 'relation']));
    for (const e of es) {
      expect(e.features).toBe(vqaFeatureCount(3, 3));
      expect(new Set(e.objects.map((o) => o.shape)).size).toBe(e.objects.length);
      expect(new Set(e.objects.map((o) => o.colour)).size).toBe(e.objects.length);
      const target = e.objects.find((o) => o.cell === e.supporting.at(-1))!;
      expect(e.answer).toBe(e.question[1] === 'colour' ? target.colour : target.shape);
      if (e.kind === 'relation') {
        const [a, t] = e.supporting;
        const rel = e.question.includes('left') ? -1 : e.question.includes('right') ? 1 : e.question.includes('above') ? -3 : 3;
        expect(t - a).toBe(rel);
      }
    }
    const { train, validation } = vqaSplit({ seed: 0, train: 2000, validation: 300 });
    expect(validation).toHaveLength(300);
    const seen = new Set(train.map(vqaKey));
    expect(validation.filter((e) => seen.has(vqaKey(e)))).toHaveLength(0);
    expect(() => generateVqa({ count: 5, seed: 0, objects: 7 })).toThrow(/objects must be an integer in \[2, 4\]/);
  });
});

describe('visual DMN+ learns', () => {
  it('answers questions about unseen grids (relations too), its gates on the regions the answer rests on', () => {
    // About 3 s of one idle core, with the original DMN's strong supervision of the gates by the
    // supporting regions (without it the gates find the objects too, after a plateau whose length
    // varies with the seed: results/vqa/README.md). Validation grids come from another seed.
    const r = trainVqa(rt, { epochs: 4, trainQuestions: 6000, validationQuestions: 400, targetAccuracy: 0.97, gateSupervision: 0.5, seed: 1 });
    expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.metrics.accuracyByKind.relation).toBeGreaterThanOrEqual(0.7);
    // Pass 1's gate peaks at the region the question names, pass 2's (relations) at its neighbour.
    const answered = answerVqa(r.model, r.vocab, r.validation.slice(0, 100));
    let hits = 0, relations = 0, second = 0;
    for (const a of answered) {
      const peak = (g: number[]) => g.indexOf(Math.max(...g));
      if (peak(a.gates[0]) === a.example.supporting[0]) hits++;
      if (a.example.kind === 'relation') {
        relations++;
        if (peak(a.gates[1]) === a.example.supporting[1]) second++;
      }
    }
    expect(hits / answered.length).toBeGreaterThan(0.8);
    expect(second / relations).toBeGreaterThan(0.6);
    r.model.dispose();
  });
});
