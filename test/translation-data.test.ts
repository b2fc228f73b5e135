import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import {
  normalizeSentence,
  parseTranslationPairs,
  parseSplit,
  trainingPairs,
  heldOutPairs,
  translationVocabularies,
  corpusBleu,
  sha256Hex,
  pairsDigestText,
  SOS_ID,
  EOS_ID,
} from '../src/data/translation.js';

const DATA = '/work/shared/data/translation/eng-fra.txt';
const SPLIT = '/work/shared/data/translation/split-train.json';

const toks = (s: string) => (s === '' ? [] : s.split(' '));

describe('translation normalisation (README step 1)', () => {
  it('folds accents, typographic spaces, punctuation and digits', () => {
    expect(normalizeSentence('Ça alors\u202f!')).toBe('ca alors !');
    expect(normalizeSentence("J'ai 20 ans.")).toBe('j ai ans .');
    expect(normalizeSentence("Qu'est-ce que c'est\u00a0?")).toBe('qu est ce que c est ?');
    expect(normalizeSentence('  Il est ÉLÈVE... ')).toBe('il est eleve . . .');
    expect(normalizeSentence("I'm 5 years old!")).toBe('i m years old !');
  });
});

describe('parseTranslationPairs (steps 1-3)', () => {
  it('keeps short pairs with an English prefix, drops later duplicates, keeps line numbers', () => {
    const text = [
      'Go.\tVa !', // no prefix: dropped
      "I'm tired.\tJe suis fatigué.", // kept, line 1
      'I am tired.\tJe suis fatiguée !', // kept (English "i am ")
      "I'm tired.\tJe suis fatigue.", // same normalised pair as line 1: dropped
      'He is a very very very very very very very good man.\tC\'est un homme.', // 12 English tokens: dropped
      "You're right.\tVous avez raison.",
      'Hello.\tBonjour.',
    ].join('\n') + '\n';
    const pairs = parseTranslationPairs(text);
    expect(pairs).toEqual([
      { line: 1, french: 'je suis fatigue .', english: 'i m tired .' },
      { line: 2, french: 'je suis fatiguee !', english: 'i am tired .' },
      { line: 5, french: 'vous avez raison .', english: 'you re right .' },
    ]);
  });

  it('names the malformed line', () => {
    expect(() => parseTranslationPairs('I am ok.\tJe vais bien.\nno tab here\n')).toThrow(/line 2: .*exactly one TAB, found 0/);
    expect(() => parseTranslationPairs('a\tb\tc\n')).toThrow(/line 1: .*found 2/);
    expect(() => parseTranslationPairs(5 as unknown as string)).toThrow(/expected the text/);
  });

  it('reads the split and rejects malformed ones', () => {
    expect(parseSplit('{"train": [3, 1]}')).toEqual([3, 1]);
    expect(() => parseSplit('{"train": [1, 1]}')).toThrow(/appears twice/);
    expect(() => parseSplit('{"train": [1.5]}')).toThrow(/train\[0\] = 1.5/);
    expect(() => parseSplit('[1, 2]')).toThrow(/must be an object/);
    expect(() => parseSplit('{"train": ')).toThrow(/not valid JSON/);
  });

  it('maps the split to pairs and checks the digest', async () => {
    const pairs = parseTranslationPairs("I'm ok.\tÇa va.\nHe is here.\tIl est là.\nGo.\tVa !\n");
    const sha = await sha256Hex(pairsDigestText([pairs[1]]));
    const split = await trainingPairs(pairs, [1], { sha256: sha });
    expect(split.train.map((p) => p.english)).toEqual(['he is here .']);
    expect(split.heldOutCount).toBe(1);
    await expect(trainingPairs(pairs, [0], { sha256: sha })).rejects.toThrow(/does not match/);
    await expect(trainingPairs(pairs, [2])).rejects.toThrow(/line 2 of eng-fra.txt is not a kept pair/);
    expect(heldOutPairs(pairs, [1]).map((p) => p.line)).toEqual([0]);
  });
});

describe('corpus BLEU-4 (hand-computed)', () => {
  it('is 100 for exact matches and 0 when some n-gram order has no match (no smoothing)', () => {
    expect(corpusBleu([toks('i am here now .')], [toks('i am here now .')]).bleu).toBeCloseTo(100, 10);
    const r = corpusBleu([toks('the cat sat on the mat')], [toks('the cat is on the mat')]);
    expect(r.matches).toEqual([5, 3, 1, 0]);
    expect(r.totals).toEqual([6, 5, 4, 3]);
    expect(r.bleu).toBe(0);
  });

  it('sums clipped counts over the corpus before the geometric mean', () => {
    const r = corpusBleu(
      [toks('the cat sat on the mat'), toks('i am here now .')],
      [toks('the cat is on the mat'), toks('i am here now .')],
    );
    // by hand: p1 = (5+5)/(6+5), p2 = (3+4)/(5+4), p3 = (1+3)/(4+3), p4 = (0+2)/(3+2); c = r = 11
    expect(r.matches).toEqual([10, 7, 4, 2]);
    expect(r.totals).toEqual([11, 9, 7, 5]);
    expect(r.brevityPenalty).toBe(1);
    expect(r.bleu).toBeCloseTo(100 * Math.pow((10 / 11) * (7 / 9) * (4 / 7) * (2 / 5), 0.25), 10);
  });

  it('clips repeated n-grams to the reference count', () => {
    const r = corpusBleu([toks('the the the the')], [toks('the cat')]);
    expect(r.matches[0]).toBe(1);
    expect(r.totals[0]).toBe(4);
  });

  it('applies the brevity penalty exp(1 - r/c) to short candidates only', () => {
    const short = corpusBleu([toks('a b c d')], [toks('a b c d e f')]);
    expect(short.brevityPenalty).toBeCloseTo(Math.exp(1 - 6 / 4), 12);
    expect(short.bleu).toBeCloseTo(100 * Math.exp(-0.5), 10);
    const long = corpusBleu([toks('a b c d e f')], [toks('a b c d')]);
    expect(long.brevityPenalty).toBe(1);
    // by hand: p1 = 4/6, p2 = 3/5, p3 = 2/4, p4 = 1/3
    expect(long.bleu).toBeCloseTo(100 * Math.pow((4 / 6) * (3 / 5) * (2 / 4) * (1 / 3), 0.25), 10);
    expect(corpusBleu([[]], [toks('a')]).bleu).toBe(0);
    expect(() => corpusBleu([[]], [])).toThrow(/one reference per candidate/);
  });
});

describe.skipIf(!existsSync(DATA) || !existsSync(SPLIT))('the published eng-fra task', () => {
  it('has 10,915 kept pairs, 9,823 training pairs with the README sha256, and its vocabulary sizes', async () => {
    const pairs = parseTranslationPairs(readFileSync(DATA, 'utf8'));
    expect(pairs.length).toBe(10915);
    const split = parseSplit(readFileSync(SPLIT, 'utf8'));
    const { train, heldOutCount } = await trainingPairs(pairs, split); // throws on a sha256 mismatch
    expect(train.length).toBe(9823);
    expect(heldOutCount).toBe(1092);
    const { source, target } = translationVocabularies(train);
    expect(source.size).toBe(4235 + 4);
    expect(target.size).toBe(2750 + 4);
    expect(target.token(SOS_ID)).toBe('<sos>');
    expect(target.token(EOS_ID)).toBe('<eos>');
  });
});
