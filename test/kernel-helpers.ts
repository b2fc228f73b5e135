// Shared by the kernel tests of elementwise, activations, loss, embedding, optim,
// clip and memory: moving arrays in and out of wasm memory, finite-difference
// vector-Jacobian products in float64, and memory snapshots for bad-input tests.
import { expect } from 'vitest';
import type { Runtime } from '../src/runtime/runtime.js';

/** Copies data into a fresh allocation and returns its byte pointer. */
export function upload(rt: Runtime, data: Float32Array | Int32Array | ArrayLike<number>): number {
  const ptr = rt.mem.alloc(Math.max(1, data.length) * 4);
  if (data instanceof Int32Array) rt.mem.i32(ptr, data.length).set(data);
  else rt.mem.f32(ptr, data.length).set(data);
  return ptr;
}

/** A copy of n float32 values at ptr. */
export function download(rt: Runtime, ptr: number, n: number): Float32Array {
  return rt.mem.f32(ptr, n).slice();
}

/** Seeded integers in [0, max) (for ids and targets). */
export function randomInts(n: number, seed: number, max: number): Int32Array {
  let s = seed >>> 0;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.floor((s / 4294967296) * max);
  }
  return out;
}

/** d f / d v[i] for every i by central differences in float64 (v is perturbed in place and restored). */
export function numericalGradient(f: () => number, v: Float64Array, eps = 1e-4): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + eps;
    const up = f();
    v[i] = keep - eps;
    const down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

/**
 * Numerical vector-Jacobian product: for each input element x_k,
 * d/dx_k sum(upstream * f(inputs)) by central differences in float64.
 */
export function numericalVjp(
  f: (inputs: Float64Array[]) => Float64Array,
  inputs: Float64Array[],
  upstream: ArrayLike<number>,
  h = 1e-5,
): Float64Array[] {
  const objective = () => {
    const y = f(inputs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += upstream[i] * y[i];
    return s;
  };
  return inputs.map((x) => numericalGradient(objective, x, h));
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

/** A copy of all of wasm memory, to show that a rejected call changed nothing. */
export function snapshot(rt: Runtime): Uint8Array {
  return new Uint8Array(rt.mem.memory.buffer).slice();
}

/** Expects fn to throw an Error whose message matches `message`, with memory left byte-identical. */
export function expectRejected(rt: Runtime, fn: () => unknown, message: RegExp): void {
  const before = snapshot(rt);
  expect(fn).toThrow(message);
  const after = new Uint8Array(rt.mem.memory.buffer);
  expect(after.length).toBe(before.length);
  let same = true;
  for (let i = 0; i < before.length; i++) {
    if (before[i] !== after[i]) {
      same = false;
      break;
    }
  }
  expect(same, 'memory changed although the call was rejected').toBe(true);
}
