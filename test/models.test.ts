import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { syntheticSentiment } from '../src/data/synthetic.js';
import { Rng } from '../src/train/rng.js';
import { SequenceClassifier } from '../src/models/classifier.js';
import { SequenceGenerator } from '../src/models/generator.js';
import { SequenceTagger } from '../src/models/tagger.js';
import { CharLanguageModel, streamChunks } from '../src/models/charlm.js';
import { trainCaptioner, trainCharLM, trainSentiment, trainTagger } from '../src/models/tasks.js';

// Training runs once per build; each finishes in seconds on small synthetic data.
describe.each(BUILDS)('the four models learn their synthetic tasks (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it('SequenceClassifier (many-to-one): >= 90% held-out accuracy on synthetic sentiment with negation', async () => {
    const r = await trainSentiment(rt, { data: syntheticSentiment({ count: 1500, seed: 4 }), epochs: 5, progress: false, seed: 1 });
    expect(r.metrics.validationSize).toBe(300);
    expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.history[r.history.length - 1].loss).toBeLessThan(r.history[0].loss);
  });

  it('SequenceTagger (many-to-many): bidirectional >= 95% per step and beats the forward-only model of the same size by >= 10 points', async () => {
    const r = await trainTagger(rt, { count: 800, epochs: 6, progress: false, seed: 2 });
    expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.metrics.unidirectionalAccuracy).toBeLessThanOrEqual(0.87);
    expect((r.metrics.accuracy as number) - (r.metrics.unidirectionalAccuracy as number)).toBeGreaterThanOrEqual(0.1);
  });

  it('SequenceGenerator (one-to-many): >= 90% of held-out scenes captioned exactly (greedy)', async () => {
    const r = await trainCaptioner(rt, { count: 800, epochs: 5, progress: false, seed: 3 });
    expect(r.metrics.exactMatch).toBeGreaterThanOrEqual(0.9);
    expect(r.examples.length).toBe(5); // four held-out scenes and one ambiguous one
  });

  it('CharLanguageModel: held-out loss under 2.6 bits per character after 4 epochs of truncated BPTT (uniform: 5.8)', async () => {
    const r = await trainCharLM(rt, { epochs: 4, progress: false, seed: 4, sampleLength: 50 });
    expect(r.metrics.bitsPerChar).toBeLessThan(2.6);
    expect(Math.log2(r.metrics.vocabSize as number)).toBeGreaterThan(5.5);
    expect((r.metrics.sample as string).length).toBe(54);
  });
});

