// Hard attention: REINFORCE against the exact gradient of the expected reward on a problem small
// enough to enumerate (statistical test, fixed seed, stated tolerance), argmax at inference, the
// context gradient at the sampled position, and a 10-pair key-value retrieval task learnt to
// >= 95% accuracy on episodes never seen in training.
import { beforeAll, describe, expect, it } from 'vitest';
import { randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Rng } from '../src/train/rng.js';
import { Attention, HardAttention } from '../src/layers/index.js';

describe('hard attention', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });

  // J(θ) = E_{j~a}[R_j] + β H(a) over Tx = 4 positions (one masked): its exact gradient is the
  // soft Attention's backward with dWeights = R - β(log a + 1) (J = Σ a_j R_j + β H(a)). The
  // layer minimises -J, so the mean of N single-sample estimates must come within 4 standard
  // errors (sample std / sqrt(N), per component) of -∇J. Seeded: the outcome is deterministic;
  // 4 standard errors over 18 components would fail by chance with probability < 0.2%.
  it.each([0, 0.3])('mean of REINFORCE estimates matches the exact gradient (entropy bonus %s)', (beta) => {
    const B = 1, Tx = 4, dq = 3, dk = 5;
    const R = [1, -0.5, 3, 2];
    const mask = Int32Array.from([1, 1, 0, 1]);
    const hard = new HardAttention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 5, entropyBonus: beta });
    const soft = new Attention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 5 });
    soft.loadStateDict(hard.stateDict());
    const s = { shape: [B, dq], data: randomArray(dq, 1) }, h = { shape: [B, Tx, dk], data: randomArray(Tx * dk, 2) };
    const exact = soft.forward(s, h, { mask });
    const a = exact.weights.data;
    const dWeights = Float32Array.from(a, (x, j) => (x > 0 ? R[j] - beta * (Math.log(x) + 1) : 0));
    const ex = soft.backward({ dWeights: { shape: [B, Tx], data: dWeights } });
    const want = [...Array.from(soft.gradients().W.data), ...Array.from(ex.ds.data)].map((x) => -x);

    const N = 20000;
    const sum = new Float64Array(want.length), sq = new Float64Array(want.length);
    const counts = [0, 0, 0, 0];
    for (let n = 0; n < N; n++) {
      hard.zeroGrad();
      const f = hard.forward(s, h, { mask });
      const j = f.positions[0];
      counts[j]++;
      const g = hard.backward({ reward: [R[j]] });
      const est = [...Array.from(hard.gradients().W.data), ...Array.from(g.ds.data)];
      est.forEach((x, i) => {
        sum[i] += x;
        sq[i] += x * x;
      });
    }
    expect(counts[2], 'a masked position is never sampled').toBe(0);
    for (let j = 0; j < Tx; j++) if (a[j] > 0) expect(Math.abs(counts[j] / N - a[j])).toBeLessThan(4 * Math.sqrt(a[j] * (1 - a[j]) / N));
    for (let i = 0; i < want.length; i++) {
      const mean = sum[i] / N;
      const se = Math.sqrt(Math.max(sq[i] / N - mean * mean, 0) / N);
      expect(Math.abs(mean - want[i]), `component ${i}: mean ${mean} vs exact ${want[i]} (se ${se})`).toBeLessThanOrEqual(4 * se + 1e-6);
    }
    expect(hard.baseline, 'the moving-average baseline tracks the mean reward').toBeGreaterThan(0.5);
    hard.dispose();
    soft.dispose();
  });

  it('inference takes the argmax; the context is h at the chosen position and gets dContext there', () => {
    const B = 2, Tx = 5, d = 4;
    const hard = new HardAttention(rt, { score: 'dot', querySize: d, keySize: d, seed: 3 });
    const s = { shape: [B, d], data: randomArray(B * d, 4) }, h = { shape: [B, Tx, d], data: randomArray(B * Tx * d, 5) };
    const mask = Int32Array.from([1, 1, 1, 0, 1, 0, 0, 1, 1, 0]);
    const f = hard.eval().forward(s, h, { mask });
    for (let b = 0; b < B; b++) {
      const row = f.weights.data.subarray(b * Tx, (b + 1) * Tx);
      const j = f.positions[b];
      expect(row[j]).toBe(Math.max(...row));
      expect(Array.from(f.context.data.subarray(b * d, (b + 1) * d))).toEqual(Array.from(h.data.subarray((b * Tx + j) * d, (b * Tx + j + 1) * d)));
    }
    // Zero advantage (reward 0, and the baseline is still 0 before its first update): only dContext reaches h.
    const dC = randomArray(B * d, 6);
    const g = hard.backward({ reward: [0, 0], dContext: { shape: [B, d], data: dC } });
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < Tx; j++) {
        const got = Array.from(g.dh.data.subarray((b * Tx + j) * d, (b * Tx + j + 1) * d));
        expect(got).toEqual(j === f.positions[b] ? Array.from(dC.subarray(b * d, (b + 1) * d)) : [0, 0, 0, 0]);
      }
    }
    expect(() => hard.backward({ reward: [1] })).toThrow(/reward must have 2 values/);
    expect(() => hard.backward({ reward: [1, NaN] })).toThrow(/reward\[1\] must be finite/);
    hard.dispose();
  });

  // 10 key-value pairs per episode (keys drawn from 20 key ids, values 0..9); the query is one
  // of the 10 keys and the answer is the value one-hot in the chosen h_j. Only the general
  // score's W is learnt, by REINFORCE with reward 1 for the right value, 0 otherwise.
  it('learns 10-pair key-value retrieval to >= 95% accuracy on unseen episodes', () => {
    const KEYS = 20, PAIRS = 10, VALUES = 10, dq = 16, dk = dq + VALUES, B = 32;
    const embRng = new Rng(1);
    const emb = Array.from({ length: KEYS }, () => Float32Array.from({ length: dq }, () => embRng.normal() / Math.sqrt(dq)));
    const episodes = (rng: Rng) => {
      const s = new Float32Array(B * dq), h = new Float32Array(B * PAIRS * dk), answer = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const keys = rng.permutation(KEYS).subarray(0, PAIRS);
        for (let j = 0; j < PAIRS; j++) {
          const v = rng.int(VALUES);
          h.set(emb[keys[j]], (b * PAIRS + j) * dk);
          h[(b * PAIRS + j) * dk + dq + v] = 1;
        }
        const q = rng.int(PAIRS);
        s.set(emb[keys[q]], b * dq);
        for (let v = 0; v < VALUES; v++) if (h[(b * PAIRS + q) * dk + dq + v] === 1) answer[b] = v;
      }
      return { s: { shape: [B, dq], data: s }, h: { shape: [B, PAIRS, dk], data: h }, answer };
    };
    const valueOf = (ctx: Float32Array, b: number) => {
      let best = 0;
      for (let v = 1; v < VALUES; v++) if (ctx[b * dk + dq + v] > ctx[b * dk + dq + best]) best = v;
      return best;
    };
    const hard = new HardAttention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 2 });
    const train = new Rng(100), test = new Rng(200);
    const lr = 2;
    for (let step = 0; step < 500; step++) {
      const ep = episodes(train);
      hard.zeroGrad();
      const f = hard.train().forward(ep.s, ep.h);
      const reward = Array.from({ length: B }, (_, b) => (valueOf(f.context.data, b) === ep.answer[b] ? 1 : 0));
      hard.backward({ reward });
      const W = hard.stateDict().W, dW = hard.gradients().W;
      for (let i = 0; i < W.data.length; i++) W.data[i] -= (lr / B) * dW.data[i];
      hard.loadStateDict({ W });
    }
    let correct = 0, total = 0;
    for (let e = 0; e < 20; e++) {
      const ep = episodes(test);
      const f = hard.eval().forward(ep.s, ep.h);
      for (let b = 0; b < B; b++, total++) if (valueOf(f.context.data, b) === ep.answer[b]) correct++;
    }
    expect(correct / total, `accuracy on ${total} unseen episodes`).toBeGreaterThanOrEqual(0.95);
    hard.dispose();
  });
});
