// Dropout with masks drawn in wasm (masks: 'wasm', the DMN's): values 0 or 1/(1-p), the kept
// fraction near 1-p, the same mask for the same seed, gradients through the mask, eval = identity.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { Dropout } from '../src/layers/dropout.js';
import { Tape } from '../src/train/tape.js';
import { Rng } from '../src/train/rng.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

function maskOf(p: number, seed: number, n = 20000): Float32Array {
  const drop = new Dropout(rt, { p, masks: 'wasm' }, new Rng(seed));
  const tape = new Tape(rt);
  const x = tape.input(new Float32Array(n).fill(1), [n], true);
  const y = drop.forward(tape, x);
  y.grad().view().fill(2);
  tape.backward();
  const m = y.toArray();
  expect(Array.from(x.gradToArray().subarray(0, 50))).toEqual(Array.from(m.subarray(0, 50), (v) => 2 * v));
  return m;
}

describe("Dropout masks: 'wasm'", () => {
  it('keeps about 1-p of the values, scaled by 1/(1-p), reproducibly per seed', () => {
    for (const p of [0.1, 0.5]) {
      const m = maskOf(p, 3);
      const keep = Math.fround(1 / (1 - p));
      const kept = m.filter((v) => v !== 0);
      expect(kept.every((v) => v === keep)).toBe(true);
      expect(Math.abs(kept.length / m.length - (1 - p))).toBeLessThan(0.02);
      expect(maskOf(p, 3)).toEqual(m);
      expect(maskOf(p, 4)).not.toEqual(m);
    }
  });
  it('is the identity in eval mode and refuses an unknown mask source', () => {
    const drop = new Dropout(rt, { p: 0.3, masks: 'wasm' }, new Rng(1));
    const tape = new Tape(rt);
    tape.training = false;
    const x = tape.input(Float32Array.of(1, 2, 3), [3]);
    expect(drop.forward(tape, x)).toBe(x);
    expect(() => new Dropout(rt, { p: 0.3, masks: 'gpu' as 'js' }, new Rng(1))).toThrow(/masks must be 'js' or 'wasm'/);
  });
});
