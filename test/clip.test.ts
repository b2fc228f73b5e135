import { beforeAll, describe, expect, it } from 'vitest';
import { clipGradNorm, clipGradNormList } from '../src/kernels/optim.js';
import { clipGradNormReference } from '../src/reference/optim.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { ParameterBlock } from '../src/runtime/tensor.js';
import { loadFixture } from './fixtures.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { download, expectRejected, upload } from './kernel-helpers.js';

const SIZES = [1, 3, 7, 13, 17, 33, 100, 1000];

interface ClipConfig {
  maxNorm: number;
  normType: number;
  numTensors: number;
  shapes: number[][];
}

/** FORMAT.md §2: |got - ref| <= 1e-4 * max(1, |ref|). */
function withinFixtureTolerance(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  return maxRelError(got, ref);
}

describe.each(BUILDS)('gradient clipping (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  for (const name of ['clip_000', 'clip_001', 'clip_002']) {
    it(`golden ${name} (torch.nn.utils.clip_grad_norm_)`, () => {
      const fx = loadFixture<ClipConfig>(name);
      expect(fx.kind).toBe('clip');
      expect(fx.config.normType).toBe(2);
      const tensors = [];
      for (let i = 0; i < fx.config.numTensors; i++) {
        const g = fx.tensor(`grad_in.${i}`);
        expect(g.shape).toEqual(fx.config.shapes[i]);
        tensors.push({ ptr: upload(rt, g.data as Float32Array), count: g.data.length });
      }
      const total = clipGradNormList(rt, tensors, fx.config.maxNorm);
      const refNorm = fx.tensor('total_norm').data[0];
      expect(withinFixtureTolerance([total], [refNorm])).toBeLessThan(1e-4);
      const coef = Math.min(1, fx.config.maxNorm / (total + 1e-6));
      expect(withinFixtureTolerance([coef], [fx.tensor('clip_coef').data[0]])).toBeLessThan(1e-4);
      tensors.forEach((t, i) => {
        expect(withinFixtureTolerance(download(rt, t.ptr, t.count), fx.tensor(`grad_out.${i}`).data)).toBeLessThan(1e-4);
      });

      // The same case through the one-block kernel: the tensors laid out in one ParameterBlock.
      const block = new ParameterBlock(rt.mem, fx.config.shapes.map((shape, i) => ({ name: `t${i}`, shape })));
      fx.config.shapes.forEach((_, i) => block.grad(`t${i}`).set(fx.tensor(`grad_in.${i}`).data));
      const blockTotal = clipGradNorm(rt, block, fx.config.maxNorm);
      expect(withinFixtureTolerance([blockTotal], [refNorm])).toBeLessThan(1e-4);
      fx.config.shapes.forEach((_, i) => {
        expect(withinFixtureTolerance(block.grad(`t${i}`).view(), fx.tensor(`grad_out.${i}`).data)).toBeLessThan(1e-4);
      });
      block.dispose();
    });
  }

  for (const n of SIZES) {
    it(`one block vs reference, clipped and unclipped, n=${n}`, () => {
      const g = randomArray(n, 10 + n, 3);
      const refNorm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
      for (const maxNorm of [refNorm / 3, refNorm * 2]) {
        const ptr = upload(rt, g);
        const total = clipGradNorm(rt, { ptr, count: n }, maxNorm);
        const ref = Float64Array.from(g);
        const refTotal = clipGradNormReference([ref], maxNorm);
        expect(Math.abs(total - refTotal) / refTotal).toBeLessThan(1e-12);
        const got = download(rt, ptr, n);
        expect(maxRelError(got, ref)).toBeLessThan(1e-6);
        if (maxNorm > refNorm) expect(got).toEqual(g); // coef 1: untouched
      }
    });
  }

  it('list variant: one global norm over tensors of odd sizes', () => {
    const arrays = [1, 3, 7, 13, 17, 33, 100, 1000].map((n, k) => randomArray(n, 40 + k, 2));
    const tensors = arrays.map((a) => ({ ptr: upload(rt, a), count: a.length }));
    const refs = arrays.map((a) => Float64Array.from(a));
    const refTotal = clipGradNormReference(refs, 1.5);
    const total = clipGradNormList(rt, tensors, 1.5);
    expect(Math.abs(total - refTotal) / refTotal).toBeLessThan(1e-12);
    tensors.forEach((t, i) => expect(maxRelError(download(rt, t.ptr, t.count), refs[i])).toBeLessThan(1e-6));
    // After clipping the norm is maxNorm (up to the 1e-6 in the coefficient).
    const after = clipGradNormList(rt, tensors, 1e9);
    expect(after).toBeCloseTo(1.5, 5);
  });

  it('keeps the norm of a large block accurate (float64 accumulation)', () => {
    const n = 4_000_003;
    const ptr = rt.mem.alloc(n * 4);
    rt.mem.f32(ptr, n).fill(0.1);
    const v = Math.fround(0.1);
    // sqrt(n) * v to ~1e-12 (n float64 additions); a float32 running sum drifts by 1.4e-2 here.
    const total = clipGradNorm(rt, { ptr, count: n }, 1e30);
    expect(Math.abs(total - Math.sqrt(n) * v) / (Math.sqrt(n) * v)).toBeLessThan(1e-10);
    rt.mem.free(ptr);
  });

  it('non-finite norms: scaled like torch by default, rejected untouched with errorIfNonfinite', () => {
    const g = Float32Array.from([1, Infinity, 2]);
    const ptr = upload(rt, g);
    expectRejected(rt, () => clipGradNorm(rt, { ptr, count: 3 }, 1, { errorIfNonfinite: true }),
      /total L2 norm of the gradients is Infinity/);
    expect(download(rt, ptr, 3)).toEqual(g);
    // torch: coef = max/(inf) = 0, so finite entries become 0 and inf * 0 = NaN.
    expect(clipGradNorm(rt, { ptr, count: 3 }, 1)).toBe(Infinity);
    const out = download(rt, ptr, 3);
    expect(out[0]).toBe(0);
    expect(Number.isNaN(out[1])).toBe(true);
  });

  it('rejects bad input with clear errors and leaves memory untouched', () => {
    const a = upload(rt, randomArray(8, 60)), b = upload(rt, randomArray(8, 61));
    expectRejected(rt, () => clipGradNorm(rt, { ptr: a, count: 8 }, NaN), /clipGradNorm maxNorm must be a finite number, got NaN/);
    expectRejected(rt, () => clipGradNorm(rt, { ptr: a, count: 8 }, -1), /clipGradNorm maxNorm must be >= 0/);
    expectRejected(rt, () => clipGradNorm(rt, { ptr: rt.mem.byteLength - 16, count: 8 }, 1), /clipGradNorm grads.ptr: byte range/);
    expectRejected(rt, () => clipGradNormList(rt, [{ ptr: a, count: 8 }, { ptr: a + 16, count: 8 }], 1), /tensors\[0\] and tensors\[1\] overlap/);
    expectRejected(rt, () => clipGradNormList(rt, [{ ptr: a, count: 8 }, { ptr: b, count: 1.5 }], 1), /tensors\[1\].count must be an integer/);
  });
});
