// Truncated BPTT on a stream longer than any unroll, as one synchronous loop: the
// character-level language model of charlm.ts reads the stream cut into `batch` lanes and
// chunks of `unroll` steps (streamChunks); each chunk starts from the previous chunk's final
// state, carried as a constant so gradients stop at the chunk boundary (CharLanguageModel.loss);
// then one clipping and one Adam call over the model's one parameter block. The chunking and
// the carried state are charlm.ts's, the only ones: trainCharLM (tasks.ts) runs the same model
// and chunks through the Trainer, this loop runs them without it and reports every chunk's loss.
import { Adam, clipGradNorm } from '../kernels/optim.js';
import { checkPositive, checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { Rng } from '../train/rng.js';
import { CharLanguageModel, streamChunks } from './charlm.js';

export interface TbpttOptions {
  /** The token stream: ids in [0, vocab). */
  stream: Int32Array;
  vocab: number;
  hiddenSize?: number;
  /** Steps per chunk (the truncation length). Default 32. */
  unroll?: number;
  /** Parallel lanes: the stream is cut into this many contiguous pieces. Default 16. */
  batch?: number;
  lr?: number;
  clip?: number;
  seed?: number;
  /** Called after every chunk with the chunk index and its mean cross-entropy. */
  onChunk?: (chunk: number, loss: number) => void;
}

export interface TbpttResult {
  /** Mean cross-entropy (nats per token) of every chunk, in order. */
  losses: number[];
  /** Tokens consumed in total (all lanes). */
  tokens: number;
  /** Bytes of the step arena at its high-water mark. */
  arenaHighWater: number;
}

/** Trains an LSTM language model on the whole stream once; returns the per-chunk losses. */
export function trainTbpttStream(rt: Runtime, options: TbpttOptions): TbpttResult {
  const V = checkSize('vocab', options.vocab, 2);
  const H = checkSize('hiddenSize', options.hiddenSize ?? 32, 1);
  const T = checkSize('unroll', options.unroll ?? 32, 1);
  const B = checkSize('batch', options.batch ?? 16, 1);
  const lr = checkPositive('lr', options.lr ?? 1e-2);
  const clip = checkPositive('clip', options.clip ?? 1);
  const stream = options.stream;
  if (!(stream instanceof Int32Array)) throw new TypeError('stream must be an Int32Array of token ids');
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] < 0 || stream[i] >= V) throw new RangeError(`stream[${i}] = ${stream[i]} is outside [0, ${V})`);
  }
  const chunks = streamChunks(stream, B, T);
  const model = new CharLanguageModel(rt, { vocabSize: V, hiddenSize: H, cell: 'lstm', seed: options.seed ?? 1 });
  const optimizer = new Adam(rt, model.params, { lr });
  const losses: number[] = [];
  try {
    chunks.forEach((chunk, c) => {
      model.tape.reset();
      model.zeroGrad();
      losses.push(model.loss(chunk));
      model.tape.backward();
      clipGradNorm(rt, model.params, clip);
      optimizer.step();
      options.onChunk?.(c, losses[c]);
    });
    return { losses, tokens: chunks.length * T * B, arenaHighWater: model.tape.arena.highWater };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/**
 * A synthetic text stream: words drawn at random from a small list, separated by spaces,
 * as ids over the characters that occur. Letters inside a word are predictable, the next
 * word is not, so a model's loss falls well below log(vocab) but not to zero.
 */
export function syntheticWordStream(length: number, seed = 1): { stream: Int32Array; alphabet: string } {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'to', 'log', 'and', 'hid', 'under', 'red', 'rug'];
  const alphabet = [...new Set(words.join(' ') + ' ')].sort().join('');
  const rng = new Rng(seed);
  const stream = new Int32Array(length);
  let i = 0;
  while (i < length) {
    for (const ch of words[rng.int(words.length)] + ' ') {
      if (i >= length) break;
      stream[i++] = alphabet.indexOf(ch);
    }
  }
  return { stream, alphabet };
}
