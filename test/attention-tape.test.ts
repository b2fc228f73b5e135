// Attention on the tape: one memory (key-side products once), several calls per step (decoder
// steps [B, dq] and a teacher-forced [B, Ty, dq] call), gradients accumulated over all calls
// must equal the sum of the host API's per-call gradients.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape } from '../src/train/tape.js';
import { Attention, attention, attentionMemory, type ScoreKind } from '../src/layers/index.js';

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
});
