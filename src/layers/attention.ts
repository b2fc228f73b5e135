// Global attention (DESIGN.md "Attention"): scores dot, general, concat (Luong) and additive
// (Bahdanau), masked softmax over the source, context. Forward and backward run in wasm over
// the whole batch per call (src/kernels/attention.ts).
//   s: [B, dq] (one query per sequence) or [B, Ty, dq] (all queries at once)
//   h: [B, Tx, dk]  mask: [B*Tx] of 0/1 (any pattern, each row at least one 1)
//   -> scores, weights: [B, Tx] or [B, Ty, Tx];  context: [B, dk] or [B, Ty, dk]
// Parameter names: general W [dq, dk]; concat W [da, dq+dk], b [da], v [da];
// additive W_s [da, dq], W_h [da, dk], b [da], v [da].
//
// Two levels of API, as in recurrent.ts:
//  * host:   forward(s, h, { mask }) / backward({ dContext, dWeights }): copies in and out.
//  * device: memoryDevice (the key-side products W h or W_h h, once per source batch),
//            forwardDevice / backwardDevice (any number of query calls against one memory,
//            each with its own context object) and memoryBackwardDevice (the key-side
//            gradient, accumulated over the calls, pushed back once). The tape ops in
//            attention-tape.ts are built on it.
import { checkAllFinite, checkHost, checkHostTensor, checkSize, describe, ShapeError } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { ParameterBlock, Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import { Rng } from '../train/rng.js';
import {
  attentionContextBackward, attentionContextForward, attentionKeysBackward, attentionKeysForward, attentionScoresBackward,
  attentionScoresForward, attentionSoftmaxBackward, attentionSoftmaxForward, type ScoreKind,
} from '../kernels/attention.js';
import { layerSeed, ParameterLayer } from './parameters.js';
import { checkLayerUsable, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';

export type { ScoreKind };

/** A mask of B*T values (1 = valid), as DESIGN.md's contract takes it. */
export type AttentionMask = Uint8Array | Int32Array | ArrayLike<number>;

export interface AttentionOptions {
  score: ScoreKind;
  querySize: number;
  keySize: number;
  /** da: size of the score layer (concat, additive). */
  attentionSize?: number;
  /** Seed of the initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in))). Default: random. */
  seed?: number;
  /** An existing block holding `prefix + name` for every parameter (one block per model). */
  block?: ParameterBlock;
  prefix?: string;
}

export interface AttentionForwardOptions {
  mask?: AttentionMask;
}

export interface AttentionResult {
  scores: HostTensor;
  weights: HostTensor;
  context: HostTensor;
}

export interface AttentionBackwardArgs {
  /** Same shape as context. */
  dContext?: HostTensor;
  /** Same shape as weights (values at masked positions have no effect). */
  dWeights?: HostTensor;
}

export interface AttentionBackwardResult {
  ds: HostTensor;
  dh: HostTensor;
}

/** Key-side state of one source batch in wasm memory (device API). */
export interface AttentionMemory {
  B: number;
  Tx: number;
  /** [B, Tx, dk] */
  h: Tensor;
  /** [B, Tx, n]: general W h_j (n = dq), concat/additive W_h h_j (n = da); null for dot. */
  keys: Tensor | null;
  /** [B, Tx] float32 0/1, or 0 (no mask). */
  mask: number;
}

/** What one forwardDevice call keeps for its backward. */
export interface AttentionStep {
  memory: AttentionMemory;
  Ty: number;
  /** Whether s was [B, dq] (outputs drop the Ty axis). */
  single: boolean;
  s: Tensor;
  /** [B*Ty, da] W_q s + b (concat/additive), else 0. */
  query: number;
  /** [B, Ty, Tx, da] tanh(W_q s_i + b + W_k h_j) kept for the backward, or 0 (recomputed there). */
  tanhKeep: number;
  scores: Tensor;
  weights: Tensor;
  context: Tensor;
}

export interface AttentionBackwardDeviceArgs {
  /** [B, Ty, dk] and [B, Ty, Tx] pointers, each optional (absent: zero). */
  dContext?: number;
  dWeights?: number;
  /** Accumulated into (+=); each optional. */
  ds?: number;
  /** [B, Tx, dk]: the context's (and dot's) share of dh. */
  dh?: number;
  /** [B, Tx, n]: required for general, concat and additive. */
  dKeys?: number;
  arena: Arena;
}

/** Most bytes of tanh values a call keeps for its backward (beyond, the backward recomputes them). */
const TANH_KEEP_MAX_BYTES = 8 << 20;

interface Params {
  wq: number; ldwq: number; wk: number; ldwk: number; bias: number; v: number;
  gwq: number; gwk: number; gbias: number; gv: number;
}

/** Parameter names and shapes of a score (DESIGN.md's names). */
export function attentionParameterSpecs(score: ScoreKind, dq: number, dk: number, da: number): ParameterSpec[] {
  switch (score) {
    case 'dot': return [];
    case 'general': return [{ name: 'W', shape: [dq, dk] }];
    case 'concat': return [{ name: 'W', shape: [da, dq + dk] }, { name: 'b', shape: [da] }, { name: 'v', shape: [da] }];
    case 'additive': return [{ name: 'W_s', shape: [da, dq] }, { name: 'W_h', shape: [da, dk] }, { name: 'b', shape: [da] }, { name: 'v', shape: [da] }];
  }
}

export function resolveAttentionSizes(o: AttentionOptions, scores: readonly ScoreKind[] = ['dot', 'general', 'concat', 'additive']) {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object { score, querySize, keySize, attentionSize? }');
  if (!scores.includes(o.score)) throw new RangeError(`score must be ${scores.map((s) => `'${s}'`).join(', ')}; got ${describe(o.score)}`);
  const dq = checkSize('querySize', o.querySize, 1);
  const dk = checkSize('keySize', o.keySize, 1);
  if (o.score === 'dot' && dq !== dk) throw new RangeError(`dot scores need querySize == keySize, got querySize ${dq} and keySize ${dk}`);
  const additiveLike = o.score === 'concat' || o.score === 'additive';
  const da = additiveLike ? checkSize('attentionSize', o.attentionSize, 1) : 0;
  return { score: o.score, dq, dk, da, additiveLike };
}

export class Attention extends ParameterLayer {
  readonly score: ScoreKind;
  readonly querySize: number;
  readonly keySize: number;
  readonly attentionSize: number;
  private readonly specs: ParameterSpec[];
  private hostArena: Arena | null = null;
  private hostStep: AttentionStep | null = null;
  private paramsCache: Params | null = null;

  constructor(readonly rt: Runtime, options: AttentionOptions) {
    const c = resolveAttentionSizes(options);
    const specs = attentionParameterSpecs(c.score, c.dq, c.dk, c.da);
    const seed = layerSeed(options.seed);
    super(rt, specs, { block: options.block, prefix: options.prefix });
    this.score = c.score;
    this.querySize = c.dq;
    this.keySize = c.dk;
    this.attentionSize = c.da;
    this.specs = specs;
    this.resetParameters(new Rng(seed));
  }

  /** Width of the key-side products: dq (general), da (concat, additive), 0 (dot). */
  get keyWidth(): number {
    return this.score === 'general' ? this.querySize : this.score === 'dot' ? 0 : this.attentionSize;
  }

  /** Each weight U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in: its columns; b and v: da). */
  resetParameters(rng: { uniform(): number }): void {
    for (const s of this.specs) {
      const bound = 1 / Math.sqrt(s.shape[s.shape.length - 1]);
      const v = this.block.value(this.prefix + s.name).view();
      for (let i = 0; i < v.length; i++) v[i] = (rng.uniform() * 2 - 1) * bound;
    }
  }

  dispose(): void {
    if (!markDisposed(this)) return;
    this.hostArena?.dispose();
    this.hostArena = null;
    this.hostStep = null;
    this.named.dispose();
  }

  // ---- host API ----------------------------------------------------------------------

  forward(s: HostTensor, h: HostTensor, options: AttentionForwardOptions = {}): AttentionResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { mask? }');
    const { B, Tx } = this.checkInputs(s, h);
    const maskF = options.mask === undefined ? null : checkMask('mask', options.mask, B, Tx, false);
    // Everything is checked: from here on nothing can fail on the caller's input.
    const arena = (this.hostArena ??= new Arena(this.rt.mem));
    this.hostStep = null;
    arena.reset();
    const st = upload(this.rt, arena, s);
    const ht = upload(this.rt, arena, h);
    const mask = maskF ? uploadFloats(this.rt, arena, maskF) : 0;
    const memory = this.memoryDevice({ h: ht, mask, arena });
    const step = this.forwardDevice({ s: st, memory, arena });
    this.hostStep = step;
    this.backwardDone = false;
    return { scores: step.scores.toHost(), weights: step.weights.toHost(), context: step.context.toHost() };
  }

  backward(args: AttentionBackwardArgs = {}): AttentionBackwardResult {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { dContext?, dWeights? }');
    const step = this.hostStep;
    if (!step) throw new Error('Attention.backward() needs a preceding forward()');
    if (this.backwardDone) throw secondBackwardError('Attention');
    const { B, Tx } = step.memory;
    const lead = step.single ? [B] : [B, step.Ty];
    if (args.dContext !== undefined) checkHost('dContext', args.dContext, [...lead, this.keySize]);
    if (args.dWeights !== undefined) checkHost('dWeights', args.dWeights, [...lead, Tx]);
    const arena = this.hostArena!;
    const dContext = args.dContext ? upload(this.rt, arena, args.dContext).ptr : 0;
    const dWeights = args.dWeights ? upload(this.rt, arena, args.dWeights).ptr : 0;
    const ds = new Tensor(this.rt.mem, arena.allocZeroed(step.s.bytes), [...step.s.shape]);
    const dh = new Tensor(this.rt.mem, arena.allocZeroed(step.memory.h.bytes), [...step.memory.h.shape]);
    const dKeys = step.memory.keys ? arena.allocZeroed(step.memory.keys.bytes) : 0;
    this.backwardDevice(step, { dContext, dWeights, ds: ds.ptr, dh: dh.ptr, dKeys, arena });
    if (dKeys !== 0) this.memoryBackwardDevice(step.memory, { dKeys, dh: dh.ptr });
    this.backwardDone = true;
    return { ds: ds.toHost(), dh: dh.toHost() };
  }

  // ---- device API --------------------------------------------------------------------

  /**
   * The key-side products of one source batch: h [B, Tx, dk] (and its mask, a [B, Tx] float32
   * 0/1 pointer or 0), computed once and shared by every query call against it.
   */
  memoryDevice(args: { h: Tensor; mask?: number; arena: Arena }): AttentionMemory {
    const { h, arena } = args;
    if (h.shape.length !== 3 || h.shape[2] !== this.keySize || h.shape[0] < 1 || h.shape[1] < 1) {
      throw new ShapeError(`h must have shape [B, Tx, ${this.keySize}], got [${h.shape.join(', ')}]`);
    }
    const [B, Tx] = h.shape;
    this.rt.mem.checkRange('h', h.ptr, h.bytes);
    const mask = args.mask ?? 0;
    if (mask !== 0) checkMask('mask', this.rt.mem.f32(mask, B * Tx), B, Tx, false);
    let keys: Tensor | null = null;
    const n = this.keyWidth;
    if (n > 0) {
      const p = this.params();
      keys = new Tensor(this.rt.mem, arena.alloc(B * Tx * n * 4), [B, Tx, n]);
      attentionKeysForward(this.rt, { rows: B * Tx, keySize: this.keySize, width: n, h: h.ptr, wk: p.wk, ldwk: p.ldwk, keys: keys.ptr });
    }
    return { B, Tx, h, keys, mask };
  }

  /** Pushes the key-side gradient dKeys [B, Tx, n] into the parameters' gradients and dh (optional, +=). */
  memoryBackwardDevice(memory: AttentionMemory, args: { dKeys: number; dh?: number }): void {
    if (!memory.keys) return;
    const p = this.params();
    attentionKeysBackward(this.rt, {
      rows: memory.B * memory.Tx, keySize: this.keySize, width: this.keyWidth, h: memory.h.ptr, wk: p.wk, ldwk: p.ldwk,
      dKeys: args.dKeys, dh: args.dh, dwk: p.gwk,
    });
  }

  /** Scores, weights and context of s ([B, dq] or [B, Ty, dq]) against a memory. */
  forwardDevice(args: { s: Tensor; memory: AttentionMemory; arena: Arena; training?: boolean }): AttentionStep {
    const { s, memory, arena } = args;
    const { B, Tx } = memory;
    const single = s.shape.length === 2;
    if (!(s.shape.length === 2 || s.shape.length === 3) || s.shape[0] !== B || s.shape[s.shape.length - 1] !== this.querySize || (!single && s.shape[1] < 1)) {
      throw new ShapeError(`s must have shape [${B}, ${this.querySize}] or [${B}, Ty, ${this.querySize}], got [${s.shape.join(', ')}]`);
    }
    this.rt.mem.checkRange('s', s.ptr, s.bytes);
    const Ty = single ? 1 : s.shape[1];
    const lead = single ? [B] : [B, Ty];
    const { scores, query, tanhKeep } = this.scoresDevice(s, Ty, memory, arena, args.training ?? true);
    const weights = new Tensor(this.rt.mem, arena.alloc(B * Ty * Tx * 4), [...lead, Tx]);
    const context = new Tensor(this.rt.mem, arena.alloc(B * Ty * this.keySize * 4), [...lead, this.keySize]);
    attentionSoftmaxForward(this.rt, { batch: B, queries: Ty, sources: Tx, e: scores.ptr, mask: memory.mask || undefined, a: weights.ptr });
    attentionContextForward(this.rt, { batch: B, queries: Ty, sources: Tx, keySize: this.keySize, a: weights.ptr, h: memory.h.ptr, c: context.ptr });
    return { memory, Ty, single, s, query, tanhKeep, scores, weights, context };
  }

  /** Raw scores e [B, (Ty,) Tx] of s against a memory (LocalAttention and HardAttention use them). */
  scoresDevice(s: Tensor, Ty: number, memory: AttentionMemory, arena: Arena, training = true): { scores: Tensor; query: number; tanhKeep: number } {
    const { B, Tx } = memory;
    const lead = s.shape.length === 2 ? [B] : [B, Ty];
    const p = this.params();
    const query = this.attentionSize > 0 ? arena.alloc(B * Ty * this.attentionSize * 4) : 0;
    // concat/additive: keep tanh(W_q s + b + W_k h) for the backward while it is small (a decoder
    // step, short sequences); longer ones recompute it there rather than hold B*Ty*Tx*da values.
    const keepBytes = B * Ty * Tx * this.attentionSize * 4;
    const tanhKeep = training && keepBytes > 0 && keepBytes <= TANH_KEEP_MAX_BYTES ? arena.alloc(keepBytes) : 0;
    const scores = new Tensor(this.rt.mem, arena.alloc(B * Ty * Tx * 4), [...lead, Tx]);
    attentionScoresForward(this.rt, {
      score: this.score, batch: B, queries: Ty, sources: Tx, querySize: this.querySize, keySize: this.keySize, attentionSize: this.attentionSize,
      s: s.ptr, h: memory.h.ptr, keys: memory.keys?.ptr, wq: p.wq, ldwq: p.ldwq, bias: p.bias, v: p.v, query, e: scores.ptr, tanhKeep,
    });
    return { scores, query, tanhKeep };
  }

  /** Backward of scoresDevice from de [B, Ty, Tx]: ds, dh (dot) and dKeys (+=), parameter gradients (+=). */
  scoresBackwardDevice(args: { s: Tensor; Ty: number; memory: AttentionMemory; query: number; tanhKeep?: number; de: number; ds?: number; dh?: number; dKeys?: number; arena: Arena }): void {
    const { memory } = args;
    const p = this.params();
    const work = this.attentionSize > 0 ? args.arena.alloc(memory.B * args.Ty * this.attentionSize * 4) : 0;
    attentionScoresBackward(this.rt, {
      score: this.score, batch: memory.B, queries: args.Ty, sources: memory.Tx, querySize: this.querySize, keySize: this.keySize,
      attentionSize: this.attentionSize, s: args.s.ptr, h: memory.h.ptr, keys: memory.keys?.ptr, wq: p.wq, ldwq: p.ldwq, bias: p.bias, v: p.v,
      query: args.query, tanhKeep: args.tanhKeep, de: args.de, ds: args.ds, dh: args.dh, dKeys: args.dKeys, dwq: p.gwq, dBias: p.gbias, dv: p.gv, work,
    });
  }

  /**
   * Vector-Jacobian products of one forwardDevice call, accumulated (+=) into ds, dh and dKeys;
   * parameter gradients (except the key side, see memoryBackwardDevice) into the block.
   */
  backwardDevice(step: AttentionStep, args: AttentionBackwardDeviceArgs): void {
    const { memory, Ty } = step;
    const { B, Tx } = memory;
    if (memory.keys && !args.dKeys) throw new Error(`backwardDevice: ${this.score} scores need a dKeys buffer [${B}, ${Tx}, ${this.keyWidth}]`);
    const arena = args.arena;
    const n = B * Ty * Tx;
    const da = arena.alloc(n * 4);
    if (args.dWeights) this.rt.mem.f32(da, n).set(this.rt.mem.f32(args.dWeights, n));
    else this.rt.mem.f32(da, n).fill(0);
    if (args.dContext) {
      attentionContextBackward(this.rt, {
        batch: B, queries: Ty, sources: Tx, keySize: this.keySize, a: step.weights.ptr, h: memory.h.ptr, dc: args.dContext, da, accumulate: true, dh: args.dh,
      });
    }
    const de = arena.alloc(n * 4);
    attentionSoftmaxBackward(this.rt, { batch: B, queries: Ty, sources: Tx, a: step.weights.ptr, da, de });
    this.scoresBackwardDevice({ s: step.s, Ty, memory, query: step.query, tanhKeep: step.tanhKeep, de, ds: args.ds, dh: args.dh, dKeys: args.dKeys, arena });
  }

  // ---- internals ---------------------------------------------------------------------

  private params(): Params {
    if (this.paramsCache) return this.paramsCache;
    const val = (n: string) => this.block.value(this.prefix + n).ptr;
    const grad = (n: string) => this.block.grad(this.prefix + n).ptr;
    const { querySize: dq, keySize: dk } = this;
    let p: Params = { wq: 0, ldwq: dq, wk: 0, ldwk: dk, bias: 0, v: 0, gwq: 0, gwk: 0, gbias: 0, gv: 0 };
    if (this.score === 'general') p = { ...p, wk: val('W'), gwk: grad('W') };
    if (this.score === 'concat') {
      // W = [W_q | W_k] by columns: both halves are strided views of one [da, dq+dk] matrix.
      p = { wq: val('W'), ldwq: dq + dk, wk: val('W') + dq * 4, ldwk: dq + dk, bias: val('b'), v: val('v'), gwq: grad('W'), gwk: grad('W') + dq * 4, gbias: grad('b'), gv: grad('v') };
    }
    if (this.score === 'additive') {
      p = { wq: val('W_s'), ldwq: dq, wk: val('W_h'), ldwk: dk, bias: val('b'), v: val('v'), gwq: grad('W_s'), gwk: grad('W_h'), gbias: grad('b'), gv: grad('v') };
    }
    return (this.paramsCache = p);
  }

  /** Validates host s ([B, dq] or [B, Ty, dq]) and h ([B, Tx, dk]), finite values included. */
  checkInputs(s: HostTensor, h: HostTensor): { B: number; Ty: number; Tx: number; single: boolean } {
    checkHostTensor('h', h);
    if (h.shape.length !== 3 || h.shape[2] !== this.keySize || h.shape[0] < 1 || h.shape[1] < 1) {
      throw new ShapeError(`h must have shape [B, Tx, ${this.keySize}] (keySize ${this.keySize}), got [${h.shape.join(', ')}]`);
    }
    const [B, Tx] = h.shape;
    checkHostTensor('s', s);
    const single = s.shape.length === 2;
    if (!(single || s.shape.length === 3) || s.shape[0] !== B || s.shape[s.shape.length - 1] !== this.querySize || s.shape.some((d) => d < 1)) {
      throw new ShapeError(`s must have shape [${B}, ${this.querySize}] or [${B}, Ty, ${this.querySize}] (querySize ${this.querySize}, batch of h ${B}), got [${s.shape.join(', ')}]`);
    }
    checkAllFinite('s', s.data);
    checkAllFinite('h', h.data);
    return { B, Ty: single ? 1 : s.shape[1], Tx, single };
  }
}

// ---- helpers shared with LocalAttention and HardAttention ------------------------------

export { checkHost, checkHostTensor };

/**
 * Validates a [B, T] mask of 0/1 (every row at least one 1; prefix: each row 1…1 0…0) and
 * returns it as float32.
 */
export function checkMask(name: string, mask: AttentionMask, B: number, T: number, prefix: boolean): Float32Array {
  if (mask === null || typeof mask !== 'object' || typeof (mask as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${name} must be a Uint8Array or Int32Array of ${B}*${T} = ${B * T} values, got ${describe(mask)}`);
  }
  if (mask.length !== B * T) throw new ShapeError(`${name} must have B*Tx = ${B}*${T} = ${B * T} values, got ${mask.length}`);
  const out = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let valid = 0;
    for (let j = 0; j < T; j++) {
      const v = mask[b * T + j];
      if (v !== 0 && v !== 1) throw new RangeError(`${name}[${b}, ${j}] must be 0 or 1, got ${v}`);
      if (prefix && v === 1 && j > 0 && mask[b * T + j - 1] === 0) {
        throw new RangeError(`${name} row ${b} must be a prefix (1…1 0…0): position ${j} is 1 after a 0`);
      }
      valid += v;
      out[b * T + j] = v;
    }
    if (valid === 0) throw new RangeError(`${name} row ${b} has no valid position (every row needs at least one 1)`);
  }
  return out;
}

export function upload(rt: Runtime, arena: Arena, t: HostTensor): Tensor {
  const tensor = new Tensor(rt.mem, arena.alloc(t.data.length * 4), [...t.shape]);
  tensor.set(t.data);
  return tensor;
}

export function uploadFloats(rt: Runtime, arena: Arena, data: Float32Array): number {
  const p = arena.alloc(data.length * 4);
  rt.mem.f32(p, data.length).set(data);
  return p;
}

