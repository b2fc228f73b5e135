// The tape's tensor ops (src/layers/tensor-ops.ts): each forward against a
// plain float64 TypeScript reference, each backward against central
// differences of that reference (the vector-Jacobian product for a random
// upstream gradient), both into fresh gradients and into gradients that
// already hold values (accumulation), and every bad input rejected by name.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { numericalVjp, toF64 } from './kernel-helpers.js';
import { gradError } from './models-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape, type Variable } from '../src/train/tape.js';
import {
  add, argmax, batchedMatmul, concat, gatherRows, logSoftmax, matmul, meanAll, meanLastAxis, multiply, reshape, scale,
  parameter, selectSteps, softmax, split, stack, subtract, sumAll, sumLastAxis, swapLeadingAxes,
} from '../src/layers/tensor-ops.js';
import { ParameterBlock } from '../src/runtime/tensor.js';

type Ref = (x: Float64Array[]) => Float64Array;

/** op(A) as a function of stored A: element (i, j) of an [r, c] view. */
const at = (a: Float64Array, trans: boolean, rows: number, cols: number) => (i: number, j: number) => (trans ? a[j * rows + i] : a[i * cols + j]);

function refMatmul(a: Float64Array, b: Float64Array, M: number, N: number, K: number, transA: boolean, transB: boolean): Float64Array {
  const A = at(a, transA, M, K), B = at(b, transB, K, N);
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
    y[i * N + j] = s;
  }
  return y;
}

function refSoftmax(x: Float64Array, N: number, mask?: ArrayLike<number>, log = false): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / N; r++) {
    const valid = (j: number) => !mask || mask[r * N + j] === 1;
    let m = -Infinity;
    for (let j = 0; j < N; j++) if (valid(j)) m = Math.max(m, x[r * N + j]);
    let s = 0;
    for (let j = 0; j < N; j++) if (valid(j)) s += Math.exp(x[r * N + j] - m);
    // Masked log-softmax entries are -inf in the op; the reference holds them at a constant 0.
    for (let j = 0; j < N; j++) y[r * N + j] = !valid(j) ? 0 : log ? x[r * N + j] - m - Math.log(s) : Math.exp(x[r * N + j] - m) / s;
  }
  return y;
}

