// EpisodeAttention against a float64 reference written from the formulas
// (DESIGN.md, the DMN math): forward values, and every gradient (s, q, m and each parameter)
// against central differences of the reference loss sum(episode⊙dE) + sum(g⊙dG), for both
// cells and both gate kinds, with masks. Then the argument checks: bad input throws before
// any kernel runs and leaves the layer as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { EpisodeAttention, type EpisodeCell, type EpisodeGate } from '../src/layers/episode.js';
import { Tape } from '../src/train/tape.js';

type P = Record<string, Float64Array>;
const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** The reference loss and outputs in float64. s [B*M*d], q, m [B*d]. */
function reference(p: P, s: Float64Array, q: Float64Array, m: Float64Array, lengths: Int32Array, B: number, M: number, d: number, H: number, da: number,
  cell: EpisodeCell, gate: EpisodeGate, dE: Float32Array, dG: Float32Array) {
  const G = cell === 'gated-gru' ? 3 : 2;
  const g = new Float64Array(B * M), episode = new Float64Array(B * H);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const Z: number[] = [];
    for (let i = 0; i < M; i++) {
      const z: number[] = [];
      for (let k = 0; k < d; k++) z.push(s[(b * M + i) * d + k] * q[b * d + k]);
      for (let k = 0; k < d; k++) z.push(s[(b * M + i) * d + k] * m[b * d + k]);
      for (let k = 0; k < d; k++) z.push(Math.abs(s[(b * M + i) * d + k] - q[b * d + k]));
      for (let k = 0; k < d; k++) z.push(Math.abs(s[(b * M + i) * d + k] - m[b * d + k]));
      let acc = p.b2[0];
      for (let j = 0; j < da; j++) {
        let t = p.b1[j];
        for (let k = 0; k < 4 * d; k++) t += p.W1[j * 4 * d + k] * z[k];
        acc += p.W2[j] * Math.tanh(t);
      }
      Z.push(acc);
    }
    const n = lengths[b];
    if (gate === 'softmax') {
      const mx = Math.max(...Z.slice(0, n));
      let sum = 0;
      for (let i = 0; i < n; i++) sum += Math.exp(Z[i] - mx);
      for (let i = 0; i < n; i++) g[b * M + i] = Math.exp(Z[i] - mx) / sum;
    } else for (let i = 0; i < n; i++) g[b * M + i] = sig(Z[i]);
    let h = new Float64Array(H);
    for (let i = 0; i < n; i++) {
      const x = s.subarray((b * M + i) * d, (b * M + i + 1) * d);
      const pre = (W: Float64Array, bias: Float64Array, v: Float64Array, row: number, cols: number) => {
        let t = bias[row];
        for (let k = 0; k < cols; k++) t += W[row * cols + k] * v[k];
        return t;
      };
      const next = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const r = sig(pre(p['gru.weight_ih'], p['gru.bias_ih'], x, j, d) + pre(p['gru.weight_hh'], p['gru.bias_hh'], h, j, H));
        const nr = (G - 1) * H + j;
        const nn = Math.tanh(pre(p['gru.weight_ih'], p['gru.bias_ih'], x, nr, d) + r * pre(p['gru.weight_hh'], p['gru.bias_hh'], h, nr, H));
        let c = nn;
        if (G === 3) {
          const zg = sig(pre(p['gru.weight_ih'], p['gru.bias_ih'], x, H + j, d) + pre(p['gru.weight_hh'], p['gru.bias_hh'], h, H + j, H));
          c = (1 - zg) * nn + zg * h[j];
        }
        const gi = g[b * M + i];
        next[j] = gi * c + (1 - gi) * h[j];
      }
      h = next;
    }
    episode.set(h, b * H);
  }
  for (let k = 0; k < B * H; k++) loss += episode[k] * dE[k];
  for (let k = 0; k < B * M; k++) loss += g[k] * dG[k];
  return { loss, g, episode };
}

const CASES: [EpisodeCell, EpisodeGate][] = [['gated-gru', 'softmax'], ['gated-gru', 'sigmoid'], ['attention-gru', 'softmax'], ['attention-gru', 'sigmoid']];

