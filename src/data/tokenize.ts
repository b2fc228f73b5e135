// Tokenizers: words (lowercased letter runs) and characters (Unicode code points).

/**
 * Lowercases and splits on everything that is not a letter (any script: \p{L}, with combining
 * marks kept on their letter). Digits and punctuation separate tokens and are dropped, so
 * "Don't buy it, 10/10!" gives ["don", "t", "buy", "it"].
 */
export function tokenizeWords(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`tokenizeWords: expected a string, got ${typeof text}`);
  return text.normalize('NFC').toLowerCase().match(/\p{L}[\p{L}\p{M}]*/gu) ?? [];
}

/** The characters (code points, so astral symbols stay whole) of the text. */
export function tokenizeChars(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`tokenizeChars: expected a string, got ${typeof text}`);
  return Array.from(text);
}
