// Step-level cells (src/layers/cells.ts over assembly/*_cell_forward / *_cell_backward):
// a sequence run step by step on the tape equals the whole-sequence layer, forward and every
// gradient, for every cell kind; the attention GRU against a float64 reference with central
// differences (dg included), over several steps of one tape; and the argument checks.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { numericalGradient } from './kernel-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape, type Variable } from '../src/train/tape.js';
import { cell, recurrent } from '../src/layers/ops.js';
import {
  AttentionGRUCell, GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell, type RecurrentCell, type RecurrentLayer, type SequenceCellKind,
} from '../src/layers/index.js';
import { cellForward } from '../src/kernels/cells.js';

const KINDS: SequenceCellKind[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru_after', 'gru_before'];

function makePair(rt: Runtime, kind: SequenceCellKind, I: number, H: number, bias: boolean): { seq: RecurrentLayer; step: RecurrentCell } {
  const o = { inputSize: I, hiddenSize: H, bias, seed: 3 + I * H };
  switch (kind) {
    case 'lstm': return { seq: new LSTM(rt, o), step: new LSTMCell(rt, o) };
    case 'gru_after': return { seq: new GRU(rt, o), step: new GRUCell(rt, o) };
    case 'gru_before': return { seq: new GRU(rt, { ...o, resetAfter: false }), step: new GRUCell(rt, { ...o, resetAfter: false }) };
    case 'rnn_relu': return { seq: new RNN(rt, { ...o, nonlinearity: 'relu' }), step: new RNNCell(rt, { ...o, nonlinearity: 'relu' }) };
    default: return { seq: new RNN(rt, o), step: new RNNCell(rt, o) };
  }
}

const STEP_TOL = 1e-6;

/**
 * Largest |got - ref| over max(1, largest |ref|): the weight gradients are sums over T*B rows,
 * one product over all rows in the sequence kernel and T products of B rows here, so they
 * differ by float32 rounding relative to the tensor's scale (up to ~1.1e-6 elementwise).
 */
function scaledError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / scale);
  return Number.isNaN(worst) ? Infinity : worst;
}

