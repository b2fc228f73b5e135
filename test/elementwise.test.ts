import { beforeAll, describe, expect, it } from 'vitest';
import {
  axpy, biasAddRows, biasAddRowsBackward, copyBuffer, elementwiseAdd, elementwiseMul, elementwiseMulBackward,
  fillBuffer, scaleBuffer,
} from '../src/kernels/elementwise.js';
import {
  addReference, axpyReference, biasAddRowsBackwardReference, biasAddRowsReference, mulBackwardReference,
  mulReference, scaleReference,
} from '../src/reference/elementwise.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { download, expectRejected, numericalVjp, toF64, upload } from './kernel-helpers.js';

const SIZES = [1, 3, 7, 13, 17, 33, 100, 1000];

describe.each(BUILDS)('elementwise kernels (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  for (const n of SIZES) {
    it(`bias add over rows and its gradient, cols=${n}`, () => {
      const rows = 5, ld = n + 3;
      const y0 = randomArray(rows * ld, 10 + n), b = randomArray(n, 20 + n);
      const py = upload(rt, y0), pb = upload(rt, b);
      biasAddRows(rt, { y: py, b: pb, rows, cols: n, ldy: ld });
      const ref = y0.slice();
      biasAddRowsReference(ref, ld, b, rows, n);
      // Padding columns between rows (ld > cols) must be left alone: compare the whole buffer.
      expect(maxRelError(download(rt, py, rows * ld), ref)).toBe(0);

      const dy = randomArray(rows * ld, 30 + n), db0 = randomArray(n, 40 + n);
      const pdy = upload(rt, dy), pdb = upload(rt, db0);
      biasAddRowsBackward(rt, { dy: pdy, db: pdb, rows, cols: n, lddy: ld });
      const dbRef = db0.slice();
      biasAddRowsBackwardReference(dy, ld, dbRef, rows, n);
      expect(maxRelError(download(rt, pdb, n), dbRef)).toBeLessThan(2e-6);
    });

    it(`add, mul, axpy, scale, fill, copy, n=${n}`, () => {
      const a = randomArray(n, 1 + n), b = randomArray(n, 2 + n, 3);
      const pa = upload(rt, a), pb = upload(rt, b), py = rt.mem.alloc(n * 4);
      const ref = new Float32Array(n);

      elementwiseAdd(rt, { a: pa, b: pb, y: py, n });
      addReference(a, b, ref);
      expect(maxRelError(download(rt, py, n), ref)).toBe(0);

      elementwiseMul(rt, { a: pa, b: pb, y: py, n });
      mulReference(a, b, ref);
      expect(maxRelError(download(rt, py, n), ref)).toBe(0);

      const y0 = download(rt, py, n);
      axpy(rt, { alpha: -0.75, x: pa, y: py, n });
      const axpyRef = y0.slice();
      axpyReference(-0.75, a, axpyRef);
      expect(maxRelError(download(rt, py, n), axpyRef)).toBeLessThan(1e-6);

      scaleBuffer(rt, { alpha: 1.5, x: pa, n });
      const scaled = a.slice();
      scaleReference(1.5, scaled);
      expect(maxRelError(download(rt, pa, n), scaled)).toBe(0);

      copyBuffer(rt, { x: pb, y: pa, n });
      expect(download(rt, pa, n)).toEqual(b);
      fillBuffer(rt, { value: 0.25, x: pa, n });
      expect(Array.from(download(rt, pa, n)).every((v) => v === 0.25)).toBe(true);
    });

    it(`mul backward matches the reference and finite differences, n=${n}`, () => {
      const a = randomArray(n, 3 + n), b = randomArray(n, 4 + n), dy = randomArray(n, 5 + n);
      const da0 = randomArray(n, 6 + n), db0 = randomArray(n, 7 + n);
      const pa = upload(rt, a), pb = upload(rt, b), pdy = upload(rt, dy), pda = upload(rt, da0), pdb = upload(rt, db0);
      elementwiseMulBackward(rt, { a: pa, b: pb, dy: pdy, da: pda, db: pdb, n });
      const daRef = da0.slice(), dbRef = db0.slice();
      mulBackwardReference(a, b, dy, daRef, dbRef);
      expect(maxRelError(download(rt, pda, n), daRef)).toBeLessThan(1e-6);
      expect(maxRelError(download(rt, pdb, n), dbRef)).toBeLessThan(1e-6);

      if (n <= 100) {
        // Fresh accumulators: the kernel's increments must equal the numerical VJP.
        rt.mem.f32(pda, n).fill(0);
        rt.mem.f32(pdb, n).fill(0);
        elementwiseMulBackward(rt, { a: pa, b: pb, dy: pdy, da: pda, db: pdb, n });
        const [na, nb] = numericalVjp(([x, z]) => {
          const y = new Float64Array(n);
          mulReference(x, z, y);
          return y;
        }, [toF64(a), toF64(b)], dy);
        expect(maxRelError(download(rt, pda, n), na)).toBeLessThan(1e-6);
        expect(maxRelError(download(rt, pdb, n), nb)).toBeLessThan(1e-6);
      }
    });
  }

  it('bias gradient passes a finite-difference check', () => {
    const rows = 7, cols = 13;
    const x = randomArray(rows * cols, 51), b = randomArray(cols, 52), u = randomArray(rows * cols, 53);
    const pu = upload(rt, u), pdb = rt.mem.alloc(cols * 4);
    biasAddRowsBackward(rt, { dy: pu, db: pdb, rows, cols });
    const [, nb] = numericalVjp(([xx, bb]) => {
      const y = Float64Array.from(xx);
      biasAddRowsReference(y, cols, bb, rows, cols);
      return y;
    }, [toF64(x), toF64(b)], u);
    expect(maxRelError(download(rt, pdb, cols), nb)).toBeLessThan(1e-6);
  });

  it('outputs may alias inputs (y = a + y, x *= alpha in place)', () => {
    const n = 13;
    const a = randomArray(n, 61), y = randomArray(n, 62);
    const pa = upload(rt, a), py = upload(rt, y);
    elementwiseAdd(rt, { a: pa, b: py, y: py, n });
    const ref = new Float32Array(n);
    addReference(a, y, ref);
    expect(download(rt, py, n)).toEqual(ref);
  });

  it('rejects bad input with clear errors and leaves memory untouched', () => {
    const n = 17;
    const pa = upload(rt, randomArray(n, 71)), pb = upload(rt, randomArray(n, 72)), py = rt.mem.alloc(n * 4);
    const end = rt.mem.byteLength;
    expectRejected(rt, () => elementwiseAdd(rt, { a: pa, b: pb, y: end - 8, n }), /elementwiseAdd y: byte range .* outside wasm memory/);
    expectRejected(rt, () => elementwiseMul(rt, { a: pa, b: pb, y: py, n: -1 }), /elementwiseMul n must be an integer >= 0/);
    expectRejected(rt, () => elementwiseMul(rt, { a: pa, b: pb, y: py, n: 2.5 }), /elementwiseMul n must be an integer/);
    expectRejected(rt, () => axpy(rt, { alpha: NaN, x: pa, y: py, n }), /axpy alpha must be a finite number, got NaN/);
    expectRejected(rt, () => scaleBuffer(rt, { alpha: 1e39, x: pa, n }), /scaleBuffer alpha must fit in float32/);
    expectRejected(rt, () => fillBuffer(rt, { value: Infinity, x: pa, n }), /fillBuffer value must be a finite number/);
    expectRejected(rt, () => biasAddRows(rt, { y: py, b: pb, rows: 1, cols: n, ldy: n - 1 }), /biasAddRows ldy must be >= cols = 17, got 16/);
    expectRejected(rt, () => biasAddRows(rt, { y: end - n * 4, b: pb, rows: 2, cols: n }), /biasAddRows y: byte range/);
    expectRejected(rt, () => biasAddRowsBackward(rt, { dy: py, db: pb + 2, rows: 1, cols: n }), /4-byte aligned/);
    expectRejected(rt, () => copyBuffer(rt, { x: pa, y: -4, n }), /copyBuffer y: byte range/);
    expectRejected(rt, () => elementwiseMulBackward(rt, { a: pa, b: pb, dy: py, da: pa, db: end, n }), /elementwiseMulBackward db/);
  });
});
