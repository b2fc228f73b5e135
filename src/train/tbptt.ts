// Truncated BPTT on a stream longer than any unroll: a character-level LSTM language model
// reads the stream in chunks of `unroll` steps over `batch` parallel lanes. Each chunk starts
// from the previous chunk's final state (hN, cN passed as h0, c0), and its backward ignores
// dH0/dC0, so gradients stop at the chunk boundary while the state flows on.
// Everything stays in wasm memory: the LSTM runs through its device API, the output layer
// is two GEMMs, and one parameter block (LSTM + head) gets one clipping and one Adam call.
import { gemm } from '../kernels/gemm.js';
import { biasAddRows, biasAddRowsBackward } from '../kernels/elementwise.js';
import { softmaxCrossEntropy } from '../kernels/loss.js';
import { Adam, clipGradNorm } from '../kernels/optim.js';
import { LSTM } from '../layers/lstm.js';
import { prefixSpecs } from '../layers/linear.js';
import { checkPositive, checkSize } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { ParameterBlock, Tensor } from '../runtime/tensor.js';
import { Rng } from './rng.js';

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

/** Trains on the whole stream once; returns the per-chunk losses. */
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
  const laneLength = Math.floor((stream.length - 1) / B);
  const chunks = Math.floor(laneLength / T);
  if (chunks < 1) throw new RangeError(`stream of ${stream.length} tokens is too short for batch ${B} x unroll ${T}`);

  const lstmOptions = { inputSize: V, hiddenSize: H };
  const block = new ParameterBlock(rt.mem, [
    ...prefixSpecs('lstm.', LSTM.parameterSpecs(lstmOptions)),
    { name: 'head.weight', shape: [V, H] },
    { name: 'head.bias', shape: [V] },
  ]);
  const lstm = new LSTM(rt, { ...lstmOptions, block, prefix: 'lstm.', seed: options.seed ?? 1 });
  const rng = new Rng((options.seed ?? 1) + 1);
  const headW = block.value('head.weight'), headB = block.value('head.bias');
  rng.fillUniform(headW.view(), -1 / Math.sqrt(H), 1 / Math.sqrt(H));
  const optimizer = new Adam(rt, block, { lr });

  // The carried state lives outside the step arena (which resets every chunk).
  const state = [1, 1].map(() => new Tensor(rt.mem, rt.mem.alloc(B * H * 4), [1, B, H]));
  const arena = new Arena(rt.mem);
  const losses: number[] = [];
  const rows = T * B;
  for (let c = 0; c < chunks; c++) {
    arena.reset();
    // One-hot inputs [T, B, V] and next-token targets [T*B], lane b reading its own piece.
    const x = new Tensor(rt.mem, arena.allocZeroed(rows * V * 4), [T, B, V]);
    const targets = arena.alloc(rows * 4);
    const xv = x.view(), tv = rt.mem.i32(targets, rows);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const pos = b * laneLength + c * T + t;
        xv[(t * B + b) * V + stream[pos]] = 1;
        tv[t * B + b] = stream[pos + 1];
      }
    }
    const out = lstm.forwardDevice({ x, h0: state[0], c0: state[1], arena, training: true });
    // Head: logits = out · Wᵀ + b; softmax cross-entropy writes dlogits.
    const logits = arena.alloc(rows * V * 4), dlogits = arena.alloc(rows * V * 4);
    gemm(rt, { transB: true, m: rows, n: V, k: H, a: out.output.ptr, b: headW.ptr, c: logits });
    biasAddRows(rt, { y: logits, b: headB.ptr, rows, cols: V });
    losses.push(softmaxCrossEntropy(rt, { logits, targets, dlogits, rows, cols: V }));
    options.onChunk?.(c, losses[c]);
    // Backward: head gradients, then BPTT inside the chunk only (dH0/dC0 are dropped).
    const dOut = new Tensor(rt.mem, arena.alloc(rows * H * 4), [T, B, H]);
    gemm(rt, { m: rows, n: H, k: V, a: dlogits, b: headW.ptr, c: dOut.ptr });
    gemm(rt, { transA: true, m: V, n: H, k: rows, a: dlogits, b: out.output.ptr, beta: 1, c: block.grad('head.weight').ptr });
    biasAddRowsBackward(rt, { dy: dlogits, db: block.grad('head.bias').ptr, rows, cols: V });
    lstm.backwardDevice({ dOutput: dOut, arena, inputGrad: false }); // one-hot inputs need no gradient
    clipGradNorm(rt, block, clip);
    optimizer.step();
    block.zeroGrad();
    state[0].set(out.hN.view());
    state[1].set(out.cN!.view());
  }
  const result = { losses, tokens: chunks * rows, arenaHighWater: arena.highWater };
  arena.dispose();
  for (const s of state) rt.mem.free(s.ptr);
  optimizer.dispose();
  block.dispose();
  return result;
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
