// The DMN's word tables (projectSentences, projectWords): a GRU fed the products they gather
// (inputProjected) gives the same outputs and the same gradients for every parameter (the
// embedding, both directions' W_ih, W_hh and biases) as the plain path, the sentence reader
// or the embedding followed by the GRU's own input product. Both paths run on one layer.
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRelError, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { positionalEncoding, projectSentences, projectWords } from '../src/models/dmn.js';
import { Embedding } from '../src/layers/embedding.js';
import { GRU } from '../src/layers/gru.js';
import { LSTM } from '../src/layers/lstm.js';
import { sequenceForward } from '../src/kernels/recurrent.js';
import { recurrent } from '../src/layers/ops.js';
import { reshape } from '../src/layers/tensor-ops.js';
import { Tape, type Variable } from '../src/train/tape.js';
import { Rng } from '../src/train/rng.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await runtimeFor('simd');
});

const V = 7, E = 6, H = 5;

function setup(bidirectional: boolean) {
  const rng = new Rng(5);
  const embedding = new Embedding(rt, { numEmbeddings: V, embeddingDim: E });
  embedding.resetParameters(rng);
  const gru = new GRU(rt, { inputSize: E, hiddenSize: H, bidirectional });
  gru.resetParameters(rng);
  return { embedding, gru };
}

/** Output and every gradient of one path, for an upstream gradient R on the GRU's output. */
function run(embedding: Embedding, gru: GRU, build: (tape: Tape) => Variable, R: Float32Array) {
  embedding.block.zeroGrad();
  gru.zeroGrad();
  const tape = new Tape(rt);
  const out = build(tape);
  const output = out.toArray();
  out.grad().view().set(R);
  tape.backward();
  const grads: Record<string, Float32Array> = { embedding: embedding.block.grad(embedding.prefix + 'weight').view().slice() };
  for (const [name, t] of Object.entries(gru.gradients())) grads[name] = Float32Array.from(t.data);
  tape.reset();
  return { output, grads };
}

function expectSame(a: ReturnType<typeof run>, b: ReturnType<typeof run>) {
  expect(maxRelError(a.output, b.output)).toBeLessThan(1e-5);
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  for (const name of Object.keys(b.grads)) {
    expect(maxRelError(a.grads[name], b.grads[name]), name).toBeLessThan(1e-4);
    expect(b.grads[name].some((v) => v !== 0), `${name} has a gradient`).toBe(true);
  }
}

describe('word tables = the plain input products', () => {
  it('projectSentences: the sentence reader and a bidirectional GRU, padded sentences and facts', () => {
    const { embedding, gru } = setup(true);
    const M = 3, B = 4, L = 4;
    const ids = Int32Array.from(randomArray(M * B * L, 11), (v) => Math.floor(Math.abs(v) * 1000) % V);
    const wordCounts = Int32Array.of(4, 1, 3, 2, 0, 4, 2, 1, 3, 0, 4, 2); // [M, B]: 0 = a padded fact
    const factCounts = Int32Array.of(2, 3, 1, 3);
    for (let b = 0; b < B; b++) for (let m = 0; m < M; m++) if (m >= factCounts[b]) wordCounts[m * B + b] = 0;
    const R = randomArray(M * B * 2 * H, 12);
    const tables = run(embedding, gru, (tape) => recurrent(tape, gru, projectSentences(tape, embedding, gru, ids, [M, B, L], wordCounts), { lengths: factCounts, inputProjected: true }).output, R);
    const plain = run(embedding, gru, (tape) => {
      const words = reshape(tape, embedding.forward(tape, ids, [M * B * L]), [M, B, L, E]);
      return recurrent(tape, gru, positionalEncoding(tape, words, wordCounts), { lengths: factCounts }).output;
    }, R);
    expectSame(tables, plain);
    embedding.block.dispose();
    gru.dispose();
  });

  it('projectWords: embedded words and a GRU, padded sequences', () => {
    const { embedding, gru } = setup(false);
    const T = 5, B = 3;
    const ids = Int32Array.from(randomArray(T * B, 13), (v) => Math.floor(Math.abs(v) * 1000) % V);
    const lengths = Int32Array.of(5, 2, 4);
    const R = randomArray(T * B * H, 14);
    const tables = run(embedding, gru, (tape) => recurrent(tape, gru, projectWords(tape, embedding, gru, ids, [T, B]), { lengths, inputProjected: true }).output, R);
    const plain = run(embedding, gru, (tape) => recurrent(tape, gru, embedding.forward(tape, ids, [T, B]), { lengths }).output, R);
    expectSame(tables, plain);
    embedding.block.dispose();
    gru.dispose();
  });

  it('inputProjected: refused for non-GRU layers, a given weightIh and a wrong width, before any kernel', () => {
    const { embedding, gru } = setup(true);
    const tape = new Tape(rt);
    const x = tape.input(randomArray(2 * 3 * E, 15), [2, 3, E]);
    expect(() => recurrent(tape, gru, x, { inputProjected: true })).toThrow(/x must have shape \[T, B, D\*3H \(inputProjected\)\] with D\*3H \(inputProjected\) 30, got \[2, 3, 6\]/);
    const lstm = new LSTM(rt, { inputSize: E, hiddenSize: H });
    const live = rt.liveBytes;
    expect(() => recurrent(tape, lstm, x, { inputProjected: true })).toThrow(/inputProjected is only accepted by GRU layers, not LSTM/);
    expect(() => sequenceForward(rt, { cell: 'lstm', steps: 1, batch: 1, inputSize: 4 * H, hiddenSize: H, x: 8, weightIh: 0, weightHh: 8, h0: 8, output: 8, hN: 8, gates: 8, work: 8, inputProjected: true }))
      .toThrow(/inputProjected is only accepted for GRU cells, got lstm/);
    expect(() => sequenceForward(rt, { cell: 'gru_after', steps: 1, batch: 1, inputSize: 3 * H, hiddenSize: H, x: 8, weightIh: 8, weightHh: 8, h0: 8, output: 8, hN: 8, gates: 8, work: 8, inputProjected: true }))
      .toThrow(/weightIh must be absent \(0\) with inputProjected/);
    expect(() => sequenceForward(rt, { cell: 'gru_after', steps: 1, batch: 1, inputSize: H, hiddenSize: H, x: 8, weightIh: 0, weightHh: 8, h0: 8, output: 8, hN: 8, gates: 8, work: 8, inputProjected: true }))
      .toThrow(/inputProjected needs inputSize = 3 \* hiddenSize = 15/);
    expect(rt.liveBytes).toBe(live);
    lstm.dispose();
    tape.reset();
    embedding.block.dispose();
    gru.dispose();
  });
});
