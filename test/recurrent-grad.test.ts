// Recurrent layers against the float64 reference (test/recurrent-reference.ts): forward values
// at sizes off the SIMD widths, and BPTT against central differences in float64 for every
// mode with lengths, both directions and two layers. Larger shapes (which exercise every
// blocked path of the step kernels) are checked with random directional derivatives.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { numericalGradient } from './kernel-helpers.js';
import { gateCount, referenceForward, referenceLoss, type RefConfig, type RefInputs } from './recurrent-reference.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { GRU, LSTM, RNN, type CellKind, type RecurrentLayer } from '../src/layers/index.js';

const CELLS: CellKind[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru_after', 'gru_before'];

function makeLayer(rt: Runtime, cfg: RefConfig, seed: number): RecurrentLayer {
  const o = { inputSize: cfg.I, hiddenSize: cfg.H, numLayers: cfg.L, bidirectional: cfg.D === 2, bias: cfg.bias, batchFirst: cfg.batchFirst, seed };
  switch (cfg.cell) {
    case 'lstm': return new LSTM(rt, o);
    case 'gru_after': return new GRU(rt, o);
    case 'gru_before': return new GRU(rt, { ...o, resetAfter: false });
    case 'rnn_relu': return new RNN(rt, { ...o, nonlinearity: 'relu' });
    default: return new RNN(rt, o);
  }
}

interface Problem {
  cfg: RefConfig;
  layer: RecurrentLayer;
  inputs: RefInputs;
  x: Float32Array; h0: Float32Array; c0?: Float32Array;
  dOut: Float32Array; dHN: Float32Array; dCN?: Float32Array;
}

function makeProblem(rt: Runtime, cfg: RefConfig, lengths: Int32Array | undefined, seed: number): Problem {
  const layer = makeLayer(rt, cfg, seed);
  const { I, H, L, D, T, B } = cfg;
  const isLstm = cfg.cell === 'lstm';
  const x = randomArray(T * B * I, seed + 1);
  const h0 = randomArray(L * D * B * H, seed + 2, 0.5);
  const c0 = isLstm ? randomArray(L * D * B * H, seed + 3, 0.5) : undefined;
  const dOut = randomArray(T * B * D * H, seed + 4);
  const dHN = randomArray(L * D * B * H, seed + 5);
  const dCN = isLstm ? randomArray(L * D * B * H, seed + 6) : undefined;
  const params: Record<string, Float64Array> = {};
  for (const [name, t] of Object.entries(layer.stateDict())) params[name] = Float64Array.from(t.data);
  const inputs: RefInputs = { params, x: Float64Array.from(x), h0: Float64Array.from(h0), c0: c0 && Float64Array.from(c0), lengths };
  return { cfg, layer, inputs, x, h0, c0, dOut, dHN, dCN };
}

function runWasm(p: Problem) {
  const { cfg } = p;
  const xShape = cfg.batchFirst ? [cfg.B, cfg.T, cfg.I] : [cfg.T, cfg.B, cfg.I];
  const sShape = [cfg.L * cfg.D, cfg.B, cfg.H];
  const oShape = cfg.batchFirst ? [cfg.B, cfg.T, cfg.D * cfg.H] : [cfg.T, cfg.B, cfg.D * cfg.H];
  p.layer.zeroGrad();
  const f = p.layer.forward({ shape: xShape, data: p.x }, {
    h0: { shape: sShape, data: p.h0 }, c0: p.c0 && { shape: sShape, data: p.c0 }, lengths: p.inputs.lengths, training: true,
  });
  const b = p.layer.backward({
    dOutput: { shape: oShape, data: p.dOut }, dHN: { shape: sShape, data: p.dHN }, dCN: p.dCN && { shape: sShape, data: p.dCN },
  });
  return { f, b, grads: p.layer.gradients() };
}

function numericGradient(p: Problem, v: Float64Array, eps = 1e-6): Float64Array {
  return numericalGradient(() => referenceLoss(p.cfg, p.inputs, p.dOut, p.dHN, p.dCN), v, eps);
}

const GRAD_TOL = 1e-4;

describe.each(BUILDS)('recurrent layers vs float64 reference (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  // Small enough for a full finite-difference gradient of every input and parameter.
  describe.each(CELLS)('%s', (cell) => {
    const variants: { name: string; cfg: Omit<RefConfig, 'cell'>; lengths?: number[] }[] = [
      { name: 'L2 bidirectional lengths', cfg: { I: 3, H: 5, L: 2, D: 2, bias: true, batchFirst: false, T: 4, B: 3 }, lengths: [4, 1, 3] },
      { name: 'L2 uni lengths max<T batchFirst no-bias', cfg: { I: 7, H: 3, L: 2, D: 1, bias: false, batchFirst: true, T: 5, B: 2 }, lengths: [2, 3] },
      { name: 'L1 bidirectional full length H=1', cfg: { I: 1, H: 1, L: 1, D: 2, bias: true, batchFirst: false, T: 3, B: 1 } },
    ];
    it.each(variants)('$name: forward values and finite-difference gradients', ({ cfg: c, lengths }) => {
      const cfg: RefConfig = { ...c, cell };
      const p = makeProblem(rt, cfg, lengths && Int32Array.from(lengths), 17 + c.H * 3 + c.I);
      const { f, b, grads } = runWasm(p);
      const ref = referenceForward(cfg, p.inputs);
      expect(maxRelError(f.output.data, ref.output), 'output').toBeLessThan(1e-5);
      expect(maxRelError(f.hN.data, ref.hN), 'hN').toBeLessThan(1e-5);
      if (ref.cN) expect(maxRelError(f.cN!.data, ref.cN), 'cN').toBeLessThan(1e-5);

      expect(maxRelError(b.dx!.data, numericGradient(p, p.inputs.x)), 'dx').toBeLessThan(GRAD_TOL);
      expect(maxRelError(b.dH0.data, numericGradient(p, p.inputs.h0)), 'dH0').toBeLessThan(GRAD_TOL);
      if (p.inputs.c0) expect(maxRelError(b.dC0!.data, numericGradient(p, p.inputs.c0)), 'dC0').toBeLessThan(GRAD_TOL);
      for (const name of Object.keys(p.inputs.params)) {
        expect(maxRelError(grads[name].data, numericGradient(p, p.inputs.params[name])), name).toBeLessThan(GRAD_TOL);
      }
      p.layer.dispose();
    });
  });

  // Shapes that hit the 4-row x 8-column blocks, the 32-column single-row blocks and every
  // tail of the step kernels: forward vs the reference, gradients by directional derivatives.
  describe.each(CELLS)('%s at larger shapes', (cell) => {
    const shapes: { cfg: Omit<RefConfig, 'cell'>; lengths?: number[] }[] = [
      { cfg: { I: 17, H: 33, L: 2, D: 2, bias: true, batchFirst: false, T: 7, B: 5 }, lengths: [7, 3, 5, 1, 6] },
      { cfg: { I: 13, H: 40, L: 1, D: 1, bias: true, batchFirst: true, T: 6, B: 9 } },
      { cfg: { I: 33, H: 13, L: 1, D: 2, bias: false, batchFirst: false, T: 13, B: 4 }, lengths: [13, 13, 2, 9] },
      { cfg: { I: 3, H: 5, L: 1, D: 2, bias: true, batchFirst: false, T: 3, B: 70 } }, // more than one 64-row chunk
      { cfg: { I: 3, H: 256, L: 1, D: 2, bias: true, batchFirst: false, T: 3, B: 8 }, lengths: [3, 1, 2, 3, 3, 2, 1, 3] }, // Strassen step products
    ];
    it.each(shapes)('I=$cfg.I H=$cfg.H L=$cfg.L D=$cfg.D T=$cfg.T B=$cfg.B', ({ cfg: c, lengths }) => {
      const cfg: RefConfig = { ...c, cell };
      const p = makeProblem(rt, cfg, lengths && Int32Array.from(lengths), 5 + c.H);
      const { f, b, grads } = runWasm(p);
      const ref = referenceForward(cfg, p.inputs);
      expect(maxRelError(f.output.data, ref.output), 'output').toBeLessThan(1e-5);
      expect(maxRelError(f.hN.data, ref.hN), 'hN').toBeLessThan(1e-5);
      if (ref.cN) expect(maxRelError(f.cN!.data, ref.cN), 'cN').toBeLessThan(1e-5);
      // <grad, v> against (L(θ+εv) - L(θ-εv)) / 2ε for random v over every input and parameter.
      const targets: [string, Float64Array, ArrayLike<number>][] = [
        ['dx', p.inputs.x, b.dx!.data], ['dH0', p.inputs.h0, b.dH0.data],
        ...(p.inputs.c0 ? [['dC0', p.inputs.c0, b.dC0!.data] as [string, Float64Array, ArrayLike<number>]] : []),
        ...Object.keys(p.inputs.params).map((n) => [n, p.inputs.params[n], grads[n].data] as [string, Float64Array, ArrayLike<number>]),
      ];
      const loss = () => referenceLoss(cfg, p.inputs, p.dOut, p.dHN, p.dCN);
      const eps = 1e-6;
      for (const [name, v, g] of targets) {
        const dir = randomArray(v.length, v.length + 7);
        let analytic = 0;
        for (let i = 0; i < v.length; i++) analytic += g[i] * dir[i];
        const keep = v.slice();
        for (let i = 0; i < v.length; i++) v[i] = keep[i] + eps * dir[i];
        const up = loss();
        for (let i = 0; i < v.length; i++) v[i] = keep[i] - eps * dir[i];
        const down = loss();
        v.set(keep);
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric)), `${name}: ${analytic} vs ${numeric}`).toBeLessThan(1e-4);
      }
      p.layer.dispose();
    });
  });

  // The input projection runs packed (gemm_pack_b + gemm_packed_b) below I = 256 and through
  // gemm_f32 from there; T*B < 4 takes the grouped single-row panels. Layers after the first
  // take D*H inputs, so the work buffer must fit both projections (inputSize 300 with D*H 14).
  describe.each(CELLS)('%s input projection paths', (cell) => {
    const shapes: { cfg: Omit<RefConfig, 'cell'>; lengths?: number[] }[] = [
      { cfg: { I: 300, H: 7, L: 2, D: 2, bias: true, batchFirst: false, T: 3, B: 1 } },
      { cfg: { I: 255, H: 13, L: 1, D: 1, bias: true, batchFirst: false, T: 1, B: 1 } },
      { cfg: { I: 256, H: 5, L: 2, D: 1, bias: false, batchFirst: true, T: 4, B: 2 }, lengths: [4, 3] },
      { cfg: { I: 100, H: 17, L: 1, D: 2, bias: false, batchFirst: false, T: 33, B: 3 }, lengths: [33, 7, 1] },
      { cfg: { I: 1, H: 3, L: 2, D: 1, bias: true, batchFirst: false, T: 7, B: 1 } },
    ];
    it.each(shapes)('forward I=$cfg.I H=$cfg.H L=$cfg.L D=$cfg.D T=$cfg.T B=$cfg.B', ({ cfg: c, lengths }) => {
      const cfg: RefConfig = { ...c, cell };
      const p = makeProblem(rt, cfg, lengths && Int32Array.from(lengths), 3 + c.I);
      const { f } = runWasm(p);
      const ref = referenceForward(cfg, p.inputs);
      expect(maxRelError(f.output.data, ref.output), 'output').toBeLessThan(1e-5);
      expect(maxRelError(f.hN.data, ref.hN), 'hN').toBeLessThan(1e-5);
      if (ref.cN) expect(maxRelError(f.cN!.data, ref.cN), 'cN').toBeLessThan(1e-5);
      p.layer.dispose();
    });
  });

  it('gate count matches the torch layouts', () => {
    expect(CELLS.map(gateCount)).toEqual([1, 1, 4, 3, 3]);
  });
});
