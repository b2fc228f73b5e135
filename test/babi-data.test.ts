// The bAbI reader (v1.2 format), the fact window, the vocabulary and encoder, and the built-in
// generator; malformed files give errors naming the file and line.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { babiVocabulary, encodeBabi, generateBabi, parseBabi, babiProperNames, renameWords, renameableAnswerIds, splitBabi, answerToken } from '../src/data/babi.js';

const SAMPLE = `1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel? \thallway\t4
1 Mary got the milk.
2 Mary picked up the apple.
3 What is Mary carrying? \tmilk,apple\t1 2
`;

describe('parseBabi', () => {
  it('reads stories, questions, answers (lists too) and supporting facts', () => {
    const ex = parseBabi(SAMPLE);
    expect(ex.length).toBe(3);
    expect(ex[0]).toMatchObject({ facts: [['mary', 'moved', 'to', 'the', 'bathroom'], ['john', 'went', 'to', 'the', 'hallway']], question: ['where', 'is', 'mary'], answer: ['bathroom'], supporting: [0] });
    // Questions are not facts: the second question sees three statements.
    expect(ex[1].facts.length).toBe(3);
    expect(ex[1].supporting).toEqual([2]);
    // A new story starts at ID 1.
    expect(ex[2].facts.length).toBe(2);
    expect(ex[2].answer).toEqual(['milk', 'apple']);
    expect(answerToken(ex[2])).toBe('milk,apple');
    expect(ex[2].supporting).toEqual([0, 1]);
  });

  it('keeps the most recent maxFacts facts and re-indexes the supporting ones', () => {
    const ex = parseBabi(SAMPLE, { maxFacts: 2 });
    expect(ex[1].facts).toEqual([['john', 'went', 'to', 'the', 'hallway'], ['daniel', 'went', 'back', 'to', 'the', 'hallway']]);
    expect(ex[1].supporting).toEqual([1]);
    const one = parseBabi(SAMPLE, { maxFacts: 1 });
    expect(one[2].supporting).toEqual([0]); // fact 1 ("got the milk") fell out of the window
  });

  it('gives clear errors for malformed input', () => {
    expect(() => parseBabi('Mary moved to the bathroom.\n', { source: 'f.txt' })).toThrow(/f\.txt:1: not bAbI format/);
    expect(() => parseBabi('1 Mary moved.\n3 John moved.\n', { source: 'f.txt' })).toThrow(/f\.txt:2: sentence ID 3 follows 1/);
    expect(() => parseBabi('1 Where is Mary? \tbathroom\t1\n')).toThrow(/input:1: .*no statement before it|supporting ID/);
    expect(() => parseBabi('1 Mary moved.\n2 Where is Mary? \t\t1\n')).toThrow(/input:2: a question line needs/);
    expect(() => parseBabi('1 Mary moved.\n2 Where is Mary? \tbathroom\t7\n')).toThrow(/input:2: supporting ID 7 is not an earlier statement/);
    expect(() => parseBabi('1 Mary moved.\n2 John moved.\n')).toThrow(/no questions found/);
    expect(() => parseBabi('sentence\tlabel\nanother\t1\n')).toThrow(/not bAbI format/);
  });

  const real = '/work/shared/data/babi/en/qa1_single-supporting-fact_train.txt';
  it.skipIf(!existsSync(real))('reads the real qa1 and qa8 training files', () => {
    const qa1 = parseBabi(readFileSync(real, 'utf8'));
    expect(qa1.length).toBe(1000);
    for (const e of qa1.slice(0, 50)) expect(e.supporting.length).toBe(1);
    const qa8 = parseBabi(readFileSync('/work/shared/data/babi/en/qa8_lists-sets_train.txt', 'utf8'));
    expect(qa8.some((e) => e.answer.length === 2)).toBe(true);
    const { train, validation } = splitBabi(qa1);
    expect([train.length, validation.length]).toEqual([900, 100]);
    expect(validation[0]).toBe(qa1[900]);
  });
});

describe('vocabulary and encoding', () => {
  it('maps words and answers to ids, unseen words to <unk>', () => {
    const ex = parseBabi(SAMPLE);
    const vocab = babiVocabulary(ex.slice(0, 2));
    const enc = encodeBabi(ex[0], vocab);
    expect(vocab.decode(enc.question)).toEqual(['where', 'is', 'mary']);
    expect(vocab.token(enc.answer)).toBe('bathroom');
    const unseen = encodeBabi(ex[2], vocab);
    expect(unseen.answer).toBe(1);
    expect(Array.from(unseen.facts[0])).toContain(1);
  });
});

