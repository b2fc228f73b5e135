// Seeded random numbers for initialisation, dropout masks, shuffling and synthetic data.
// xoshiro128** (Blackman & Vigna, 2018): 128-bit state, period 2^128 - 1, fast in 32-bit JS
// integer arithmetic. The whole state (including a cached normal deviate) is a small JSON
// object, so a checkpoint can store it and a resumed run continues the exact same sequence.

/** JSON-serialisable generator state; `Rng.fromState(rng.state())` continues the sequence. */
export interface RngState {
  algorithm: 'xoshiro128**';
  /** The four 32-bit state words as unsigned integers. */
  s: [number, number, number, number];
  /** Second Box-Muller deviate waiting to be returned by normal(), or null. */
  spareNormal: number | null;
}

const TWO_POW_32 = 4294967296;

/** Jump polynomial of xoshiro128: advances the state by 2^64 steps (non-overlapping streams). */
const JUMP = [0x8764000b, 0xf542d2d3, 0x6fa035c3, 0x77f2db5b];

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32-style mixer: spreads any seed over the state so nearby seeds give unrelated streams. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** `seed`: any safe integer (negative allowed) or string. Equal seeds give equal sequences. */
  constructor(seed: number | string = 0) {
    let lo: number;
    let hi: number;
    if (typeof seed === 'string') {
      // FNV-1a twice with different offsets: two 32-bit words from the text.
      lo = 0x811c9dc5;
      hi = 0x01000193 ^ seed.length;
      for (let i = 0; i < seed.length; i++) {
        const c = seed.charCodeAt(i);
        lo = Math.imul(lo ^ c, 0x01000193);
        hi = Math.imul(hi ^ c, 0x01000197);
      }
    } else {
      if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
        throw new RangeError(`Rng seed must be a safe integer or a string, got ${String(seed)}`);
      }
      lo = seed >>> 0;
      hi = Math.floor(seed / TWO_POW_32) >>> 0;
    }
    let x = (lo ^ mix32(hi + 0x9e3779b9)) >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      words.push(mix32(x ^ Math.imul(hi, i + 1)));
    }
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1; // all-zero state is a fixed point
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  /** A generator continuing from a saved state (validated). */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  state(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spareNormal: this.spare };
  }

  setState(state: RngState): void {
    if (state === null || typeof state !== 'object' || state.algorithm !== 'xoshiro128**') {
      throw new Error(`Rng state must be an object with algorithm 'xoshiro128**', got ${JSON.stringify(state)}`);
    }
    const s = state.s;
    if (!Array.isArray(s) || s.length !== 4 || !s.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32)) {
      throw new Error(`Rng state.s must be four unsigned 32-bit integers, got ${JSON.stringify(s)}`);
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) throw new Error('Rng state.s must not be all zero');
    const spare = state.spareNormal ?? null;
    if (spare !== null && !Number.isFinite(spare)) throw new Error(`Rng state.spareNormal must be a finite number or null, got ${spare}`);
    [this.s0, this.s1, this.s2, this.s3] = s;
    this.spare = spare;
  }

  /** A copy that continues the same sequence independently. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * An independent generator for a sub-task (e.g. one per data loader): it takes this state,
   * and this generator jumps 2^64 steps ahead, so the two streams never overlap.
   */
  split(): Rng {
    const child = new Rng(0);
    child.s0 = this.s0; child.s1 = this.s1; child.s2 = this.s2; child.s3 = this.s3;
    let a = 0, b = 0, c = 0, d = 0;
    for (const word of JUMP) {
      for (let bit = 0; bit < 32; bit++) {
        if (word & (1 << bit)) {
          a ^= this.s0; b ^= this.s1; c ^= this.s2; d ^= this.s3;
        }
        this.nextUint32();
      }
    }
    this.s0 = a; this.s1 = b; this.s2 = c; this.s3 = d;
    return child;
  }

  /** Uniform in [lo, hi) with 53 random bits (two draws). */
  uniform(lo = 0, hi = 1): number {
    const hiBits = this.nextUint32() >>> 5; // 27 bits
    const loBits = this.nextUint32() >>> 6; // 26 bits
    const u = (hiBits * 67108864 + loBits) / 9007199254740992;
    return lo + (hi - lo) * u;
  }

  /** Normal deviate (Box-Muller; the second value of each pair is cached in the state). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return mean + std * r * Math.cos(2 * Math.PI * u2);
  }

  /** Uniform integer in [0, n), unbiased (rejection), for 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError(`Rng.int(n): n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  integer(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new RangeError(`Rng.integer(lo, hi): need integers lo <= hi, got ${lo}, ${hi}`);
    }
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Rng.bernoulli(p): p must be in [0, 1], got ${p}`);
    return this.uniform() < p;
  }

  /** Shuffles in place (Fisher-Yates) and returns the same array. */
  shuffle<T, A extends { length: number; [i: number]: T }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Rng.permutation(n): n must be a non-negative integer, got ${n}`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle<number, Int32Array>(p);
  }

  /** Index drawn with probability proportional to weights[i] (non-negative, not all zero). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`Rng.categorical: weights[${i}] = ${w} is not a finite non-negative number`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('Rng.categorical: weights sum to 0');
    let r = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i; // rounding at the top end
    return 0;
  }

  /** Fills `out` with uniform values in [lo, hi). */
  fillUniform(out: Float32Array, lo = 0, hi = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  /** Fills `out` with normal values. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }
}
