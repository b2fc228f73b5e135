import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, randomArray, runtimeFor } from './helpers.js';
import { dot, gradError, numericalGradient, testRandom, toF64 } from './models-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape } from '../src/train/tape.js';
import { Linear } from '../src/layers/linear.js';
import { Dropout } from '../src/layers/dropout.js';
import { binaryCrossEntropy, binaryCrossEntropyWithLogits, mseLoss, crossEntropyLoss } from '../src/layers/losses.js';
import { Embedding } from '../src/layers/embedding.js';
import { activation } from '../src/layers/ops.js';

// float64 reference: y = x W^T + b
function linear64(x: Float64Array, w: Float64Array, b: Float64Array | null, rows: number, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  }
  return y;
}

describe.each(BUILDS)('layers (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  describe.each([
    [1, 1, 1, true],
    [3, 7, 5, true],
    [13, 17, 33, false],
    [7, 100, 3, true],
  ])('Linear rows=%i in=%i out=%i bias=%s', (rows, inF, outF, bias) => {
    it('forward matches float64 and backward passes a finite-difference VJP check', () => {
      const tape = new Tape(rt);
      const lin = new Linear(rt, { inFeatures: inF, outFeatures: outF, bias });
      lin.resetParameters(testRandom(rows * 31 + inF));
      const xData = randomArray(rows * inF, 11 + rows);
      const r = randomArray(rows * outF, 12 + outF);
      tape.reset();
      lin.block.zeroGrad();
      const x = tape.input(xData, [rows, inF], true);
      const y = lin.forward(tape, x);
      expect(y.shape).toEqual([rows, outF]);
      const x64 = toF64(xData);
      const w64 = toF64(lin.weight.view());
      const b64 = bias ? toF64(lin.bias!.view()) : null;
      const yRef = linear64(x64, w64, b64, rows, inF, outF);
      expect(gradError(y.toArray(), yRef)).toBeLessThan(1e-5);
      y.grad().set(r);
      tape.backward();
      const loss = () => dot(r, linear64(x64, w64, b64, rows, inF, outF));
      expect(gradError(x.gradToArray(), numericalGradient(loss, x64))).toBeLessThan(1e-3);
      expect(gradError(lin.block.grad('weight').view(), numericalGradient(loss, w64))).toBeLessThan(1e-3);
      if (b64) expect(gradError(lin.block.grad('bias').view(), numericalGradient(loss, b64))).toBeLessThan(1e-3);
    });
  });

  it('Linear accepts leading dims [T,B,in] and rejects a wrong feature size before any kernel', () => {
    const tape = new Tape(rt);
    const lin = new Linear(rt, { inFeatures: 3, outFeatures: 2 });
    tape.reset();
    expect(lin.forward(tape, tape.input(new Float32Array(2 * 5 * 3), [2, 5, 3])).shape).toEqual([2, 5, 2]);
    expect(() => lin.forward(tape, tape.input(new Float32Array(8), [2, 4]))).toThrow(/Linear input x must have shape \[\.\.\., 3\], got \[2, 4\]/);
    expect(() => new Linear(rt, { inFeatures: 0, outFeatures: 2 })).toThrow(/inFeatures/);
  });

  it('Dropout: seeded mask, scaling 1/(1-p), identity in eval mode, exact backward', () => {
    const tape = new Tape(rt);
    const n = 1000;
    const drop = new Dropout(rt, { p: 0.3 }, testRandom(5));
    const xData = randomArray(n, 3);
    tape.reset();
    const x = tape.input(xData, [n], true);
    const y = drop.forward(tape, x);
    const yv = y.toArray();
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      if (yv[i] === 0) zeros++;
      else expect(yv[i]).toBeCloseTo(xData[i] / 0.7, 5);
    }
    expect(zeros).toBeGreaterThan(240);
    expect(zeros).toBeLessThan(360);
    const r = randomArray(n, 4);
    y.grad().set(r);
    tape.backward();
    const dx = x.gradToArray();
    for (let i = 0; i < n; i++) expect(dx[i]).toBeCloseTo(yv[i] === 0 ? 0 : r[i] / 0.7, 5);
    // Same seed, same mask.
    const again = new Dropout(rt, { p: 0.3 }, testRandom(5));
    tape.reset();
    expect(again.forward(tape, tape.input(xData, [n])).toArray()).toEqual(yv);
    tape.training = false;
    tape.reset();
    const xe = tape.input(xData, [n]);
    expect(drop.forward(tape, xe)).toBe(xe);
    expect(() => new Dropout(rt, { p: 1 }, testRandom(1))).toThrow(/\[0, 1\)/);
    expect(() => new Dropout(rt, { p: NaN }, testRandom(1))).toThrow(/finite/);
  });

  describe.each([1, 7, 33])('pointwise losses n=%i', (n) => {
    const cases = [
      {
        name: 'mse',
        fn: mseLoss,
        input: (i: number) => randomArray(n, 20 + i),
        target: randomArray(n, 30),
        ref: (x: Float64Array, t: ArrayLike<number>) => x.reduce((s, v, i) => s + (v - t[i]) ** 2, 0) / n,
      },
      {
        name: 'bce',
        fn: binaryCrossEntropy,
        input: (i: number) => randomArray(n, 20 + i).map((v) => 0.5 + 0.4 * v),
        target: randomArray(n, 31).map((v) => (v > 0 ? 1 : 0.25)),
        ref: (x: Float64Array, t: ArrayLike<number>) => -x.reduce((s, p, i) => s + t[i] * Math.log(p) + (1 - t[i]) * Math.log(1 - p), 0) / n,
      },
      {
        name: 'bce-logits',
        fn: binaryCrossEntropyWithLogits,
        input: (i: number) => randomArray(n, 20 + i, 4),
        target: randomArray(n, 32).map((v) => (v > 0 ? 1 : 0)),
        ref: (x: Float64Array, t: ArrayLike<number>) =>
          x.reduce((s, z, i) => s - t[i] * Math.log(1 / (1 + Math.exp(-z))) - (1 - t[i]) * Math.log(1 - 1 / (1 + Math.exp(-z))), 0) / n,
      },
    ];
    it.each(cases)('$name: value and gradient vs float64 finite differences', ({ fn, input, target, ref }) => {
      const tape = new Tape(rt);
      tape.reset();
      const xData = input(n);
      const x = tape.input(xData, [n], true);
      const loss = fn(tape, x, target);
      const x64 = toF64(xData);
      expect(Math.abs(loss - ref(x64, target))).toBeLessThan(1e-6 * Math.max(1, Math.abs(loss)));
      tape.backward();
      expect(gradError(x.gradToArray(), numericalGradient(() => ref(x64, target), x64, 1e-6))).toBeLessThan(1e-3);
    });
  });

  it('losses reject mismatched or invalid targets', () => {
    const tape = new Tape(rt);
    tape.reset();
    const x = tape.input([0.5, 0.2], [2], true);
    expect(() => mseLoss(tape, x, [1])).toThrow(/target has 1 values/);
    expect(() => mseLoss(tape, x, [1, NaN])).toThrow(/non-finite/);
    expect(() => binaryCrossEntropy(tape, x, [1, 2])).toThrow(/outside \[0, 1\]/);
    expect(() => mseLoss(tape, x, [1, 2], 'avg' as never)).toThrow(/reduction/);
    expect(tape.length).toBe(0);
  });
});