describe('renaming the answer words (augmentation)', () => {
  const YESNO = `1 Mary moved to the bathroom.
2 John went to the hallway.
3 Is Mary in the bathroom? \tyes\t1
`;
  it('renames only answers that are story words, consistently in facts, question and answer', () => {
    const ex = [...parseBabi(SAMPLE), ...parseBabi(YESNO)];
    const vocab = babiVocabulary(ex);
    const enc = ex.map((e) => encodeBabi(e, vocab));
    const ids = renameableAnswerIds(enc);
    // bathroom and hallway are answers the stories say; "milk,apple" and "yes" are not story words.
    expect(Array.from(ids, (i) => vocab.token(i)).sort()).toEqual(['bathroom', 'hallway']);
    const map = Int32Array.from({ length: vocab.size }, (_, i) => i);
    const swapped = renameWords(enc[0], [ids], [Int32Array.from([1, 0])], map);
    expect(swapped.facts.map((f) => vocab.decode(f).join(' '))).toEqual(['mary moved to the hallway', 'john went to the bathroom']);
    expect(vocab.token(swapped.answer)).toBe('hallway');
    expect(vocab.decode(swapped.question)).toEqual(['where', 'is', 'mary']);
    // The source example is untouched and the scratch map is back to the identity.
    expect(vocab.token(enc[0].answer)).toBe('bathroom');
    expect(Array.from(map)).toEqual(Array.from({ length: vocab.size }, (_, i) => i));
    const yes = renameWords(enc[3], [ids], [Int32Array.from([1, 0])], map);
    expect(vocab.token(yes.answer)).toBe('yes');
    expect(vocab.decode(yes.question)).toEqual(['is', 'mary', 'in', 'the', 'hallway']);
    // Two groups at once: people and places.
    const people = Int32Array.from(['mary', 'john'], (w) => vocab.id(w));
    const both = renameWords(enc[0], [ids, people], [Int32Array.from([1, 0]), Int32Array.from([1, 0])], map);
    expect(both.facts.map((f) => vocab.decode(f).join(' '))).toEqual(['john moved to the hallway', 'mary went to the bathroom']);
    expect(vocab.decode(both.question)).toEqual(['where', 'is', 'john']);
    expect(vocab.token(both.answer)).toBe('hallway');
  });
  it('finds the proper names: statement words never in lower case', () => {
    expect(babiProperNames(SAMPLE)).toEqual(['daniel', 'john', 'mary']);
    expect(babiProperNames('1 Mice are afraid of wolves.\n2 The mouse is Jessica.\n3 Where is the mouse?\tkitchen\t1\n')).toEqual(['jessica', 'mice']);
  });
});

describe('generateBabi', () => {
  it.each([1, 2, 6, 8] as const)('task %i writes parseable stories whose answers follow from the supporting facts', (task) => {
    const ex = parseBabi(generateBabi({ task, stories: 40, seed: task }));
    expect(ex.length).toBe(200);
    const answers = new Set(ex.map(answerToken));
    expect(answers.size).toBeGreaterThan(1);
    for (const e of ex) {
      for (const k of e.supporting) expect(k).toBeLessThan(e.facts.length);
      if (task === 1) {
        const person = e.question[2];
        const last = [...e.facts].reverse().find((f) => f[0] === person && f.includes('the') && !['got', 'picked', 'grabbed', 'took'].includes(f[1]))!;
        expect(last[last.length - 1]).toBe(e.answer[0]);
        expect(e.facts[e.supporting[0]]).toBe(last);
      }
      if (task === 6) expect(['yes', 'no']).toContain(e.answer[0]);
      if (task === 2) expect(e.supporting.length).toBe(2);
    }
    if (task === 8) expect(ex.some((e) => e.answer.length >= 2)).toBe(true);
  });

  it('is deterministic per seed', () => {
    expect(generateBabi({ task: 1, stories: 5, seed: 3 })).toBe(generateBabi({ task: 1, stories: 5, seed: 3 }));
    expect(generateBabi({ task: 1, stories: 5, seed: 3 })).not.toBe(generateBabi({ task: 1, stories: 5, seed: 4 }));
  });
});
