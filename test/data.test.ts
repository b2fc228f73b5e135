import { describe, it, expect } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  tokenizeWords,
  tokenizeChars,
  Vocabulary,
  PAD_ID,
  UNK_ID,
  padBatch,
  miniBatches,
  stratifiedSplit,
  parseLabelledSentences,
  loadLabelledSentences,
} from '../src/data/index.js';
import {
  syntheticSentiment,
  syntheticSentimentLabel,
  syntheticScenes,
  sceneCaption,
  syntheticRepeatTagging,
  charLanguageModelBatch,
  SCENE_FEATURE_SIZE,
  SCENE_COLOURS,
  SCENE_SHAPES,
} from '../src/data/synthetic.js';
import { NURSERY_RHYMES, generateStoryText, builtinCorpus } from '../src/data/corpus.js';
import { Rng } from '../src/train/rng.js';

describe('tokenizers', () => {
  it('words: lowercase, split on non-letters, any script', () => {
    expect(tokenizeWords("Don't buy it, 10/10!  GREAT phone.")).toEqual(['don', 't', 'buy', 'it', 'great', 'phone']);
    expect(tokenizeWords('Café crème\u0085déjà-vu')).toEqual(['café', 'crème', 'déjà', 'vu']);
    expect(tokenizeWords('Cafe\u0301')).toEqual(['café']); // combining accent normalised (NFC)
    expect(tokenizeWords('123 ... !!')).toEqual([]);
    expect(() => tokenizeWords(5 as unknown as string)).toThrow(/expected a string/);
  });

  it('chars: code points, astral symbols whole', () => {
    expect(tokenizeChars('ab c')).toEqual(['a', 'b', ' ', 'c']);
    expect(tokenizeChars('x😀y')).toEqual(['x', '😀', 'y']);
  });
});

describe('Vocabulary', () => {
  it('puts <pad>=0, <unk>=1, specials, then tokens by frequency (ties by first appearance)', () => {
    const v = Vocabulary.build([['b', 'a', 'c'], ['a', 'c', 'd'], ['a']], { specials: ['<bos>', '<eos>'] });
    expect(v.tokens()).toEqual(['<pad>', '<unk>', '<bos>', '<eos>', 'a', 'c', 'b', 'd']);
    expect(v.size).toBe(8);
    expect(v.specialCount).toBe(4);
    expect(Array.from(v.encode(['a', 'zzz', 'd']))).toEqual([4, UNK_ID, 7]);
    expect(v.decode([4, 0, 1, 7])).toEqual(['a', '<unk>', 'd']);
    expect(v.decode([4, 0], true)).toEqual(['a', '<pad>']);
    expect(v.id('<pad>')).toBe(PAD_ID);
    expect(() => v.token(8)).toThrow(/outside the vocabulary/);
  });

  it('minCount and maxSize, JSON round trip, validation', () => {
    const v = Vocabulary.build([['x', 'x', 'y', 'z', 'z', 'z']], { minCount: 2, maxSize: 3 });
    expect(v.tokens()).toEqual(['<pad>', '<unk>', 'z']);
    const w = Vocabulary.build([['x', 'x', 'y', 'z', 'z', 'z', '<pad>']], { minCount: 2 });
    expect(w.tokens()).toEqual(['<pad>', '<unk>', 'z', 'x']);
    const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(w)));
    expect(back.tokens()).toEqual(w.tokens());
    expect(back.specialCount).toBe(2);
    expect(() => new Vocabulary(['a', '<unk>'])).toThrow(/must start with/);
    expect(() => new Vocabulary(['<pad>', '<unk>', 'a', 'a'])).toThrow(/appears twice/);
    expect(() => Vocabulary.build([], { minCount: 0 })).toThrow(/minCount/);
    expect(() => Vocabulary.build([], { maxSize: 1 })).toThrow(/maxSize/);
  });
});

