// Labelled sentences, one per line: 'sentence<TAB>label' (the UCI "Sentiment Labelled
// Sentences" files: amazon_cells, imdb, yelp). Lines split on '\n' only: U+0085 (NEL) occurs
// inside imdb sentences and is not a line break here. Fields are trimmed (imdb puts two spaces
// before the TAB); no CSV quoting (some lines have unbalanced '"').

export interface LabelledSentence {
  sentence: string;
  label: number;
}

export interface ParseLabelledOptions {
  /** Name used in error messages (a file name). */
  source?: string;
  /** Allowed labels; default [0, 1]. */
  labels?: number[];
}

/** Parses the text of a labelled-sentences file; a malformed line throws naming source and line. */
export function parseLabelledSentences(text: string, options: ParseLabelledOptions = {}): LabelledSentence[] {
  if (typeof text !== 'string') throw new TypeError(`parseLabelledSentences: expected the file text as a string, got ${typeof text}`);
  const source = options.source ?? 'input';
  const allowed = options.labels ?? [0, 1];
  const out: LabelledSentence[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue; // blank lines and the final newline
    const where = `${source}:${i + 1}`;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new Error(`${where}: expected 'sentence<TAB>label', found no TAB`);
    const sentence = line.slice(0, tab).trim();
    const labelText = line.slice(tab + 1).trim();
    if (sentence === '') throw new Error(`${where}: empty sentence`);
    if (!/^-?\d+$/.test(labelText)) throw new Error(`${where}: label ${JSON.stringify(labelText)} is not an integer`);
    const label = Number(labelText);
    if (!allowed.includes(label)) throw new Error(`${where}: label ${label} is not one of ${allowed.join(', ')}`);
    out.push({ sentence, label });
  }
  return out;
}

/** Reads and parses a labelled-sentences file (Node; node:fs is imported only when called). */
export async function loadLabelledSentences(path: string, options: Omit<ParseLabelledOptions, 'source'> = {}): Promise<LabelledSentence[]> {
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not valid UTF-8`);
  }
  return parseLabelledSentences(text, { ...options, source: path });
}
