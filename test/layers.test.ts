import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, randomArray, runtimeFor } from './helpers.js';
import { dot, gradError, numericalGradient, testRandom, toF64 } from './models-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape } from '../src/train/tape.js';
import { Linear } from '../src/layers/linear.js';
import { Dropout } from '../src/layers/dropout.js';
import { binaryCrossEntropy, binaryCrossEntropyWithLogits, mseLoss } from '../src/layers/losses.js';

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
