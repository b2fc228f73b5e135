// The 6 dmn_gate (gated GRU, the lecture's cell) and 6 dmn_plus_gate (DMN+ attention GRU)
// PyTorch cases (/work/shared/golden/FORMAT.md §5, §8) through the public EpisodeAttention
// contract: scores, g, episode and every gradient within 1e-4·max(1,|ref|); g at masked facts
// and grad.s of masked facts exactly 0.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, runtimeFor } from './helpers.js';
import { listFixtures, loadFixture } from './fixtures.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { EpisodeAttention } from '../src/layers/episode.js';

interface GateConfig { batch: number; M: number; d: number; da: number; hiddenSize: number }

const GATED = listFixtures('dmn_gate_');
const PLUS = listFixtures('dmn_plus_gate_');
const TOL = 1e-4;
const f32 = (t: { shape: number[]; data: Float32Array | Int32Array }): HostTensor => ({ shape: t.shape, data: t.data as Float32Array });

it('all 6 + 6 golden episode cases are present', () => {
  expect(GATED.length).toBe(6);
  expect(PLUS.length).toBe(6);
});

describe.each(BUILDS)('golden episode cases (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each([...GATED.map((n) => [n, 'gated-gru'] as const), ...PLUS.map((n) => [n, 'attention-gru'] as const)])('%s (%s)', (name, cell) => {
    const fx = loadFixture<GateConfig>(name);
    const c = fx.config;
    const ep = new EpisodeAttention(rt, { factSize: c.d, hiddenSize: c.hiddenSize, gateSize: c.da, cell, seed: 1 });
    const dict: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
    for (const key of Object.keys(fx.tensors)) if (key.startsWith('param.')) dict[key.slice(6)] = fx.tensors[key];
    expect(Object.keys(dict).sort()).toEqual(ep.parameterNames().sort());
    ep.loadStateDict(dict);
    const mask = fx.tensor('mask').data as Int32Array;
    const r = ep.forward(f32(fx.tensor('s')), f32(fx.tensor('q')), f32(fx.tensor('m')), { mask });
    const check = (what: string, got: HostTensor, refName: string) => {
      const ref = fx.tensor(refName);
      expect(got.shape, `${what} shape`).toEqual(ref.shape);
      expect(maxRelError(got.data, ref.data), `${what} max error`).toBeLessThanOrEqual(TOL);
    };
    check('scores', r.scores, 'scores');
    check('g', r.g, 'g');
    check('episode', r.episode, 'episode');
    const b = ep.backward({ dEpisode: f32(fx.tensor('d_episode')), dG: f32(fx.tensor('d_g')) });
    check('grad.s', b.ds, 'grad.s');
    check('grad.q', b.dq, 'grad.q');
    check('grad.m', b.dm, 'grad.m');
    const grads = ep.gradients();
    for (const key of Object.keys(dict)) check(`grad.param.${key}`, grads[key], `grad.param.${key}`);
    // Exact zeros at masked facts.
    let nonZero = 0, masked = 0;
    for (let k = 0; k < mask.length; k++) {
      if (mask[k] === 1) continue;
      masked++;
      if (r.g.data[k] !== 0) nonZero++;
      for (let j = 0; j < c.d; j++) if (b.ds.data[k * c.d + j] !== 0) nonZero++;
    }
    expect(nonZero, `non-zero g or grad.s at ${masked} masked facts`).toBe(0);
    ep.dispose();
  });
});
