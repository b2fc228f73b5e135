// Panel adapter (runs in the worker): an attention seq2seq on the built-in dates task
// (French written dates -> ISO dates, src/data/dates.ts), or a model file saved by
// `rnn-wasm train translate --save`. The adapter contract is in ../worker.js; everything
// model-specific is in this file.
import { requireExports } from './pending.js';

const NEEDED = ['Seq2Seq', 'Trainer', 'Rng', 'generateDateExamples', 'dateVocabularies'];
/** For model files; without them the panel still trains and translates. */
const FILES = ['loadSeq2Seq', 'saveSeq2Seq'];

// Small enough to learn the task in seconds in a page, big enough to read the alignment.
const MODEL = { hiddenSize: 64, embeddingDim: 32, attention: 'bahdanau', seed: 1 };
const TRAINING = { batchSize: 32, lr: 3e-3, steps: 1500, evaluateEvery: 50 };
const VALIDATION_SIZE = 200;
/** Training stops early once exact match on fresh dates reaches this. */
export const TARGET_EXACT_MATCH = 0.95;

/**
 * The words of a typed date, as the dates task writes them: lower case, accents dropped
 * ('février' -> 'fevrier'), numbers and '1er' as words, '/', '.' and ',' on their own,
 * abbreviated months keeping their dot ('janv.').
 */
export function dateWords(text) {
  const plain = text.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
  return plain.match(/\d+(?:er)?|[a-z]+\.?|[/.,]/g) ?? [];
}

const MONTH_WORDS = [
  ['janvier', 'janv.'], ['fevrier', 'fevr.'], ['mars'], ['avril', 'avr.'], ['mai'], ['juin'],
  ['juillet', 'juil.'], ['aout'], ['septembre', 'sept.'], ['octobre', 'oct.'], ['novembre', 'nov.'], ['decembre', 'dec.'],
];

/**
 * The ISO date a person means by the task's words, worked out by rule rather than by the
 * model, so the page can say whether the model got a typed date right; undefined when the
 * words are not one of the task's forms. Two-digit years: 70-99 are 19xx, 00-39 20xx.
 */
