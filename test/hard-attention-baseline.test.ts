// HardAttention's per-query rewards ([B*Ty]) and its leave-one-out baseline: the exact advantage
// each query gets (argmax positions, so deterministic), and the unbiasedness of the leave-one-out
// estimate against the exact gradient of the expected reward (statistical, seeded, stated tolerance).
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRelError, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Attention, HardAttention } from '../src/layers/index.js';

describe('hard attention: per-query rewards and the leave-one-out baseline', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor('simd');
  });

  const B = 3, Ty = 2, Tx = 4, dq = 3, dk = 5;
  const s = { shape: [B, Ty, dq], data: randomArray(B * Ty * dq, 11) };
  const h = { shape: [B, Tx, dk], data: randomArray(B * Tx * dk, 12) };
  // Query q of [B, Ty] alone, as a [B, dq] batch.
  const column = (q: number) => ({ shape: [B, dq], data: Float32Array.from({ length: B * dq }, (_, i) => s.data[(Math.floor(i / dq) * Ty + q) * dq + (i % dq)]) });
  const perQuery = [1, -2, 0.5, 3, -1, 2]; // row-major [B, Ty]

  /** Gradients (W and ds) of one argmax forward + backward with a reward. */
  const grads = (layer: HardAttention, sIn: { shape: number[]; data: Float32Array }, reward: number[]) => {
    layer.zeroGrad();
    layer.eval().forward(sIn, h);
    const { ds } = layer.backward({ reward });
    return { W: layer.gradients().W.data.slice(), ds: ds.data };
  };

  it('a [B*Ty] reward gives each query its own advantage: the same gradients as one query at a time', () => {
    const hard = new HardAttention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 4, baseline: 'none' });
    const all = grads(hard, s, perQuery);
    const W = new Float64Array(all.W.length);
    for (let q = 0; q < Ty; q++) {
      const one = grads(hard, column(q), [0, 1, 2].map((b) => perQuery[b * Ty + q]));
      one.W.forEach((x, i) => (W[i] += x));
      for (let b = 0; b < B; b++) {
        expect(maxRelError(all.ds.subarray((b * Ty + q) * dq, (b * Ty + q + 1) * dq), one.ds.subarray(b * dq, (b + 1) * dq))).toBeLessThanOrEqual(1e-5);
      }
    }
    expect(maxRelError(all.W, Float32Array.from(W))).toBeLessThanOrEqual(1e-5);
    hard.forward(s, h);
    expect(() => hard.backward({ reward: [1, 2, 3, 4] })).toThrow(/reward must have 3 values \(one per sequence\) or 6 \(one per query\), got 4/);
    hard.dispose();
  });

  it("'leave-one-out' centres each reward on the other sequences' mean for the same query", () => {
    const loo = new HardAttention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 4, baseline: 'leave-one-out' });
    const none = new HardAttention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 4, baseline: 'none' });
    const centred = perQuery.map((r, i) => {
      const q = i % Ty;
      const others = [0, 1, 2].filter((b) => b * Ty + q !== i).map((b) => perQuery[b * Ty + q]);
      return r - (others[0] + others[1]) / 2;
    });
    const got = grads(loo, s, perQuery), want = grads(none, s, centred);
    expect(maxRelError(got.W, want.W)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(got.ds, want.ds)).toBeLessThanOrEqual(1e-5);
    // A per-sequence reward [B] is shared by the sequence's queries and centred per query the same way.
    const seqReward = [2, -1, 0.5];
    const got2 = grads(loo, s, seqReward);
    const want2 = grads(none, s, perQuery.map((_, i) => { const b = Math.floor(i / Ty); return seqReward[b] - (seqReward.reduce((x, y) => x + y, 0) - seqReward[b]) / 2; }));
    expect(maxRelError(got2.W, want2.W)).toBeLessThanOrEqual(1e-5);
    expect(() => new HardAttention(rt, { score: 'dot', querySize: 2, keySize: 2, baseline: 'mean' as 'none' })).toThrow(/'moving-average', 'leave-one-out' or 'none'/);
    loo.dispose();
    none.dispose();
  });

  // B identical rows sampling independently, reward R_j for picking j: each row's estimate with
  // the other rows' mean reward as baseline is unbiased, so the batch gradient's mean over N
  // batches must come within 4 standard errors of -B ∇E[R] (exact: the soft Attention's backward
  // with dWeights = R). Seeded, so deterministic.
  it('the leave-one-out estimate is unbiased (mean of sampled batch gradients = exact gradient)', () => {
    const rows = 4, R = [1, -0.5, 3, 2];
    const s1 = randomArray(dq, 13), h1 = randomArray(Tx * dk, 14);
    const sB = { shape: [rows, dq], data: Float32Array.from({ length: rows * dq }, (_, i) => s1[i % dq]) };
    const hB = { shape: [rows, Tx, dk], data: Float32Array.from({ length: rows * Tx * dk }, (_, i) => h1[i % (Tx * dk)]) };
    const hard = new HardAttention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 5, baseline: 'leave-one-out' });
    const soft = new Attention(rt, { score: 'general', querySize: dq, keySize: dk, seed: 5 });
    soft.loadStateDict(hard.stateDict());
    const exact = soft.forward({ shape: [1, dq], data: s1 }, { shape: [1, Tx, dk], data: h1 });
    soft.backward({ dWeights: { shape: [1, Tx], data: Float32Array.from(R) } });
    const want = Array.from(soft.gradients().W.data, (x) => -rows * x);
    expect(Math.max(...exact.weights.data)).toBeLessThan(0.9); // the choice is really random
    const N = 4000;
    const sum = new Float64Array(want.length), sq = new Float64Array(want.length);
    for (let n = 0; n < N; n++) {
      hard.zeroGrad();
      const f = hard.train().forward(sB, hB);
      hard.backward({ reward: Array.from(f.positions, (j) => R[j]) });
      hard.gradients().W.data.forEach((x, i) => {
        sum[i] += x;
        sq[i] += x * x;
      });
    }
    for (let i = 0; i < want.length; i++) {
      const mean = sum[i] / N, se = Math.sqrt(Math.max(sq[i] / N - mean * mean, 0) / N);
      expect(Math.abs(mean - want[i]), `component ${i}: mean ${mean} vs exact ${want[i]} (se ${se})`).toBeLessThanOrEqual(4 * se + 1e-6);
    }
    hard.dispose();
    soft.dispose();
  });
});