describe('padBatch', () => {
  const seqs = [[5, 6, 7], [8], [9, 10]];

  it('time-first [T,B] with lengths and mask', () => {
    const b = padBatch(seqs);
    expect(b.shape).toEqual([3, 3]);
    expect(Array.from(b.ids)).toEqual([5, 8, 9, 6, 0, 10, 7, 0, 0]);
    expect(Array.from(b.mask)).toEqual([1, 1, 1, 1, 0, 1, 1, 0, 0]);
    expect(Array.from(b.lengths)).toEqual([3, 1, 2]);
    expect([b.steps, b.batch]).toEqual([3, 3]);
  });

  it('batch-first [B,T], fixed length, pad id, truncation', () => {
    const b = padBatch(seqs, { layout: 'BT', length: 4, padId: -100 });
    expect(b.shape).toEqual([3, 4]);
    expect(Array.from(b.ids)).toEqual([5, 6, 7, -100, 8, -100, -100, -100, 9, 10, -100, -100]);
    expect(Array.from(b.mask)).toEqual([1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0]);
    const t = padBatch(seqs, { length: 2, truncate: true, layout: 'BT' });
    expect(Array.from(t.ids)).toEqual([5, 6, 8, 0, 9, 10]);
    expect(Array.from(t.lengths)).toEqual([2, 1, 2]);
    // Agrees with the TB layout element by element.
    const tb = padBatch(seqs, { length: 4 });
    const bt = padBatch(seqs, { length: 4, layout: 'BT' });
    for (let bi = 0; bi < 3; bi++) for (let s = 0; s < 4; s++) expect(tb.ids[s * 3 + bi]).toBe(bt.ids[bi * 4 + s]);
  });

  it('rejects bad input clearly', () => {
    expect(() => padBatch([])).toThrow(/non-empty/);
    expect(() => padBatch([[1], []])).toThrow(/sequence 1 is empty/);
    expect(padBatch([[1], []], { allowEmpty: true }).lengths[1]).toBe(0);
    expect(() => padBatch([[1, 2, 3]], { length: 2 })).toThrow(/truncate/);
    expect(() => padBatch([[1, 2.5]])).toThrow(/sequence 0, step 1: 2.5/);
    expect(() => padBatch([[1, 2 ** 31]])).toThrow(/int32/);
    expect(() => padBatch([[1]], { layout: 'TT' as never })).toThrow(/layout/);
    expect(() => padBatch([null as never])).toThrow(/sequence 0/);
  });
});

describe('miniBatches', () => {
  it('covers every index once, seeded and reproducible', () => {
    const a = miniBatches(17, 4, { seed: 3 });
    expect(a.map((b) => b.length)).toEqual([4, 4, 4, 4, 1]);
    const all = a.flatMap((b) => Array.from(b)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 17 }, (_, i) => i));
    expect(miniBatches(17, 4, { seed: 3 }).map((b) => Array.from(b))).toEqual(a.map((b) => Array.from(b)));
    expect(miniBatches(17, 4, { seed: 4 }).map((b) => Array.from(b))).not.toEqual(a.map((b) => Array.from(b)));
    expect(Array.from(miniBatches(5, 2)[0])).toEqual([0, 1]); // no rng: in order
    expect(miniBatches(17, 4, { seed: 3, dropLast: true }).map((b) => b.length)).toEqual([4, 4, 4, 4]);
    // A shared rng advances: consecutive epochs differ.
    const rng = new Rng(1);
    const e1 = miniBatches(10, 10, { rng })[0];
    const e2 = miniBatches(10, 10, { rng })[0];
    expect(Array.from(e1)).not.toEqual(Array.from(e2));
    expect(() => miniBatches(5, 0)).toThrow(/batchSize/);
  });

  it('length bucketing reduces padding and still covers every index', () => {
    const rng = new Rng(8);
    const lengths = Array.from({ length: 400 }, () => 1 + rng.int(50));
    const padding = (batches: Int32Array[]) =>
      batches.reduce((acc, b) => {
        const ls = Array.from(b, (i) => lengths[i]);
        return acc + ls.reduce((s, l) => s + Math.max(...ls) - l, 0);
      }, 0);
    const plain = miniBatches(400, 16, { seed: 1 });
    const bucketed = miniBatches(400, 16, { seed: 1, lengths, bucketBatches: 8 });
    expect(bucketed.flatMap((b) => Array.from(b)).sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(padding(bucketed)).toBeLessThan(padding(plain) / 3);
  });
});

