// bAbI question answering (Weston et al. 2015, v1.2 format): a reader, the questions with the
// facts before them (at most N, the most recent), a vocabulary and an encoder, and a built-in
// generator of bAbI-style stories for four tasks so demos and tests need no download.
//
// The format: one line per sentence, "ID text"; ID 1 starts a new story. A question line is
// "ID question?<TAB>answer<TAB>supporting IDs" (answers of tasks 8 and 19 are comma lists,
// e.g. "football,apple" or "n,s"). Facts are the story's statements (questions are not facts).
import { Rng } from '../train/rng.js';
import { Vocabulary } from './vocab.js';

/** One question with the statements of its story that precede it. */
export interface BabiExample {
  /** The facts, oldest first, each a list of lower-case words (punctuation dropped). */
  facts: string[][];
  question: string[];
  /** One word, or several for list answers (tasks 8, 19). */
  answer: string[];
  /** Indices into `facts` of the supporting statements, in the file's order; facts dropped by maxFacts are left out. */
  supporting: number[];
  /** Where the question came from ("file:line"), for error messages. */
  source: string;
}

export interface BabiParseOptions {
  /** At most this many facts per question, the most recent (default 40, as in DMN+). */
  maxFacts?: number;
  /** Name used in error messages (default 'input'). */
  source?: string;
}

/** Lower-case words without the final '.' / '?' and commas. */
export function babiWords(text: string): string[] {
  return text.toLowerCase().replace(/[.?!,]/g, ' ').split(/\s+/).filter((w) => w !== '');
}

/**
 * Parses bAbI v1.2 text into one example per question. Throws naming the source and line for
 * anything that is not that format: a line without a leading ID, IDs that do not count up from
 * 1 within a story, a question without an answer, a supporting ID that is not an earlier
 * statement of the story, a question before any statement.
 */
export function parseBabi(text: string, options: BabiParseOptions = {}): BabiExample[] {
  const source = options.source ?? 'input';
  const maxFacts = options.maxFacts ?? 40;
  if (!Number.isInteger(maxFacts) || maxFacts < 1) throw new RangeError(`maxFacts must be an integer >= 1, got ${maxFacts}`);
  if (typeof text !== 'string') throw new TypeError(`parseBabi expects the file's text as a string, got ${typeof text}`);
  const out: BabiExample[] = [];
  // The current story: statement words by line ID (questions hold no fact).
  let story: { id: number; words: string[] }[] = [];
  let lastId = 0;
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const where = `${source}:${index + 1}`;
    if (line.trim() === '') return;
    const m = /^(\d+) (.*)$/.exec(line);
    if (!m) throw new Error(`${where}: not bAbI format: a line must start with a sentence ID and a space ("1 Mary moved to the bathroom."), got ${JSON.stringify(line.slice(0, 60))}`);
    const id = Number(m[1]);
    if (id === 1) {
      story = [];
    } else if (id !== lastId + 1) {
      throw new Error(`${where}: sentence ID ${id} follows ${lastId}; IDs count up from 1 within a story`);
    }
    lastId = id;
    const parts = m[2].split('\t');
    if (parts.length === 1) {
      const words = babiWords(parts[0]);
      if (words.length === 0) throw new Error(`${where}: empty statement`);
      story.push({ id, words });
      return;
    }
    if (parts.length < 2 || parts[1].trim() === '') throw new Error(`${where}: a question line needs "question?<TAB>answer<TAB>supporting IDs"`);
    const question = babiWords(parts[0]);
    if (question.length === 0) throw new Error(`${where}: empty question`);
    const answer = parts[1].trim().toLowerCase().split(',').map((a) => a.trim()).filter((a) => a !== '');
    if (answer.length === 0) throw new Error(`${where}: empty answer`);
    if (story.length === 0) throw new Error(`${where}: a question with no statement before it in its story`);
    const kept = story.slice(-maxFacts);
    const first = story.length - kept.length;
    const supporting: number[] = [];
    for (const tok of (parts[2] ?? '').trim().split(/\s+/).filter((t) => t !== '')) {
      const sid = Number(tok);
      const at = story.findIndex((st) => st.id === sid);
      if (!Number.isInteger(sid) || at < 0) throw new Error(`${where}: supporting ID ${tok} is not an earlier statement of this story`);
      if (at >= first) supporting.push(at - first);
    }
    out.push({ facts: kept.map((st) => st.words), question, answer, supporting, source: where });
  });
  if (out.length === 0) throw new Error(`${source}: no questions found: not a bAbI file (expected lines like "3 Where is Mary? <TAB>bathroom<TAB>1")`);
  return out;
}

/** Reads a bAbI file (Node). */
export async function loadBabi(path: string, options: Omit<BabiParseOptions, 'source'> = {}): Promise<BabiExample[]> {
  const { readFile } = await import('node:fs/promises');
  return parseBabi(await readFile(path, 'utf8'), { ...options, source: path });
}

/** The answer as one class of the answer softmax: list answers joined with ',' ("football,apple"). */
export function answerToken(e: BabiExample): string {
  return e.answer.join(',');
}

