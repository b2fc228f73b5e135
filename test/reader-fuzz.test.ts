// Fuzzing the wave's readers as test/safetensors.test.ts fuzzes the safetensors reader (issue 18):
// the bAbI reader, the translation-pair reader (eng-fra.txt and split-train.json), and the model
// files `train translate` (loadSeq2Seq) and `train babi` (loadBabiModel) save. Seeded inputs:
// truncated files, byte flips, binary garbage, lying headers and huge counts, and metadata edits
// (options and vocabularies missing, mistyped, huge). Every input either reads (then the result
// is checked and, for a model, used) or throws a clear Error:
//   clear = an Error, not a WebAssembly.RuntimeError, whose message is short and is not one of
//   JavaScript's own ("Cannot read properties of ...", "x is not a function", a raw JSON.parse
//   SyntaxError, "Maximum call stack", "Invalid array length", ...);
//   crash = anything else thrown; hang = one input taking longer than HANG_MS.
// Per reader the counts (tried / read / clear errors / crashes / hangs) are printed; crashes and
// hangs must be 0. The whole file runs in a few seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { generateBabi, parseBabi, babiVocabulary } from '../src/data/babi.js';
import { parseSplit, parseTranslationPairs, trainingPairs } from '../src/data/translation.js';
import { Vocabulary } from '../src/data/vocab.js';
import { Seq2Seq } from '../src/models/seq2seq.js';
import { loadSeq2Seq, saveSeq2Seq } from '../src/models/seq2seq-tasks.js';
import { DMN, makeDMNBatch } from '../src/models/dmn.js';
import { loadBabiModel, saveBabiModel, evaluateBabi } from '../src/models/dmn-task.js';

const HANG_MS = 1000;

/** A seeded generator: next(k) is an integer in [0, k). */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = (k: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * k);
  };
  return { next, pick: <T>(a: readonly T[]): T => a[next(a.length)] };
}
type Gen = ReturnType<typeof generator>;

/** JavaScript's own messages (they open the message when nothing caught the fault first). */
const JS_OWN_ERRORS = /^(Cannot read propert|Cannot set propert|\S+ is not a function|\S+ is not iterable|\S+ is not defined|Unexpected token|Unexpected end of JSON|Unexpected non-whitespace|Expected property name|"[^"]*" is not valid JSON|Bad control character|Maximum call stack|Invalid array length|Invalid typed array length|Invalid string length|Array buffer allocation failed)/;

