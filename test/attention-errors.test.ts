// Bad input to Attention and LocalAttention: a clear Error naming the argument, thrown before any
// kernel runs, and the layer's state unchanged (the next good call, and a backward of the last
// good forward, give exactly the results they would have given without the bad call).
import { beforeAll, describe, expect, it } from 'vitest';
import { randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { Attention, LocalAttention } from '../src/layers/index.js';

const B = 2, Tx = 4, dq = 3, dk = 3, da = 5;
const t = (shape: number[], seed: number): HostTensor => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed) });
const withValue = (x: HostTensor, i: number, v: number): HostTensor => {
  const data = x.data.slice();
  data[i] = v;
  return { shape: x.shape, data };
};

describe('attention bad input', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });

  it('constructor options: dot with querySize != keySize, unknown score, missing attentionSize, window < 1', () => {
    expect(() => new Attention(rt, { score: 'dot', querySize: 3, keySize: 4 })).toThrow(/dot scores need querySize == keySize, got querySize 3 and keySize 4/);
    expect(() => new Attention(rt, { score: 'bilinear' as never, querySize: 3, keySize: 3 })).toThrow(/score must be/);
    expect(() => new Attention(rt, { score: 'additive', querySize: 3, keySize: 3 })).toThrow(/attentionSize must be an integer >= 1/);
    for (const window of [0, -1, 1.5]) {
      expect(() => new LocalAttention(rt, { mode: 'monotonic', score: 'dot', querySize: 3, keySize: 3, window })).toThrow(/window must be an integer >= 1/);
    }
    expect(() => new LocalAttention(rt, { mode: 'predictive', score: 'dot', querySize: 3, keySize: 3, window: 2 })).toThrow(/predictSize/);
    expect(() => new LocalAttention(rt, { mode: 'monotonic', score: 'additive' as never, querySize: 3, keySize: 3, attentionSize: 2, window: 2 })).toThrow(/score must be/);
  });

  it.each(['dot', 'additive'] as const)('%s: each bad forward throws and leaves the state as it was', (score) => {
    const att = new Attention(rt, { score, querySize: dq, keySize: dk, attentionSize: da, seed: 1 });
    expect(() => att.backward({ dContext: t([B, dk], 9) })).toThrow(/backward\(\) needs a preceding forward\(\)/);
    const s = t([B, dq], 1), h = t([B, Tx, dk], 2);
    const mask = Int32Array.from([1, 0, 1, 0, 0, 1, 1, 1]);
    const dC = t([B, dk], 3);
    const good = att.forward(s, h, { mask });
    const bad: [string, () => unknown, RegExp][] = [
      ['mask row without a valid position', () => att.forward(s, h, { mask: Int32Array.from([1, 1, 0, 0, 0, 0, 0, 0]) }), /mask row 1 has no valid position/],
      ['mask of the wrong length', () => att.forward(s, h, { mask: new Int32Array(7).fill(1) }), /mask must have B\*Tx = 2\*4 = 8 values, got 7/],
      ['mask value 2', () => att.forward(s, h, { mask: Int32Array.from([1, 2, 1, 0, 0, 1, 1, 1]) }), /mask\[0, 1\] must be 0 or 1, got 2/],
      ['NaN in s', () => att.forward(withValue(s, 2, NaN), h, { mask }), /s contains a non-finite value \(NaN\) at flat index 2/],
      ['Infinity in h', () => att.forward(s, withValue(h, 5, Infinity), { mask }), /h contains a non-finite value \(Infinity\) at flat index 5/],
      ['-Infinity in s', () => att.forward(withValue(s, 0, -Infinity), h, { mask }), /s contains a non-finite value/],
      ['s of the wrong size', () => att.forward(t([B, dq + 1], 1), h, { mask }), /s must have shape \[2, 3\] or \[2, Ty, 3\]/],
      ['batch mismatch', () => att.forward(t([B + 1, dq], 1), h, { mask }), /batch of h 2/],
      ['h of the wrong key size', () => att.forward(s, t([B, Tx, dk + 1], 2), { mask }), /h must have shape \[B, Tx, 3\]/],
      ['dContext of the wrong shape', () => att.backward({ dContext: t([B, dk + 1], 3) }), /dContext must have shape \[2, 3\], got \[2, 4\]/],
      ['NaN in dWeights', () => att.backward({ dWeights: withValue(t([B, Tx], 4), 1, NaN) }), /dWeights contains a non-finite value/],
    ];
    for (const [what, call, message] of bad) expect(call, what).toThrow(message);
    // The backward still belongs to the good forward, and a repeated good call gives the same result.
    const g = att.backward({ dContext: dC });
    const grads = att.gradients();
    const att2 = new Attention(rt, { score, querySize: dq, keySize: dk, attentionSize: da, seed: 1 });
    const ref = att2.forward(s, h, { mask });
    const gRef = att2.backward({ dContext: dC });
    expect(g.ds.data).toEqual(gRef.ds.data);
    expect(g.dh.data).toEqual(gRef.dh.data);
    for (const [name, v] of Object.entries(att2.gradients())) expect(grads[name].data, name).toEqual(v.data);
    const again = att.forward(s, h, { mask });
    expect(again.context.data).toEqual(good.context.data);
    expect(again.context.data).toEqual(ref.context.data);
    expect(again.weights.data).toEqual(good.weights.data);
    att.dispose();
    att2.dispose();
  });

  it.each(['monotonic', 'predictive'] as const)('local %s: each bad forward throws and leaves the state as it was', (mode) => {
    const loc = new LocalAttention(rt, { mode, score: 'general', querySize: dq, keySize: dk, window: 1, predictSize: 4, seed: 2 });
    expect(() => loc.backward({ dContext: t([B, dk], 9) })).toThrow(/backward\(\) needs a preceding forward\(\)/);
    const s = t([B, dq], 1), h = t([B, Tx, dk], 2);
    const mask = Int32Array.from([1, 1, 1, 0, 1, 1, 1, 1]);
    const step = mode === 'monotonic' ? Int32Array.from([1, 7]) : undefined;
    const dC = t([B, dk], 3);
    const good = loc.forward(s, h, { mask, step });
    const bad: [string, () => unknown, RegExp][] = [
      ['mask row without a valid position', () => loc.forward(s, h, { mask: Int32Array.from([1, 0, 0, 0, 0, 0, 0, 0]), step }), /mask row 1 has no valid position/],
      ['mask that is not a prefix', () => loc.forward(s, h, { mask: Int32Array.from([1, 0, 1, 0, 1, 1, 1, 1]), step }), /mask row 0 must be a prefix/],
      ['mask of the wrong length', () => loc.forward(s, h, { mask: new Uint8Array(9).fill(1), step }), /mask must have B\*Tx = 2\*4 = 8 values, got 9/],
      ['NaN in s', () => loc.forward(withValue(s, 1, NaN), h, { mask, step }), /s contains a non-finite value \(NaN\)/],
      ['Infinity in h', () => loc.forward(s, withValue(h, 3, -Infinity), { mask, step }), /h contains a non-finite value \(-Infinity\)/],
      ['s with a query axis', () => loc.forward(t([B, 2, dq], 1), h, { mask, step }), /s must have shape \[2, 3\]/],
    ];
    if (mode === 'monotonic') {
      bad.push(
        ['negative step', () => loc.forward(s, h, { mask, step: Int32Array.from([1, -1]) }), /step\[1\] must be an integer >= 0, got -1/],
        ['non-integer step', () => loc.forward(s, h, { mask, step: [0.5, 1] }), /step\[0\] must be an integer >= 0, got 0.5/],
        ['missing step', () => loc.forward(s, h, { mask }), /step must be an Int32Array of 2 decoder steps/],
        ['step of the wrong length', () => loc.forward(s, h, { mask, step: Int32Array.from([1]) }), /step must have 2 values/],
      );
    } else {
      bad.push(['step in predictive mode', () => loc.forward(s, h, { mask, step: Int32Array.from([1, 1]) }), /step is only used by monotonic/]);
    }
    for (const [what, call, message] of bad) expect(call, what).toThrow(message);
    const g = loc.backward({ dContext: dC });
    const loc2 = new LocalAttention(rt, { mode, score: 'general', querySize: dq, keySize: dk, window: 1, predictSize: 4, seed: 2 });
    loc2.forward(s, h, { mask, step });
    const gRef = loc2.backward({ dContext: dC });
    expect(g.ds.data).toEqual(gRef.ds.data);
    expect(g.dh.data).toEqual(gRef.dh.data);
    const again = loc.forward(s, h, { mask, step });
    expect(again.context.data).toEqual(good.context.data);
    expect(again.position.data).toEqual(good.position.data);
    loc.dispose();
    loc2.dispose();
  });
});