describe('stratifiedSplit', () => {
  it('keeps class proportions, is disjoint and complete, and is seeded', () => {
    const labels = [...new Array(300).fill(0), ...new Array(100).fill(1), ...new Array(7).fill(2), 3];
    const rng = new Rng(2);
    rng.shuffle(labels);
    const split = stratifiedSplit(labels, 0.2, 11);
    const count = (idx: Int32Array, c: number) => Array.from(idx).filter((i) => labels[i] === c).length;
    expect(count(split.validation, 0)).toBe(60);
    expect(count(split.validation, 1)).toBe(20);
    expect(count(split.validation, 2)).toBe(1);
    expect(count(split.validation, 3)).toBe(0); // a single example stays in train
    expect(split.train.length + split.validation.length).toBe(labels.length);
    const all = [...split.train, ...split.validation].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: labels.length }, (_, i) => i));
    expect(Array.from(stratifiedSplit(labels, 0.2, 11).validation)).toEqual(Array.from(split.validation));
    expect(Array.from(stratifiedSplit(labels, 0.2, 12).validation)).not.toEqual(Array.from(split.validation));
    expect(stratifiedSplit(['a', 'b', 'a', 'b'], 0.5, 0).validation.length).toBe(2);
    expect(stratifiedSplit([0, 0, 1], 0, 0).validation.length).toBe(0);
    expect(() => stratifiedSplit([0], 1.5)).toThrow(/validationFraction/);
  });
});

describe('labelled sentences', () => {
  it('parses sentence<TAB>label with trimming, NEL inside sentences, CRLF and the final newline', () => {
    const text = 'Great phone.\t1\nSo bad.  \t0\r\nWeird\u0085sentence "quote\t1\n\n';
    expect(parseLabelledSentences(text)).toEqual([
      { sentence: 'Great phone.', label: 1 },
      { sentence: 'So bad.', label: 0 },
      { sentence: 'Weird\u0085sentence "quote', label: 1 },
    ]);
  });

  it('names the line of malformed input', () => {
    expect(() => parseLabelledSentences('ok\t1\nno tab here\n', { source: 'f.txt' })).toThrow(/f.txt:2: .*no TAB/);
    expect(() => parseLabelledSentences('ok\tx\n')).toThrow(/input:1: label "x" is not an integer/);
    expect(() => parseLabelledSentences('ok\t2\n')).toThrow(/label 2 is not one of 0, 1/);
    expect(() => parseLabelledSentences('\t1\n')).toThrow(/empty sentence/);
    expect(parseLabelledSentences('a\t2\n', { labels: [0, 1, 2] })[0].label).toBe(2);
  });

  it('loads a file by path (and the real imdb file when present)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-data-'));
    try {
      const p = join(dir, 'x.txt');
      writeFileSync(p, 'Déjà vu.\t1\nMeh.\t0\n');
      expect(await loadLabelledSentences(p)).toEqual([{ sentence: 'Déjà vu.', label: 1 }, { sentence: 'Meh.', label: 0 }]);
      writeFileSync(p, Buffer.from([0x61, 0xff, 0x09, 0x31]));
      await expect(loadLabelledSentences(p)).rejects.toThrow(/not valid UTF-8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const real = '/work/shared/data/sentiment/imdb_labelled.txt';
    let rows;
    try {
      rows = await loadLabelledSentences(real);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return; // not shipped with the package
      throw e;
    }
    expect(rows.length).toBe(1000);
    expect(rows.filter((r) => r.label === 1).length).toBe(500);
    expect(rows.every((r) => r.sentence === r.sentence.trim())).toBe(true);
  });
});