describe.each(BUILDS)('EpisodeAttention vs float64 finite differences (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(CASES)('%s, %s gates', (cell, gate) => {
    const B = 3, M = 5, d = 6, H = 7, da = 5;
    const ep = new EpisodeAttention(rt, { factSize: d, hiddenSize: H, gateSize: da, cell, gate, seed: 3 });
    const lengths = Int32Array.of(5, 2, 1);
    const mask = new Uint8Array(B * M);
    for (let b = 0; b < B; b++) for (let i = 0; i < lengths[b]; i++) mask[b * M + i] = 1;
    const s = randomArray(B * M * d, 11), q = randomArray(B * d, 12), m = randomArray(B * d, 13);
    const dE = randomArray(B * H, 14), dG = randomArray(B * M, 15);
    const r = ep.forward({ shape: [B, M, d], data: s }, { shape: [B, d], data: q }, { shape: [B, d], data: m }, { mask });
    const back = ep.backward({ dEpisode: { shape: [B, H], data: dE }, dG: { shape: [B, M], data: dG } });
    const grads = ep.gradients();
    const params: P = {};
    for (const [k, t] of Object.entries(ep.stateDict())) params[k] = Float64Array.from(t.data);
    const inputs = { s: Float64Array.from(s), q: Float64Array.from(q), m: Float64Array.from(m) };
    const run = () => reference(params, inputs.s, inputs.q, inputs.m, lengths, B, M, d, H, da, cell, gate, dE, dG);
    const ref = run();
    expect(maxRelError(r.g.data, ref.g), 'g').toBeLessThan(1e-5);
    expect(maxRelError(r.episode.data, ref.episode), 'episode').toBeLessThan(1e-5);
    const numeric = (v: Float64Array) => {
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const old = v[i];
        v[i] = old + 1e-6; const lp = run().loss;
        v[i] = old - 1e-6; const lm = run().loss;
        v[i] = old;
        out[i] = (lp - lm) / 2e-6;
      }
      return out;
    };
    expect(maxRelError(back.ds.data, numeric(inputs.s)), 'ds').toBeLessThan(2e-4);
    expect(maxRelError(back.dq.data, numeric(inputs.q)), 'dq').toBeLessThan(2e-4);
    expect(maxRelError(back.dm.data, numeric(inputs.m)), 'dm').toBeLessThan(2e-4);
    for (const name of ep.parameterNames()) expect(maxRelError(grads[name].data, numeric(params[name])), name).toBeLessThan(2e-4);
    ep.dispose();
  });
});

describe('EpisodeAttention argument checks', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });
  const B = 2, M = 3, d = 4;
  const t = (shape: number[], seed = 1) => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed) });

  it('throws clear errors before any kernel and keeps its state', () => {
    const ep = new EpisodeAttention(rt, { factSize: d, hiddenSize: 5, gateSize: 3, cell: 'attention-gru', seed: 1 });
    const before = ep.stateDict();
    expect(() => ep.backward({})).toThrow(/preceding forward/);
    expect(() => ep.forward(t([B, M, d + 1]), t([B, d]), t([B, d]))).toThrow(/s must have shape \[2, 3, 4\]/);
    expect(() => ep.forward(t([B, M, d]), t([B, d + 1]), t([B, d]))).toThrow(/q must have shape \[2, 4\]/);
    expect(() => ep.forward(t([B, M, d]), t([B, d]), t([1, d]))).toThrow(/m must have shape \[2, 4\]/);
    const nan = t([B, M, d]);
    nan.data[5] = NaN;
    expect(() => ep.forward(nan, t([B, d]), t([B, d]))).toThrow(/s contains a non-finite value/);
    expect(() => ep.forward(t([B, M, d]), t([B, d]), t([B, d]), { mask: new Uint8Array(5) })).toThrow(/mask must have B\*M = 2\*3 = 6 values, got 5/);
    expect(() => ep.forward(t([B, M, d]), t([B, d]), t([B, d]), { mask: Uint8Array.of(1, 0, 1, 1, 1, 1) })).toThrow(/mask row 0 must be a prefix/);
    expect(() => ep.forward(t([B, M, d]), t([B, d]), t([B, d]), { mask: Uint8Array.of(1, 1, 1, 0, 0, 0) })).toThrow(/mask row 1 has no valid fact/);
    expect(() => ep.forward(t([B, M, d]), t([B, d]), t([B, d]), { mask: Uint8Array.of(1, 1, 1, 2, 0, 0) })).toThrow(/must be 0 or 1/);
    expect(() => new EpisodeAttention(rt, { factSize: d, hiddenSize: 5, gateSize: 3, cell: 'lstm' as never })).toThrow(/cell must be 'gated-gru' or 'attention-gru'/);
    expect(() => new EpisodeAttention(rt, { factSize: d, hiddenSize: 5, gateSize: 3, cell: 'gated-gru', gate: 'relu' as never })).toThrow(/gate must be 'softmax' or 'sigmoid'/);
    expect(() => ep.loadStateDict({ W1: { shape: [3, 16], data: new Float32Array(48) } })).toThrow(/missing 'b1'/);
    ep.forward(t([B, M, d]), t([B, d]), t([B, d]));
    expect(() => ep.backward({ dEpisode: t([B, 4]) })).toThrow(/dEpisode must have shape \[2, 5\]/);
    expect(() => ep.backward({ dG: t([B, M + 1]) })).toThrow(/dG must have shape \[2, 3\]/);
    const grads = ep.gradients();
    for (const k of Object.keys(grads)) expect(grads[k].data.every((v) => v === 0), `${k} untouched`).toBe(true);
    const after = ep.stateDict();
    for (const k of Object.keys(before)) expect(after[k].data).toEqual(before[k].data);
    ep.dispose();
  });
});