describe.each(BUILDS)('cells step by step vs the sequence kernels (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  const shapes = [
    { I: 5, H: 7, B: 3, T: 4, bias: true }, // H off the 4 lanes: the LSTM tail row
    { I: 3, H: 8, B: 1, T: 3, bias: false }, // one row: the grouped single-row products
    { I: 17, H: 33, B: 9, T: 5, bias: true }, // 4x8 register blocks and tails
  ];
  describe.each(KINDS)('%s', (kind) => {
    it.each(shapes)('I=$I H=$H B=$B T=$T bias=$bias: outputs, states, dx, dh0 (dc0) and every weight gradient', ({ I, H, B, T, bias }) => {
      const { seq, step } = makePair(rt, kind, I, H, bias);
      const lstm = kind === 'lstm';
      // The cell takes the sequence layer's weights under torch's cell names.
      const weights = seq.stateDict();
      step.loadStateDict(Object.fromEntries(Object.entries(weights).map(([n, t]) => [n.replace(/_l0$/, ''), t])));
      const seed = 11 + I + H + B;
      const x = randomArray(T * B * I, seed);
      const h0 = randomArray(B * H, seed + 1, 0.5);
      const c0 = randomArray(B * H, seed + 2, 0.5);
      const dOut = randomArray(T * B * H, seed + 3);
      const dHN = randomArray(B * H, seed + 4);
      const dCN = randomArray(B * H, seed + 5);

      seq.zeroGrad();
      const f = seq.forward({ shape: [T, B, I], data: x }, { h0: { shape: [1, B, H], data: h0 }, ...(lstm ? { c0: { shape: [1, B, H], data: c0 } } : {}) });
      const b = seq.backward({
        dOutput: { shape: [T, B, H], data: dOut }, dHN: { shape: [1, B, H], data: dHN },
        ...(lstm ? { dCN: { shape: [1, B, H], data: dCN } } : {}),
      });

      step.zeroGrad();
      const tape = new Tape(rt);
      tape.reset();
      const xs: Variable[] = [];
      const hs: Variable[] = [];
      const hInit = tape.input(h0, [B, H], true);
      const cInit = lstm ? tape.input(c0, [B, H], true) : undefined;
      let h = hInit, c = cInit;
      for (let t = 0; t < T; t++) {
        const xt = tape.input(x.subarray(t * B * I, (t + 1) * B * I), [B, I], true);
        xs.push(xt);
        const r = cell(tape, step, xt, { h, c });
        h = r.h;
        c = r.c;
        hs.push(h);
      }
      expect(tape.length).toBe(T);
      for (let t = 0; t < T; t++) {
        expect(maxRelError(hs[t].toArray(), f.output.data.subarray(t * B * H, (t + 1) * B * H)), `h at t=${t}`).toBeLessThan(STEP_TOL);
      }
      expect(maxRelError(h.toArray(), f.hN.data), 'hN').toBeLessThan(STEP_TOL);
      if (lstm) expect(maxRelError(c!.toArray(), f.cN!.data), 'cN').toBeLessThan(STEP_TOL);

      // Seed the loss sum_t <h_t, dOut_t> + <h_T, dHN> (+ <c_T, dCN>) and run the tape.
      for (let t = 0; t < T; t++) hs[t].grad().view().set(dOut.subarray(t * B * H, (t + 1) * B * H));
      const dLast = hs[T - 1].grad().view();
      for (let i = 0; i < B * H; i++) dLast[i] += dHN[i];
      if (lstm) c!.grad().view().set(dCN);
      tape.backward();
      for (let t = 0; t < T; t++) {
        expect(maxRelError(xs[t].gradToArray(), b.dx!.data.subarray(t * B * I, (t + 1) * B * I)), `dx at t=${t}`).toBeLessThan(STEP_TOL);
      }
      expect(maxRelError(hInit.gradToArray(), b.dH0.data), 'dH0').toBeLessThan(STEP_TOL);
      if (lstm) expect(maxRelError(cInit!.gradToArray(), b.dC0!.data), 'dC0').toBeLessThan(STEP_TOL);
      const seqGrads = seq.gradients();
      const cellGrads = step.gradients();
      expect(Object.keys(cellGrads)).toEqual(bias ? ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'] : ['weight_ih', 'weight_hh']);
      for (const [name, g] of Object.entries(cellGrads)) {
        expect(scaledError(g.data, seqGrads[`${name}_l0`].data), name).toBeLessThan(STEP_TOL);
      }
      seq.dispose();
      step.dispose();
    });
  });

  it('the host API runs one step like a one-step sequence', () => {
    const I = 4, H = 6, B = 2;
    const { seq, step } = makePair(rt, 'lstm', I, H, true);
    step.loadStateDict(Object.fromEntries(Object.entries(seq.stateDict()).map(([n, t]) => [n.replace(/_l0$/, ''), t])));
    const x = randomArray(B * I, 1), h0 = randomArray(B * H, 2), c0 = randomArray(B * H, 3);
    const dH = randomArray(B * H, 4), dC = randomArray(B * H, 5);
    const f = seq.forward({ shape: [1, B, I], data: x }, { h0: { shape: [1, B, H], data: h0 }, c0: { shape: [1, B, H], data: c0 } });
    const g = seq.backward({ dHN: { shape: [1, B, H], data: dH }, dCN: { shape: [1, B, H], data: dC } });
    const s = step.forward({ shape: [B, I], data: x }, { h: { shape: [B, H], data: h0 }, c: { shape: [B, H], data: c0 } });
    const d = step.backward({ dH: { shape: [B, H], data: dH }, dC: { shape: [B, H], data: dC } });
    expect(s.h.shape).toEqual([B, H]);
    expect(maxRelError(s.h.data, f.hN.data)).toBeLessThan(STEP_TOL);
    expect(maxRelError(s.c!.data, f.cN!.data)).toBeLessThan(STEP_TOL);
    expect(maxRelError(d.dx!.data, g.dx!.data)).toBeLessThan(STEP_TOL);
    expect(maxRelError(d.dh.data, g.dH0.data)).toBeLessThan(STEP_TOL);
    expect(maxRelError(d.dc!.data, g.dC0!.data)).toBeLessThan(STEP_TOL);
    seq.dispose();
    step.dispose();
  });

  it('a sequence layer runs twice in one tape step, each call backpropagated (gradients add up)', () => {
    const I = 3, H = 5, B = 2, T = 3;
    const layer = new GRU(rt, { inputSize: I, hiddenSize: H, seed: 5 });
    const xa = randomArray(T * B * I, 1), xb = randomArray(T * B * I, 2), dOut = randomArray(T * B * H, 3);
    // Expected: the two calls' gradients, each from the host API, added.
    const expected: Record<string, Float32Array> = {};
    const dx: Float32Array[] = [];
    for (const x of [xa, xb]) {
      layer.zeroGrad();
      layer.forward({ shape: [T, B, I], data: x });
      dx.push(layer.backward({ dOutput: { shape: [T, B, H], data: dOut } }).dx!.data);
      for (const [n, g] of Object.entries(layer.gradients())) expected[n] = expected[n] ? expected[n].map((v, i) => v + g.data[i]) : g.data;
    }
    layer.zeroGrad();
    const tape = new Tape(rt);
    tape.reset();
    const va = tape.input(xa, [T, B, I], true), vb = tape.input(xb, [T, B, I], true);
    const oa = recurrent(tape, layer, va).output, ob = recurrent(tape, layer, vb).output;
    oa.grad().view().set(dOut);
    ob.grad().view().set(dOut);
    tape.backward();
    expect(maxRelError(va.gradToArray(), dx[0])).toBeLessThan(1e-6);
    expect(maxRelError(vb.gradToArray(), dx[1])).toBeLessThan(1e-6);
    for (const [n, g] of Object.entries(layer.gradients())) expect(maxRelError(g.data, expected[n]), n).toBeLessThan(1e-6);
    layer.dispose();
  });

  it('torch names, shapes and initialisation range', () => {
    const c = new GRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
    const sd = c.stateDict();
    expect(Object.fromEntries(Object.entries(sd).map(([n, t]) => [n, t.shape]))).toEqual({
      weight_ih: [12, 3], weight_hh: [12, 4], bias_ih: [12], bias_hh: [12],
    });
    const all = Object.values(sd).flatMap((t) => [...t.data]);
    expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(0.5);
    expect(Math.max(...all.map(Math.abs))).toBeGreaterThan(0.3);
    expect(new AttentionGRUCell(rt, { inputSize: 3, hiddenSize: 4 }).stateDict().weight_hh.shape).toEqual([8, 4]);
    expect(new LSTMCell(rt, { inputSize: 3, hiddenSize: 4, bias: false }).parameterNames()).toEqual(['weight_ih', 'weight_hh']);
    c.dispose();
  });

  it('rejects bad input before any kernel runs', () => {
    const g = new GRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
    const a = new AttentionGRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
    const x = { shape: [2, 3], data: new Float32Array(6) };
    expect(() => g.forward({ shape: [2, 4], data: new Float32Array(8) })).toThrow(/x must have shape \[B, 3\]/);
    expect(() => g.forward(x, { c: { shape: [2, 4], data: new Float32Array(8) } })).toThrow(/c is only accepted by LSTMCell/);
    expect(() => g.forward(x, { h: { shape: [2, 5], data: new Float32Array(10) } })).toThrow(/h must have shape \[2, 4\]/);
    expect(() => g.forward({ shape: [2, 3], data: Float32Array.from([0, 0, NaN, 0, 0, 0]) })).toThrow(/x contains a non-finite value/);
    expect(() => g.backward()).toThrow(/needs a preceding forward/);
    expect(() => a.forward(x)).toThrow(/needs gate/);
    expect(() => a.forward(x, { gate: { shape: [3], data: new Float32Array(3) } })).toThrow(/gate must have shape \[2\]/);
    expect(() => cellForward(rt, { cell: 'gru_after', batch: 2, inputSize: 3, hiddenSize: 4, x: 0, weightIh: 0, weightHh: 0, h: 0, hOut: 0, gates: 0, work: 0 }))
      .toThrow(/extra is required/);
    const other = new GRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 2 });
    const tape = new Tape(rt);
    tape.reset();
    const r = g.forwardDevice({ x: tape.input(x.data, [2, 3]).value, arena: tape.arena });
    expect(() => other.backwardDevice(r.step)).toThrow(/a step returned by this cell/);
    for (const l of [g, a, other]) l.dispose();
  });
});

