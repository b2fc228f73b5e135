// Recurrent layers' contract beyond the numbers: argument errors before any kernel runs,
// state dicts, gradient accumulation, memory flatness over 1000 training steps, seeded
// dropout, and the device-level API over a shared parameter block.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Arena } from '../src/runtime/memory.js';
import { ParameterBlock, Tensor } from '../src/runtime/tensor.js';
import { GRU, LSTM, RNN } from '../src/layers/index.js';
import { prefixSpecs } from '../src/layers/linear.js';
import type { Rng } from '../src/train/rng.js';

const host = (shape: number[], seed: number, scale = 1) => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed, scale) });

describe.each(BUILDS)('recurrent layer API (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it('rejects bad options with errors naming the option', () => {
    expect(() => new LSTM(rt, { inputSize: 0, hiddenSize: 4 })).toThrow(/inputSize/);
    expect(() => new LSTM(rt, { inputSize: 3, hiddenSize: 2.5 })).toThrow(/hiddenSize/);
    expect(() => new GRU(rt, { inputSize: 3, hiddenSize: 4, numLayers: 0 })).toThrow(/numLayers/);
    expect(() => new RNN(rt, { inputSize: 3, hiddenSize: 4, dropout: 1 })).toThrow(/dropout/);
    expect(() => new RNN(rt, { inputSize: 3, hiddenSize: 4, dropout: NaN })).toThrow(/dropout/);
    expect(() => new RNN(rt, { inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as 'tanh' })).toThrow(/nonlinearity/);
    expect(() => new GRU(rt, { inputSize: 3, hiddenSize: 4, resetAfter: 1 as unknown as boolean })).toThrow(/resetAfter/);
    expect(() => new LSTM(rt, { inputSize: 3, hiddenSize: 4, bidirectional: 'yes' as unknown as boolean })).toThrow(/bidirectional/);
    expect(() => new LSTM(rt, { inputSize: 3, hiddenSize: 4, dropoutRng: {} as Rng })).toThrow(/dropoutRng must be an Rng/);
  });

  it('rejects bad forward and backward arguments before running, and keeps working afterwards', () => {
    const lstm = new LSTM(rt, { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 3 });
    const x = host([5, 2, 3], 1);
    const good = lstm.forward(x);
    expect(() => lstm.forward(host([5, 2, 4], 1))).toThrow(/inputSize 3/);
    expect(() => lstm.forward(host([10, 3], 1))).toThrow(/\[T, B, inputSize\]/);
    expect(() => lstm.forward({ shape: [5, 2, 3], data: new Float32Array(29) })).toThrow(/30/);
    const nan = host([5, 2, 3], 1);
    nan.data[7] = NaN;
    expect(() => lstm.forward(nan)).toThrow(/x contains a non-finite value/);
    expect(() => lstm.forward(x, { h0: host([2, 2, 4], 2) })).toThrow(/h0 must have shape \[4, 2, 4\]/);
    expect(() => lstm.forward(x, { c0: host([4, 3, 4], 2) })).toThrow(/c0 must have shape \[4, 2, 4\]/);
    expect(() => lstm.forward(x, { lengths: Int32Array.from([5, 0]) })).toThrow(/lengths\[1\] must be in 1..5/);
    expect(() => lstm.forward(x, { lengths: Int32Array.from([6, 1]) })).toThrow(/lengths\[0\] must be in 1..5/);
    expect(() => lstm.forward(x, { lengths: Int32Array.from([5]) })).toThrow(/lengths must have 2 values/);
    expect(() => lstm.forward(x, { lengths: [5, 5] as unknown as Int32Array })).toThrow(/lengths must be an Int32Array of 2 values, got \[5, 5\]/);
    expect(() => lstm.forward({ shape: [5, 2, 3], data: new Float64Array(30) as unknown as Float32Array })).toThrow(
      /x must be \{ shape: number\[\], data: Float32Array \}, got shape \[5, 2, 3\], data Float64Array\(30\)/,
    );
    const gru = new GRU(rt, { inputSize: 3, hiddenSize: 4 });
    // @ts-expect-error c0 does not type-check on a GRU (issue 18); plain JavaScript still gets the runtime error
    expect(() => gru.forward(x, { c0: host([1, 2, 4], 2) })).toThrow(/c0 is only accepted by LSTM/);
    expect(() => gru.backward({})).toThrow(/needs a preceding forward\(\) in training mode/);
    gru.eval().forward(x);
    expect(() => gru.backward({})).toThrow(/training mode/);
    // Backward of the good forward still works after the rejected calls, with a shape check first.
    lstm.forward(x);
    expect(() => lstm.backward({ dOutput: host([5, 2, 4], 4) })).toThrow(/dOutput must have shape \[5, 2, 8\]/);
    expect(() => lstm.backward({ dHN: host([4, 2, 5], 4) })).toThrow(/dHN must have shape \[4, 2, 4\]/);
    const again = lstm.forward(x);
    expect(maxRelError(again.output.data, good.output.data)).toBe(0);
    expect(() => lstm.backward({ dOutput: host([5, 2, 8], 4) })).not.toThrow();
  });

  it('batchFirst changes the expected layout', () => {
    const rnn = new RNN(rt, { inputSize: 3, hiddenSize: 4, batchFirst: true, seed: 1 });
    expect(() => rnn.forward(host([5, 2, 3], 1), { lengths: Int32Array.from([5, 5]) })).toThrow(/lengths must have 5 values/);
    const r = rnn.forward(host([2, 5, 3], 1));
    expect(r.output.shape).toEqual([2, 5, 4]);
    expect(r.hN.shape).toEqual([1, 2, 4]);
  });

  it('state dict: torch names and shapes, copies, round trip, and errors naming the tensor', () => {
    const opts = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true };
    const a = new GRU(rt, { ...opts, seed: 1 });
    const b = new GRU(rt, { ...opts, seed: 2 });
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual(GRU.parameterSpecs(opts).map((s) => s.name));
    expect(sd.weight_ih_l1_reverse.shape).toEqual([15, 10]);
    expect(sd.bias_hh_l0.shape).toEqual([15]);
    const x = host([4, 2, 3], 5);
    expect(maxRelError(a.forward(x).output.data, b.forward(x).output.data)).toBeGreaterThan(1e-3);
    b.loadStateDict(sd);
    expect(maxRelError(a.forward(x).output.data, b.forward(x).output.data)).toBe(0);
    sd.weight_hh_l0.data.fill(0); // a copy: the layer is unchanged
    expect(a.stateDict().weight_hh_l0.data.some((v) => v !== 0)).toBe(true);
    const { weight_hh_l1: _dropped, ...missing } = a.stateDict();
    expect(() => b.loadStateDict(missing)).toThrow(/missing 'weight_hh_l1' \(shape \[15, 5\]\)/);
    expect(() => b.loadStateDict({ ...a.stateDict(), weight_hh_l2: { shape: [15, 5], data: new Float32Array(75) } })).toThrow(/unexpected tensor 'weight_hh_l2'/);
    expect(() => b.loadStateDict({ ...a.stateDict(), bias_ih_l0: { shape: [16], data: new Float32Array(16) } })).toThrow(/'bias_ih_l0' must have shape \[15\]/);
    const bad = a.stateDict();
    bad.weight_ih_l0.data[0] = Infinity;
    expect(() => b.loadStateDict(bad)).toThrow(/weight_ih_l0.*non-finite/);
    // A rejected load changes nothing.
    expect(maxRelError(a.forward(x).output.data, b.forward(x).output.data)).toBe(0);
    const nb = new GRU(rt, { ...opts, bias: false });
    expect(() => nb.loadStateDict(a.stateDict())).toThrow(/unexpected tensor 'bias_ih_l0'/);
  });

  it('initialisation is torch default U(-1/sqrt(H), 1/sqrt(H)) and seeded', () => {
    const a = new LSTM(rt, { inputSize: 7, hiddenSize: 16, seed: 9 }).stateDict();
    const b = new LSTM(rt, { inputSize: 7, hiddenSize: 16, seed: 9 }).stateDict();
    const c = new LSTM(rt, { inputSize: 7, hiddenSize: 16, seed: 10 }).stateDict();
    expect(maxRelError(a.weight_ih_l0.data, b.weight_ih_l0.data)).toBe(0);
    expect(maxRelError(a.weight_ih_l0.data, c.weight_ih_l0.data)).toBeGreaterThan(0);
    let lo = Infinity, hi = -Infinity;
    for (const t of Object.values(a)) for (const v of t.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect(lo).toBeGreaterThanOrEqual(-0.25);
    expect(hi).toBeLessThanOrEqual(0.25);
    expect(hi - lo).toBeGreaterThan(0.45);
  });

  it('gradients accumulate across backward calls until zeroGrad', () => {
    const lstm = new LSTM(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
    const x = host([5, 2, 3], 1), dOut = host([5, 2, 4], 2);
    lstm.forward(x);
    lstm.backward({ dOutput: dOut });
    const once = lstm.gradients().weight_hh_l0.data;
    lstm.forward(x);
    lstm.backward({ dOutput: dOut });
    const twice = lstm.gradients().weight_hh_l0.data;
    expect(maxRelError(twice, once.map((v) => 2 * v))).toBeLessThan(1e-6);
    lstm.zeroGrad();
    expect(lstm.gradients().weight_hh_l0.data.every((v) => v === 0)).toBe(true);
  });

  it('inputGrad: false skips dx and leaves every other gradient unchanged', () => {
    const gru = new GRU(rt, { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 2 });
    const x = host([5, 2, 3], 1), dOut = host([5, 2, 8], 2), dHN = host([4, 2, 4], 3);
    gru.forward(x);
    const full = gru.backward({ dOutput: dOut, dHN });
    const gFull = gru.gradients();
    gru.zeroGrad();
    gru.forward(x);
    const part = gru.backward({ dOutput: dOut, dHN, inputGrad: false });
    expect(full.dx).toBeDefined();
    expect(part.dx).toBeUndefined();
    expect(maxRelError(part.dH0.data, full.dH0.data)).toBe(0);
    const gPart = gru.gradients();
    for (const name of Object.keys(gFull)) expect(maxRelError(gPart[name].data, gFull[name].data), name).toBe(0);
    gru.forward(x);
    expect(() => gru.backward({ inputGrad: 'no' as unknown as boolean })).toThrow(/inputGrad must be a boolean/);
  });

  it('1000 training steps keep memory flat (the arena stops growing after the first step)', () => {
    const lstm = new LSTM(rt, { inputSize: 5, hiddenSize: 8, numLayers: 2, bidirectional: true, dropout: 0.25, seed: 4 });
    const x = host([6, 3, 5], 1), dOut = host([6, 3, 16], 2);
    const lengths = Int32Array.from([6, 2, 4]);
    let memoryAfterFirst = 0, liveAfterFirst = 0, growthsAfterFirst = 0;
    for (let step = 0; step < 1000; step++) {
      lstm.zeroGrad();
      lstm.forward(x, { lengths });
      lstm.backward({ dOutput: dOut });
      const v = lstm.block.valuesView(), g = lstm.block.gradsView();
      for (let i = 0; i < v.length; i++) v[i] -= 1e-4 * g[i];
      if (step === 0) {
        lstm.forward(x, { lengths }); // the arena folds its first-step growth into one block here
        memoryAfterFirst = rt.memoryBytes;
        liveAfterFirst = rt.mem.liveBytes;
        growthsAfterFirst = lstm.arena.growths;
      }
    }
    expect(rt.memoryBytes).toBe(memoryAfterFirst);
    expect(rt.mem.liveBytes).toBe(liveAfterFirst);
    expect(lstm.arena.growths).toBe(growthsAfterFirst);
    expect(lstm.arenaHighWater).toBeGreaterThan(0);
  });

  it('dropout: between layers, training only, reproducible with a seed, and differentiated through', () => {
    const opts = { inputSize: 4, hiddenSize: 6, numLayers: 3, dropout: 0.5 };
    const x = host([5, 2, 4], 1);
    const a = new RNN(rt, { ...opts, seed: 7 });
    const b = new RNN(rt, { ...opts, seed: 7 });
    const ya = a.forward(x).output.data, yb = b.forward(x).output.data;
    expect(maxRelError(ya, yb)).toBe(0);
    const ya2 = a.forward(x).output.data; // the next step draws new masks
    expect(maxRelError(ya, ya2)).toBeGreaterThan(1e-3);
    const noDrop = new RNN(rt, { ...opts, dropout: 0, seed: 7 });
    noDrop.loadStateDict(a.stateDict());
    const evalA = a.eval().forward(x).output.data;
    expect(maxRelError(evalA, noDrop.forward(x).output.data)).toBe(0);
    expect(maxRelError(evalA, a.forward(x).output.data)).toBe(0);
    // With the mask fixed by the seed, backward matches a directional finite difference.
    const dOut = host([5, 2, 6], 3);
    const lossAt = (xs: Float32Array) => {
      const l = new RNN(rt, { ...opts, seed: 11 });
      const y = l.forward({ shape: [5, 2, 4], data: xs }).output.data;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * dOut.data[i];
      return s;
    };
    const l = new RNN(rt, { ...opts, seed: 11 });
    l.forward(x);
    const dx = l.backward({ dOutput: dOut }).dx!.data;
    const dir = randomArray(x.data.length, 99);
    const eps = 1e-2;
    const up = lossAt(x.data.map((v, i) => v + eps * dir[i])), down = lossAt(x.data.map((v, i) => v - eps * dir[i]));
    let analytic = 0;
    for (let i = 0; i < dx.length; i++) analytic += dx[i] * dir[i];
    expect(Math.abs(analytic - (up - down) / (2 * eps))).toBeLessThan(2e-3 * Math.max(1, Math.abs(analytic)));
  });

  it('device API: layers in one shared block, forward/backward over Tensors in a caller arena', () => {
    const opts = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, batchFirst: true };
    const specs = [...prefixSpecs('enc.', LSTM.parameterSpecs(opts)), { name: 'head.weight', shape: [2, 10] }];
    const block = new ParameterBlock(rt.mem, specs);
    const shared = new LSTM(rt, { ...opts, block, prefix: 'enc.', seed: 2 });
    const alone = new LSTM(rt, { ...opts, seed: 3 });
    alone.loadStateDict(shared.stateDict());
    expect(shared.block).toBe(block);
    expect(() => new LSTM(rt, { ...opts, inputSize: 4, block, prefix: 'enc.' })).toThrow(/enc.weight_ih_l0/);

    const x = host([2, 6, 3], 1), dOut = host([2, 6, 10], 2), dHN = host([4, 2, 5], 3);
    const lengths = Int32Array.from([6, 3]);
    const ref = alone.forward(x, { lengths });
    const refB = alone.backward({ dOutput: dOut, dHN });

    const arena = new Arena(rt.mem);
    const xt = new Tensor(rt.mem, arena.alloc(x.data.length * 4), x.shape);
    xt.set(x.data);
    const out = shared.forwardDevice({ x: xt, lengths, arena, training: true });
    expect(out.output.shape).toEqual([2, 6, 10]);
    expect(maxRelError(out.output.view(), ref.output.data)).toBe(0);
    expect(maxRelError(out.hN.view(), ref.hN.data)).toBe(0);
    const dOutT = new Tensor(rt.mem, arena.alloc(dOut.data.length * 4), dOut.shape);
    dOutT.set(dOut.data);
    const dHNT = new Tensor(rt.mem, arena.alloc(dHN.data.length * 4), dHN.shape);
    dHNT.set(dHN.data);
    expect(() => shared.backwardDevice({ dOutput: dOutT, arena: new Arena(rt.mem) })).toThrow(/arena of its training forward/);
    const back = shared.backwardDevice({ dOutput: dOutT, dHN: dHNT, arena });
    expect(maxRelError(back.dx!.view(), refB.dx!.data)).toBe(0);
    expect(maxRelError(back.dH0.view(), refB.dH0.data)).toBe(0);
    const g = shared.gradients(), gr = alone.gradients();
    for (const name of Object.keys(gr)) expect(maxRelError(g[name].data, gr[name].data), name).toBe(0);
    // The other tensor of the shared block is untouched; zeroGrad clears only the layer's own.
    block.grad('head.weight').view().fill(1);
    shared.zeroGrad();
    expect(block.grad('head.weight').view().every((v) => v === 1)).toBe(true);
    expect(block.grad('enc.weight_hh_l1_reverse').view().every((v) => v === 0)).toBe(true);
    arena.dispose();
  });

  it('truncated BPTT: chunks carrying hN forward reproduce the unrolled forward', () => {
    const gru = new GRU(rt, { inputSize: 3, hiddenSize: 4, seed: 5 });
    const x = host([12, 2, 3], 8);
    const whole = gru.forward(x);
    let h0: { shape: number[]; data: Float32Array } | undefined;
    const parts: Float32Array[] = [];
    for (let c = 0; c < 3; c++) {
      const chunk = { shape: [4, 2, 3], data: x.data.slice(c * 24, c * 24 + 24) };
      const r = gru.forward(chunk, { h0 });
      gru.backward({ dOutput: { shape: [4, 2, 4], data: new Float32Array(32).fill(1) } });
      h0 = r.hN;
      parts.push(r.output.data);
    }
    const joined = new Float32Array(96);
    parts.forEach((p, i) => joined.set(p, i * 32));
    expect(maxRelError(joined, whole.output.data)).toBeLessThan(1e-6);
    expect(maxRelError(h0!.data, whole.hN.data)).toBeLessThan(1e-6);
  });
});
