// Token <-> id mapping with <pad> = 0 and <unk> = 1, then optional extra specials (e.g. <bos>,
// <eos>), then the corpus tokens by descending frequency (ties by first appearance, so a build
// is deterministic). Serialisable as JSON for checkpoints.

export const PAD = '<pad>';
export const UNK = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;

export interface VocabularyOptions {
  /** Tokens seen fewer times are left out (they map to <unk>). Default 1. */
  minCount?: number;
  /** At most this many entries in total, specials included. Default unlimited. */
  maxSize?: number;
  /** Extra special tokens after <pad> and <unk>, e.g. ['<bos>', '<eos>']. */
  specials?: string[];
}

export interface VocabularyJson {
  tokens: string[];
  specials: number;
}

export class Vocabulary {
  private readonly ids = new Map<string, number>();
  private readonly tokenList: string[];
  /** How many leading entries are special tokens (<pad>, <unk> and the extras). */
  readonly specialCount: number;

  /** `tokens` is the full id -> token table; it must start with <pad>, <unk>. */
  constructor(tokens: string[], specialCount = 2) {
    if (!Array.isArray(tokens) || tokens[0] !== PAD || tokens[1] !== UNK) {
      throw new Error(`Vocabulary: the token table must start with "${PAD}", "${UNK}"`);
    }
    if (!Number.isInteger(specialCount) || specialCount < 2 || specialCount > tokens.length) {
      throw new RangeError(`Vocabulary: specialCount must be an integer in [2, ${tokens.length}], got ${specialCount}`);
    }
    tokens.forEach((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`Vocabulary: token ${i} is not a string`);
      if (this.ids.has(t)) throw new Error(`Vocabulary: token ${JSON.stringify(t)} appears twice (ids ${this.ids.get(t)} and ${i})`);
      this.ids.set(t, i);
    });
    this.tokenList = tokens.slice();
    this.specialCount = specialCount;
  }

  /** Counts tokens over the sequences and keeps the frequent ones. */
  static build(sequences: Iterable<Iterable<string>>, options: VocabularyOptions = {}): Vocabulary {
    const minCount = options.minCount ?? 1;
    if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`minCount must be an integer >= 1, got ${minCount}`);
    const specials = [PAD, UNK, ...(options.specials ?? [])];
    const maxSize = options.maxSize ?? Infinity;
    if (!(maxSize >= specials.length)) throw new RangeError(`maxSize must be >= ${specials.length} (the special tokens), got ${options.maxSize}`);
    const counts = new Map<string, number>();
    for (const seq of sequences) for (const t of seq) counts.set(t, (counts.get(t) ?? 0) + 1);
    const reserved = new Set(specials);
    // Map iteration is insertion order, and Array.prototype.sort is stable: ties keep first appearance.
    const ranked = [...counts].filter(([t, c]) => c >= minCount && !reserved.has(t)).sort((a, b) => b[1] - a[1]);
    const tokens = specials.concat(ranked.slice(0, Math.max(0, maxSize - specials.length)).map(([t]) => t));
    return new Vocabulary(tokens, specials.length);
  }

  static fromJSON(json: VocabularyJson): Vocabulary {
    if (json === null || typeof json !== 'object' || !Array.isArray(json.tokens)) throw new Error('Vocabulary.fromJSON: expected { tokens: string[], specials: number }');
    return new Vocabulary(json.tokens, json.specials);
  }

  toJSON(): VocabularyJson {
    return { tokens: this.tokenList.slice(), specials: this.specialCount };
  }

  get size(): number {
    return this.tokenList.length;
  }

  /** The id of a token, <unk> (1) when unknown. */
  id(token: string): number {
    return this.ids.get(token) ?? UNK_ID;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** The token of an id; throws for ids outside the table. */
  token(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokenList.length) {
      throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.tokenList.length})`);
    }
    return this.tokenList[id];
  }

  encode(tokens: ArrayLike<string>): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.id(tokens[i]);
    return out;
  }

  /** Tokens of the ids; <pad> is dropped unless keepPad. */
  decode(ids: ArrayLike<number>, keepPad = false): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) if (keepPad || ids[i] !== PAD_ID) out.push(this.token(ids[i]));
    return out;
  }

  /** All tokens in id order. */
  tokens(): string[] {
    return this.tokenList.slice();
  }
}