// ---- attention GRU: float64 reference ---------------------------------------------------

interface AttnInputs {
  x: Float64Array[]; // per step [B, I]
  g: Float64Array[]; // per step [B]
  h0: Float64Array;
  wIh: Float64Array; wHh: Float64Array; bIh: Float64Array; bHh: Float64Array;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** h after every step: r = σ(W_ir x + b_ir + W_hr h + b_hr), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = g n + (1-g) h. */
function attentionGruReference(p: AttnInputs, B: number, I: number, H: number): Float64Array[] {
  let h = p.h0;
  const out: Float64Array[] = [];
  for (let t = 0; t < p.x.length; t++) {
    const next = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const row = (r: number, W: Float64Array, cols: number, v: Float64Array, vo: number) => {
          let s = 0;
          for (let k = 0; k < cols; k++) s += W[r * cols + k] * v[vo + k];
          return s;
        };
        const r = sigmoid(row(j, p.wIh, I, p.x[t], b * I) + p.bIh[j] + row(j, p.wHh, H, h, b * H) + p.bHh[j]);
        const hn = row(H + j, p.wHh, H, h, b * H) + p.bHh[H + j];
        const n = Math.tanh(row(H + j, p.wIh, I, p.x[t], b * I) + p.bIh[H + j] + r * hn);
        const g = p.g[t][b];
        next[b * H + j] = g * n + (1 - g) * h[b * H + j];
      }
    }
    out.push(next);
    h = next;
  }
  return out;
}

