import { describe, it, expect } from 'vitest';
import { Rng, type RngState } from '../src/train/rng.js';

const fromWords = (s: [number, number, number, number]) => Rng.fromState({ algorithm: 'xoshiro128**', s, spareNormal: null });

describe('Rng (xoshiro128**)', () => {
  it('matches the reference C implementation from state {1,2,3,4}, including jump()', () => {
    // Values printed by the authors' xoshiro128starstar.c (next() and jump()) compiled with gcc.
    const rng = fromWords([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    const child = rng.split();
    expect(Array.from({ length: 3 }, () => rng.nextUint32())).toEqual([2327035934, 1140626159, 913312880]);
    // The child continues where the parent was before its jump.
    const ref = fromWords([1, 2, 3, 4]);
    for (let i = 0; i < 6; i++) ref.nextUint32();
    expect(Array.from({ length: 5 }, () => child.nextUint32())).toEqual(Array.from({ length: 5 }, () => ref.nextUint32()));
  });

  it('is deterministic per seed and different across seeds (numbers and strings)', () => {
    const seq = (seed: number | string) => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(seq(42)).toEqual(seq(42));
    expect(seq('hello')).toEqual(seq('hello'));
    const all = [0, 1, 2, -1, 2 ** 32, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER, 'a', 'b', ''].map((s) => seq(s).join(','));
    expect(new Set(all).size).toBe(all.length);
    expect(() => new Rng(1.5)).toThrow(/safe integer/);
    expect(() => new Rng(NaN)).toThrow(/safe integer/);
  });

  it('state() round-trips through JSON and resumes the exact sequence, spare normal included', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 13; i++) rng.uniform();
    rng.normal(); // leaves the second deviate of the pair cached
    const saved: RngState = JSON.parse(JSON.stringify(rng.state()));
    expect(saved.spareNormal).not.toBeNull();
    const expected = [rng.normal(), rng.normal(), rng.uniform(), rng.int(1000), rng.nextUint32()];
    const resumed = Rng.fromState(saved);
    expect([resumed.normal(), resumed.normal(), resumed.uniform(), resumed.int(1000), resumed.nextUint32()]).toEqual(expected);
    const c = resumed.clone();
    expect(c.nextUint32()).toBe(resumed.nextUint32());
  });

  it('rejects invalid states', () => {
    expect(() => Rng.fromState({ algorithm: 'mt' } as unknown as RngState)).toThrow(/xoshiro128/);
    expect(() => fromWords([0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => fromWords([1, 2, 3, 2 ** 32])).toThrow(/unsigned 32-bit/);
    expect(() => fromWords([1, 2, 3] as unknown as [number, number, number, number])).toThrow(/four/);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4], spareNormal: NaN })).toThrow(/spareNormal/);
  });

  it('uniform and normal have the right moments and ranges', () => {
    const rng = new Rng(1);
    const n = 200_000;
    let sum = 0, sq = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(-2, 3);
      sum += u; sq += u * u;
      min = Math.min(min, u); max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(-2);
    expect(max).toBeLessThan(3);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 0.25 - 25 / 12)).toBeLessThan(0.03);
    sum = 0; sq = 0;
    let tail = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal(1, 2);
      sum += z; sq += (z - 1) ** 2;
      if (Math.abs(z - 1) > 2 * 1.96) tail++;
    }
    expect(Math.abs(sum / n - 1)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 4)).toBeLessThan(0.06);
    expect(Math.abs(tail / n - 0.05)).toBeLessThan(0.004);
  });

  it('int and integer are unbiased over small and awkward ranges', () => {
    const rng = new Rng(3);
    for (const k of [1, 3, 7, 10]) {
      const counts = new Array(k).fill(0);
      const n = 30_000 * k;
      for (let i = 0; i < n; i++) counts[rng.int(k)]++;
      // Chi-square with k-1 degrees of freedom, generous bound.
      const chi = counts.reduce((acc, c) => acc + (c - n / k) ** 2 / (n / k), 0);
      expect(chi).toBeLessThan(k === 1 ? 1e-9 : 30);
    }
    const big = rng.int(2 ** 32);
    expect(big).toBeGreaterThanOrEqual(0);
    expect(big).toBeLessThan(2 ** 32);
    for (let i = 0; i < 1000; i++) {
      const v = rng.integer(-3, 4);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(4);
    }
    expect(() => rng.int(0)).toThrow(/n must be/);
    expect(() => rng.int(2.5)).toThrow(/n must be/);
    expect(() => rng.integer(3, 2)).toThrow(/lo <= hi/);
    expect(() => rng.bernoulli(1.5)).toThrow(/p must be/);
  });

  it('shuffle and permutation give valid, seed-determined, roughly uniform permutations', () => {
    const a = new Rng(5).permutation(17);
    const b = new Rng(5).permutation(17);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 17 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 17 }, (_, i) => i));
    const words = ['a', 'b', 'c'];
    const rng = new Rng(9);
    const seen = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const key = rng.shuffle(words.slice()).join('');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect(seen.size).toBe(6);
    for (const c of seen.values()) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('categorical follows the weights and rejects bad weights', () => {
    const rng = new Rng(11);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[rng.categorical([1, 0, 3, 0])]++;
    expect(counts[1]).toBe(0);
    expect(counts[3]).toBe(0);
    expect(Math.abs(counts[2] / 40_000 - 0.75)).toBeLessThan(0.015);
    expect(() => rng.categorical([0, 0])).toThrow(/sum to 0/);
    expect(() => rng.categorical([1, -1])).toThrow(/weights\[1\]/);
    expect(() => rng.categorical([1, NaN])).toThrow(/weights\[1\]/);
  });

  it('split streams differ from the parent and from each other', () => {
    const parent = new Rng(100);
    const c1 = parent.split();
    const c2 = parent.split();
    const take = (r: Rng) => Array.from({ length: 4 }, () => r.nextUint32()).join(',');
    const [p, a, b] = [take(parent), take(c1), take(c2)];
    expect(new Set([p, a, b]).size).toBe(3);
  });
});
