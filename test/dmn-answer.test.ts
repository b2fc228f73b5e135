// The DMN's GRU answer decoder (answerModule 'gru', for the list answers of bAbI tasks 8 and
// 19): answer packing, the whole model's gradient against central differences (words and
// fusion inputs, both cells), greedy decoding consistent with the teacher-forced logits, bad
// answers, saving, and a short training on generated list answers.
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import { checkDMNGradient } from './dmn-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { babiVocabulary, encodeBabi, generateBabi, parseBabi } from '../src/data/babi.js';
import { DMN, makeDMNBatch, type DMNOptions } from '../src/models/dmn.js';
import { packAnswerWords } from '../src/models/dmn-answer.js';
import { argmax } from '../src/layers/tensor-ops.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await runtimeFor('simd');
});

const listData = (stories: number, seed: number) => parseBabi(generateBabi({ task: 8, stories, seed }));

describe('answer words', () => {
  it('pack row by row, and list answers get their own words in the vocabulary', () => {
    const p = packAnswerWords([Int32Array.of(4, 5), Int32Array.of(7)]);
    expect(Array.from(p.words)).toEqual([4, 5, 7, 0]);
    expect(Array.from(p.lengths)).toEqual([2, 1]);
    expect(() => packAnswerWords([Int32Array.of()])).toThrow(/answer 0 has no words/);
    const data = listData(20, 1);
    const withWords = babiVocabulary(data, { answerWords: true });
    const list = data.find((e) => e.answer.length > 1)!;
    expect(list.answer.every((w) => withWords.id(w) > 1)).toBe(true);
    // Without the option the vocabulary is what it was (the softmax answer's classes).
    expect(babiVocabulary(data).tokens()).toEqual(babiVocabulary(data, { answerWords: false }).tokens());
    const batch = makeDMNBatch([encodeBabi(list, withWords)]);
    expect(Array.from(batch.answerWords!.words)).toEqual(list.answer.map((w) => withWords.id(w)));
  });
});

const CONFIGS: [string, Partial<DMNOptions>][] = [
  ['dmn+ (fusion, attention-gru, relu) + gru answer', { variant: 'dmn+' }],
  ['dmn (words, gated-gru, gru memory) + gru answer', { variant: 'dmn' }],
  ['fusion concat, sigmoid gates + gru answer', { input: 'fusion', fusionMerge: 'concat', gate: 'sigmoid' }],
];

describe('DMN with a GRU answer decoder: gradient = central differences of its loss', () => {
  it.each(CONFIGS)('%s', (_name, config) => {
    const data = listData(3, 4).filter((e) => e.answer.length > 1).slice(0, 3).concat(listData(3, 4).filter((e) => e.answer.length === 1).slice(0, 2));
    expect(data.some((e) => e.answer.length > 1)).toBe(true);
    const vocab = babiVocabulary(data, { answerWords: true });
    const model = new DMN(rt, { vocabSize: vocab.size, answerModule: 'gru', embeddingDim: 5, hiddenSize: 4, gateSize: 3, dropout: 0, seed: 3, ...config });
    checkDMNGradient(model, makeDMNBatch(data.map((e) => encodeBabi(e, vocab))));
    model.dispose();
  });
});

describe('greedy decoding', () => {
  it('matches the teacher-forced logits when fed its own words, stops at <pad>, and refuses bad answers', () => {
    const data = listData(4, 2).slice(0, 6);
    const vocab = babiVocabulary(data, { answerWords: true });
    const model = new DMN(rt, { vocabSize: vocab.size, answerModule: 'gru', embeddingDim: 6, hiddenSize: 6, dropout: 0, seed: 5, maxAnswerLength: 3 });
    const batch = makeDMNBatch(data.map((e) => encodeBabi(e, vocab)));
    const { words } = model.predict(batch);
    expect(words).toHaveLength(batch.B);
    for (const w of words!) expect(w.length).toBeLessThanOrEqual(3);
    // Teacher forcing on the greedy words (ended by <pad> or cut at maxAnswerLength) gives back the same argmax at every step.
    const fed = words!.map((w) => (w.length > 0 ? w : Int32Array.of(2)));
    const again = { ...batch, answerWords: packAnswerWords(fed) };
    model.eval();
    model.tape.reset();
    const { logits } = model.forward(again);
    const best = argmax(logits);
    fed.forEach((w, b) => {
      if (words![b].length === 0) return;
      for (let t = 0; t < w.length; t++) expect(best[t * batch.B + b]).toBe(w[t]);
      if (w.length < 3) expect(best[w.length * batch.B + b]).toBe(0);
    });
    model.train();
    const bad = { ...batch, answerWords: { words: Int32Array.from(batch.answerWords!.words).fill(vocab.size + 2), lengths: batch.answerWords!.lengths } };
    expect(() => model.loss(bad)).toThrow(/answerWords\[0\] = \d+ is outside the vocabulary/);
    expect(() => model.loss({ ...batch, answerWords: packAnswerWords(fed.map((w) => Int32Array.of(w[0] || 2, 0))) })).toThrow(/answer 0 word 1 is <pad>/);
    expect(() => model.loss({ ...batch, answerWords: undefined })).toThrow(/answerModule 'gru' needs the batch's answerWords/);
    expect(() => new DMN(rt, { vocabSize: 10, answerModule: 'beam' as never })).toThrow(/answerModule must be 'softmax' or 'gru'/);
    model.dispose();
  });
});

describe('the GRU answer decoder learns list answers', () => {
  it('answers fresh "what is X carrying" stories word by word', async () => {
    const { trainBabi, saveBabiModel, loadBabiModel, answerStories } = await import('../src/models/dmn-task.js');
    const examples = listData(400, 3);
    const r = trainBabi(rt, { examples, answerModule: 'gru', embeddingDim: 24, hiddenSize: 24, dropout: 0, epochs: 12, batchSize: 32, lr: 5e-3, targetAccuracy: 0.9, seed: 1 });
    expect(r.metrics.bestAccuracy).toBeGreaterThanOrEqual(0.8);
    const back = loadBabiModel(rt, saveBabiModel(r.model, r.vocab));
    expect(back.model.config.answerModule).toBe('gru');
    const fresh = listData(30, 999).filter((e) => e.answer.length > 1).slice(0, 8);
    const a = answerStories(back.model, back.vocab, fresh);
    expect(a.map((s) => s.predicted)).toEqual(answerStories(r.model, r.vocab, fresh).map((s) => s.predicted));
    expect(a.filter((s) => s.correct).length).toBeGreaterThan(0);
    r.model.dispose();
    back.model.dispose();
  });
});