describe.each(BUILDS)('attention GRU cell (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each([
    { I: 3, H: 5, B: 2, T: 3 },
    { I: 6, H: 8, B: 5, T: 2 },
  ])('I=$I H=$H B=$B over T=$T steps of one tape: forward and central differences of every input, g and parameter', ({ I, H, B, T }) => {
    const layer = new AttentionGRUCell(rt, { inputSize: I, hiddenSize: H, seed: 7 + H });
    const sd = layer.stateDict();
    const seed = 31 + I * H;
    const xs = Array.from({ length: T }, (_, t) => randomArray(B * I, seed + t));
    // Gates in (0, 1), one per row and step, as the DMN's softmax would give.
    const gs = Array.from({ length: T }, (_, t) => randomArray(B, seed + 10 + t).map((v) => 0.5 + 0.45 * v));
    const h0 = randomArray(B * H, seed + 20, 0.5);
    const dH = randomArray(B * H, seed + 21);
    const ref: AttnInputs = {
      x: xs.map((v) => Float64Array.from(v)), g: gs.map((v) => Float64Array.from(v)), h0: Float64Array.from(h0),
      wIh: Float64Array.from(sd.weight_ih.data), wHh: Float64Array.from(sd.weight_hh.data),
      bIh: Float64Array.from(sd.bias_ih.data), bHh: Float64Array.from(sd.bias_hh.data),
    };
    const loss = () => {
      const hT = attentionGruReference(ref, B, I, H)[T - 1];
      let s = 0;
      for (let i = 0; i < hT.length; i++) s += hT[i] * dH[i];
      return s;
    };

    layer.zeroGrad();
    const tape = new Tape(rt);
    tape.reset();
    const hInit = tape.input(h0, [B, H], true);
    let h = hInit;
    const xv: Variable[] = [], gv: Variable[] = [], hs: Variable[] = [];
    for (let t = 0; t < T; t++) {
      xv.push(tape.input(xs[t], [B, I], true));
      gv.push(tape.input(gs[t], [B], true));
      h = cell(tape, layer, xv[t], { h, gate: gv[t] }).h;
      hs.push(h);
    }
    const want = attentionGruReference(ref, B, I, H);
    for (let t = 0; t < T; t++) expect(maxRelError(hs[t].toArray(), want[t]), `h at t=${t}`).toBeLessThan(1e-5);
    h.grad().view().set(dH);
    tape.backward();

    const tol = 1e-4;
    for (let t = 0; t < T; t++) {
      expect(maxRelError(xv[t].gradToArray(), numericalGradient(loss, ref.x[t], 1e-6)), `dx at t=${t}`).toBeLessThan(tol);
      expect(maxRelError(gv[t].gradToArray(), numericalGradient(loss, ref.g[t], 1e-6)), `dg at t=${t}`).toBeLessThan(tol);
    }
    expect(maxRelError(hInit.gradToArray(), numericalGradient(loss, ref.h0, 1e-6)), 'dh0').toBeLessThan(tol);
    const grads = layer.gradients();
    expect(maxRelError(grads.weight_ih.data, numericalGradient(loss, ref.wIh, 1e-6)), 'weight_ih').toBeLessThan(tol);
    expect(maxRelError(grads.weight_hh.data, numericalGradient(loss, ref.wHh, 1e-6)), 'weight_hh').toBeLessThan(tol);
    expect(maxRelError(grads.bias_ih.data, numericalGradient(loss, ref.bIh, 1e-6)), 'bias_ih').toBeLessThan(tol);
    expect(maxRelError(grads.bias_hh.data, numericalGradient(loss, ref.bHh, 1e-6)), 'bias_hh').toBeLessThan(tol);
    // g = 0 keeps the state exactly; g = 1 is a GRU step without the update gate.
    const keep = layer.forward({ shape: [B, I], data: xs[0] }, { h: { shape: [B, H], data: h0 }, gate: { shape: [B], data: new Float32Array(B) } });
    expect([...keep.h.data]).toEqual([...h0]);
    layer.dispose();
  });
});
