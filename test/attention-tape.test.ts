// Attention on the tape: one memory (key-side products once), several calls per step (decoder
// steps [B, dq] and a teacher-forced [B, Ty, dq] call), gradients accumulated over all calls
// must equal the sum of the host API's per-call gradients.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape } from '../src/train/tape.js';
import { ParameterBlock } from '../src/runtime/tensor.js';
import { Attention, LocalAttention, attention, attentionMemory, localAttention, type ScoreKind } from '../src/layers/index.js';

const SCORES: ScoreKind[] = ['dot', 'general', 'concat', 'additive'];

describe.each(BUILDS)('attention on the tape (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(SCORES)('%s: three calls against one memory accumulate like three host calls', (score) => {
    const B = 3, Tx = 6, dq = 8, dk = score === 'dot' ? 8 : 5, da = 6, Ty = 2;
    const mask = Int32Array.from([1, 1, 0, 1, 0, 1, /**/ 0, 1, 1, 1, 1, 1, /**/ 1, 0, 0, 0, 0, 0]);
    const att = new Attention(rt, { score, querySize: dq, keySize: dk, attentionSize: da, seed: 9 });
    const hData = randomArray(B * Tx * dk, 1);
    const queries = [{ shape: [B, dq], seed: 2 }, { shape: [B, Ty, dq], seed: 3 }, { shape: [B, dq], seed: 4 }];
    const sData = queries.map((q) => randomArray(q.shape.reduce((a, b) => a * b, 1), q.seed));
    const dCData = queries.map((q) => randomArray((q.shape.length === 2 ? B : B * Ty) * dk, q.seed + 10));

    // Host API: one forward/backward per call; sum dh and the parameter gradients.
    const dhSum = new Float64Array(B * Tx * dk);
    const dsHost: Float32Array[] = [];
    const contexts: Float32Array[] = [];
    queries.forEach((q, i) => {
      const r = att.forward({ shape: q.shape, data: sData[i] }, { shape: [B, Tx, dk], data: hData }, { mask });
      contexts.push(r.context.data);
      const g = att.backward({ dContext: { shape: [...q.shape.slice(0, -1), dk], data: dCData[i] } });
      dsHost.push(g.ds.data);
      g.dh.data.forEach((x, k) => (dhSum[k] += x));
    });
    const hostParams = att.gradients();
    att.zeroGrad();

    const tape = new Tape(rt);
    tape.reset();
    const h = tape.input(hData, [B, Tx, dk], true);
    const memory = attentionMemory(tape, att, h, { mask });
    const ss = queries.map((q, i) => tape.input(sData[i], q.shape, true));
    const outs = ss.map((s) => attention(tape, att, s, memory));
    outs.forEach((o, i) => expect(maxRelError(o.context.toArray(), contexts[i]), `context ${i}`).toBeLessThanOrEqual(1e-6));
    outs.forEach((o, i) => o.context.grad().view().set(dCData[i]));
    // The key-side product runs once: one memory entry, three attention entries.
    expect(tape.entryNames).toEqual(['attentionMemory', 'attention', 'attention', 'attention']);
    tape.backward();
    ss.forEach((s, i) => expect(maxRelError(s.gradToArray(), dsHost[i]), `ds ${i}`).toBeLessThanOrEqual(1e-5));
    expect(maxRelError(h.gradToArray(), dhSum), 'dh summed over calls').toBeLessThanOrEqual(1e-5);
    const tapeParams = att.gradients();
    for (const name of att.parameterNames()) expect(maxRelError(tapeParams[name].data, hostParams[name].data), name).toBeLessThanOrEqual(1e-5);
    att.dispose();
  });

  it.each(['monotonic', 'predictive'] as const)('local %s: two decoder steps against one memory accumulate like two host calls', (mode) => {
    const B = 2, Tx = 6, dq = 4, dk = 5, da = 3;
    const mask = Int32Array.from([1, 1, 1, 1, 0, 0, /**/ 1, 1, 1, 1, 1, 1]);
    const loc = new LocalAttention(rt, { mode, score: 'concat', querySize: dq, keySize: dk, attentionSize: da, window: 2, predictSize: 3, seed: 4 });
    const hData = randomArray(B * Tx * dk, 1);
    const steps = [Int32Array.from([0, 2]), Int32Array.from([5, 3])];
    const sData = [randomArray(B * dq, 2), randomArray(B * dq, 3)];
    const dC = [randomArray(B * dk, 4), randomArray(B * dk, 5)];
    const dhSum = new Float64Array(B * Tx * dk);
    const host = [0, 1].map((i) => {
      const r = loc.forward({ shape: [B, dq], data: sData[i] }, { shape: [B, Tx, dk], data: hData }, { mask, step: mode === 'monotonic' ? steps[i] : undefined });
      const g = loc.backward({ dContext: { shape: [B, dk], data: dC[i] } });
      g.dh.data.forEach((x, k) => (dhSum[k] += x));
      return { r, g };
    });
    const hostParams = loc.gradients();
    loc.zeroGrad();
    const tape = new Tape(rt);
    tape.reset();
    const h = tape.input(hData, [B, Tx, dk], true);
    const memory = attentionMemory(tape, loc.scorer, h);
    const ss = sData.map((d) => tape.input(d, [B, dq], true));
    const outs = ss.map((s, i) => localAttention(tape, loc, s, memory, { mask, step: mode === 'monotonic' ? steps[i] : undefined }));
    outs.forEach((o, i) => {
      expect(maxRelError(o.context.toArray(), host[i].r.context.data)).toBeLessThanOrEqual(1e-6);
      expect(maxRelError(o.position.toArray(), host[i].r.position.data)).toBeLessThanOrEqual(1e-6);
      o.context.grad().view().set(dC[i]);
    });
    tape.backward();
    ss.forEach((s, i) => expect(maxRelError(s.gradToArray(), host[i].g.ds.data), `ds ${i}`).toBeLessThanOrEqual(1e-5));
    expect(maxRelError(h.gradToArray(), dhSum)).toBeLessThanOrEqual(1e-5);
    const tapeParams = loc.gradients();
    for (const name of loc.parameterNames()) expect(maxRelError(tapeParams[name].data, hostParams[name].data), name).toBeLessThanOrEqual(1e-5);
    loc.dispose();
  });

  it('local predictive in a model block under a prefix: same outputs and gradients, parameters under prefix + name', () => {
    const B = 2, Tx = 5, dq = 4, dk = 3;
    const options = { mode: 'predictive' as const, score: 'general' as const, querySize: dq, keySize: dk, window: 2, predictSize: 3, seed: 4 };
    const own = new LocalAttention(rt, options);
    const block = new ParameterBlock(rt.mem, [{ name: 'enc.x', shape: [2] }, ...own.parameterNames().map((n) => ({ name: 'dec.att.' + n, shape: [...own.stateDict()[n].shape] }))]);
    const bound = new LocalAttention(rt, { ...options, block, prefix: 'dec.att.' });
    expect(bound.parameterNames()).toEqual(['W', 'W_p', 'v_p']);
    bound.loadStateDict(own.stateDict());
    expect(Array.from(block.value('dec.att.v_p').view())).toEqual(Array.from(own.stateDict().v_p.data));
    const run = (loc: LocalAttention) => {
      const tape = new Tape(rt);
      tape.reset();
      const h = tape.input(randomArray(B * Tx * dk, 1), [B, Tx, dk], true);
      const s = tape.input(randomArray(B * dq, 2), [B, dq], true);
      const out = localAttention(tape, loc, s, attentionMemory(tape, loc.scorer, h), { mask: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1] });
      out.context.grad().view().set(randomArray(B * dk, 3));
      tape.backward();
      return { context: out.context.toArray(), ds: s.gradToArray(), grads: loc.gradients() };
    };
    const a = run(own), b = run(bound);
    expect(Array.from(b.context)).toEqual(Array.from(a.context));
    expect(Array.from(b.ds)).toEqual(Array.from(a.ds));
    for (const name of own.parameterNames()) expect(Array.from(b.grads[name].data), name).toEqual(Array.from(a.grads[name].data));
    expect(Array.from(block.grad('dec.att.W_p').view())).toEqual(Array.from(a.grads.W_p.data));
    bound.dispose();
    expect(() => block.value('dec.att.W')).not.toThrow(); // the model's block outlives the layer
    block.dispose();
    own.dispose();
  });
});
