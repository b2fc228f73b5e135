// A built-in translation task whose alignment a person can read: dates in
// many written French forms -> ISO dates, e.g.
//   "mardi 13 mars 2018"   -> "2 0 1 8 - 0 3 - 1 3"
//   "le 1er janv. 1999"    -> "1 9 9 9 - 0 1 - 0 1"
//   "13/03/18"             -> "2 0 1 8 - 0 3 - 1 3"
// Source tokens are words (a day, a month name, a year are one token each),
// target tokens are the ISO date's characters, so an attention heatmap shows
// the year's four digits looking at the year, the month's at the month name,
// and so on. Weekdays are the true weekday of the date (extra words the model
// must learn to ignore). Two-digit years read 70-99 as 19xx and 00-39 as 20xx.
import type { Rng } from '../train/rng.js';
import { PAD, UNK, Vocabulary } from './vocab.js';
import { EOS, SOS } from './translation.js';

export const DATE_FIRST_YEAR = 1970;
export const DATE_LAST_YEAR = 2039;

const MONTHS = ['janvier', 'fevrier', 'mars', 'avril', 'mai', 'juin', 'juillet', 'aout', 'septembre', 'octobre', 'novembre', 'decembre'];
const MONTHS_SHORT = ['janv.', 'fevr.', 'mars', 'avr.', 'mai', 'juin', 'juil.', 'aout', 'sept.', 'oct.', 'nov.', 'dec.'];
/** Date.getUTCDay() order: Sunday first. */
const WEEKDAYS = ['dimanche', 'lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi'];

/** The written forms, by name (the generator draws one uniformly per example). */
export const DATE_FORMS = ['weekday-long', 'long', 'le-long', 'weekday-le-long', 'short-month', 'slash', 'slash-short', 'dots-short'] as const;
export type DateForm = (typeof DATE_FORMS)[number];

export interface DateExample {
  /** French words, e.g. ['mardi', '13', 'mars', '2018']. */
  source: string[];
  /** ISO characters, e.g. ['2','0','1','8','-','0','3','-','1','3']. */
  target: string[];
  iso: string;
  form: DateForm;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The French words of one date in one form. */
export function writeFrenchDate(year: number, month: number, day: number, form: DateForm): string[] {
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    throw new RangeError(`writeFrenchDate: ${year}-${month}-${day} is not a calendar date`);
  }
  if (year < DATE_FIRST_YEAR || year > DATE_LAST_YEAR) throw new RangeError(`writeFrenchDate: year must lie in [${DATE_FIRST_YEAR}, ${DATE_LAST_YEAR}], got ${year}`);
  const weekday = WEEKDAYS[d.getUTCDay()];
  const dayWord = day === 1 ? '1er' : String(day);
  const yy = pad2(year % 100);
  switch (form) {
    case 'weekday-long': return [weekday, dayWord, MONTHS[month - 1], String(year)];
    case 'long': return [dayWord, MONTHS[month - 1], String(year)];
    case 'le-long': return ['le', dayWord, MONTHS[month - 1], String(year)];
    case 'weekday-le-long': return [weekday, ',', 'le', dayWord, MONTHS[month - 1], String(year)];
    case 'short-month': return [dayWord, MONTHS_SHORT[month - 1], String(year)];
    case 'slash': return [pad2(day), '/', pad2(month), '/', String(year)];
    case 'slash-short': return [pad2(day), '/', pad2(month), '/', yy];
    case 'dots-short': return [pad2(day), '.', pad2(month), '.', yy];
    default: throw new RangeError(`writeFrenchDate: unknown form ${String(form)}`);
  }
}

/** A uniformly drawn date of [DATE_FIRST_YEAR, DATE_LAST_YEAR] in a uniformly drawn form. */
export function randomDateExample(rng: Rng, forms: readonly DateForm[] = DATE_FORMS): DateExample {
  const first = Date.UTC(DATE_FIRST_YEAR, 0, 1);
  const days = Math.round((Date.UTC(DATE_LAST_YEAR, 11, 31) - first) / 86_400_000) + 1;
  const d = new Date(first + rng.int(days) * 86_400_000);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  const form = forms[rng.int(forms.length)];
  const iso = `${year}-${pad2(month)}-${pad2(day)}`;
  return { source: writeFrenchDate(year, month, day, form), target: iso.split(''), iso, form };
}

/** `count` seeded examples (the same rng state gives the same list). */
export function generateDateExamples(count: number, rng: Rng, forms: readonly DateForm[] = DATE_FORMS): DateExample[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`generateDateExamples: count must be a non-negative integer, got ${count}`);
  return Array.from({ length: count }, () => randomDateExample(rng, forms));
}

/**
 * Fixed vocabularies covering every token the generator can write, so any
 * seed's examples encode without <unk>. Layout as translationVocabularies:
 * <pad> 0, <unk> 1, <sos> 2, <eos> 3, then the words.
 */
export function dateVocabularies(): { source: Vocabulary; target: Vocabulary } {
  const words = new Set<string>([...WEEKDAYS, ...MONTHS, ...MONTHS_SHORT, 'le', ',', '/', '.', '1er']);
  for (let n = 1; n <= 31; n++) {
    words.add(String(n));
    words.add(pad2(n));
  }
  for (let y = DATE_FIRST_YEAR; y <= DATE_LAST_YEAR; y++) {
    words.add(String(y));
    words.add(pad2(y % 100));
  }
  const specials = [PAD, UNK, SOS, EOS];
  return {
    source: new Vocabulary([...specials, ...words], 4),
    target: new Vocabulary([...specials, ...'0123456789-'], 4),
  };
}

/** Digit-string toy tasks of the seq2seq tests: copy, reverse or sort a string of 1..maxLength digits. */
export type DigitTask = 'copy' | 'reverse' | 'sort';

export function digitTaskExamples(task: DigitTask, count: number, rng: Rng, maxLength = 20, minLength = 1): DateExample[] {
  if (task !== 'copy' && task !== 'reverse' && task !== 'sort') throw new RangeError(`digit task must be 'copy', 'reverse' or 'sort', got ${String(task)}`);
  return Array.from({ length: count }, () => {
    const n = minLength + rng.int(maxLength - minLength + 1);
    const source = Array.from({ length: n }, () => String(rng.int(10)));
    const target = task === 'copy' ? source.slice() : task === 'reverse' ? source.slice().reverse() : source.slice().sort();
    return { source, target, iso: target.join(''), form: 'long' as DateForm };
  });
}

/** Vocabulary of the digit tasks (the same for source and target). */
export function digitVocabulary(): Vocabulary {
  return new Vocabulary([PAD, UNK, SOS, EOS, ...'0123456789'], 4);
}