function crossEntropy64(x: Float64Array, targets: ArrayLike<number>, classes: number, counts: (r: number) => boolean, mean: boolean): number {
  const rows = targets.length;
  let total = 0;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    if (!counts(r)) continue;
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, x[r * classes + c]);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(x[r * classes + c] - m);
    total += Math.log(s) + m - x[r * classes + targets[r]];
    n++;
  }
  return mean ? (n > 0 ? total / n : 0) : total;
}

describe.each(BUILDS)('embedding and cross-entropy (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each([
    [1, 1, undefined],
    [7, 3, 0],
    [13, 17, 2],
    [100, 33, undefined],
  ])('Embedding V=%i D=%i paddingIdx=%s: gather and scatter-add gradient', (V, D, paddingIdx) => {
    const tape = new Tape(rt);
    const emb = new Embedding(rt, { numEmbeddings: V, embeddingDim: D, paddingIdx });
    emb.resetParameters(testRandom(V + D));
    if (paddingIdx !== undefined) expect(Array.from(emb.weight.view().slice(paddingIdx * D, (paddingIdx + 1) * D)).every((v) => v === 0)).toBe(true);
    const shape = [5, 3];
    const ids = Int32Array.from({ length: 15 }, (_, i) => (i * 7 + 3) % V);
    tape.reset();
    emb.block.zeroGrad();
    const y = emb.forward(tape, ids, shape);
    expect(y.shape).toEqual([5, 3, D]);
    const w = emb.weight.view().slice();
    const yv = y.toArray();
    for (let i = 0; i < 15; i++) for (let j = 0; j < D; j++) expect(yv[i * D + j]).toBe(w[ids[i] * D + j]);
    const r = randomArray(15 * D, 9);
    y.grad().set(r);
    tape.backward();
    const w64 = toF64(w);
    const loss = () => {
      let s = 0;
      for (let i = 0; i < 15; i++) for (let j = 0; j < D; j++) s += r[i * D + j] * w64[ids[i] * D + j];
      return s;
    };
    const num = numericalGradient(loss, w64);
    if (paddingIdx !== undefined) num.fill(0, paddingIdx * D, (paddingIdx + 1) * D);
    expect(gradError(emb.block.grad('weight').view(), num)).toBeLessThan(1e-3);
  });

  it('Embedding rejects out-of-range ids and paddingIdx before any kernel', () => {
    const tape = new Tape(rt);
    const emb = new Embedding(rt, { numEmbeddings: 4, embeddingDim: 2 });
    tape.reset();
    expect(() => emb.forward(tape, [0, 4])).toThrow(/ids\[1\] = 4 is outside the vocabulary \[0, 4\)/);
    expect(() => emb.forward(tape, [0, -1])).toThrow(/ids\[1\] = -1/);
    expect(() => emb.forward(tape, [0, 1.5])).toThrow(/ids\[1\] = 1.5/);
    expect(() => emb.forward(tape, [0, 1], [3])).toThrow(/needs 3 ids/);
    expect(() => new Embedding(rt, { numEmbeddings: 4, embeddingDim: 2, paddingIdx: 4 })).toThrow(/paddingIdx/);
    expect(tape.length).toBe(0);
  });

  describe.each([
    [1, 1],
    [3, 7],
    [13, 17],
    [33, 100],
  ])('crossEntropyLoss rows=%i classes=%i', (rows, classes) => {
    it.each([
      { label: 'mean', opts: {}, counts: () => true, mean: true },
      { label: 'sum', opts: { reduction: 'sum' as const }, counts: () => true, mean: false },
      { label: 'ignoreIndex', opts: { ignoreIndex: 0 }, counts: (t: number) => t !== 0, mean: true },
      { label: 'mask', opts: { mask: true }, counts: (_t: number, r: number) => r % 3 !== 1, mean: true },
    ])('$label: loss and fused gradient vs float64', ({ opts, counts, mean }) => {
      const tape = new Tape(rt);
      tape.reset();
      const xData = randomArray(rows * classes, rows * 100 + classes, 3);
      const targets = Int32Array.from({ length: rows }, (_, r) => (r * 5 + 1) % classes);
      const mask = Float32Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? 0 : 1));
      const x = tape.input(xData, [rows, classes], true);
      const options = { ...opts, mask: 'mask' in opts ? mask : undefined };
      const loss = crossEntropyLoss(tape, x, targets, options);
      const x64 = toF64(xData);
      const pred = (r: number) => counts(targets[r], r);
      const ref = () => crossEntropy64(x64, targets, classes, pred, mean);
      expect(Math.abs(loss - ref())).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref())));
      tape.backward();
      expect(gradError(x.gradToArray(), numericalGradient(ref, x64, 1e-5))).toBeLessThan(2e-3);
    });
  });

  it('crossEntropyLoss names the row of a bad target', () => {
    const tape = new Tape(rt);
    tape.reset();
    const x = tape.input(new Float32Array(6), [2, 3], true);
    expect(() => crossEntropyLoss(tape, x, [0, 3])).toThrow(/row 1 is 3, outside the classes \[0, 3\)/);
    expect(() => crossEntropyLoss(tape, x, [0])).toThrow(/need 2 targets/);
    expect(crossEntropyLoss(tape, x, [0, 3], { ignoreIndex: 3 })).toBeCloseTo(Math.log(3), 5);
  });
});