describe.each(BUILDS)('tensor ops (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  /**
   * Runs `op` on inputs of the given shapes: the forward must equal `ref`, and the
   * gradients (fresh, then on top of earlier values) its central differences.
   */
  function checkOp(shapes: number[][], op: (tape: Tape, x: Variable[]) => Variable, ref: Ref, options: { tol?: number; seed?: number; compare?: (y: Float32Array) => Float32Array } = {}) {
    const seed = options.seed ?? 1;
    const data = shapes.map((s, i) => randomArray(s.reduce((a, b) => a * b, 1), seed + 10 * i));
    const expected = ref(data.map(toF64));
    for (const preSeeded of [false, true]) {
      const tape = new Tape(rt);
      tape.reset();
      const xs = shapes.map((s, i) => tape.input(data[i], s, true));
      const earlier = xs.map((x, i) => randomArray(x.size, seed + 100 + i));
      if (preSeeded) xs.forEach((x, i) => x.grad().set(earlier[i]));
      const y = op(tape, xs);
      const got = options.compare ? options.compare(y.toArray()) : y.toArray();
      expect(maxRelError(got, expected), 'forward').toBeLessThan(options.tol ?? 2e-6);
      const upstream = randomArray(y.size, seed + 1000);
      y.grad().set(upstream);
      tape.backward();
      const vjp = numericalVjp(ref, data.map(toF64), upstream);
      xs.forEach((x, i) => {
        const g = x.gradToArray();
        if (preSeeded) for (let k = 0; k < g.length; k++) g[k] -= earlier[i][k];
        expect(gradError(g, vjp[i]), `gradient of input ${i}${preSeeded ? ' (accumulated)' : ''}`).toBeLessThan(1e-3);
      });
    }
  }

  it('matmul: every transpose combination, and leading axes as rows', () => {
    const M = 5, N = 3, K = 4;
    for (const transA of [false, true]) for (const transB of [false, true]) {
      checkOp([transA ? [K, M] : [M, K], transB ? [N, K] : [K, N]], (t, [a, b]) => matmul(t, a, b, { transA, transB }),
        ([a, b]) => refMatmul(a, b, M, N, K, transA, transB));
    }
    checkOp([[2, 3, K], [K, N]], (t, [a, b]) => {
      const y = matmul(t, a, b);
      expect(y.shape).toEqual([2, 3, N]);
      return y;
    }, ([a, b]) => refMatmul(a, b, 6, N, K, false, false));
  });

  it('batchedMatmul: one product per batch entry, every transpose combination', () => {
    const S = 3, M = 2, N = 5, K = 4;
    for (const transA of [false, true]) for (const transB of [false, true]) {
      checkOp([transA ? [S, K, M] : [S, M, K], transB ? [S, N, K] : [S, K, N]], (t, [a, b]) => batchedMatmul(t, a, b, { transA, transB }), ([a, b]) => {
        const y = new Float64Array(S * M * N);
        for (let s = 0; s < S; s++) y.set(refMatmul(a.subarray(s * M * K, (s + 1) * M * K), b.subarray(s * K * N, (s + 1) * K * N), M, N, K, transA, transB), s * M * N);
        return y;
      });
    }
  });

  it('add (same shape and bias rows), subtract, multiply, scale', () => {
    const map2 = (f: (p: number, q: number) => number): Ref => ([a, b]) => a.map((v, i) => f(v, b[i]));
    checkOp([[3, 4], [3, 4]], (t, [a, b]) => add(t, a, b), map2((p, q) => p + q));
    checkOp([[2, 3, 4], [4]], (t, [a, b]) => add(t, a, b), ([a, b]) => a.map((v, i) => v + b[i % 4]));
    checkOp([[7], [7]], (t, [a, b]) => subtract(t, a, b), map2((p, q) => p - q));
    checkOp([[2, 9], [2, 9]], (t, [a, b]) => multiply(t, a, b), map2((p, q) => p * q));
    checkOp([[2, 9]], (t, [x]) => scale(t, x, -0.75), ([x]) => x.map((v) => -0.75 * v));
  });

  it('softmax and log-softmax over the last axis, with and without a mask', () => {
    const mask = [1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0];
    checkOp([[3, 5]], (t, [x]) => softmax(t, x), ([x]) => refSoftmax(x, 5));
    checkOp([[3, 5]], (t, [x]) => softmax(t, x, { mask }), ([x]) => refSoftmax(x, 5, mask));
    checkOp([[3, 5]], (t, [x]) => logSoftmax(t, x), ([x]) => refSoftmax(x, 5, undefined, true));
    checkOp([[3, 5]], (t, [x]) => {
      const y = logSoftmax(t, x, { mask: Uint8Array.from(mask) });
      y.toArray().forEach((v, i) => expect(mask[i] === 0 ? v === -Infinity : Number.isFinite(v), `entry ${i}`).toBe(true));
      return y;
    }, ([x]) => refSoftmax(x, 5, mask, true), { compare: (y) => y.map((v, i) => (mask[i] === 0 ? 0 : v)) });
    // A [B, Tx] mask shared by the Ty rows of scores [B, Ty, Tx]; masked weights are exactly 0.
    const shared = [1, 1, 0, 0, 1, 1, 1, 1];
    const full = [0, 1, 2].flatMap(() => shared.slice(0, 4)).concat([0, 1, 2].flatMap(() => shared.slice(4)));
    checkOp([[2, 3, 4]], (t, [x]) => {
      const y = softmax(t, x, { mask: Int32Array.from(shared) });
      y.toArray().forEach((v, i) => full[i] === 0 && expect(v).toBe(0));
      return y;
    }, ([x]) => refSoftmax(x, 4, full));
  });

  it('concat and split along the features, gatherRows, selectSteps, swapLeadingAxes, reshape', () => {
    const rows = 6;
    const interleave = (parts: Float64Array[], widths: number[]) => {
      const total = widths.reduce((a, b) => a + b, 0);
      const y = new Float64Array(rows * total);
      for (let r = 0; r < rows; r++) {
        let c = 0;
        parts.forEach((p, i) => {
          for (let j = 0; j < widths[i]; j++) y[r * total + c + j] = p[r * widths[i] + j];
          c += widths[i];
        });
      }
      return y;
    };
    checkOp([[2, 3, 2], [2, 3, 5], [2, 3, 1]], (t, parts) => concat(t, parts), (p) => interleave(p, [2, 5, 1]));
    // split's pieces weighted differently so each one's gradient path is seen
    const w = [2, 5, 1];
    checkOp([[2, 3, 8]], (t, [x]) => concat(t, split(t, x, w).map((p, i) => scale(t, p, i + 1))), ([x]) => {
      const y = new Float64Array(x.length);
      for (let r = 0; r < rows; r++) for (let j = 0; j < 8; j++) y[r * 8 + j] = x[r * 8 + j] * (j < 2 ? 1 : j < 7 ? 2 : 3);
      return y;
    });
    const picks = [3, 0, 3, 1];
    checkOp([[4, 2, 3]], (t, [x]) => gatherRows(t, x, picks), ([x]) => Float64Array.from(picks.flatMap((k) => Array.from(x.subarray(k * 6, k * 6 + 6)))));
    const T = 4, B = 3, H = 2, steps = [3, 0, 2];
    checkOp([[T, B, H]], (t, [x]) => selectSteps(t, x, steps), ([x]) => Float64Array.from(steps.flatMap((s, b) => Array.from(x.subarray((s * B + b) * H, (s * B + b + 1) * H)))));
    checkOp([[T, B, H]], (t, [x]) => {
      const y = swapLeadingAxes(t, x);
      expect(y.shape).toEqual([B, T, H]);
      return y;
    }, ([x]) => {
      const y = new Float64Array(x.length);
      for (let a = 0; a < T; a++) for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) y[(b * T + a) * H + h] = x[(a * B + b) * H + h];
      return y;
    });
    checkOp([[T, B, H]], (t, [x]) => scale(t, reshape(t, x, [T * B, H]), 2), ([x]) => x.map((v) => 2 * v));
    // stack: parts [B, H] -> [n, B, H]; one part used twice gets both gradients
    checkOp([[B, H], [B, H]], (t, [a, b]) => {
      const y = stack(t, [a, b, a]);
      expect(y.shape).toEqual([3, B, H]);
      return y;
    }, ([a, b]) => Float64Array.from([...a, ...b, ...a]));
  });

  it('parameter: a block entry as a Variable whose gradient lands in the block once, added to what it held', () => {
    const block = new ParameterBlock(rt.mem, [{ name: 'w', shape: [3, 2] }, { name: 'b', shape: [2] }]);
    const w0 = randomArray(6, 3);
    block.value('w').set(w0);
    block.grad('w').set(new Float32Array(6).fill(0.5));
    const tape = new Tape(rt);
    tape.reset();
    const x = tape.input(randomArray(12, 4), [4, 3]);
    const w = parameter(tape, block, 'w');
    expect(w.toArray()).toEqual(w0);
    // y = x w + x w: the gradient of w is 2 x^T dy, written to the block after both uses
    const y = add(tape, matmul(tape, x, w), matmul(tape, x, w));
    const dy = randomArray(y.size, 5);
    y.grad().set(dy);
    tape.backward();
    const xv = x.toArray(), g = block.grad('w').view();
    for (let k = 0; k < 3; k++) for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let r = 0; r < 4; r++) s += xv[r * 3 + k] * dy[r * 2 + j];
      expect(g[k * 2 + j]).toBeCloseTo(0.5 + 2 * s, 4);
    }
    expect(Array.from(block.grad('b').view())).toEqual([0, 0]);
    expect(() => parameter(tape, block, 'nope')).toThrow(/unknown parameter 'nope'/);
    block.dispose();
  });

  it('sums and means over the last axis and over everything; argmax of the last axis', () => {
    const rowSums = (x: Float64Array, n: number, mean: boolean) =>
      Float64Array.from({ length: x.length / n }, (_, r) => x.subarray(r * n, (r + 1) * n).reduce((a, b) => a + b, 0) / (mean ? n : 1));
    checkOp([[2, 3, 5]], (t, [x]) => sumLastAxis(t, x), ([x]) => rowSums(x, 5, false));
    checkOp([[2, 3, 5]], (t, [x]) => meanLastAxis(t, x), ([x]) => rowSums(x, 5, true));
    checkOp([[2, 3, 5]], (t, [x]) => sumAll(t, x), ([x]) => rowSums(x, 30, false));
    checkOp([[2, 3, 5]], (t, [x]) => meanAll(t, x), ([x]) => rowSums(x, 30, true));
    const tape = new Tape(rt);
    tape.reset();
    expect(Array.from(argmax(tape.input([1, 5, 5, 2, -3, -1, -2, -7, 4, 4, 9, 0], [2, 2, 3])))).toEqual([1, 0, 2, 1]);
    expect(sumLastAxis(tape, tape.input([1, 2], [2])).shape).toEqual([1]);
  });

  it('composes: dot attention of a query over masked encoder states equals its reference, gradients included', () => {
    // scores [B, 1, T] = q [B, 1, d] . h^T; weights = softmax(scores, mask); context = weights . h [B, 1, d]
    const B = 2, T = 4, d = 3, mask = [1, 1, 1, 0, 1, 1, 0, 0];
    checkOp([[B, 1, d], [B, T, d]], (t, [q, h]) => batchedMatmul(t, softmax(t, batchedMatmul(t, q, h, { transB: true }), { mask }), h), ([q, h]) => {
      const y = new Float64Array(B * d);
      for (let b = 0; b < B; b++) {
        const hb = h.subarray(b * T * d, (b + 1) * T * d);
        const a = refSoftmax(refMatmul(q.subarray(b * d, (b + 1) * d), hb, 1, T, d, false, true), T, mask.slice(b * T, (b + 1) * T));
        y.set(refMatmul(a, hb, 1, d, T, false, false), b * d);
      }
      return y;
    });
  });

  it('inputs that need no gradient get none, and a variable feeding two ops gets both gradients', () => {
    const tape = new Tape(rt);
    tape.reset();
    const a = tape.input(randomArray(6, 1), [2, 3], true);
    const c = tape.input(randomArray(6, 2), [2, 3]);
    const y = add(tape, multiply(tape, a, c), multiply(tape, a, a));
    y.grad().set(new Float32Array(6).fill(1));
    tape.backward();
    expect(c.hasGrad).toBe(false);
    const av = a.toArray(), cv = c.toArray(), g = a.gradToArray();
    for (let i = 0; i < 6; i++) expect(g[i]).toBeCloseTo(cv[i] + 2 * av[i], 5);
  });

  it('rejects bad inputs by name before writing anything', () => {
    const tape = new Tape(rt);
    tape.reset();
    const x = tape.input(randomArray(6, 1), [2, 3], true);
    const w = tape.input(randomArray(8, 2), [4, 2], true);
    const length = tape.length;
    expect(() => matmul(tape, x, w)).toThrow(/matmul: b must be \[3, N\] to match a \[2, 3\], got \[4, 2\]/);
    expect(() => matmul(tape, x, w, { transB: true })).toThrow(/matmul: b must be \[N, 3\] \(transB\)/);
    expect(() => batchedMatmul(tape, x, w)).toThrow(/batchedMatmul: a must be \[S, M, K\]/);
    expect(() => add(tape, x, w)).toThrow(/add: b must have a's shape \[2, 3\] or be a bias \[3\], got \[4, 2\]/);
    expect(() => multiply(tape, x, w)).toThrow(/multiply: b must have a's shape/);
    expect(() => scale(tape, x, NaN)).toThrow(/scale alpha must be a finite number/);
    expect(() => softmax(tape, x, { mask: [1, 1, 1] })).toThrow(/softmax: mask must have 6 values/);
    expect(() => softmax(tape, x, { mask: [1, 1, 1, 0, 0, 0] })).toThrow(/mask row 1 has no valid entry/);
    expect(() => logSoftmax(tape, x, { mask: [1, 2, 1, 1, 1, 1] })).toThrow(/logSoftmax: mask\[1\] must be 0 or 1, got 2/);
    expect(() => concat(tape, [x, w])).toThrow(/concat: leading dims differ/);
    expect(() => stack(tape, [x, w])).toThrow(/stack: parts\[1\] must have parts\[0\]'s shape \[2, 3\], got \[4, 2\]/);
    expect(() => stack(tape, [])).toThrow(/stack: needs at least one input/);
    expect(() => split(tape, x, [1, 1])).toThrow(/split: widths \[1, 1\] must add up to x's last axis 3/);
    expect(() => gatherRows(tape, x, [0, 2])).toThrow(/gatherRows: rows\[1\] = 2 must be an integer in \[0, 2\)/);
    expect(() => selectSteps(tape, tape.input(new Float32Array(12), [2, 3, 2]), [0, 1])).toThrow(/steps must have 3 entries/);
    expect(() => reshape(tape, x, [4, 2])).toThrow(/reshape: shape \[4, 2\] holds 8 values/);
    expect(() => matmul(tape, x, {} as Variable)).toThrow(/matmul: b must be a Variable/);
    expect(tape.length).toBe(length);
    const stale = x;
    tape.reset();
    expect(() => sumAll(tape, stale)).toThrow(/used after tape.reset\(\)/);
  });
});