/**
 * A vocabulary over the words of the facts and questions and the answer tokens; with
 * `answerWords` (the DMN's GRU answer decoder) also every word of a list answer ("n", "s").
 */
export function babiVocabulary(examples: BabiExample[], options: { answerWords?: boolean } = {}): Vocabulary {
  const seqs: string[][] = [];
  for (const e of examples) {
    for (const f of e.facts) seqs.push(f);
    seqs.push(e.question, [answerToken(e)]);
    if (options.answerWords && e.answer.length > 1) seqs.push(e.answer);
  }
  return Vocabulary.build(seqs);
}

/** An example as ids: facts, question, answer (words never seen map to <unk> = 1). */
export interface EncodedBabi {
  facts: Int32Array[];
  question: Int32Array;
  answer: number;
  /** The answer word by word (the GRU answer decoder's targets). */
  answerWords?: Int32Array;
  supporting: number[];
}

export function encodeBabi(e: BabiExample, vocab: Vocabulary): EncodedBabi {
  return {
    facts: e.facts.map((f) => vocab.encode(f)), question: vocab.encode(e.question), answer: vocab.id(answerToken(e)), answerWords: vocab.encode(e.answer),
    supporting: e.supporting,
  };
}

/**
 * The answer classes that are also story words: the names a story uses alike (the places of
 * tasks 1-3 and 14, the colours of task 16). Answers no story says (yes/no, counts, list tokens)
 * are left out, so renaming them can never contradict a story.
 */
export function renameableAnswerIds(encoded: EncodedBabi[]): Int32Array {
  const inStories = new Set<number>();
  for (const e of encoded) for (const f of e.facts) for (const w of f) inStories.add(w);
  const ids = new Set<number>();
  for (const e of encoded) if (e.answer > 1 && inStories.has(e.answer)) ids.add(e.answer);
  return Int32Array.from([...ids].sort((a, b) => a - b));
}

/**
 * The example with every group's word `group[i]` renamed to `group[perm[i]]` in every fact, the
 * question and the answer: one random renaming per question (the entity anonymisation of
 * Hermann et al. 2015), so the answer has to come from the story, not from which name it is.
 * `map` is scratch of vocabulary size holding the identity; it is left so.
 */
export function renameWords(e: EncodedBabi, groups: Int32Array[], perms: Int32Array[], map: Int32Array): EncodedBabi {
  groups.forEach((ids, k) => {
    for (let i = 0; i < ids.length; i++) map[ids[i]] = ids[perms[k][i]];
  });
  const rename = (s: Int32Array) => s.map((w) => map[w]);
  const out: EncodedBabi = {
    facts: e.facts.map(rename), question: rename(e.question), answer: map[e.answer],
    answerWords: e.answerWords && rename(e.answerWords), supporting: e.supporting,
  };
  for (const ids of groups) for (let i = 0; i < ids.length; i++) map[ids[i]] = ids[i];
  return out;
}

/**
 * The proper names of a bAbI file: statement words never written in lower case (Mary, Lily;
 * not "The", which is also "the"). Lower-cased, sorted. Some tasks have capitalised plurals
 * ("Mice are afraid of wolves") that this also returns: check the list before renaming.
 */
export function babiProperNames(text: string): string[] {
  const capital = new Set<string>(), lower = new Set<string>();
  for (const line of text.split('\n')) {
    const body = line.replace(/^\d+ /, '').split('\t')[0];
    const statement = !line.includes('\t');
    for (const w of body.replace(/[.?!,]/g, ' ').split(/\s+/)) {
      if (w === '') continue;
      if (w[0] !== w[0].toLowerCase()) {
        if (statement) capital.add(w.toLowerCase());
      } else lower.add(w.toLowerCase());
    }
  }
  return [...capital].filter((w) => !lower.has(w)).sort();
}

/** Splits off the last `fraction` of the questions as validation (the rule: the last 10%). */
export function splitBabi<T>(examples: T[], fraction = 0.1): { train: T[]; validation: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`validation fraction must be in (0, 1), got ${fraction}`);
  const cut = Math.max(1, Math.min(examples.length - 1, Math.round(examples.length * (1 - fraction))));
  return { train: examples.slice(0, cut), validation: examples.slice(cut) };
}

// ---------------------------------------------------------------- built-in generator

/** The tasks the generator writes (numbers as in bAbI). */
export const GENERATED_TASKS = {
  1: 'single supporting fact',
  2: 'two supporting facts',
  6: 'yes/no questions',
  8: 'lists/sets',
} as const;
export type GeneratedTask = keyof typeof GENERATED_TASKS;

const PEOPLE = ['mary', 'john', 'sandra', 'daniel'];
const PLACES = ['bathroom', 'hallway', 'garden', 'office', 'kitchen', 'bedroom'];
const MOVES = ['moved to', 'went to', 'journeyed to', 'travelled to', 'went back to'];
const OBJECTS = ['football', 'apple', 'milk'];
const GRABS = ['picked up', 'got', 'grabbed', 'took'];
const DROPS = ['dropped', 'discarded', 'put down', 'left'];

const cap = (w: string) => w[0].toUpperCase() + w.slice(1);

