// The wave's layers on the tape refuse a layer of another runtime, as the recurrent layers
// and tensor ops do (tape.checkOp), before any kernel runs on the wrong memory.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { Attention } from '../src/layers/attention.js';
import { attention, attentionMemory } from '../src/layers/attention-tape.js';
import { EpisodeAttention, episodeAttention } from '../src/layers/episode.js';
import { MDLSTM, mdlstm } from '../src/layers/mdlstm.js';
import { Tape } from '../src/train/tape.js';

describe('tape ops of the attention, DMN and MDLSTM layers refuse another runtime', () => {
  let rt: Runtime, other: Runtime;
  beforeAll(async () => {
    rt = await createRuntime();
    other = await createRuntime();
  });

  it('attentionMemory and attention', () => {
    const tape = new Tape(rt);
    const foreign = new Attention(other, { score: 'general', querySize: 3, keySize: 3, attentionSize: 3, seed: 1 });
    const h = tape.input(new Float32Array(2 * 4 * 3).fill(0.1), [2, 4, 3]);
    const s = tape.input(new Float32Array(2 * 3).fill(0.2), [2, 3]);
    expect(() => attentionMemory(tape, foreign, h)).toThrow(/attentionMemory: the layer belongs to another runtime/);
    expect(() => attention(tape, foreign, s, h)).toThrow(/attention: the layer belongs to another runtime/);
    const own = new Attention(rt, { score: 'general', querySize: 3, keySize: 3, attentionSize: 3, seed: 1 });
    expect(attention(tape, own, s, h).context.shape).toEqual([2, 3]);
  });

  it('episodeAttention', () => {
    const tape = new Tape(rt);
    const foreign = new EpisodeAttention(other, { factSize: 3, hiddenSize: 3, gateSize: 4, cell: 'attention-gru', seed: 1 });
    const s = tape.input(new Float32Array(2 * 2 * 3).fill(0.1), [2, 2, 3]);
    const q = tape.input(new Float32Array(2 * 3).fill(0.2), [2, 3]);
    expect(() => episodeAttention(tape, foreign, s, q, q, Int32Array.from([2, 1]))).toThrow(/episodeAttention: the layer belongs to another runtime/);
  });

  it('mdlstm', () => {
    const tape = new Tape(rt);
    const foreign = new MDLSTM(other, { inputSize: 2, hiddenSize: 3, directions: [0], seed: 1 });
    const x = tape.input(new Float32Array(1 * 2 * 2 * 2).fill(0.1), [1, 2, 2, 2]);
    expect(() => mdlstm(tape, foreign, x)).toThrow(/mdlstm: the layer belongs to another runtime/);
  });
});
