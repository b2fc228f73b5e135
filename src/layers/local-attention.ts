// Local attention (Luong et al. 2015; golden/FORMAT.md section 7): one query per sequence
// looks at the window [p - D, p + D] of its source (clipped to the valid prefix 0..S-1).
//   monotonic (local-m):  p = min(step, S - 1), a = softmax of e over the window
//   predictive (local-p): p = S sigmoid(v_p . tanh(W_p s)), a = window softmax times
//                         exp(-(j - p)² / (2σ²)), σ = D/2, not renormalised (as in the paper)
// e is the global score (dot, general, concat) at every position; the gradient reaches s, W_p
// and v_p through p via the Gaussian (window membership is piecewise constant in p).
//   s: [B, dq]  h: [B, Tx, dk]  mask: a prefix per row  step: [B] (monotonic)
//   -> scores, weights: [B, Tx]  context: [B, dk]  position: [B]
// Names: the score's (W; W, b, v) plus W_p [dp, dq], v_p [dp] for predictive.
import { checkSize, describe, ShapeError } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { layerSeed, ParameterLayer } from './parameters.js';
import { checkLayerUsable, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';
import { ParameterBlock, Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import { Rng } from '../train/rng.js';
import {
  attentionContextBackward, attentionContextForward, localPositionBackward, localPositionForward, localWindowBackward, localWindowForward,
} from '../kernels/attention.js';
import {
  Attention, attentionParameterSpecs, checkHost, checkMask, resolveAttentionSizes, upload, uploadFloats, type AttentionMask,
  type AttentionMemory,
} from './attention.js';

export type LocalMode = 'monotonic' | 'predictive';

export interface LocalAttentionOptions {
  mode: LocalMode;
  score: 'dot' | 'general' | 'concat';
  querySize: number;
  keySize: number;
  /** da (concat). */
  attentionSize?: number;
  /** D >= 1: the window is [p - D, p + D]. */
  window: number;
  /** dp: hidden size of the position network (predictive). */
  predictSize?: number;
  seed?: number;
  /** An existing block holding `prefix + name` for every parameter (one block per model). */
  block?: ParameterBlock;
  prefix?: string;
}

export interface LocalAttentionForwardOptions {
  /** B*Tx values, each row a prefix 1…1 0…0 with at least one 1 (S_b = its 1s). Default: all valid. */
  mask?: AttentionMask;
  /** [B] decoder steps, integers >= 0 (monotonic only; may exceed S_b - 1). */
  step?: ArrayLike<number>;
}

export interface LocalAttentionResult {
  scores: HostTensor;
  weights: HostTensor;
  context: HostTensor;
  position: HostTensor;
}

/** What one forwardDevice call keeps for its backward (pointers into its arena). */
export interface LocalStep {
  B: number;
  Tx: number;
  s: Tensor;
  memory: AttentionMemory;
  query: number;
  tanhKeep: number;
  /** [B] int32 source lengths, [B] positions, [B, dp] tanh(W_p s), [B, Tx] window softmax */
  lengths: number;
  p: number;
  u: number;
  align: number;
  scores: Tensor;
  weights: Tensor;
  context: Tensor;
  position: Tensor;
}

export class LocalAttention extends ParameterLayer {
  readonly mode: LocalMode;
  readonly score: 'dot' | 'general' | 'concat';
  readonly querySize: number;
  readonly keySize: number;
  readonly attentionSize: number;
  readonly window: number;
  readonly predictSize: number;
  /** The global score (shares this layer's block); its memoryDevice / memoryBackwardDevice serve this layer's sources. */
  readonly scorer: Attention;
  private readonly specs: ParameterSpec[];
  private arena: Arena | null = null;
  private last: LocalStep | null = null;

  constructor(readonly rt: Runtime, options: LocalAttentionOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { mode, score, querySize, keySize, window, ... }');
    if (options.mode !== 'monotonic' && options.mode !== 'predictive') throw new RangeError(`mode must be 'monotonic' or 'predictive', got ${describe(options.mode)}`);
    const c = resolveAttentionSizes(options, ['dot', 'general', 'concat']);
    const D = checkSize('window', options.window, 1);
    const dp = options.mode === 'predictive' ? checkSize('predictSize', options.predictSize, 1) : 0;
    const specs = attentionParameterSpecs(c.score, c.dq, c.dk, c.da);
    if (dp > 0) specs.push({ name: 'W_p', shape: [dp, c.dq] }, { name: 'v_p', shape: [dp] });
    const seed = layerSeed(options.seed);
    super(rt, specs, { block: options.block, prefix: options.prefix });
    this.mode = options.mode;
    this.score = options.score;
    this.querySize = c.dq;
    this.keySize = c.dk;
    this.attentionSize = c.da;
    this.window = D;
    this.predictSize = dp;
    this.specs = specs;
    this.scorer = new Attention(rt, { score: c.score, querySize: c.dq, keySize: c.dk, attentionSize: c.da, block: this.block, prefix: this.prefix, seed });
    if (dp > 0) {
      const rng = new Rng(seed + 1);
      for (const name of ['W_p', 'v_p']) {
        const v = this.block.value(this.prefix + name).view();
        const bound = 1 / Math.sqrt(name === 'W_p' ? c.dq : dp);
        for (let i = 0; i < v.length; i++) v[i] = (rng.uniform() * 2 - 1) * bound;
      }
    }
  }

  dispose(): void {
    if (!markDisposed(this)) return;
    this.arena?.dispose();
    this.arena = null;
    this.last = null;
    this.named.dispose();
  }

  forward(s: HostTensor, h: HostTensor, options: LocalAttentionForwardOptions = {}): LocalAttentionResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { mask?, step? }');
    checkHost('h', h, h?.shape ?? []);
    if (h.shape.length !== 3 || h.shape[2] !== this.keySize || h.shape[0] < 1 || h.shape[1] < 1) {
      throw new ShapeError(`h must have shape [B, Tx, ${this.keySize}] (keySize ${this.keySize}), got [${h.shape.join(', ')}]`);
    }
    const [B, Tx] = h.shape;
    checkHost('s', s, [B, this.querySize]);
    const where = this.locate(B, Tx, options);
    const rt = this.rt;
    const arena = (this.arena ??= new Arena(rt.mem));
    this.last = null;
    arena.reset();
    const memory = this.scorer.memoryDevice({ h: upload(rt, arena, h), arena });
    const step = this.forwardDevice({ s: upload(rt, arena, s), memory, ...where, arena });
    this.last = step;
    this.backwardDone = false;
    return { scores: step.scores.toHost(), weights: step.weights.toHost(), context: step.context.toHost(), position: step.position.toHost() };
  }

  backward(args: { dContext?: HostTensor; dWeights?: HostTensor } = {}): { ds: HostTensor; dh: HostTensor } {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { dContext?, dWeights? }');
    const last = this.last;
    if (!last) throw new Error('LocalAttention.backward() needs a preceding forward()');
    if (this.backwardDone) throw secondBackwardError('LocalAttention');
    const { B, Tx, memory } = last;
    if (args.dContext !== undefined) checkHost('dContext', args.dContext, [B, this.keySize]);
    if (args.dWeights !== undefined) checkHost('dWeights', args.dWeights, [B, Tx]);
    const rt = this.rt;
    const arena = this.arena!;
    const dContext = args.dContext ? upload(rt, arena, args.dContext).ptr : 0;
    const dWeights = args.dWeights ? upload(rt, arena, args.dWeights).ptr : 0;
    const ds = new Tensor(rt.mem, arena.allocZeroed(B * this.querySize * 4), [B, this.querySize]);
    const dh = new Tensor(rt.mem, arena.allocZeroed(B * Tx * this.keySize * 4), [B, Tx, this.keySize]);
    const dKeys = memory.keys ? arena.allocZeroed(memory.keys.bytes) : 0;
    this.backwardDevice(last, { dContext, dWeights, ds: ds.ptr, dh: dh.ptr, dKeys, arena });
    if (dKeys) this.scorer.memoryBackwardDevice(memory, { dKeys, dh: dh.ptr });
    this.backwardDone = true;
    return { ds: ds.toHost(), dh: dh.toHost() };
  }

  /**
   * Checks a mask (a prefix per row, default all valid) and the steps (monotonic: integers >= 0)
   * of a [B, Tx] source; returns the source lengths S_b and, for monotonic, p = min(step, S - 1).
   */
  locate(B: number, Tx: number, options: LocalAttentionForwardOptions): { lengths: Int32Array; positions: Float32Array | null } {
    const maskF = options.mask === undefined ? new Float32Array(B * Tx).fill(1) : checkMask('mask', options.mask, B, Tx, true);
    const lengths = new Int32Array(B);
    for (let b = 0; b < B; b++) for (let j = 0; j < Tx; j++) lengths[b] += maskF[b * Tx + j];
    if (this.mode === 'predictive') {
      if (options.step !== undefined) throw new Error('step is only used by monotonic local attention (predictive mode predicts p from s)');
      return { lengths, positions: null };
    }
    const step = options.step;
    if (step === undefined || step === null || typeof step !== 'object' || typeof step.length !== 'number') {
      throw new TypeError(`step must be an Int32Array of ${B} decoder steps (monotonic mode), got ${describe(step)}`);
    }
    if (step.length !== B) throw new ShapeError(`step must have ${B} values (the batch size), got ${step.length}`);
    const positions = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      const i = step[b];
      if (!Number.isInteger(i) || i < 0) throw new RangeError(`step[${b}] must be an integer >= 0, got ${i}`);
      positions[b] = Math.min(i, lengths[b] - 1);
    }
    return { lengths, positions };
  }

  /**
   * Device forward: s [B, dq] in wasm memory against a memory of this layer's score
   * (scorer.memoryDevice), with the lengths and positions of locate().
   */
  forwardDevice(args: { s: Tensor; memory: AttentionMemory; lengths: Int32Array; positions: Float32Array | null; arena: Arena }): LocalStep {
    const { s, memory, arena } = args;
    const { B, Tx } = memory;
    if (s.shape.length !== 2 || s.shape[0] !== B || s.shape[1] !== this.querySize) throw new ShapeError(`s must have shape [${B}, ${this.querySize}], got [${s.shape.join(', ')}]`);
    if (args.lengths.length !== B) throw new ShapeError(`lengths must have ${B} values, got ${args.lengths.length}`);
    const rt = this.rt;
    const lengths = arena.alloc(B * 4);
    rt.mem.i32(lengths, B).set(args.lengths);
    const { scores, query, tanhKeep } = this.scorer.scoresDevice(s, 1, memory, arena);
    let p: number, u = 0;
    if (args.positions) {
      p = uploadFloats(rt, arena, args.positions);
    } else {
      p = arena.alloc(B * 4);
      u = arena.alloc(B * this.predictSize * 4);
      localPositionForward(rt, {
        batch: B, querySize: this.querySize, predictSize: this.predictSize, s: s.ptr, wp: this.block.value(this.prefix + 'W_p').ptr, vp: this.block.value(this.prefix + 'v_p').ptr,
        lengths, u, p,
      });
    }
    const align = arena.alloc(B * Tx * 4);
    const weights = new Tensor(rt.mem, arena.alloc(B * Tx * 4), [B, Tx]);
    localWindowForward(rt, { batch: B, sources: Tx, window: this.window, gaussian: !args.positions, p, lengths, align, a: weights.ptr, e: scores.ptr });
    const context = new Tensor(rt.mem, arena.alloc(B * this.keySize * 4), [B, this.keySize]);
    attentionContextForward(rt, { batch: B, queries: 1, sources: Tx, keySize: this.keySize, a: weights.ptr, h: memory.h.ptr, c: context.ptr });
    return { B, Tx, s, memory, query, tanhKeep, lengths, p, u, align, scores, weights, context, position: new Tensor(rt.mem, p, [B]) };
  }

  /** Device backward of one forwardDevice call: += into ds, dh, dKeys (required for general/concat) and the parameter gradients. */
  backwardDevice(step: LocalStep, args: { dContext?: number; dWeights?: number; ds?: number; dh?: number; dKeys?: number; arena: Arena }): void {
    const { B, Tx, memory } = step;
    if (memory.keys && !args.dKeys) throw new Error(`backwardDevice: ${this.score} scores need a dKeys buffer`);
    const rt = this.rt;
    const arena = args.arena;
    const da = arena.allocZeroed(B * Tx * 4);
    const de = arena.alloc(B * Tx * 4);
    const gaussian = this.mode === 'predictive';
    const dpos = gaussian ? arena.alloc(B * 4) : 0;
    const work = gaussian ? arena.alloc(B * this.predictSize * 4) : 0;
    if (args.dWeights) rt.mem.f32(da, B * Tx).set(rt.mem.f32(args.dWeights, B * Tx));
    if (args.dContext) {
      attentionContextBackward(rt, { batch: B, queries: 1, sources: Tx, keySize: this.keySize, a: step.weights.ptr, h: memory.h.ptr, dc: args.dContext, da, accumulate: true, dh: args.dh });
    }
    localWindowBackward(rt, { batch: B, sources: Tx, window: this.window, gaussian, p: step.p, lengths: step.lengths, align: step.align, a: step.weights.ptr, da, de, dpos });
    if (gaussian) {
      localPositionBackward(rt, {
        batch: B, querySize: this.querySize, predictSize: this.predictSize, s: step.s.ptr, wp: this.block.value(this.prefix + 'W_p').ptr, vp: this.block.value(this.prefix + 'v_p').ptr,
        lengths: step.lengths, u: step.u, p: step.p, dpos, ds: args.ds, dwp: this.block.grad(this.prefix + 'W_p').ptr, dvp: this.block.grad(this.prefix + 'v_p').ptr, work,
      });
    }
    this.scorer.scoresBackwardDevice({ s: step.s, Ty: 1, memory, query: step.query, tanhKeep: step.tanhKeep, de, ds: args.ds, dh: args.dh, dKeys: args.dKeys, arena });
  }
}