/** Our messages that quote a JSON.parse error after naming the file or key: only our words are judged. */
const ownWords = (m: string) => m.replace(/^(.*?(metadata '[^']*'|split-train\.json)) is not valid JSON.*$/s, '$1 unreadable');

interface Counts { tried: number; read: number; clear: number; crashes: number; hangs: number; examples: string[] }
const counts: Record<string, Counts> = {};

/** Runs one input through `read` (then `check` on what it returned) and counts the outcome. */
function attempt<T>(reader: string, label: string, read: () => T, check: (value: T) => void = () => {}): void {
  const c = (counts[reader] ??= { tried: 0, read: 0, clear: 0, crashes: 0, hangs: 0, examples: [] });
  c.tried++;
  const t0 = performance.now();
  let value: T;
  try {
    value = read();
  } catch (e) {
    const ms = performance.now() - t0;
    if (ms > HANG_MS) {
      c.hangs++;
      c.examples.push(`hang ${ms.toFixed(0)} ms: ${label}`);
    }
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof Error && !(e instanceof WebAssembly.RuntimeError) && message.length > 0 && message.length <= 2000 && !JS_OWN_ERRORS.test(ownWords(message))) c.clear++;
    else {
      c.crashes++;
      c.examples.push(`${label}: ${e instanceof Error ? e.constructor.name : typeof e}: ${message.slice(0, 200)}`);
    }
    return;
  }
  const ms = performance.now() - t0;
  if (ms > HANG_MS) {
    c.hangs++;
    c.examples.push(`hang ${ms.toFixed(0)} ms: ${label}`);
  }
  c.read++;
  check(value); // A result that reads must be usable: a failure here fails the test outright.
}

// ---------------------------------------------------------------- text mutations

const GARBAGE_CHARS = ['\t', '\n', '\r', ' ', '0', '1', '9', '?', '.', ',', '-', '\u0000', '\uFFFD', 'é', '99999999999999999999', '\t\t', 'x'];

/** One of: truncate, flip characters, insert/delete characters, swap/duplicate/drop lines, garbage. */
function mutateText(text: string, g: Gen): { text: string; how: string } {
  const op = g.next(8);
  if (op === 0) {
    const n = g.next(text.length + 1);
    return { text: text.slice(0, n), how: `truncated at ${n}` };
  }
  if (op === 1) {
    const chars = [...text];
    for (let k = 0; k <= g.next(6); k++) chars[g.next(chars.length)] = String.fromCharCode(g.next(256));
    return { text: chars.join(''), how: 'characters flipped' };
  }
  if (op === 2) {
    let t = text;
    for (let k = 0; k <= g.next(5); k++) {
      const at = g.next(t.length + 1);
      t = t.slice(0, at) + g.pick(GARBAGE_CHARS) + t.slice(at + (g.next(2) ? 1 : 0));
    }
    return { text: t, how: 'characters inserted/replaced' };
  }
  if (op === 3) {
    const lines = text.split('\n');
    for (let k = 0; k <= g.next(4); k++) {
      const i = g.next(lines.length), j = g.next(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
    }
    return { text: lines.join('\n'), how: 'lines swapped' };
  }
  if (op === 4) {
    const lines = text.split('\n');
    const i = g.next(lines.length);
    if (g.next(2)) lines.splice(i, 1);
    else lines.splice(i, 0, lines[g.next(lines.length)]);
    return { text: lines.join('\n'), how: 'a line dropped or duplicated' };
  }
  if (op === 5) {
    return { text: String.fromCharCode(...Array.from({ length: g.next(400) }, () => g.next(256))), how: 'binary garbage' };
  }
  if (op === 6) {
    // Huge or odd numbers where the format has numbers.
    return { text: text.replace(/\d+/g, (d) => (g.next(6) === 0 ? g.pick(['0', '-1', '1e309', '99999999999999999999', '4294967296', 'NaN', '']) : d)), how: 'numbers replaced' };
  }
  return { text: text.replace(/\t/g, () => g.pick(['\t', '  ', '', '\t\t', '\t'])), how: 'TABs edited' };
}

// ---------------------------------------------------------------- binary mutations

function rawFile(header: string, payload: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + payload.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(payload, 8 + h.length);
  return out;
}

function splitFile(file: Uint8Array): { header: Record<string, unknown>; payload: Uint8Array } {
  const n = new DataView(file.buffer, file.byteOffset).getUint32(0, true);
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))), payload: file.subarray(8 + n) };
}

const ODD_VALUES: unknown[] = [null, true, 0, -1, 1.5, 2 ** 31, 1e9, 1e308, -0, '', 'x', '6', [], [1], {}, { a: 1 }, NaN];

/** A random edit of one value inside a JSON object (delete a key, replace it, or nest garbage). */
function editObject(obj: Record<string, unknown>, g: Gen): string {
  const keys = Object.keys(obj);
  const key = keys.length > 0 && g.next(5) > 0 ? g.pick(keys) : `extra${g.next(3)}`;
  const op = g.next(3);
  if (op === 0) {
    delete obj[key];
    return `deleted ${key}`;
  }
  obj[key] = op === 1 ? g.pick(ODD_VALUES) : typeof obj[key] === 'number' ? (obj[key] as number) * g.pick([0, -1, 2, 1000, 1e6]) : g.pick(ODD_VALUES);
  return `${key} = ${JSON.stringify(obj[key])}`;
}

