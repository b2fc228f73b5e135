// The 12 attention and 12 local_attention PyTorch golden cases (/work/shared/golden/FORMAT.md
// sections 4 and 7) through the public contract: scores, weights, context, position and every
// gradient within 1e-4·max(1,|ref|); weights and grad.h outside the mask (or the window) exactly 0.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, runtimeFor } from './helpers.js';
import { listFixtures, loadFixture, type Fixture } from './fixtures.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { Attention, LocalAttention } from '../src/layers/index.js';

interface AttentionConfig { score: 'dot' | 'general' | 'concat' | 'additive'; batch: number; Tx: number; dq: number; dk: number; da?: number }
interface LocalConfig { mode: 'local-m' | 'local-p'; score: 'dot' | 'general' | 'concat'; batch: number; Tx: number; dq: number; dk: number; D: number; da?: number; dp?: number }

const GLOBAL = listFixtures('attention_');
const LOCAL = listFixtures('local_attention_');
const TOL = 1e-4;

const f32 = (t: { shape: number[]; data: Float32Array | Int32Array }): HostTensor => ({ shape: t.shape, data: t.data as Float32Array });

function params<C>(fx: Fixture<C>): Record<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const dict: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const key of Object.keys(fx.tensors)) if (key.startsWith('param.')) dict[key.slice(6)] = fx.tensors[key];
  return dict;
}

function checker<C>(fx: Fixture<C>) {
  return (what: string, got: HostTensor | undefined, refName = what) => {
    const ref = fx.tensor(refName);
    expect(got, what).toBeDefined();
    expect(got!.shape, `${what} shape`).toEqual(ref.shape);
    expect(maxRelError(got!.data, ref.data), `${what} max error`).toBeLessThanOrEqual(TOL);
  };
}

/** Counts nonzero weights and grad.h rows at positions where `outside(b, j)`. */
function nonZeroOutside(weights: HostTensor, dh: HostTensor, B: number, Tx: number, dk: number, outside: (b: number, j: number) => boolean) {
  let bad = 0, positions = 0;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Tx; j++) {
      if (!outside(b, j)) continue;
      positions++;
      if (weights.data[b * Tx + j] !== 0) bad++;
      for (let k = 0; k < dk; k++) if (dh.data[(b * Tx + j) * dk + k] !== 0) bad++;
    }
  }
  return { bad, positions };
}

it('all 12 golden attention and 12 local_attention cases are present', () => {
  expect(GLOBAL.length).toBe(12);
  expect(LOCAL.length).toBe(12);
});

describe.each(BUILDS)('golden attention cases (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(GLOBAL)('%s', (name) => {
    const fx = loadFixture<AttentionConfig>(name);
    const c = fx.config;
    const att = new Attention(rt, { score: c.score, querySize: c.dq, keySize: c.dk, attentionSize: c.da, seed: 1 });
    att.loadStateDict(params(fx));
    const mask = fx.tensor('mask').data as Int32Array;
    const r = att.forward(f32(fx.tensor('s')), f32(fx.tensor('h')), { mask });
    const check = checker(fx);
    check('scores', r.scores);
    check('weights', r.weights);
    check('context', r.context);
    const g = att.backward({ dContext: f32(fx.tensor('d_context')), dWeights: f32(fx.tensor('d_weights')) });
    check('grad.s', g.ds);
    check('grad.h', g.dh);
    const grads = att.gradients();
    for (const key of Object.keys(params(fx))) check(`grad.param.${key}`, grads[key]);
    const z = nonZeroOutside(r.weights, g.dh, c.batch, c.Tx, c.dk, (b, j) => mask[b * c.Tx + j] === 0);
    expect(z.bad, `nonzero weights / grad.h at ${z.positions} masked positions`).toBe(0);
    att.dispose();
  });

  it.each(LOCAL)('%s', (name) => {
    const fx = loadFixture<LocalConfig>(name);
    const c = fx.config;
    const loc = new LocalAttention(rt, {
      mode: c.mode === 'local-m' ? 'monotonic' : 'predictive', score: c.score, querySize: c.dq, keySize: c.dk,
      attentionSize: c.da, window: c.D, predictSize: c.dp, seed: 1,
    });
    loc.loadStateDict(params(fx));
    const mask = fx.tensor('mask').data as Int32Array;
    const step = fx.has('step') ? (fx.tensor('step').data as Int32Array) : undefined;
    const r = loc.forward(f32(fx.tensor('s')), f32(fx.tensor('h')), { mask, step });
    const check = checker(fx);
    check('scores', r.scores);
    check('weights', r.weights);
    check('context', r.context);
    check('position', r.position);
    const g = loc.backward({ dContext: f32(fx.tensor('d_context')), dWeights: f32(fx.tensor('d_weights')) });
    check('grad.s', g.ds);
    check('grad.h', g.dh);
    const grads = loc.gradients();
    for (const key of Object.keys(params(fx))) check(`grad.param.${key}`, grads[key]);
    const S = (b: number) => { let n = 0; for (let j = 0; j < c.Tx; j++) n += mask[b * c.Tx + j]; return n; };
    const p = fx.tensor('position').data;
    const z = nonZeroOutside(r.weights, g.dh, c.batch, c.Tx, c.dk, (b, j) => j >= S(b) || Math.abs(j - p[b]) > c.D);
    expect(z.bad, `nonzero weights / grad.h at ${z.positions} positions outside the window`).toBe(0);
    loc.dispose();
  });
});
