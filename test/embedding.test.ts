import { beforeAll, describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingForward } from '../src/kernels/embedding.js';
import { embeddingBackwardReference, embeddingReference } from '../src/reference/embedding.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { download, expectRejected, numericalVjp, randomInts, toF64, upload } from './kernel-helpers.js';

const SIZES = [1, 3, 7, 13, 17, 33, 100, 1000];

describe.each(BUILDS)('embedding (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  for (const dim of SIZES) {
    it(`gather and scatter-add gradient with padding, dim=${dim}`, () => {
      const vocab = 11, n = 23, pad = 4;
      const table = randomArray(vocab * dim, 10 + dim);
      table.fill(0, pad * dim, (pad + 1) * dim); // torch creates the padding row zero
      const ids = randomInts(n, 20 + dim, vocab);
      ids[0] = pad; ids[5] = pad; ids[6] = 3; ids[7] = 3; // padding and repeated ids
      const pT = upload(rt, table), pIds = upload(rt, ids), pOut = rt.mem.alloc(n * dim * 4);
      embeddingForward(rt, { table: pT, vocabSize: vocab, dim, ids: pIds, n, out: pOut });
      const out = new Float32Array(n * dim);
      embeddingReference(table, ids, out, dim);
      expect(download(rt, pOut, n * dim)).toEqual(out);

      const dout = randomArray(n * dim, 30 + dim), dtable0 = randomArray(vocab * dim, 40 + dim);
      const pDout = upload(rt, dout), pDt = upload(rt, dtable0);
      embeddingBackward(rt, { dout: pDout, ids: pIds, n, dtable: pDt, vocabSize: vocab, dim, paddingIdx: pad });
      const dRef = dtable0.slice();
      embeddingBackwardReference(dout, ids, dRef, dim, pad);
      const got = download(rt, pDt, vocab * dim);
      expect(maxRelError(got, dRef)).toBeLessThan(1e-6);
      // The padding row received nothing.
      expect(got.subarray(pad * dim, (pad + 1) * dim)).toEqual(dtable0.subarray(pad * dim, (pad + 1) * dim));
    });
  }

  it('scatter-add gradient passes a finite-difference check (negative paddingIdx counts from the end)', () => {
    const vocab = 6, dim = 7, n = 9;
    const table = randomArray(vocab * dim, 50);
    const ids = Int32Array.from([0, 5, 2, 2, 5, 1, 3, 2, 0]);
    const u = randomArray(n * dim, 51);
    const pIds = upload(rt, ids), pU = upload(rt, u), pDt = rt.mem.alloc(vocab * dim * 4);
    embeddingBackward(rt, { dout: pU, ids: pIds, n, dtable: pDt, vocabSize: vocab, dim, paddingIdx: -1 });
    const [num] = numericalVjp(([t]) => {
      const out = new Float64Array(n * dim);
      embeddingReference(t, ids, out, dim);
      return out;
    }, [toF64(table)], u);
    // paddingIdx -1 is row 5: torch gives it no gradient although the forward reads it.
    num.fill(0, 5 * dim, 6 * dim);
    expect(maxRelError(download(rt, pDt, vocab * dim), num)).toBeLessThan(1e-6);
  });

  it('rejects bad token ids and bad sizes with clear errors, leaving memory untouched', () => {
    const vocab = 10, dim = 3, n = 4;
    const pT = upload(rt, randomArray(vocab * dim, 60)), pOut = rt.mem.alloc(n * dim * 4);
    const pIds = upload(rt, Int32Array.from([1, 2, 10, 3]));
    expectRejected(rt, () => embeddingForward(rt, { table: pT, vocabSize: vocab, dim, ids: pIds, n, out: pOut }),
      /embeddingForward ids\[2\] = 10 is out of range: token ids must lie in \[0, 10\)/);
    rt.mem.i32(pIds, n).set([1, -3, 2, 3]);
    expectRejected(rt, () => embeddingBackward(rt, { dout: pOut, ids: pIds, n, dtable: pT, vocabSize: vocab, dim }),
      /embeddingBackward ids\[1\] = -3 is out of range/);
    rt.mem.i32(pIds, n).set([1, 2, 2, 3]);
    expectRejected(rt, () => embeddingBackward(rt, { dout: pOut, ids: pIds, n, dtable: pT, vocabSize: vocab, dim, paddingIdx: 10 }),
      /paddingIdx must be an integer in \[-10, 10\), got 10/);
    expectRejected(rt, () => embeddingForward(rt, { table: pT, vocabSize: 0, dim, ids: pIds, n, out: pOut }),
      /embeddingForward vocabSize must be an integer >= 1/);
    expectRejected(rt, () => embeddingForward(rt, { table: rt.mem.byteLength - 8, vocabSize: vocab, dim, ids: pIds, n, out: pOut }),
      /embeddingForward table: byte range/);
    expectRejected(rt, () => embeddingForward(rt, { table: pT, vocabSize: vocab, dim, ids: rt.mem.byteLength, n, out: pOut }),
      /embeddingForward ids: byte range/);
  });
});
