// Attention and LocalAttention against the float64 reference (test/attention-reference.ts):
// forward values, and every gradient (s, h, each parameter) against central differences of
// Loss = sum(context ⊙ dContext) + sum(weights ⊙ dWeights). Global attention runs with masks
// that are not prefixes, in both call shapes ([B, dq] and [B, Ty, dq]); local attention with
// prefix masks, steps past the source length (monotonic) and the position network (predictive).
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { numericalGradient } from './kernel-helpers.js';
import { refAttentionForward, refAttentionLoss, refLocalForward, refLocalLoss, type RefAttention, type RefLocal, type Score } from './attention-reference.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Attention, LocalAttention } from '../src/layers/index.js';

const SCORES: Score[] = ['dot', 'general', 'concat', 'additive'];
const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;
// Not prefixes: holes, a valid position after masked ones, a single valid position.
const MASK = Int32Array.from([1, 0, 1, 1, 0, /**/ 0, 1, 0, 0, 1, /**/ 1, 1, 1, 1, 1, /**/ 0, 0, 0, 1, 0]);

const f64 = (a: Float32Array) => Float64Array.from(a);

describe.each(BUILDS)('attention vs float64 reference (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  describe.each(SCORES)('%s', (score) => {
    it.each([1, 3])('Ty = %i (non-prefix masks): forward and every gradient by finite differences', (Ty) => {
      const B = 4, Tx = 5, dq = 6, dk = score === 'dot' ? 6 : 5, da = 7;
      const att = new Attention(rt, { score, querySize: dq, keySize: dk, attentionSize: da, seed: 3 });
      const single = Ty === 1;
      const sData = randomArray(B * Ty * dq, 11), hData = randomArray(B * Tx * dk, 12);
      const dC = randomArray(B * Ty * dk, 13), dW = randomArray(B * Ty * Tx, 14);
      const lead = single ? [B] : [B, Ty];
      const r = att.forward({ shape: [...lead, dq], data: sData }, { shape: [B, Tx, dk], data: hData }, { mask: MASK });
      expect(r.weights.shape).toEqual([...lead, Tx]);
      expect(r.context.shape).toEqual([...lead, dk]);
      const g = att.backward({ dContext: { shape: [...lead, dk], data: dC }, dWeights: { shape: [...lead, Tx], data: dW } });
      const grads = att.gradients();

      const params: Record<string, Float64Array> = {};
      for (const [name, t] of Object.entries(att.stateDict())) params[name] = f64(t.data);
      const ref: RefAttention = { score, B, Ty, Tx, dq, dk, da, params, s: f64(sData), h: f64(hData), mask: MASK };
      const f = refAttentionForward(ref);
      expect(maxRelError(r.scores.data, f.scores), 'scores').toBeLessThanOrEqual(FWD_TOL);
      expect(maxRelError(r.weights.data, f.weights), 'weights').toBeLessThanOrEqual(FWD_TOL);
      expect(maxRelError(r.context.data, f.context), 'context').toBeLessThanOrEqual(FWD_TOL);
      const loss = () => refAttentionLoss(ref, dC, dW);
      expect(maxRelError(g.ds.data, numericalGradient(loss, ref.s, 1e-6)), 'ds').toBeLessThanOrEqual(GRAD_TOL);
      expect(maxRelError(g.dh.data, numericalGradient(loss, ref.h, 1e-6)), 'dh').toBeLessThanOrEqual(GRAD_TOL);
      for (const name of att.parameterNames()) {
        expect(maxRelError(grads[name].data, numericalGradient(loss, params[name], 1e-6)), `d${name}`).toBeLessThanOrEqual(GRAD_TOL);
      }
      // Masked positions: weights and dh exactly 0.
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < Tx; j++) {
          if (MASK[b * Tx + j] === 1) continue;
          for (let i = 0; i < Ty; i++) expect(r.weights.data[(b * Ty + i) * Tx + j]).toBe(0);
          for (let k = 0; k < dk; k++) expect(g.dh.data[(b * Tx + j) * dk + k]).toBe(0);
        }
      }
      att.dispose();
    });

    it('[B, Ty, dq] in one call equals Ty single-query calls (values and accumulated gradients)', () => {
      const B = 3, Ty = 4, Tx = 5, dq = 8, dk = score === 'dot' ? 8 : 6, da = 9;
      const mask = MASK.subarray(0, B * Tx);
      const s = randomArray(B * Ty * dq, 21), h = randomArray(B * Tx * dk, 22), dC = randomArray(B * Ty * dk, 23);
      const att = new Attention(rt, { score, querySize: dq, keySize: dk, attentionSize: da, seed: 4 });
      const all = att.forward({ shape: [B, Ty, dq], data: s }, { shape: [B, Tx, dk], data: h }, { mask });
      const gAll = att.backward({ dContext: { shape: [B, Ty, dk], data: dC } });
      const paramsAll = att.gradients();
      att.zeroGrad();
      const dh = new Float64Array(B * Tx * dk);
      for (let i = 0; i < Ty; i++) {
        const si = new Float32Array(B * dq), dCi = new Float32Array(B * dk);
        for (let b = 0; b < B; b++) {
          si.set(s.subarray((b * Ty + i) * dq, (b * Ty + i + 1) * dq), b * dq);
          dCi.set(dC.subarray((b * Ty + i) * dk, (b * Ty + i + 1) * dk), b * dk);
        }
        const one = att.forward({ shape: [B, dq], data: si }, { shape: [B, Tx, dk], data: h }, { mask });
        const g = att.backward({ dContext: { shape: [B, dk], data: dCi } });
        for (let b = 0; b < B; b++) {
          const want = all.context.data.subarray((b * Ty + i) * dk, (b * Ty + i + 1) * dk);
          expect(maxRelError(one.context.data.subarray(b * dk, (b + 1) * dk), want)).toBeLessThanOrEqual(1e-6);
          expect(maxRelError(g.ds.data.subarray(b * dq, (b + 1) * dq), gAll.ds.data.subarray((b * Ty + i) * dq, (b * Ty + i + 1) * dq))).toBeLessThanOrEqual(1e-5);
        }
        for (let k = 0; k < dh.length; k++) dh[k] += g.dh.data[k];
      }
      expect(maxRelError(gAll.dh.data, dh)).toBeLessThanOrEqual(1e-5);
      const paramsSteps = att.gradients();
      for (const name of att.parameterNames()) expect(maxRelError(paramsSteps[name].data, paramsAll[name].data), name).toBeLessThanOrEqual(1e-5);
      att.dispose();
    });
  });

  it('additive at the bench width (da = 256, dq = dk = 64, Tx = 10) matches the reference', () => {
    const B = 2, Tx = 10, dq = 64, dk = 64, da = 256;
    const att = new Attention(rt, { score: 'additive', querySize: dq, keySize: dk, attentionSize: da, seed: 5 });
    const s = randomArray(B * dq, 31), h = randomArray(B * Tx * dk, 32);
    const r = att.forward({ shape: [B, dq], data: s }, { shape: [B, Tx, dk], data: h });
    const params: Record<string, Float64Array> = {};
    for (const [name, t] of Object.entries(att.stateDict())) params[name] = f64(t.data);
    const f = refAttentionForward({ score: 'additive', B, Ty: 1, Tx, dq, dk, da, params, s: f64(s), h: f64(h), mask: new Int32Array(B * Tx).fill(1) });
    expect(maxRelError(r.scores.data, f.scores)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(r.context.data, f.context)).toBeLessThanOrEqual(1e-5);
    att.dispose();
  });

  describe.each(['monotonic', 'predictive'] as const)('local %s', (mode) => {
    it.each(['dot', 'general', 'concat'] as const)('%s (prefix masks): forward and every gradient by finite differences', (score) => {
      const B = 3, Tx = 8, dq = 5, dk = score === 'dot' ? 5 : 6, da = 7, D = 2, dp = 4;
      const mask = new Int32Array(B * Tx);
      const S = [8, 5, 2];
      for (let b = 0; b < B; b++) for (let j = 0; j < S[b]; j++) mask[b * Tx + j] = 1;
      const step = mode === 'monotonic' ? Int32Array.from([3, 9, 0]) : undefined;
      const loc = new LocalAttention(rt, { mode, score, querySize: dq, keySize: dk, attentionSize: da, window: D, predictSize: dp, seed: 7 });
      // Larger position-network weights spread p over the source (not all near S/2).
      if (mode === 'predictive') {
        const sd = loc.stateDict();
        loc.loadStateDict({ ...sd, W_p: { shape: sd.W_p.shape, data: randomArray(dp * dq, 41, 1.5) }, v_p: { shape: [dp], data: randomArray(dp, 42, 2) } });
      }
      const s = randomArray(B * dq, 43), h = randomArray(B * Tx * dk, 44), dC = randomArray(B * dk, 45), dW = randomArray(B * Tx, 46);
      const r = loc.forward({ shape: [B, dq], data: s }, { shape: [B, Tx, dk], data: h }, { mask, step });
      const g = loc.backward({ dContext: { shape: [B, dk], data: dC }, dWeights: { shape: [B, Tx], data: dW } });
      const grads = loc.gradients();
      const params: Record<string, Float64Array> = {};
      for (const [name, t] of Object.entries(loc.stateDict())) params[name] = f64(t.data);
      const ref: RefLocal = { mode, score, B, Tx, dq, dk, da, D, dp, params, s: f64(s), h: f64(h), mask, step };
      const f = refLocalForward(ref);
      if (mode === 'monotonic') expect(Array.from(r.position.data)).toEqual([3, 4, 0]);
      // Finite differences need every |j - p| away from D (window edges are not differentiable).
      for (let b = 0; b < B; b++) for (let j = 0; j < Tx; j++) if (mode === 'predictive') expect(Math.abs(Math.abs(j - f.position[b]) - D)).toBeGreaterThan(1e-3);
      expect(maxRelError(r.position.data, f.position), 'position').toBeLessThanOrEqual(FWD_TOL);
      expect(maxRelError(r.weights.data, f.weights), 'weights').toBeLessThanOrEqual(FWD_TOL);
      expect(maxRelError(r.context.data, f.context), 'context').toBeLessThanOrEqual(FWD_TOL);
      const loss = () => refLocalLoss(ref, dC, dW);
      expect(maxRelError(g.ds.data, numericalGradient(loss, ref.s, 1e-6)), 'ds').toBeLessThanOrEqual(GRAD_TOL);
      expect(maxRelError(g.dh.data, numericalGradient(loss, ref.h, 1e-6)), 'dh').toBeLessThanOrEqual(GRAD_TOL);
      for (const name of loc.parameterNames()) {
        expect(maxRelError(grads[name].data, numericalGradient(loss, params[name], 1e-6)), `d${name}`).toBeLessThanOrEqual(GRAD_TOL);
      }
      if (mode === 'predictive') expect(grads.v_p.data.some((x) => x !== 0), 'the gradient reaches v_p through p').toBe(true);
      loc.dispose();
    });
  });
});
