// What a trained DMN does with input it was not trained on (the bad-input list): words
// it never saw and answers outside its vocabulary read as <unk> (documented: such an answer is
// counted wrong, never thrown on), for the softmax answer, the GRU decoder and the visual task;
// a story without statements, an empty question and a file in another format are refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { babiVocabulary, encodeBabi, parseBabi } from '../src/data/babi.js';
import { UNK_ID } from '../src/data/vocab.js';
import { DMN, makeDMNBatch } from '../src/models/dmn.js';
import { answerStories, evaluateBabi } from '../src/models/dmn-task.js';
import { generateVqa, vqaVocabulary } from '../src/data/vqa.js';
import { encodeVqa } from '../src/models/vqa-task.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await runtimeFor('simd');
});

const TRAIN = '1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n4 What is John carrying? \tmilk,apple\t2\n';
const UNSEEN = '1 Zed teleported to the moon.\n2 Where is Zed? \tmoon\t1\n3 What is Zed carrying? \tsand,milk\t1\n';

describe('words and answers the model never saw', () => {
  it.each(['softmax', 'gru'] as const)('%s answer: unseen words and answers are <unk>, counted wrong, not thrown on', (answerModule) => {
    const vocab = babiVocabulary(parseBabi(TRAIN), { answerWords: answerModule === 'gru' });
    const unseen = parseBabi(UNSEEN);
    const enc = encodeBabi(unseen[0], vocab);
    expect(Array.from(enc.question)).toContain(UNK_ID);
    expect(enc.answer).toBe(UNK_ID);
    expect(Array.from(encodeBabi(unseen[1], vocab).answerWords!)).toEqual([UNK_ID, vocab.id('milk')]);
    const model = new DMN(rt, { vocabSize: vocab.size, answerModule, embeddingDim: 4, hiddenSize: 4, seed: 1 });
    // Even a model that answers <unk> is wrong: <unk> never counts as a right answer.
    const bias = model.params.value('answer.bias').view();
    bias[UNK_ID] = 100;
    const predicted = model.predict(makeDMNBatch(unseen.map((e) => encodeBabi(e, vocab))));
    if (answerModule === 'gru') expect(predicted.words!.map((w) => Array.from(w))).toEqual([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]);
    else expect(Array.from(predicted.answers)).toEqual([UNK_ID, UNK_ID]);
    const { accuracy, questions } = evaluateBabi(model, vocab, unseen);
    expect(questions).toBe(2);
    expect(accuracy).toBe(0);
    const stories = answerStories(model, vocab, unseen);
    expect(stories.map((s) => s.answer)).toEqual(['moon', 'sand,milk']);
    expect(stories.every((s) => !s.correct)).toBe(true);
    model.dispose();
  });

  it('visual questions with words outside the task read as <unk>', () => {
    const vocab = vqaVocabulary();
    const e = { ...generateVqa({ count: 1, seed: 2 })[0], question: ['what', 'hue', 'is', 'the', 'circle'], answer: 'purple' };
    const enc = encodeVqa(e, vocab);
    expect(enc.question[1]).toBe(UNK_ID);
    expect(enc.answer).toBe(UNK_ID);
  });
});

describe('input that is not a story', () => {
  it('refuses a question without statements, an empty question and a file in another format, naming the line', () => {
    expect(() => parseBabi('1 Where is Mary? \tbathroom\t\n', { source: 'qa.txt' })).toThrow(/qa\.txt:1: a question with no statement before it/);
    expect(() => parseBabi('1 Mary moved.\n2 ? \tbathroom\t1\n', { source: 'qa.txt' })).toThrow(/qa\.txt:2: empty question/);
    expect(() => parseBabi('{"question": "where is mary"}\n', { source: 'qa.json' })).toThrow(/qa\.json:1: not bAbI format/);
    expect(() => parseBabi('1 Mary moved.\n2 Where is Mary?\n', { source: 'qa.txt' })).toThrow(/no questions found: not a bAbI file/);
    const vocab = babiVocabulary(parseBabi(TRAIN));
    const enc = encodeBabi(parseBabi(TRAIN)[0], vocab);
    expect(() => makeDMNBatch([{ ...enc, facts: [] }])).toThrow(/example 0 has no facts/);
    expect(() => makeDMNBatch([{ ...enc, answerWords: new Int32Array(0) }])).toThrow(/answer 0 has no words/);
  });
});