export function isoOfDateWords(words) {
  const w = words.filter((t) => !['le', ',', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi', 'dimanche'].includes(t));
  let day, month, year;
  if (w.length === 5 && (w[1] === '/' || w[1] === '.') && w[3] === w[1]) [day, month, year] = [w[0], w[2], w[4]];
  else if (w.length === 3) {
    [day, year] = [w[0], w[2]];
    const m = MONTH_WORDS.findIndex((names) => names.includes(w[1]));
    if (m < 0) return undefined;
    month = String(m + 1);
  } else return undefined;
  const d = day === '1er' ? 1 : Number(day), m = Number(month);
  let y = Number(year);
  if (!/^\d{2}$|^\d{4}$/.test(year) || !Number.isInteger(d) || !Number.isInteger(m)) return undefined;
  if (year.length === 2) y += y >= 70 ? 1900 : y <= 39 ? 2000 : NaN;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (!(y >= 1970 && y <= 2039) || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * The words of a typed sentence for a model loaded from `rnn-wasm train translate`: the
 * translation task's normalisation (lower case, no accents, '.!?' split off, anything
 * else that is not a letter a space).
 */
function sentenceWords(text) {
  const s = text
    .replace(/[\u202f\u00a0]/g, ' ')
    .toLowerCase()
    .trim()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .replace(/([.!?])/g, ' $1')
    .replace(/[^a-zA-Z.!?]+/g, ' ')
    .trim();
  return s === '' ? [] : s.split(' ');
}

export async function createPanel({ lib, rt }) {
  requireExports(lib, NEEDED, 'The translation panel');
  const { Seq2Seq, Trainer, Rng, generateDateExamples, dateVocabularies, loadSeq2Seq, saveSeq2Seq } = lib;
  const missingFiles = FILES.filter((name) => !(name in lib));
  const requireFiles = () => {
    if (missingFiles.length > 0) throw new Error(`model files need ${missingFiles.join(' and ')}, which this build of rnn-wasm does not export yet`);
  };
  const dates = dateVocabularies();
  const encode = (examples, vocab) => examples.map((e) => ({ source: vocab.source.encode(e.source), target: vocab.target.encode(e.target), iso: e.iso, words: e.source }));
  // Validation dates come from their own seed, so they are (almost all) dates the model never trained on.
  const validation = encode(generateDateExamples(VALIDATION_SIZE, new Rng(1_000_003)), dates);
  const exampleRng = new Rng(7);
  const known = new Map(); // sentence -> ISO date, for the examples this panel handed out

  // The model in use: trained here on dates, or loaded from a file.
  let current = null; // { model, source, target, words, kind: 'dates' | 'file', maxLength }

  function replace(next) {
    current?.trainer?.dispose();
    current?.model.dispose();
    current = next;
  }

  function exactMatch(model, data) {
    let correct = 0;
    for (let i = 0; i < data.length; i += 100) {
      const part = data.slice(i, i + 100);
      const decoded = model.decode(part.map((d) => d.source), { maxLength: 12 });
      decoded.forEach((r, j) => {
        const want = part[j].target;
        if (r.tokens.length === want.length && r.tokens.every((t, k) => t === want[k])) correct++;
      });
    }
    return correct / data.length;
  }

  return {
    info: {
      task: 'French dates written out in words -> ISO dates',
      model: `GRU encoder-decoder, ${MODEL.attention} attention, hidden ${MODEL.hiddenSize}`,
      target: `exact match ≥ ${TARGET_EXACT_MATCH * 100}% on ${VALIDATION_SIZE} fresh dates`,
      files: missingFiles.length === 0 ? null : `Loading and saving model files is pending: this build of rnn-wasm does not export ${missingFiles.join(' and ')} yet.`,
    },

    startTraining() {
      const model = new Seq2Seq(rt, { sourceVocabSize: dates.source.size, targetVocabSize: dates.target.size, ...MODEL });
      const trainer = new Trainer(model, { lr: TRAINING.lr, clipNorm: 5, progress: false });
      replace({ model, trainer, source: dates.source, target: dates.target, words: dateWords, kind: 'dates', maxLength: 12 });
      const batchRng = new Rng(11);
      return {
        total: TRAINING.steps,
        evaluateEvery: TRAINING.evaluateEvery,
        // Every step trains on freshly generated dates: the task is unlimited.
        step() {
          const batch = encode(generateDateExamples(TRAINING.batchSize, batchRng), dates);
          return trainer.trainStep({ sources: batch.map((b) => b.source), targets: batch.map((b) => b.target) }).loss;
        },
        evaluate() {
          const em = exactMatch(model, validation);
          return { exactMatch: em, summary: `exact match ${(em * 100).toFixed(1)}% on ${VALIDATION_SIZE} fresh dates` };
        },
        reached: (metrics) => metrics.exactMatch >= TARGET_EXACT_MATCH,
      };
    },

    /** A fresh date in one of the task's written forms. */
    sample() {
      const [example] = generateDateExamples(1, exampleRng);
      const input = example.source.join(' ').replace(/ ([/.,]) ?/g, (_, p) => (p === ',' ? ', ' : p));
      known.set(input, example.iso);
      return { input };
    },

    /** Translates one typed sentence; returns the output, the tokens on both sides and the attention rows. */
    predict(text) {
      if (!current) throw new Error('no model yet: train one or load a file');
      if (typeof text !== 'string' || text.trim() === '') throw new Error('type a sentence to translate');
      const words = current.words(text);
      if (words.length === 0) throw new Error(`nothing to translate in "${text}"`);
      const unknown = words.filter((w) => !current.source.has(w));
      const [result] = current.model.decode([current.source.encode(words)], { maxLength: current.maxLength });
      const targetTokens = result.tokens.map((t) => current.target.token(t));
      const output = current.kind === 'dates' ? targetTokens.join('') : targetTokens.join(' ');
      const notes = [`${words.length} input tokens, ${targetTokens.length} output tokens, log-probability ${result.score.toFixed(2)}`];
      if (unknown.length > 0) notes.push(`unknown to the model (read as <unk>): ${unknown.join(', ')}`);
      return {
        input: text,
        output,
        expected: known.get(text.trim()) ?? (current.kind === 'dates' ? isoOfDateWords(words) : undefined),
        sourceTokens: words,
        targetTokens,
        weights: result.attention.map((row) => Array.from(row)),
        note: notes.join(' · '),
      };
    },

    /** The model in use as a safetensors file, in the format `rnn-wasm train translate --save` writes. */
    save() {
      requireFiles();
      if (!current) throw new Error('no model yet: train one first');
      const bytes = saveSeq2Seq(current.model, current.source, current.target, { task: current.kind === 'dates' ? 'dates' : 'translate' });
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },

    /** A model file saved by `rnn-wasm train translate --save` (weights, vocabularies, options). */
    load(buffer) {
      requireFiles();
      const { model, source, target, metadata } = loadSeq2Seq(rt, new Uint8Array(buffer));
      // A dates model (its source words include '1er') reads dates; any other reads sentences.
      const isDates = source.has('1er');
      replace({ model, source, target, words: isDates ? dateWords : sentenceWords, kind: isDates ? 'dates' : 'file', maxLength: isDates ? 12 : 10 });
      const o = model.options ?? {};
      const what = `${o.encoderCell ?? 'gru'} encoder-decoder, ${o.attention ?? '?'} attention, hidden ${o.hiddenSize ?? '?'}`;
      return {
        model: what,
        summary: `${source.size} source and ${target.size} target words${metadata.bleu ? `, validation BLEU ${metadata.bleu}` : ''}`,
        example: isDates ? 'mardi 13 mars 2018' : 'je suis content .',
      };
    },
  };
}
