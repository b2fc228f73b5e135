// The 40 PyTorch golden cases (/work/shared/golden/FORMAT.md §3): outputs, final states and
// every gradient within 1e-4·max(1,|ref|); padded outputs and their input gradients exactly 0.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, runtimeFor } from './helpers.js';
import { listFixtures, loadFixture } from './fixtures.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { GRU, LSTM, RNN, type RecurrentLayer } from '../src/layers/index.js';

interface RnnConfig {
  mode: 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
  inputSize: number; hiddenSize: number; numLayers: number; bidirectional: boolean; bias: boolean;
  batchFirst: boolean; seqLen: number; batch: number; withLengths: boolean; resetAfter?: boolean;
}

const CASES = listFixtures('rnn_');
const TOL = 1e-4;

function makeLayer(rt: Runtime, c: RnnConfig): RecurrentLayer {
  const opts = { inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, bidirectional: c.bidirectional, bias: c.bias, batchFirst: c.batchFirst, seed: 1 };
  if (c.mode === 'LSTM') return new LSTM(rt, opts);
  if (c.mode === 'GRU') return new GRU(rt, { ...opts, resetAfter: c.resetAfter });
  return new RNN(rt, { ...opts, nonlinearity: c.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
}

const f32 = (t: { shape: number[]; data: Float32Array | Int32Array }): HostTensor => ({ shape: t.shape, data: t.data as Float32Array });

it('all 40 golden rnn cases are present', () => {
  expect(CASES.length).toBe(40);
});

describe.each(BUILDS)('golden rnn cases (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(CASES)('%s', (name) => {
    const fx = loadFixture<RnnConfig>(name);
    const c = fx.config;
    const layer = makeLayer(rt, c);
    const dict: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
    for (const key of Object.keys(fx.tensors)) if (key.startsWith('model.')) dict[key.slice(6)] = fx.tensors[key];
    layer.loadStateDict(dict);
    const isLstm = c.mode === 'LSTM';
    const lengths = c.withLengths ? (fx.tensor('lengths').data as Int32Array) : undefined;
    const r = layer.forward(f32(fx.tensor('x')), {
      h0: f32(fx.tensor('h0')), c0: isLstm ? f32(fx.tensor('c0')) : undefined, lengths, training: true,
    });
    const check = (what: string, got: HostTensor | undefined, refName: string) => {
      const ref = fx.tensor(refName);
      expect(got, what).toBeDefined();
      expect(got!.shape, `${what} shape`).toEqual(ref.shape);
      expect(maxRelError(got!.data, ref.data), `${what} max error`).toBeLessThanOrEqual(TOL);
    };
    check('output', r.output, 'output');
    check('h_n', r.hN, 'h_n');
    if (isLstm) check('c_n', r.cN, 'c_n');

    const b = layer.backward({
      dOutput: f32(fx.tensor('d_output')), dHN: f32(fx.tensor('d_h_n')), dCN: isLstm ? f32(fx.tensor('d_c_n')) : undefined,
    });
    check('grad.x', b.dx, 'grad.x');
    check('grad.h0', b.dH0, 'grad.h0');
    if (isLstm) check('grad.c0', b.dC0, 'grad.c0');
    const grads = layer.gradients();
    for (const key of Object.keys(dict)) check(`grad.model.${key}`, grads[key], `grad.model.${key}`);

    if (lengths) {
      // Exact zeros past each length: output (both directions) and grad.x.
      const T = c.seqLen, B = c.batch, DH = (c.bidirectional ? 2 : 1) * c.hiddenSize, I = c.inputSize;
      let nonZero = 0, padded = 0;
      for (let bi = 0; bi < B; bi++) {
        for (let t = lengths[bi]; t < T; t++) {
          padded++;
          const rowOut = c.batchFirst ? bi * T + t : t * B + bi;
          for (let j = 0; j < DH; j++) if (r.output.data[rowOut * DH + j] !== 0) nonZero++;
          for (let j = 0; j < I; j++) if (b.dx!.data[rowOut * I + j] !== 0) nonZero++;
        }
      }
      expect(nonZero, `nonzero values at ${padded} padded positions`).toBe(0);
    }
    layer.dispose();
  });
});