/** Edits of a model file's metadata: options, vocabularies, the format; or the JSON text itself. */
function mutateMetadata(file: Uint8Array, g: Gen, jsonKeys: string[]): { bytes: Uint8Array; how: string } {
  const { header, payload } = splitFile(file);
  const meta = header.__metadata__ as Record<string, string>;
  const key = g.pick([...jsonKeys, 'format']);
  let how: string;
  const op = g.next(6);
  if (key === 'format' || op === 0) {
    if (g.next(2)) delete meta[key];
    else meta[key] = String(g.pick(ODD_VALUES));
    how = `metadata ${key} replaced/removed`;
  } else if (op === 1) {
    meta[key] = meta[key].slice(0, g.next(meta[key].length));
    how = `metadata ${key} truncated`;
  } else if (op === 2) {
    meta[key] = JSON.stringify(g.pick(ODD_VALUES));
    how = `metadata ${key} = another JSON value`;
  } else {
    const value = JSON.parse(meta[key]) as Record<string, unknown>;
    const edits: string[] = [];
    for (let k = 0; k <= g.next(3); k++) {
      // Vocabularies: edit the token table itself too (drop, duplicate, retype, grow hugely).
      if (Array.isArray(value.tokens) && g.next(2)) {
        const t = value.tokens as unknown[];
        const e = g.next(5);
        if (e === 0) t.splice(g.next(t.length), 1);
        else if (e === 1) t.push(t[g.next(t.length)]);
        else if (e === 2) t[g.next(t.length)] = g.pick(ODD_VALUES);
        else if (e === 3) for (let i = 0; i < 5000; i++) t.push(`w${i}`);
        else t.reverse();
        edits.push(`tokens edit ${e}`);
      } else edits.push(editObject(value, g));
    }
    meta[key] = JSON.stringify(value);
    how = `metadata ${key}: ${edits.join(', ')}`;
  }
  return { bytes: rawFile(JSON.stringify(header), payload), how };
}

/** Edits of the tensor table: shapes, dtypes and offsets that lie, names dropped or renamed. */
function mutateTensors(file: Uint8Array, g: Gen): { bytes: Uint8Array; how: string } {
  const { header, payload } = splitFile(file);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = g.pick(names);
  const entry = header[name] as { dtype: string; shape: number[]; data_offsets: number[] };
  const op = g.next(5);
  if (op === 0) entry.shape = entry.shape.map((d) => (g.next(2) ? d : g.pick([0, 1, d + 1, 2 ** 31, 1e9])));
  else if (op === 1) entry.dtype = g.pick(['F16', 'I32', 'F64', 'U8', 'bogus']);
  else if (op === 2) entry.data_offsets = entry.data_offsets.map((o) => o + g.pick([-4, 4, 1e9]));
  else if (op === 3) delete header[name];
  else {
    header[`${name}.x`] = entry;
    delete header[name];
  }
  return { bytes: rawFile(JSON.stringify(header), payload), how: `tensor ${name}: edit ${op}` };
}

/** Byte-level: truncation, flips (mostly in the header), a lying header length, garbage. */
function mutateBytes(file: Uint8Array, g: Gen): { bytes: Uint8Array; how: string } {
  const op = g.next(4);
  if (op === 0) {
    const n = g.next(file.length);
    return { bytes: file.slice(0, n), how: `truncated at ${n} of ${file.length}` };
  }
  if (op === 1) {
    const b = file.slice();
    const headerEnd = 8 + new DataView(file.buffer, file.byteOffset).getUint32(0, true);
    for (let k = 0; k <= g.next(4); k++) {
      const at = g.next(10) < 9 ? g.next(headerEnd) : g.next(b.length);
      b[at] = g.next(2) ? b[at] ^ (1 << g.next(8)) : g.next(256);
    }
    return { bytes: b, how: 'bytes flipped' };
  }
  if (op === 2) {
    const b = file.slice();
    const dv = new DataView(b.buffer);
    dv.setUint32(0, g.pick([0, 1, 7, dv.getUint32(0, true) - 1, dv.getUint32(0, true) + 1, 2 ** 31, 2 ** 32 - 1]), true);
    dv.setUint32(4, g.pick([0, 0, 0, 1, 255]), true);
    return { bytes: b, how: 'header length lies' };
  }
  return { bytes: Uint8Array.from({ length: g.next(3000) }, () => g.next(256)), how: 'binary garbage' };
}