describe('model API details', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(BUILDS[0]);
  });

  it('stateDict uses torch dotted names, round-trips through safetensors, and rejects wrong names or shapes', () => {
    const a = new SequenceClassifier(rt, { vocabSize: 20, numClasses: 3, embeddingDim: 5, hiddenSize: 6, cell: 'lstm', seed: 1 });
    const b = new SequenceClassifier(rt, { vocabSize: 20, numClasses: 3, embeddingDim: 5, hiddenSize: 6, cell: 'lstm', seed: 2 });
    expect(Object.keys(a.stateDict())).toEqual([
      'embedding.weight',
      'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0',
      'rnn.weight_ih_l0_reverse', 'rnn.weight_hh_l0_reverse', 'rnn.bias_ih_l0_reverse', 'rnn.bias_hh_l0_reverse',
      'fc.weight', 'fc.bias',
    ]);
    expect(a.stateDict()['rnn.weight_ih_l0'].shape).toEqual([24, 5]);
    const batch = { ids: Int32Array.from([3, 4, 5, 6, 7, 0]), lengths: Int32Array.from([3, 2]) };
    expect(b.predictProba(batch)).not.toEqual(a.predictProba(batch));
    const dict = readSafetensors(writeSafetensors(a.stateDict()));
    b.loadStateDict(dict as never);
    expect(b.predictProba(batch)).toEqual(a.predictProba(batch));
    const before = b.params.valuesView().slice();
    expect(() => b.loadStateDict({ ...a.stateDict(), extra: { shape: [1], data: new Float32Array(1) } })).toThrow(/unexpected parameter 'extra'/);
    const { ['fc.bias']: _drop, ...missing } = a.stateDict();
    expect(() => b.loadStateDict(missing)).toThrow(/missing parameter 'fc.bias'/);
    expect(() => b.loadStateDict({ ...a.stateDict(), 'fc.bias': { shape: [4], data: new Float32Array(4) } })).toThrow(/'fc.bias' must have shape \[3\]/);
    expect(() => b.loadStateDict({ ...a.stateDict(), 'fc.bias': { shape: [3], data: Float32Array.of(0, NaN, 0) } })).toThrow(/non-finite/);
    expect(b.params.valuesView().slice()).toEqual(before);
    a.dispose();
    b.dispose();
  });

  it('bad input is refused before any kernel runs', () => {
    const c = new SequenceClassifier(rt, { vocabSize: 10, numClasses: 2, embeddingDim: 4, hiddenSize: 4 });
    expect(() => c.predict({ ids: Int32Array.from([1, 12]), lengths: Int32Array.from([2]) })).toThrow(/ids\[1\] = 12 is outside the vocabulary \[0, 10\)/);
    expect(() => c.predict({ ids: Int32Array.from([1, 2, 3]), lengths: Int32Array.from([2, 1]) })).toThrow(/\[T, B\] with B = 2/);
    expect(() => c.predict({ ids: Int32Array.from([1, 2]), lengths: Int32Array.from([3]) })).toThrow(/lengths\[0\]/);
    expect(() => c.loss({ ids: Int32Array.from([1, 2]), lengths: Int32Array.from([2]), labels: Int32Array.from([2]) })).toThrow(/target of row 0 is 2/);
    expect(() => new SequenceClassifier(rt, { vocabSize: 10, numClasses: 2, cell: 'tcn' as never })).toThrow(/cell must be/);
    expect(() => new SequenceGenerator(rt, { featureSize: 3, vocabSize: 5, bosId: 5, eosId: 1 })).toThrow(/bosId must be a token id in \[0, 5\)/);
    const g = new SequenceGenerator(rt, { featureSize: 3, vocabSize: 5, bosId: 2, eosId: 3, hiddenSize: 4, embeddingDim: 4 });
    expect(() => g.generate(new Float32Array(4))).toThrow(/features must be a Float32Array \[B, 3\]/);
    expect(() => g.generate(new Float32Array(3), { temperature: 1 })).toThrow(/needs options.rng/);
    const t = new SequenceTagger(rt, { vocabSize: 5, numTags: 3, hiddenSize: 4, embeddingDim: 4 });
    expect(() => t.loss({ ids: Int32Array.from([1, 2]), lengths: Int32Array.from([2]) })).toThrow(/batch.tags/);
    for (const m of [c, g, t]) m.dispose();
  });

  it('generation: greedy is deterministic, temperature sampling is seeded and varies with the seed', () => {
    const g = new SequenceGenerator(rt, { featureSize: 3, vocabSize: 12, bosId: 2, eosId: 3, hiddenSize: 8, embeddingDim: 4, seed: 9 });
    const f = Float32Array.from([0.5, -1, 2, 1, 0, -0.5]);
    expect(g.generate(f, { maxLength: 6 })).toEqual(g.generate(f, { maxLength: 6 }));
    const s1 = g.generate(f, { maxLength: 12, temperature: 2, rng: new Rng(1) });
    expect(g.generate(f, { maxLength: 12, temperature: 2, rng: new Rng(1) })).toEqual(s1);
    expect(g.generate(f, { maxLength: 12, temperature: 2, rng: new Rng(2) })).not.toEqual(s1);
    g.dispose();
  });

  it('char LM: stream chunks continue each other, carried state is saved and restored, evaluation does not disturb it', () => {
    const stream = Int32Array.from({ length: 101 }, (_, i) => i % 7);
    const chunks = streamChunks(stream, 4, 5);
    expect(chunks.length).toBe(5); // 4 tracks of 25 ids, 5 chunks of 5 steps
    // Track b of chunk k+1 starts where track b of chunk k ended; targets are inputs shifted by one.
    for (let b = 0; b < 4; b++) {
      expect(chunks[1].inputs[0 * 4 + b]).toBe(stream[b * 25 + 5]);
      expect(chunks[0].targets[4 * 4 + b]).toBe(chunks[1].inputs[0 * 4 + b]);
    }
    const m = new CharLanguageModel(rt, { vocabSize: 7, hiddenSize: 8, embeddingDim: 4, seed: 1 });
    expect(m.carriedState()).toEqual({});
    m.tape.reset();
    m.loss(chunks[0]);
    const carry = m.carriedState();
    expect(carry.h.shape).toEqual([1, 4, 8]);
    expect(carry.c.shape).toEqual([1, 4, 8]);
    m.evaluate(chunks);
    expect(m.carriedState()).toEqual(carry);
    m.tape.reset();
    const next = m.loss(chunks[1]);
    m.loadCarriedState(carry);
    m.tape.reset();
    expect(m.loss(chunks[1])).toBe(next);
    m.resetCarriedState();
    m.tape.reset();
    expect(m.loss(chunks[1])).not.toBe(next);
    expect(() => m.loadCarriedState({ h: { shape: [1, 4, 9], data: new Float32Array(36) } })).toThrow(/must be \[1, B, 8\]/);
    expect(() => streamChunks(stream, 60, 5)).toThrow(/too short/);
    m.dispose();
  });
});