describe('synthetic tasks', () => {
  it('sentiment: balanced, deterministic, labels follow the negation rule', () => {
    const data = syntheticSentiment({ count: 400, seed: 5 });
    expect(syntheticSentiment({ count: 400, seed: 5 })).toEqual(data);
    expect(syntheticSentiment({ count: 400, seed: 6 })).not.toEqual(data);
    expect(data.filter((d) => d.label === 1).length).toBe(200);
    let negated = 0;
    for (const d of data) {
      const tokens = tokenizeWords(d.sentence);
      expect(tokens.length).toBeGreaterThanOrEqual(4);
      expect(tokens.length).toBeLessThanOrEqual(12);
      expect(syntheticSentimentLabel(tokens)).toBe(d.label);
      if (tokens.includes('not') || tokens.includes('never')) negated++;
    }
    // Negation is common enough that a bag of words cannot be exact.
    expect(negated).toBeGreaterThan(80);
    expect(() => syntheticSentiment({ count: 1, minLength: 1 })).toThrow(/minLength/);
  });

  it('scenes: one-hot blocks agree with the captions', () => {
    const d = syntheticScenes({ count: 50, seed: 1 });
    expect(d.featureSize).toBe(SCENE_FEATURE_SIZE);
    expect(d.features.length).toBe(50 * SCENE_FEATURE_SIZE);
    expect(syntheticScenes({ count: 50, seed: 1 }).captions).toEqual(d.captions);
    for (let i = 0; i < 50; i++) {
      const row = d.features.subarray(i * d.featureSize, (i + 1) * d.featureSize);
      expect(row.reduce((a, b) => a + b, 0)).toBe(4);
      expect(row[SCENE_COLOURS.indexOf(d.scenes[i].colour)]).toBe(1);
      expect(row[SCENE_COLOURS.length + SCENE_SHAPES.indexOf(d.scenes[i].shape)]).toBe(1);
      expect(d.captions[i]).toEqual(sceneCaption(d.scenes[i]));
    }
    expect(sceneCaption({ count: 2, colour: 'red', shape: 'circle', size: '' })).toEqual(['two', 'red', 'circles']);
    expect(sceneCaption({ count: 1, colour: 'blue', shape: 'star', size: 'big' })).toEqual(['one', 'big', 'blue', 'star']);
    const noisy = syntheticScenes({ count: 5, seed: 1, noise: 0.1 });
    expect(noisy.captions).toEqual(d.captions.slice(0, 5));
    expect(noisy.features.some((v) => v !== 0 && v !== 1)).toBe(true);
  });

  it('repeat tagging: tags follow the rule, and the look-ahead bit is unpredictable from the past', () => {
    const d = syntheticRepeatTagging({ count: 3000, seed: 2, symbols: 4, distance: 2 });
    expect(syntheticRepeatTagging({ count: 3000, seed: 2 }).tags.slice(0, 5)).toEqual(d.tags.slice(0, 5));
    // Estimate P(after-bit | last three tokens) over the data: close to 1/4 for every context.
    const stats = new Map<string, [number, number]>();
    let total = 0;
    let afterOnes = 0;
    let wrong = 0;
    for (let i = 0; i < d.tokens.length; i++) {
      const x = d.tokens[i];
      const tag = d.tags[i];
      expect(tag.length).toBe(x.length);
      for (let t = 0; t < x.length; t++) {
        const before = t >= 2 && x[t - 2] === x[t] ? 1 : 0;
        const after = t + 2 < x.length && x[t + 2] === x[t] ? 2 : 0;
        if (tag[t] !== before + after) wrong++;
        if (t >= 2 && t + 2 < x.length) {
          const key = x.slice(t - 2, t + 1).join('');
          const s = stats.get(key) ?? [0, 0];
          s[0]++;
          s[1] += after ? 1 : 0;
          stats.set(key, s);
          total++;
          afterOnes += after ? 1 : 0;
        }
      }
    }
    expect(wrong).toBe(0);
    expect(Math.abs(afterOnes / total - 0.25)).toBeLessThan(0.02);
    for (const [key, [n, ones]] of stats) if (n > 300) expect(Math.abs(ones / n - 0.25), key).toBeLessThan(0.08);
    // All four tags occur.
    const seen = new Set(d.tags.flatMap((t) => Array.from(t)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('char language model batches: targets are inputs shifted by one, seeded', () => {
    const text = builtinCorpus(50, 1);
    expect(text.startsWith(NURSERY_RHYMES)).toBe(true);
    expect(generateStoryText(20, 3)).toBe(generateStoryText(20, 3));
    expect(generateStoryText(20, 3)).not.toBe(generateStoryText(20, 4));
    expect(generateStoryText(40, 3)).toMatch(/^[A-Z][a-z ]+[.!]/);
    const chars = tokenizeChars(text);
    const vocab = Vocabulary.build([chars]);
    const stream = vocab.encode(chars);
    expect(vocab.decode(stream).join('')).toBe(text);
    const batch = charLanguageModelBatch(stream, { steps: 13, batch: 7, rng: new Rng(4) });
    expect(batch.shape).toEqual([13, 7]);
    for (let b = 0; b < 7; b++) {
      for (let t = 0; t < 13; t++) {
        expect(batch.inputs[t * 7 + b]).toBe(stream[batch.offsets[b] + t]);
        expect(batch.targets[t * 7 + b]).toBe(stream[batch.offsets[b] + t + 1]);
      }
    }
    const again = charLanguageModelBatch(stream, { steps: 13, batch: 7, rng: new Rng(4) });
    expect(Array.from(again.inputs)).toEqual(Array.from(batch.inputs));
    const bt = charLanguageModelBatch(stream, { steps: 13, batch: 7, rng: new Rng(4), layout: 'BT' });
    expect(bt.inputs[2 * 13 + 5]).toBe(batch.inputs[5 * 7 + 2]);
    expect(() => charLanguageModelBatch(stream.subarray(0, 5), { steps: 5, batch: 1, rng: new Rng(0) })).toThrow(/at least steps \+ 1/);
  });
});