export interface GenerateOptions {
  task: GeneratedTask;
  /** Number of stories (default 200); each holds several questions. */
  stories?: number;
  seed?: number;
  /** Questions per story (default 5). */
  questionsPerStory?: number;
}

/**
 * bAbI-style stories as text in the v1.2 format (parse them with parseBabi). Task 1: where is a
 * person (the last move); 2: where is an object (who holds it, where that person went last);
 * 6: is a person in a place (yes/no); 8: what is a person carrying (a list, or 'nothing').
 */
export function generateBabi(options: GenerateOptions): string {
  const task = options.task;
  if (!(task in GENERATED_TASKS)) throw new RangeError(`generateBabi task must be one of ${Object.keys(GENERATED_TASKS).join(', ')}, got ${String(task)}`);
  const rng = new Rng(options.seed ?? 0);
  const pick = <T>(a: readonly T[]) => a[rng.int(a.length)];
  const stories = options.stories ?? 200;
  const perStory = options.questionsPerStory ?? 5;
  for (const [name, v] of [['stories', stories], ['questionsPerStory', perStory]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`generateBabi ${name} must be an integer >= 1, got ${v}`);
  }
  // The bound keeps the text well within what a string holds (about 100 bytes a question).
  if (stories * perStory > 1_000_000) throw new RangeError(`generateBabi writes at most 1000000 questions (stories x questionsPerStory), got ${stories} x ${perStory}`);
  const lines: string[] = [];
  for (let s = 0; s < stories; s++) {
    let id = 0;
    const where = new Map<string, { place: string; id: number }>();
    const holder = new Map<string, { person: string; id: number }>();
    const line = (text: string) => {
      lines.push(`${++id} ${text}`);
      return id;
    };
    const move = () => {
      const p = pick(PEOPLE), place = pick(PLACES);
      where.set(p, { place, id: line(`${cap(p)} ${pick(MOVES)} the ${place}.`) });
    };
    for (let qn = 0; qn < perStory; qn++) {
      const statements = 2 + rng.int(2);
      for (let k = 0; k < statements; k++) {
        if ((task === 2 || task === 8) && rng.uniform() < 0.45) {
          const p = pick(PEOPLE.filter((x) => task === 8 || where.has(x)).concat(task === 8 ? [] : [pick(PEOPLE)]));
          const held = OBJECTS.filter((o) => holder.get(o)?.person === p);
          if (held.length > 0 && rng.uniform() < 0.4) {
            const o = pick(held);
            line(`${cap(p)} ${pick(DROPS)} the ${o}.`);
            holder.delete(o);
          } else {
            const free = OBJECTS.filter((o) => !holder.has(o));
            if (free.length === 0) { move(); continue; }
            const o = pick(free);
            holder.set(o, { person: p, id: line(`${cap(p)} ${pick(GRABS)} the ${o}.`) });
          }
        } else move();
      }
      if (task === 1 || task === 6) {
        const known = [...where.keys()];
        if (known.length === 0) { move(); }
        const p = pick([...where.keys()]);
        const w = where.get(p)!;
        if (task === 1) line(`Where is ${cap(p)}? \t${w.place}\t${w.id}`);
        else {
          const yes = rng.uniform() < 0.5;
          const place = yes ? w.place : pick(PLACES.filter((x) => x !== w.place));
          line(`Is ${cap(p)} in the ${place}? \t${yes ? 'yes' : 'no'}\t${w.id}`);
        }
      } else if (task === 2) {
        const held = OBJECTS.filter((o) => holder.has(o) && where.has(holder.get(o)!.person));
        if (held.length === 0) {
          const p = pick([...where.keys()].length ? [...where.keys()] : PEOPLE);
          if (!where.has(p)) where.set(p, { place: pick(PLACES), id: line(`${cap(p)} went to the ${pick(PLACES)}.`) });
          const o = OBJECTS.find((x) => !holder.has(x)) ?? OBJECTS[0];
          if (holder.has(o)) { line(`${cap(holder.get(o)!.person)} dropped the ${o}.`); holder.delete(o); }
          holder.set(o, { person: p, id: line(`${cap(p)} picked up the ${o}.`) });
          const place = pick(PLACES);
          where.set(p, { place, id: line(`${cap(p)} ${pick(MOVES)} the ${place}.`) });
          held.push(o);
        }
        const o = pick(held);
        const h = holder.get(o)!;
        const w = where.get(h.person)!;
        // bAbI lists the supporting facts in the order they were used: the pick-up and the last move.
        line(`Where is the ${o}? \t${w.place}\t${h.id} ${w.id}`);
      } else {
        // Mostly someone who holds something: 'nothing' would otherwise dominate the answers.
        const holders = [...new Set([...holder.values()].map((h) => h.person))];
        const p = holders.length > 0 && rng.uniform() < 0.75 ? pick(holders) : pick(PEOPLE);
        const held = OBJECTS.filter((o) => holder.get(o)?.person === p);
        const ids = held.map((o) => holder.get(o)!.id);
        line(`What is ${cap(p)} carrying? \t${held.length ? held.join(',') : 'nothing'}\t${ids.join(' ')}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}
