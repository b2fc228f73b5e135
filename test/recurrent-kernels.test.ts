// The checked entry points of the whole-sequence kernels (src/kernels/recurrent.ts): bad
// arguments are refused with a message naming them, before any kernel runs.
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeFor } from './helpers.js';
import { expectRejected } from './kernel-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { sequenceBackward, sequenceForward, sequenceWorkFloats, swapAxes01 } from '../src/kernels/recurrent.js';
import { CELL_KINDS, RECURRENT_NAMES, kindFor, recurrentKind } from '../src/kernels/cell-kinds.js';
import { GRU, RNN } from '../src/layers/index.js';

describe('sequence kernel entry points', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });

  const T = 3, B = 2, I = 4, H = 5;
  function buffers(G: number) {
    const f = (n: number) => rt.mem.alloc(n * 4);
    return {
      x: f(T * B * I), wIh: f(G * H * I), wHh: f(G * H * H), h0: f(B * H), c0: f(B * H), out: f(T * B * H), hN: f(B * H), cN: f(B * H),
      gates: f(T * B * G * H), hprev: f(T * B * H), cprev: f(T * B * H), extra: f(T * B * H), lengths: f(B),
      work: f(sequenceWorkFloats(rt, { cell: 'lstm', phase: 'forward', batch: B, inputSize: I, hiddenSize: H })),
    };
  }

  it('refuses missing or extra kept buffers, bad lengths, unknown cells and short work', () => {
    const p = buffers(4);
    const base = {
      cell: 'lstm' as const, steps: T, batch: B, inputSize: I, hiddenSize: H, x: p.x, weightIh: p.wIh, weightHh: p.wHh,
      h0: p.h0, c0: p.c0, output: p.out, hN: p.hN, cN: p.cN, gates: p.gates, work: p.work,
    };
    sequenceForward(rt, base); // valid: its shape is now cached, and every call below is still checked in full
    expectRejected(rt, () => sequenceForward(rt, { ...base, c0: undefined }), /c0 is required for LSTM/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, batch: 0 }), /sequenceForward batch must be an integer >= 1/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, steps: 2.5 }), /sequenceForward steps must be an integer >= 1/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, ldout: H - 1 }), /sequenceForward ldout must be >= cols/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, hN: rt.mem.heapBase - 64 }), /sequenceForward hN: byte range/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, output: p.out + 2 }), /sequenceForward output: pointer .* must be 4-byte aligned/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, hprev: p.hprev }), /cprev is required for LSTM training/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, cell: 'gru_after', c0: 0, cN: 0, extra: p.extra }), /extra is only accepted for GRU training/);
    rt.mem.i32(p.lengths, B).set([3, 4]);
    expectRejected(rt, () => sequenceForward(rt, { ...base, lengths: p.lengths }), /lengths\[1\] must be in 1..3/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, cell: 'attention_gru' as never }), /no whole-sequence kernels/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, biasIh: p.h0 }), /biasIh and biasHh must be given together/);
    expectRejected(rt, () => sequenceForward(rt, { ...base, x: rt.mem.byteLength - 16 }), /sequenceForward x: byte range/);
    expectRejected(rt, () => sequenceBackward(rt, {
      cell: 'gru_after', steps: T, batch: B, inputSize: I, hiddenSize: H, x: p.x, weightIh: p.wIh, weightHh: p.wHh, gates: p.gates,
      hprev: p.hprev, extra: p.extra, dh0: p.h0, gradWeightIh: p.wIh, gradWeightHh: p.wHh, dgates: p.gates, work: p.work,
    }), /dgn is required for the reset-after GRU/);
    expectRejected(rt, () => swapAxes01(rt, { d0: T, d1: B, features: I, src: p.x, dst: p.x }), /dst must not overlap src/);
  });

  it('every sequence kind of the table has kernels and torch gate counts', () => {
    const seq = Object.values(CELL_KINDS).filter((d) => d.sequence).map((d) => [d.kind, d.gates]);
    expect(seq).toEqual([['lstm', 4], ['gru_after', 3], ['gru_before', 3], ['rnn_tanh', 1], ['rnn_relu', 1]]);
    expect(CELL_KINDS.attention_gru.gates).toBe(2);
  });

  it('names and variants come from the table: what models, the CLI and the bench choose by', () => {
    expect(RECURRENT_NAMES).toEqual(['lstm', 'gru', 'rnn']);
    expect(RECURRENT_NAMES.map((n) => recurrentKind(n).kind)).toEqual(['lstm', 'gru_after', 'rnn_tanh']);
    expect(() => recurrentKind('tcn')).toThrow(/cell must be lstm, gru or rnn, got 'tcn'/);
    expect(() => recurrentKind('attention_gru')).toThrow(/cell must be lstm, gru or rnn/);
    expect(kindFor('gru', { resetAfter: false })).toBe('gru_before');
    expect(kindFor('gru', {})).toBe('gru_after');
    expect(kindFor('rnn', { nonlinearity: 'relu' })).toBe('rnn_relu');
    expect(() => kindFor('gru', { resetAfter: 'no' })).toThrow(/resetAfter must be true or false, got no/);
    const gru = new GRU(rt, { inputSize: 2, hiddenSize: 3, resetAfter: false });
    const rnn = new RNN(rt, { inputSize: 2, hiddenSize: 3, nonlinearity: 'relu' });
    expect([gru.cell, gru.resetAfter, rnn.cell, rnn.nonlinearity, gru.label]).toEqual(['gru_before', false, 'rnn_relu', 'relu', 'GRU(inputSize 2, hiddenSize 3)']);
    gru.dispose();
    rnn.dispose();
  });
});
