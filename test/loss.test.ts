import { beforeAll, describe, expect, it } from 'vitest';
import {
  logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxCrossEntropy, softmaxForward,
} from '../src/kernels/loss.js';
import {
  logSoftmaxBackwardReference, logSoftmaxReference, softmaxBackwardReference, softmaxCrossEntropyReference,
  softmaxReference,
} from '../src/reference/loss.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { download, expectRejected, numericalVjp, randomInts, toF64, upload } from './kernel-helpers.js';

const SIZES = [1, 3, 7, 13, 17, 33, 100, 1000];

/** A 0/1 mask with a valid entry in every row (seeded). */
function randomMask(rows: number, cols: number, ld: number, seed: number): Float32Array {
  const m = new Float32Array(rows * ld);
  const r = randomArray(rows * ld, seed);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) m[i * ld + j] = r[i * ld + j] > -0.3 ? 1 : 0;
    m[i * ld + ((i * 7) % cols)] = 1;
  }
  return m;
}

describe.each(BUILDS)('softmax, log-softmax, cross-entropy (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  for (const cols of SIZES) {
    const rows = 3, ld = cols + 1;
    it(`softmax forward (plain and masked) and backward, cols=${cols}`, () => {
      const x = randomArray(rows * ld, 10 + cols, 5), dy = randomArray(rows * ld, 20 + cols);
      const mask = randomMask(rows, cols, ld, 30 + cols);
      const px = upload(rt, x), py = rt.mem.alloc(rows * ld * 4), pdy = upload(rt, dy), pdx = rt.mem.alloc(rows * ld * 4);
      const pm = upload(rt, mask);
      for (const masked of [false, true]) {
        softmaxForward(rt, { x: px, y: py, rows, cols, ld, mask: masked ? pm : undefined });
        const got = download(rt, py, rows * ld);
        const ref = new Float64Array(rows * ld);
        softmaxReference(x, ref, masked ? mask : null, ld, rows, cols);
        for (let r = 0; r < rows; r++) {
          const gotRow = got.subarray(r * ld, r * ld + cols), refRow = ref.subarray(r * ld, r * ld + cols);
          expect(maxRelError(gotRow, refRow)).toBeLessThan(1e-6);
          if (masked) for (let j = 0; j < cols; j++) if (mask[r * ld + j] === 0) expect(gotRow[j]).toBe(0);
        }
        softmaxBackward(rt, { y: py, dy: pdy, dx: pdx, rows, cols, ld });
        const dxRef = new Float64Array(rows * ld);
        softmaxBackwardReference(got, dy, dxRef, ld, rows, cols);
        for (let r = 0; r < rows; r++) {
          expect(maxRelError(download(rt, pdx + r * ld * 4, cols), dxRef.subarray(r * ld, r * ld + cols))).toBeLessThan(1e-6);
        }
      }
    });

    it(`log-softmax forward and backward, cols=${cols}`, () => {
      const x = randomArray(rows * ld, 40 + cols, 8), dy = randomArray(rows * ld, 50 + cols);
      const px = upload(rt, x), py = rt.mem.alloc(rows * ld * 4), pdy = upload(rt, dy), pdx = rt.mem.alloc(rows * ld * 4);
      logSoftmaxForward(rt, { x: px, y: py, rows, cols, ld });
      const y = download(rt, py, rows * ld);
      const ref = new Float64Array(rows * ld);
      logSoftmaxReference(x, ref, ld, rows, cols);
      logSoftmaxBackward(rt, { y: py, dy: pdy, dx: pdx, rows, cols, ld });
      const dxRef = new Float64Array(rows * ld);
      logSoftmaxBackwardReference(y, dy, dxRef, ld, rows, cols);
      const dx = download(rt, pdx, rows * ld);
      for (let r = 0; r < rows; r++) {
        const s = r * ld, e = s + cols;
        expect(maxRelError(y.subarray(s, e), ref.subarray(s, e))).toBeLessThan(2e-6);
        // dx includes exp(y) * sum(dy): sum(dy) grows like sqrt(cols).
        expect(maxRelError(dx.subarray(s, e), dxRef.subarray(s, e))).toBeLessThan(1e-6 * Math.max(1, Math.sqrt(cols)));
      }
    });

    it(`cross-entropy loss and fused gradient (mean, sum, row mask, ignore index), cols=${cols}`, () => {
      const r = 9;
      const logits = randomArray(r * ld, 60 + cols, 4);
      const targets = randomInts(r, 70 + cols, cols);
      targets[2] = -100;
      const rowMask = Float32Array.from({ length: r }, (_, i) => (i === 5 ? 0 : 1));
      targets[5] = 12345; // masked rows are never read as class ids
      const pl = upload(rt, logits), pt = upload(rt, targets), pm = upload(rt, rowMask), pg = rt.mem.alloc(r * ld * 4);
      for (const reduction of ['mean', 'sum'] as const) {
        const loss = softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows: r, cols, ld, rowMask: pm, reduction });
        const gRef = new Float64Array(r * ld);
        const lossRef = softmaxCrossEntropyReference(logits, targets, rowMask, -100, gRef, ld, r, cols, reduction === 'mean');
        expect(Math.abs(loss - lossRef) / Math.max(1, Math.abs(lossRef))).toBeLessThan(2e-6);
        const g = download(rt, pg, r * ld);
        for (let i = 0; i < r; i++) {
          expect(maxRelError(g.subarray(i * ld, i * ld + cols), gRef.subarray(i * ld, i * ld + cols))).toBeLessThan(1e-6);
        }
        expect(Array.from(g.subarray(2 * ld, 2 * ld + cols)).every((v) => v === 0)).toBe(true);
        expect(Array.from(g.subarray(5 * ld, 5 * ld + cols)).every((v) => v === 0)).toBe(true);
      }
    });
  }

  it('softmax and log-softmax backward pass finite-difference checks (with a mask)', () => {
    const rows = 4, cols = 13, ld = 15;
    const x = randomArray(rows * ld, 80, 3), u = randomArray(rows * ld, 81);
    const mask = randomMask(rows, cols, ld, 82);
    // Compare only the valid region: padding columns are not outputs.
    const region = (a: ArrayLike<number>) => {
      const out = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) out[r * cols + j] = a[r * ld + j];
      return out;
    };
    const uRegion = new Float32Array(rows * ld);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) uRegion[r * ld + j] = u[r * ld + j];
    const px = upload(rt, x), py = rt.mem.alloc(rows * ld * 4), pu = upload(rt, uRegion), pdx = rt.mem.alloc(rows * ld * 4);
    const pm = upload(rt, mask);

    softmaxForward(rt, { x: px, y: py, rows, cols, ld, mask: pm });
    softmaxBackward(rt, { y: py, dy: pu, dx: pdx, rows, cols, ld });
    const [numSoft] = numericalVjp(([xx]) => {
      const y = new Float64Array(rows * ld);
      softmaxReference(xx, y, mask, ld, rows, cols);
      return y;
    }, [toF64(x)], uRegion);
    expect(maxRelError(region(download(rt, pdx, rows * ld)), region(numSoft))).toBeLessThan(2e-6);
    // Masked logits get exactly zero gradient.
    const dx = download(rt, pdx, rows * ld);
    for (let i = 0; i < rows * ld; i++) if (mask[i] === 0 && i % ld < cols) expect(dx[i] === 0, `dx[${i}] = ${dx[i]}`).toBe(true);

    logSoftmaxForward(rt, { x: px, y: py, rows, cols, ld });
    logSoftmaxBackward(rt, { y: py, dy: pu, dx: pdx, rows, cols, ld });
    const [numLog] = numericalVjp(([xx]) => {
      const y = new Float64Array(rows * ld);
      logSoftmaxReference(xx, y, ld, rows, cols);
      return y;
    }, [toF64(x)], uRegion);
    expect(maxRelError(region(download(rt, pdx, rows * ld)), region(numLog))).toBeLessThan(2e-6);
  });

  it('cross-entropy gradient passes a finite-difference check', () => {
    const rows = 6, cols = 7;
    const logits = randomArray(rows * cols, 90, 3), targets = randomInts(rows, 91, cols);
    targets[1] = -100;
    const pl = upload(rt, logits), pt = upload(rt, targets), pg = rt.mem.alloc(rows * cols * 4);
    for (const reduction of ['mean', 'sum'] as const) {
      softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols, reduction });
      const [num] = numericalVjp(([xx]) => Float64Array.of(
        softmaxCrossEntropyReference(xx, targets, null, -100, null, cols, rows, cols, reduction === 'mean'),
      ), [toF64(logits)], [1]);
      expect(maxRelError(download(rt, pg, rows * cols), num)).toBeLessThan(2e-6);
    }
  });

  it('stays finite and accurate for large logits; all-ignored mean is 0', () => {
    const rows = 2, cols = 5;
    const logits = Float32Array.from([1000, 999, -1000, 998.5, 0, -50, -60, -55, -51, -1e4]);
    const targets = Int32Array.from([1, 3]);
    const pl = upload(rt, logits), pt = upload(rt, targets), pg = rt.mem.alloc(rows * cols * 4), py = rt.mem.alloc(rows * cols * 4);
    const loss = softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols });
    const ref = softmaxCrossEntropyReference(logits, targets, null, -100, null, cols, rows, cols, true);
    expect(Math.abs(loss - ref)).toBeLessThan(1e-5);
    softmaxForward(rt, { x: pl, y: py, rows, cols });
    const p = new Float64Array(rows * cols);
    softmaxReference(logits, p, null, cols, rows, cols);
    expect(maxRelError(download(rt, py, rows * cols), p)).toBeLessThan(1e-6);
    logSoftmaxForward(rt, { x: pl, y: py, rows, cols });
    const lp = new Float64Array(rows * cols);
    logSoftmaxReference(logits, lp, cols, rows, cols);
    expect(maxRelError(download(rt, py, rows * cols), lp)).toBeLessThan(1e-6);

    rt.mem.i32(pt, 2).set([-100, -100]);
    rt.mem.f32(pg, rows * cols).fill(7);
    expect(softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols })).toBe(0);
    expect(Array.from(download(rt, pg, rows * cols)).every((v) => v === 0)).toBe(true);
  });

  it('rejects bad input with clear errors and leaves memory untouched', () => {
    const rows = 3, cols = 7;
    const pl = upload(rt, randomArray(rows * cols, 95)), pg = rt.mem.alloc(rows * cols * 4);
    const pt = upload(rt, Int32Array.from([0, 7, 2]));
    expectRejected(rt, () => softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols }),
      /targets\[1\] = 7 is out of range: class ids must lie in \[0, 7\)/);
    rt.mem.i32(pt, 3).set([0, -1, 2]);
    expectRejected(rt, () => softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols }),
      /targets\[1\] = -1 is out of range/);
    expectRejected(rt, () => softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols, ignoreIndex: 0.5 }),
      /ignoreIndex must be a 32-bit integer/);
    rt.mem.i32(pt, 3).set([0, 1, 2]);
    expectRejected(rt, () => softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols, reduction: 'max' as 'sum' }),
      /reduction must be 'mean' or 'sum'/);
    const pmBad = upload(rt, Float32Array.from([1, 0.5, 1]));
    expectRejected(rt, () => softmaxCrossEntropy(rt, { logits: pl, targets: pt, dlogits: pg, rows, cols, rowMask: pmBad }),
      /rowMask\[1\] must be 0 or 1, got 0.5/);
    expectRejected(rt, () => softmaxCrossEntropy(rt, { logits: pl, targets: rt.mem.byteLength - 4, dlogits: pg, rows, cols }),
      /softmaxCrossEntropy targets: byte range/);

    const mask = new Float32Array(rows * cols).fill(1);
    mask.fill(0, cols, 2 * cols);
    const pm = upload(rt, mask), py = rt.mem.alloc(rows * cols * 4);
    expectRejected(rt, () => softmaxForward(rt, { x: pl, y: py, rows, cols, mask: pm }), /mask row 1 has no valid entry/);
    expectRejected(rt, () => softmaxForward(rt, { x: pl, y: py, rows, cols: 0 }), /softmaxForward cols must be an integer >= 1/);
    expectRejected(rt, () => softmaxForward(rt, { x: pl, y: py, rows, cols, ld: 3 }), /softmaxForward ld must be >= cols = 7/);
    expectRejected(rt, () => logSoftmaxBackward(rt, { y: py, dy: pl, dx: rt.mem.byteLength, rows, cols }), /logSoftmaxBackward dx/);
  });
});