describe.each(BUILDS)('activation ops on the tape (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });
  const refs = {
    tanh: Math.tanh,
    sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
    relu: (v: number) => Math.max(v, 0),
  };
  it.each([
    ['tanh', 1], ['tanh', 33], ['sigmoid', 7], ['sigmoid', 100], ['relu', 13], ['relu', 17],
  ] as const)('%s n=%i: forward and VJP vs float64 finite differences', (kind, n) => {
    const tape = new Tape(rt);
    tape.reset();
    // Keep relu inputs away from 0, where it has no derivative.
    const xData = randomArray(n, n + 5, 3).map((v) => (kind === 'relu' && Math.abs(v) < 0.05 ? v + 0.1 : v));
    const x = tape.input(xData, [n], true);
    const y = activation(tape, kind, x);
    const x64 = toF64(xData);
    const f = refs[kind];
    expect(gradError(y.toArray(), Array.from(x64, f))).toBeLessThan(1e-5);
    const r = randomArray(n, 77);
    y.grad().set(r);
    tape.backward();
    const loss = () => x64.reduce((acc, v, i) => acc + r[i] * f(v), 0);
    expect(gradError(x.gradToArray(), numericalGradient(loss, x64, 1e-5))).toBeLessThan(1e-3);
  });
  it('rejects an unknown activation', () => {
    const tape = new Tape(rt);
    tape.reset();
    expect(() => activation(tape, 'gelu' as never, tape.input([1], [1]))).toThrow(/activation must be/);
    expect(() => activation(tape, 'toString' as never, tape.input([1], [1]))).toThrow(/activation must be/);
  });
});
