// The French -> English translation task of rnn-wasm, exactly as
// /work/shared/data/translation/README.md specifies it (the recipe of the
// PyTorch tutorial "Translation with a Sequence to Sequence Network and
// Attention", made exact): normalisation, the length/prefix filter, dedup,
// the training pairs of split-train.json (checked against the sha256 given
// there), vocabularies of the training pairs, and corpus BLEU-4.
//
// The pairs that pass the filter but are not in split-train.json are a
// held-out test set: heldOutPairs() exists only so the final check can
// translate them; never train, tune or select a model on them.
import { PAD, UNK, Vocabulary } from './vocab.js';

export const SOS = '<sos>';
export const EOS = '<eos>';
/** Ids of the translation vocabularies: <pad> 0, <unk> 1, <sos> 2, <eos> 3, then words. */
export const SOS_ID = 2;
export const EOS_ID = 3;

/** sha256 of the training pairs written as `french<TAB>english\n` in split order (README step 5). */
export const TRAIN_SHA256 = '52d22cbd9d11900f2b2197171475a76f754c76c5f0b90efd49f2a75157866dff';

/** English prefixes a kept pair starts with (a plain string prefix test, README step 2). */
export const ENGLISH_PREFIXES = [
  'i am ', 'i m ', 'he is', 'he s ', 'she is', 'she s ', 'you are', 'you re ', 'we are', 'we re ', 'they are', 'they re ',
] as const;

/** Pairs keep fewer than this many tokens on each side. */
export const MAX_TOKENS = 10;

/** README step 1, character for character. */
export function normalizeSentence(s: string): string {
  return s
    .replace(/[\u202f\u00a0]/g, ' ')
    .toLowerCase()
    .trim()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .replace(/([.!?])/g, ' $1')
    .replace(/[^a-zA-Z.!?]+/g, ' ')
    .trim();
}

/** Tokens of a normalised sentence (`s.split(" ")`; the empty sentence has none). */
export function tokenizeNormalized(s: string): string[] {
  return s === '' ? [] : s.split(' ');
}

export interface TranslationPair {
  /** 0-based line number in eng-fra.txt. */
  line: number;
  /** Normalised French (the source). */
  french: string;
  /** Normalised English (the target). */
  english: string;
}

/** Whether a normalised pair passes README step 2. */
export function keepPair(french: string, english: string): boolean {
  return (
    tokenizeNormalized(french).length < MAX_TOKENS &&
    tokenizeNormalized(english).length < MAX_TOKENS &&
    ENGLISH_PREFIXES.some((p) => english.startsWith(p))
  );
}

/**
 * README steps 1-3 over the text of eng-fra.txt: every line must hold exactly
 * one TAB (the error names the line). Returns the kept, deduplicated pairs in
 * file order.
 */
export function parseTranslationPairs(text: string): TranslationPair[] {
  if (typeof text !== 'string') throw new TypeError(`parseTranslationPairs: expected the text of eng-fra.txt, got ${typeof text}`);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const seen = new Set<string>();
  const out: TranslationPair[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const tab = raw.indexOf('\t');
    if (tab < 0 || raw.indexOf('\t', tab + 1) >= 0) {
      const count = raw.split('\t').length - 1;
      throw new Error(`eng-fra.txt line ${i + 1}: expected 'english<TAB>french' with exactly one TAB, found ${count}: ${JSON.stringify(raw.slice(0, 80))}`);
    }
    const english = normalizeSentence(raw.slice(0, tab));
    const french = normalizeSentence(raw.slice(tab + 1));
    if (!keepPair(french, english)) continue;
    const key = `${french}\t${english}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ line: i, french, english });
  }
  return out;
}

/** Reads `{"train": [line numbers]}`; clear errors for anything else. */
export function parseSplit(json: string | unknown): number[] {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new Error(`split-train.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  const train = (value as { train?: unknown } | null)?.train;
  if (value === null || typeof value !== 'object' || !Array.isArray(train)) {
    throw new Error('split-train.json must be an object {"train": [0-based line numbers]}');
  }
  const seen = new Set<number>();
  train.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0) throw new Error(`split-train.json train[${i}] = ${JSON.stringify(n)} is not a 0-based line number`);
    if (seen.has(n)) throw new Error(`split-train.json train[${i}] = ${n} appears twice`);
    seen.add(n);
  });
  return train as number[];
}

/** Hex sha256 of UTF-8 text (Web Crypto: Node 20+, Deno, browsers, Workers). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The text the README's sha256 is taken over. */
export function pairsDigestText(pairs: readonly TranslationPair[]): string {
  return pairs.map((p) => `${p.french}\t${p.english}\n`).join('');
}

export interface TranslationSplit {
  /** Training pairs in split-train.json order (the shuffled order used for training). */
  train: TranslationPair[];
  /** How many kept pairs are held out (never returned here). */
  heldOutCount: number;
}