function mutateModelFile(file: Uint8Array, g: Gen, jsonKeys: string[]): { bytes: Uint8Array; how: string } {
  const op = g.next(10);
  return op < 5 ? mutateMetadata(file, g, jsonKeys) : op < 7 ? mutateTensors(file, g) : mutateBytes(file, g);
}

// ---------------------------------------------------------------- the readers

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});
afterAll(() => {
  for (const [reader, c] of Object.entries(counts)) {
    console.log(`[reader-fuzz] ${reader}: ${c.tried} tried, ${c.read} read, ${c.clear} clear errors, ${c.crashes} crashes, ${c.hangs} hangs`);
    for (const e of [...new Set(c.examples.map((x) => x.replace(/\d+/g, 'N')))].slice(0, 12)) console.log(`    ${e}`);
  }
});

function expectNoCrashes(reader: string, minClear: number): void {
  const c = counts[reader];
  expect(c.examples, `${reader}: crashes or hangs`).toEqual([]);
  expect(c.crashes + c.hangs).toBe(0);
  expect(c.read + c.clear).toBe(c.tried);
  expect(c.clear, `${reader}: the mutations reach the checks`).toBeGreaterThan(minClear);
}

describe('fuzzing the readers of the wave', () => {
  it('bAbI reader (parseBabi): mutated v1.2 text reads consistently or fails naming the line', () => {
    const g = generator(18);
    const bases = [1, 2, 6, 8].map((task) => generateBabi({ task: task as 1, stories: 4, seed: task }));
    for (let i = 0; i < 1500; i++) {
      const { text, how } = mutateText(g.pick(bases), g);
      attempt('bAbI reader', how, () => parseBabi(text, { maxFacts: 1 + g.next(12), source: 'fuzz.txt' }), (examples) => {
        expect(examples.length).toBeGreaterThan(0);
        for (const e of examples) {
          expect(e.facts.length).toBeGreaterThan(0);
          for (const f of e.facts) expect(f.length).toBeGreaterThan(0);
          expect(e.answer.length).toBeGreaterThan(0);
          for (const s of e.supporting) expect(s >= 0 && s < e.facts.length).toBe(true);
        }
        // What reads can be trained on: its vocabulary and a batch build.
        babiVocabulary(examples);
      });
    }
    expectNoCrashes('bAbI reader', 500);
  });

  it('translation-pair reader: mutated eng-fra.txt and split-train.json read consistently or fail clearly', async () => {
    const g = generator(19);
    const engFra = [
      'Go.\tVa !', 'I am cold.\tJ\'ai froid.', 'He is tall.\tIl est grand.', 'She is happy.\tElle est heureuse.',
      'We are late.\tNous sommes en retard.', 'They are here.\tIls sont là.', 'You are kind.\tTu es gentil.', 'I\'m tired.\tJe suis fatigué.',
    ].join('\n') + '\n';
    const split = JSON.stringify({ train: [1, 2, 3, 5, 7] });
    for (let i = 0; i < 1500; i++) {
      if (g.next(2)) {
        const { text, how } = mutateText(engFra, g);
        attempt('translation reader (eng-fra.txt)', how, () => parseTranslationPairs(text), (pairs) => {
          for (const p of pairs) {
            expect(typeof p.french).toBe('string');
            expect(p.french.split(' ').length).toBeLessThan(10);
          }
        });
      } else {
        const { text, how } = g.next(2) ? mutateText(split, g) : { text: JSON.stringify({ train: Array.from({ length: g.next(6) }, () => g.pick([...ODD_VALUES, 0, 1, 2, 3])) }), how: 'split values' };
        let lines: number[] | undefined;
        attempt('translation reader (split-train.json)', how, () => (lines = parseSplit(text)), (l) => {
          for (const n of l) expect(Number.isInteger(n) && n >= 0).toBe(true);
        });
        // The checked split against the pairs: only kept pairs, in split order (async: sha256 skipped).
        if (lines) {
          const t0 = performance.now();
          const c = (counts['translation reader (split against pairs)'] ??= { tried: 0, read: 0, clear: 0, crashes: 0, hangs: 0, examples: [] });
          c.tried++;
          try {
            const r = await trainingPairs(parseTranslationPairs(engFra), lines, { sha256: null });
            expect(r.train.length).toBe(lines.length);
            c.read++;
          } catch (e) {
            if (e instanceof Error && /^split-train\.json train\[\d+\] = [\d.e+]+: line [\d.e+]+ of eng-fra\.txt is not a kept pair/.test(e.message)) c.clear++;
            else {
              c.crashes++;
              c.examples.push(String(e));
            }
          }
          if (performance.now() - t0 > HANG_MS) c.hangs++;
        }
      }
    }
    expectNoCrashes('translation reader (eng-fra.txt)', 200);
    expectNoCrashes('translation reader (split-train.json)', 200);
    expect(counts['translation reader (split against pairs)'].crashes + counts['translation reader (split against pairs)'].hangs).toBe(0);
  });

  it('Seq2Seq model files (train translate --save): mutated files load and decode, or fail clearly; no memory kept', () => {
    const g = generator(20);
    const vocab = (n: number, tag: string) => new Vocabulary(['<pad>', '<unk>', '<sos>', '<eos>', ...Array.from({ length: n - 4 }, (_, i) => `${tag}${i}`)], 4);
    const files = (['bahdanau', 'luong-general', 'local-m', 'none'] as const).map((attention, k) => {
      const m = new Seq2Seq(rt, { sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 6, embeddingDim: 5, attention, cell: k % 2 ? 'lstm' : 'gru', seed: k });
      const f = saveSeq2Seq(m, vocab(9, 'f'), vocab(8, 'e'), { trained: '{}' });
      m.dispose();
      return f;
    });
    const live = rt.mem.liveBytes;
    for (let i = 0; i < 500; i++) {
      const { bytes, how } = mutateModelFile(g.pick(files), g, ['options', 'source_vocab', 'target_vocab']);
      attempt('Seq2Seq model file', how, () => loadSeq2Seq(rt, bytes), ({ model, source }) => {
        // What loads must run: decode one source of in-vocabulary ids.
        const r = model.decode([Int32Array.from([4, Math.min(5, source.size - 1)])], { maxLength: 3 });
        for (const t of r[0].tokens) expect(t >= 0 && t < model.options.targetVocabSize).toBe(true);
        model.dispose();
      });
    }
    expect(rt.mem.liveBytes, 'no model or block left behind by a failed load').toBeLessThanOrEqual(live);
    expectNoCrashes('Seq2Seq model file', 200);
  });

  it('DMN model files (train babi --save): mutated files load and answer, or fail clearly; no memory kept', () => {
    const g = generator(21);
    const examples = parseBabi(generateBabi({ task: 1, stories: 2, seed: 1 }));
    const vocab = babiVocabulary(examples);
    const files = (['dmn+', 'dmn'] as const).map((variant, k) => {
      const m = new DMN(rt, { vocabSize: vocab.size, variant, embeddingDim: 5, hiddenSize: 6, passes: 2, seed: k });
      const f = saveBabiModel(m, vocab);
      m.dispose();
      return f;
    });
    const live = rt.mem.liveBytes;
    for (let i = 0; i < 400; i++) {
      const { bytes, how } = mutateModelFile(g.pick(files), g, ['options', 'vocabulary']);
      attempt('DMN model file', how, () => loadBabiModel(rt, bytes), ({ model, vocab: v }) => {
        // What loads must answer (words it does not know map to <unk>).
        const { questions } = evaluateBabi(model, v, examples.slice(0, 3));
        expect(questions).toBe(3);
        expect(() => makeDMNBatch([])).toThrow(/at least one example/);
        model.dispose();
      });
    }
    expect(rt.mem.liveBytes, 'no model or block left behind by a failed load').toBeLessThanOrEqual(live);
    expectNoCrashes('DMN model file', 150);
  });
});
