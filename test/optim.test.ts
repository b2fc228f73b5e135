import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, AdamW, SGD, adamStep, sgdStep, type AdamOptions, type SGDOptions } from '../src/kernels/optim.js';
import { adamStepReference, sgdStepReference } from '../src/reference/optim.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { ParameterBlock } from '../src/runtime/tensor.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { download, expectRejected, upload } from './kernel-helpers.js';

const SIZES = [1, 3, 7, 13, 17, 33, 100, 1000];
const STEPS = 6;

describe.each(BUILDS)('optimizers (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  /** Runs `opt` and the float64 reference side by side with fresh gradients each step. */
  function runSteps(n: number, seed: number, makeOpt: (p: { ptr: number; count: number; gradPtr: number }) => { step(): void },
    refStep: (params: Float64Array, grads: Float32Array) => void): void {
    const p0 = randomArray(n, seed);
    const ptr = upload(rt, p0), gradPtr = rt.mem.alloc(n * 4);
    const opt = makeOpt({ ptr, count: n, gradPtr });
    const ref = Float64Array.from(p0);
    for (let s = 0; s < STEPS; s++) {
      const g = randomArray(n, seed * 100 + s, 2);
      rt.mem.f32(gradPtr, n).set(g);
      opt.step();
      refStep(ref, g);
      // Gradients are read only.
      expect(download(rt, gradPtr, n)).toEqual(g);
      expect(maxRelError(download(rt, ptr, n), ref), `step ${s + 1}`).toBeLessThan(2e-6);
    }
  }

  const sgdCases: SGDOptions[] = [
    { lr: 0.1 },
    { lr: 0.05, momentum: 0.9 },
    { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.02 },
  ];
  for (const n of SIZES) {
    sgdCases.forEach((o, k) => {
      it(`SGD ${JSON.stringify(o)} over ${STEPS} steps, n=${n}`, () => {
        const state = {};
        const full = { lr: o.lr, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false };
        runSteps(n, 10 + k + n, (p) => new SGD(rt, p, o), (params, g) => sgdStepReference(params, g, state, full));
      });
    });
    const adamCases: [string, (p: { ptr: number; count: number; gradPtr: number }, o: AdamOptions) => { step(): void }, AdamOptions, boolean][] = [
      ['Adam', (p, o) => new Adam(rt, p, o), { lr: 0.01 }, false],
      ['Adam', (p, o) => new Adam(rt, p, o), { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }, false],
      ['AdamW', (p, o) => new AdamW(rt, p, o), { lr: 0.01 }, true],
      ['AdamW', (p, o) => new AdamW(rt, p, o), { lr: 0.02, betas: [0.5, 0.9], eps: 1e-4, weightDecay: 0.3 }, true],
    ];
    adamCases.forEach(([name, make, o, decoupled], k) => {
      it(`${name} ${JSON.stringify(o)} over ${STEPS} steps, n=${n}`, () => {
        const state = {};
        const full = {
          lr: o.lr ?? 1e-3, beta1: o.betas?.[0] ?? 0.9, beta2: o.betas?.[1] ?? 0.999, eps: o.eps ?? 1e-8,
          weightDecay: o.weightDecay ?? (decoupled ? 1e-2 : 0), decoupled,
        };
        runSteps(n, 50 + k + n, (p) => make(p, o), (params, g) => adamStepReference(params, g, state, full));
      });
    });
  }

  it('Adam first step moves each parameter by lr * g / (|g| + eps) (bias correction)', () => {
    const n = 7;
    const p0 = randomArray(n, 71), g = randomArray(n, 72);
    const ptr = upload(rt, p0), gradPtr = upload(rt, g);
    const opt = new Adam(rt, { ptr, count: n, gradPtr }, { lr: 0.1, eps: 1e-3 });
    opt.step();
    const expected = Array.from(p0, (p, i) => p - (0.1 * g[i]) / (Math.abs(g[i]) + 1e-3));
    expect(maxRelError(download(rt, ptr, n), expected)).toBeLessThan(1e-6);
    expect(opt.stepCount).toBe(1);
  });

  it('optimizers accept a ParameterBlock and update its value block from its gradient block', () => {
    const block = new ParameterBlock(rt.mem, [{ name: 'w', shape: [3, 5] }, { name: 'b', shape: [5] }]);
    const w0 = randomArray(15, 81), b0 = randomArray(5, 82), gw = randomArray(15, 83), gb = randomArray(5, 84);
    block.value('w').set(w0); block.value('b').set(b0); block.grad('w').set(gw); block.grad('b').set(gb);
    const opt = new AdamW(rt, block, { lr: 0.01, weightDecay: 0.1 });
    opt.step();
    opt.step();
    for (const [name, p0, g] of [['w', w0, gw], ['b', b0, gb]] as const) {
      const ref = Float64Array.from(p0);
      const state = {};
      const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true };
      adamStepReference(ref, g, state, o);
      adamStepReference(ref, g, state, o);
      expect(maxRelError(block.value(name).view(), ref)).toBeLessThan(2e-6);
    }
    opt.dispose();
    block.dispose();
  });

  it('the learning rate can change between steps; SGD with momentum keeps its buffer', () => {
    const n = 13;
    const p0 = randomArray(n, 91), g = randomArray(n, 92);
    const ptr = upload(rt, p0), gradPtr = upload(rt, g);
    const opt = new SGD(rt, { ptr, count: n, gradPtr }, { lr: 0.1, momentum: 0.5 });
    opt.step();
    opt.lr = 0.01;
    opt.step();
    const ref = Float64Array.from(p0);
    const state = {};
    sgdStepReference(ref, g, state, { lr: 0.1, momentum: 0.5, dampening: 0, weightDecay: 0, nesterov: false });
    sgdStepReference(ref, g, state, { lr: 0.01, momentum: 0.5, dampening: 0, weightDecay: 0, nesterov: false });
    expect(maxRelError(download(rt, ptr, n), ref)).toBeLessThan(1e-6);
    expect(() => { opt.lr = NaN; }).toThrow(/SGD lr must be a finite number, got NaN/);
  });

  it('rejects bad hyperparameters and pointers with clear errors, leaving memory untouched', () => {
    const n = 17;
    const ptr = upload(rt, randomArray(n, 95)), gradPtr = upload(rt, randomArray(n, 96)), buf = rt.mem.alloc(n * 4);
    const params = { ptr, count: n, gradPtr };
    expectRejected(rt, () => new SGD(rt, params, { lr: NaN }), /SGD lr must be a finite number, got NaN/);
    expectRejected(rt, () => new SGD(rt, params, { lr: -0.1 }), /SGD lr must be >= 0, got -0.1/);
    expectRejected(rt, () => new SGD(rt, params, { lr: 0.1, momentum: Infinity }), /SGD momentum must be a finite number/);
    expectRejected(rt, () => new SGD(rt, params, { lr: 0.1, nesterov: true }), /nesterov momentum requires a momentum > 0/);
    expectRejected(rt, () => new SGD(rt, params, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /zero dampening/);
    expectRejected(rt, () => new Adam(rt, params, { betas: [1, 0.999] }), /Adam betas\[0\] must lie in \[0, 1\), got 1/);
    expectRejected(rt, () => new AdamW(rt, params, { betas: [0.9, NaN] }), /AdamW betas\[1\] must be a finite number, got NaN/);
    expectRejected(rt, () => new Adam(rt, params, { eps: -1e-8 }), /Adam eps must be >= 0/);
    expectRejected(rt, () => new AdamW(rt, params, { weightDecay: -1 }), /AdamW weightDecay must be >= 0/);
    expectRejected(rt, () => new Adam(rt, params, { amsgrad: true }), /amsgrad is not supported/);
    expectRejected(rt, () => new Adam(rt, { ptr, count: n, gradPtr: rt.mem.byteLength - 4 }), /Adam params.gradPtr: byte range/);
    expectRejected(rt, () => new SGD(rt, { ptr, count: -1, gradPtr }, { lr: 1 }), /SGD params.count must be an integer >= 0/);
    expectRejected(rt, () => adamStep(rt, { params: ptr, grads: gradPtr, m: buf, v: buf, count: n, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 0 }),
      /Adam step must be an integer >= 1, got 0/);
    expectRejected(rt, () => adamStep(rt, { params: ptr, grads: gradPtr, m: buf, v: rt.mem.byteLength, count: n, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true, step: 1 }),
      /AdamW v: byte range/);
    expectRejected(rt, () => sgdStep(rt, { params: ptr, grads: gradPtr, momentumBuffer: -64, count: n, lr: 0.1, momentum: 0.9, first: true }),
      /sgdStep momentumBuffer: byte range/);
  });
});