export interface SplitOptions {
  /** Check the training pairs against this sha256 (default TRAIN_SHA256; null skips the check, for other corpora). */
  sha256?: string | null;
}

/**
 * The training pairs of the split, in its order. Every line number must be a
 * kept pair; the result is checked against the README's sha256.
 */
export async function trainingPairs(pairs: readonly TranslationPair[], split: readonly number[], options: SplitOptions = {}): Promise<TranslationSplit> {
  const byLine = new Map(pairs.map((p) => [p.line, p]));
  const train = split.map((line, i) => {
    const p = byLine.get(line);
    if (!p) throw new Error(`split-train.json train[${i}] = ${line}: line ${line} of eng-fra.txt is not a kept pair (filtered out, a duplicate, or past the end)`);
    return p;
  });
  const expected = options.sha256 === undefined ? TRAIN_SHA256 : options.sha256;
  if (expected !== null) {
    const got = await sha256Hex(pairsDigestText(train));
    if (got !== expected) {
      throw new Error(`training pairs sha256 ${got} does not match ${expected}: eng-fra.txt or split-train.json is not the published one, or the recipe changed`);
    }
  }
  return { train, heldOutCount: pairs.length - train.length };
}

/** The kept pairs not in the split: the held-out TEST set, for the final check only. */
export function heldOutPairs(pairs: readonly TranslationPair[], split: readonly number[]): TranslationPair[] {
  const inTrain = new Set(split);
  return pairs.filter((p) => !inTrain.has(p.line));
}

/** Source (French) and target (English) vocabularies of the given (training) pairs. */
export function translationVocabularies(pairs: readonly TranslationPair[]): { source: Vocabulary; target: Vocabulary } {
  const specials = [SOS, EOS];
  const source = Vocabulary.build(pairs.map((p) => tokenizeNormalized(p.french)), { specials });
  const target = Vocabulary.build(pairs.map((p) => tokenizeNormalized(p.english)), { specials });
  if (source.token(SOS_ID) !== SOS || target.token(EOS_ID) !== EOS || source.token(0) !== PAD || source.token(1) !== UNK) {
    throw new Error('translationVocabularies: unexpected special-token layout');
  }
  return { source, target };
}

/** Node helper: reads both files, parses, checks the sha256. */
export async function loadTranslationTask(dataPath: string, splitPath: string, options: SplitOptions = {}): Promise<TranslationSplit & { pairs: TranslationPair[]; split: number[] }> {
  const { readFile } = await import('node:fs/promises');
  const [text, splitText] = await Promise.all([readFile(dataPath, 'utf8'), readFile(splitPath, 'utf8')]);
  const pairs = parseTranslationPairs(text);
  const split = parseSplit(splitText);
  return { ...(await trainingPairs(pairs, split, options)), pairs, split };
}

// ---------------------------------------------------------------------------
// Corpus BLEU-4 (Papineni et al. 2002): clipped n-gram precisions for n = 1..4
// summed over the corpus, their geometric mean, the brevity penalty
// exp(1 - r/c) when the candidates are shorter than the references, no
// smoothing, one reference per sentence, x100.

export interface BleuResult {
  /** 0..100 */
  bleu: number;
  /** Clipped matches and candidate n-gram counts for n = 1..4. */
  matches: number[];
  totals: number[];
  /** Modified precisions p_n = matches / totals. */
  precisions: number[];
  brevityPenalty: number;
  candidateLength: number;
  referenceLength: number;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** candidates[i] is scored against references[i]; both are token lists. */
export function corpusBleu(candidates: readonly (readonly string[])[], references: readonly (readonly string[])[]): BleuResult {
  if (candidates.length !== references.length) {
    throw new Error(`corpusBleu: ${candidates.length} candidates but ${references.length} references (one reference per candidate)`);
  }
  const matches = [0, 0, 0, 0];
  const totals = [0, 0, 0, 0];
  let c = 0;
  let r = 0;
  for (let i = 0; i < candidates.length; i++) {
    const cand = candidates[i];
    const ref = references[i];
    c += cand.length;
    r += ref.length;
    for (let n = 1; n <= 4; n++) {
      const refCounts = ngramCounts(ref, n);
      for (const [g, k] of ngramCounts(cand, n)) matches[n - 1] += Math.min(k, refCounts.get(g) ?? 0);
      totals[n - 1] += Math.max(0, cand.length - n + 1);
    }
  }
  const precisions = matches.map((m, i) => (totals[i] === 0 ? 0 : m / totals[i]));
  const brevityPenalty = c === 0 ? 0 : c >= r ? 1 : Math.exp(1 - r / c);
  const bleu = precisions.some((p) => p === 0) ? 0 : 100 * brevityPenalty * Math.exp(precisions.reduce((s, p) => s + Math.log(p), 0) / 4);
  return { bleu, matches, totals, precisions, brevityPenalty, candidateLength: c, referenceLength: r };
}
