import { beforeAll, describe, expect, it } from 'vitest';
import {
  reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward,
  type ActivationBackwardArgs, type ActivationForwardArgs,
} from '../src/kernels/activations.js';
import {
  reluBackwardReference, reluReference, sigmoidBackwardReference, sigmoidReference, tanhBackwardReference,
  tanhReference,
} from '../src/reference/activations.js';
import type { Floats } from '../src/reference/elementwise.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { download, expectRejected, numericalVjp, toF64, upload } from './kernel-helpers.js';

const SIZES = [1, 3, 7, 13, 17, 33, 100, 1000];

type Forward = (rt: Runtime, a: ActivationForwardArgs) => void;
type Backward = (rt: Runtime, a: ActivationBackwardArgs) => void;
type RefForward = (x: ArrayLike<number>, y: Floats) => void;
type RefBackward = (y: ArrayLike<number>, dy: ArrayLike<number>, dx: Floats) => void;

// [name, forward, backward, reference forward, reference backward, forward tolerance]
// sigmoid/tanh: the SIMD approximations are within 2e-7 absolute (test/math.test.ts).
const ACTIVATIONS: [string, Forward, Backward, RefForward, RefBackward, number][] = [
  ['sigmoid', sigmoidForward, sigmoidBackward, sigmoidReference, sigmoidBackwardReference, 3e-7],
  ['tanh', tanhForward, tanhBackward, tanhReference, tanhBackwardReference, 3e-7],
  ['relu', reluForward, reluBackward, reluReference, reluBackwardReference, 0],
];

describe.each(BUILDS)('activations (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  for (const [name, forward, backward, refForward, refBackward, tol] of ACTIVATIONS) {
    for (const n of SIZES) {
      it(`${name} forward and backward vs reference, n=${n}`, () => {
        const x = randomArray(n, 100 + n, 6), dy = randomArray(n, 200 + n);
        const px = upload(rt, x), py = rt.mem.alloc(n * 4), pdy = upload(rt, dy), pdx = rt.mem.alloc(n * 4);
        forward(rt, { x: px, y: py, n });
        const yRef = new Float64Array(n);
        refForward(x, yRef);
        expect(maxRelError(download(rt, py, n), yRef)).toBeLessThanOrEqual(tol);

        // Backward from the kernel's own saved output: exact formula, only f32 rounding.
        const y = download(rt, py, n);
        backward(rt, { y: py, dy: pdy, dx: pdx, n });
        const dxRef = new Float64Array(n);
        refBackward(y, dy, dxRef);
        expect(maxRelError(download(rt, pdx, n), dxRef)).toBeLessThan(3e-7);
      });
    }

    it(`${name} backward passes a finite-difference check`, () => {
      const n = 33;
      // Keep relu's inputs away from its kink at 0, where the central difference is meaningless.
      const x = randomArray(n, 300, 4).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
      const u = randomArray(n, 301);
      const px = upload(rt, x), py = rt.mem.alloc(n * 4), pu = upload(rt, u), pdx = rt.mem.alloc(n * 4);
      forward(rt, { x: px, y: py, n });
      backward(rt, { y: py, dy: pu, dx: pdx, n });
      const [num] = numericalVjp(([xx]) => {
        const y = new Float64Array(n);
        refForward(xx, y);
        return y;
      }, [toF64(x)], u);
      expect(maxRelError(download(rt, pdx, n), num)).toBeLessThan(1e-6);
    });

    it(`${name} works in place (y = x, dx = dy)`, () => {
      const n = 17;
      const x = randomArray(n, 400, 3), dy = randomArray(n, 401);
      const p = upload(rt, x), pdy = upload(rt, dy);
      forward(rt, { x: p, y: p, n });
      const y = download(rt, p, n);
      const yRef = new Float64Array(n);
      refForward(x, yRef);
      expect(maxRelError(y, yRef)).toBeLessThanOrEqual(tol);
      backward(rt, { y: p, dy: pdy, dx: pdy, n });
      const dxRef = new Float64Array(n);
      refBackward(y, dy, dxRef);
      expect(maxRelError(download(rt, pdy, n), dxRef)).toBeLessThan(3e-7);
    });
  }

  it('saturates without overflow or NaN at extreme inputs', () => {
    const x = Float32Array.from([-1e30, -100, -88, -20, 0, 20, 88, 100, 1e30]);
    const n = x.length;
    const px = upload(rt, x), py = rt.mem.alloc(n * 4);
    sigmoidForward(rt, { x: px, y: py, n });
    const s = download(rt, py, n);
    expect(s[0]).toBeCloseTo(0, 30);
    expect(s[n - 1]).toBe(1);
    expect(s[4]).toBe(0.5);
    tanhForward(rt, { x: px, y: py, n });
    const t = download(rt, py, n);
    expect(t[0]).toBe(-1);
    expect(t[n - 1]).toBe(1);
    expect(t[4]).toBe(0);
    reluForward(rt, { x: px, y: py, n });
    expect(Array.from(download(rt, py, n))).toEqual([0, 0, 0, 0, 0, 20, 88, 100, 1e30].map(Math.fround));
  });

  it('rejects bad input with clear errors and leaves memory untouched', () => {
    const n = 13;
    const px = upload(rt, randomArray(n, 500)), py = rt.mem.alloc(n * 4);
    const end = rt.mem.byteLength;
    expectRejected(rt, () => sigmoidForward(rt, { x: px, y: end - 4, n }), /sigmoidForward y: byte range/);
    expectRejected(rt, () => tanhForward(rt, { x: px, y: py, n: NaN }), /tanhForward n must be an integer >= 0, got NaN/);
    expectRejected(rt, () => reluBackward(rt, { y: py, dy: -8, dx: py, n }), /reluBackward dy: byte range/);
    expectRejected(rt, () => tanhBackward(rt, { y: py + 1, dy: px, dx: py, n }), /tanhBackward y: pointer .* 4-byte aligned/);
  });
});
