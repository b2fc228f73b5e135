// Hard attention (the lecture: "binary, non-differentiable, trained by reinforcement learning
// with variance reduction"): each query picks ONE source position j* and its context is h_j*.
//   training:  j* ~ a = masked softmax(e)  (sampled from the attention distribution)
//   inference: j* = argmax_j a_j
// The scores (e from any global score: dot, general, concat, additive) learn by REINFORCE. With a
// per-sequence reward R_b from the caller, backward minimises
//   L = -(R_b - baseline) log a_j*  -  β H(a)      (β = entropyBonus, H = -Σ a log a)
// whose gradient in e is  dL/de_k = -(R_b - baseline)(δ_k,j* - a_k) + β a_k (log a_k + H),
// an unbiased estimate of -∇(E[R] + βH) as long as the baseline does not depend on the sample.
// Everything below the sampled context gets ordinary backprop: dh[b, j*] += dContext.
//
// Baseline: a moving average of the batch-mean reward, shipped by default. It needs no
// parameters, no second loss and no learning rate of its own, it cannot bias the estimate (it
// is fixed before the sample is drawn: updated only after the gradient is formed), and it
// removes the mean reward level. 'leave-one-out' centres each sequence's reward on the mean
// reward of the OTHER sequences of the batch for the same query (independent of this row's
// sample, so still unbiased); it follows the reward level as it changes within training and
// from one decoder step to the next, where a slow moving average lags. A learned baseline b(s)
// could go further but adds a model and a loss to tune; 'none' is there for comparisons.
//
// Rewards: one per sequence ([B]), or one per query ([B*Ty], row-major [B, Ty]) when each
// query's choice has its own consequence (a decoder step's context feeds that step's token:
// reward it with that token's log-probability, not the whole sequence's; the seq2seq toy
// tasks learn far faster so, see results/seq2seq-toy/README.md).
import { checkFinite, describe, ShapeError } from '../runtime/check.js';
import { checkLayerUsable, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor, type HostTensor } from '../runtime/tensor.js';
import { Rng } from '../train/rng.js';
import { attentionSoftmaxForward } from '../kernels/attention.js';
import { Attention, attentionParameterSpecs, checkHost, checkMask, resolveAttentionSizes, upload, uploadFloats, type AttentionMask, type AttentionMemory, type AttentionOptions } from './attention.js';
import { layerSeed, ParameterLayer } from './parameters.js';

export interface HardAttentionOptions extends AttentionOptions {
  /** 'moving-average' (default), 'leave-one-out' (the other sequences' mean reward for the same query) or 'none'. */
  baseline?: HardBaseline;
  /** Weight of the old value in the moving average (default 0.9). */
  baselineDecay?: number;
  /** β of the entropy bonus (default 0: none). */
  entropyBonus?: number;
}

export type HardBaseline = 'moving-average' | 'leave-one-out' | 'none';

export interface HardAttentionForwardOptions {
  mask?: AttentionMask;
  /** Sample (true) or take the argmax (false); default: the layer's train()/eval() mode. */
  training?: boolean;
}

export interface HardAttentionResult {
  scores: HostTensor;
  /** The attention distribution a, [B, Tx] or [B, Ty, Tx]. */
  weights: HostTensor;
  /** The chosen position of every query, [B] or [B*Ty] (row-major [B, Ty]). */
  positions: Int32Array;
  /** h at the chosen positions, [B, dk] or [B, Ty, dk]. */
  context: HostTensor;
}

export interface HardAttentionBackwardArgs {
  /** Same shape as context: backprop below the sampled context (optional). */
  dContext?: HostTensor;
  /** [B]: the reward of each sequence for the positions sampled in the last forward; or [B*Ty]: one per query. */
  reward: ArrayLike<number>;
}

/** What one forwardDevice call keeps for its backward. */
export interface HardStep {
  B: number; Ty: number; Tx: number; single: boolean;
  s: Tensor; memory: AttentionMemory; query: number; tanhKeep: number;
  scores: Tensor;
  /** The distribution a (in the arena) and a host copy of it for the REINFORCE gradient. */
  weights: Tensor;
  a: Float32Array;
  /** h at the chosen positions. */
  context: Tensor;
  positions: Int32Array;
  /** The baseline when the positions were drawn: the advantage uses it, so later updates (other calls of the same step) cannot make the baseline depend on this sample. */
  baseline: number;
}

export class HardAttention extends ParameterLayer {
  readonly scorer: Attention;
  readonly baselineKind: HardBaseline;
  readonly baselineDecay: number;
  readonly entropyBonus: number;
  /** Current baseline value (moving average of the mean reward; 0 before the first backward). */
  baseline = 0;
  /** Number of backward calls that updated the baseline. */
  baselineUpdates = 0;
  training = true;
  private readonly rng: Rng;
  private arena: Arena | null = null;
  private last: HardStep | null = null;

  constructor(readonly rt: Runtime, options: HardAttentionOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { score, querySize, keySize, attentionSize?, baseline?, baselineDecay?, entropyBonus? }');
    const kind = options.baseline ?? 'moving-average';
    if (kind !== 'moving-average' && kind !== 'leave-one-out' && kind !== 'none') throw new RangeError(`baseline must be 'moving-average', 'leave-one-out' or 'none', got ${describe(kind)}`);
    const decay = checkFinite('baselineDecay', options.baselineDecay ?? 0.9);
    if (decay < 0 || decay >= 1) throw new RangeError(`baselineDecay must be in [0, 1), got ${decay}`);
    const beta = checkFinite('entropyBonus', options.entropyBonus ?? 0);
    if (beta < 0) throw new RangeError(`entropyBonus must be >= 0, got ${beta}`);
    const seed = layerSeed(options.seed);
    const c = resolveAttentionSizes(options);
    super(rt, attentionParameterSpecs(c.score, c.dq, c.dk, c.da), { block: options.block, prefix: options.prefix });
    // The scorer reads and initialises this layer's parameters (its block, its prefix).
    this.scorer = new Attention(rt, { ...options, block: this.block, prefix: this.prefix, seed });
    this.baselineKind = kind;
    this.baselineDecay = decay;
    this.entropyBonus = beta;
    this.rng = new Rng(seed + 7919);
  }

  train(): this {
    this.training = true;
    return this;
  }

  eval(): this {
    this.training = false;
    return this;
  }

  dispose(): void {
    if (!markDisposed(this)) return;
    this.arena?.dispose();
    this.arena = null;
    this.last = null;
    this.scorer.dispose();
    this.named.dispose();
  }

  forward(s: HostTensor, h: HostTensor, options: HardAttentionForwardOptions = {}): HardAttentionResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { mask?, training? }');
    const { B, Tx } = this.scorer.checkInputs(s, h);
    const maskF = options.mask === undefined ? null : checkMask('mask', options.mask, B, Tx, false);
    if (options.training !== undefined && typeof options.training !== 'boolean') throw new TypeError(`training must be a boolean, got ${describe(options.training)}`);
    const sample = options.training ?? this.training;
    const rt = this.rt;
    const arena = (this.arena ??= new Arena(rt.mem));
    this.last = null;
    arena.reset();
    const memory = this.scorer.memoryDevice({ h: upload(rt, arena, h), mask: maskF ? uploadFloats(rt, arena, maskF) : 0, arena });
    const step = this.forwardDevice({ s: upload(rt, arena, s), memory, arena, sample });
    this.last = step;
    this.backwardDone = false;
    return { scores: step.scores.toHost(), weights: step.weights.toHost(), positions: step.positions.slice(), context: step.context.toHost() };
  }

  /**
   * REINFORCE for the score parameters (and s, and h through the scores) plus backprop of
   * dContext into h at the chosen positions; then updates the baseline with this batch's
   * mean reward. Gradients are of the loss to minimise (see the file comment) and accumulate
   * until zeroGrad().
   */
  backward(args: HardAttentionBackwardArgs): { ds: HostTensor; dh: HostTensor } {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { reward, dContext? }');
    const last = this.last;
    if (!last) throw new Error('HardAttention.backward() needs a preceding forward()');
    const { B, Ty, Tx, single } = last;
    const dk = this.scorer.keySize, dq = this.scorer.querySize;
    this.checkReward(args.reward, B, Ty);
    if (args.dContext !== undefined) checkHost('dContext', args.dContext, [...(single ? [B] : [B, Ty]), dk]);
    // After the argument checks, so a bad reward is named as such on any call.
    if (this.backwardDone) throw secondBackwardError('HardAttention');
    const rt = this.rt;
    const arena = this.arena!;
    const dContext = args.dContext ? upload(rt, arena, args.dContext).ptr : 0;
    const ds = new Tensor(rt.mem, arena.allocZeroed(B * Ty * dq * 4), [...last.s.shape]);
    const dh = new Tensor(rt.mem, arena.allocZeroed(B * Tx * dk * 4), [B, Tx, dk]);
    const dKeys = last.memory.keys ? arena.allocZeroed(last.memory.keys.bytes) : 0;
    this.backwardDevice(last, { reward: args.reward, dContext, ds: ds.ptr, dh: dh.ptr, dKeys, arena });
    if (dKeys) this.scorer.memoryBackwardDevice(last.memory, { dKeys, dh: dh.ptr });
    this.backwardDone = true;
    return { ds: ds.toHost(), dh: dh.toHost() };
  }

  /** Checks a reward: B finite numbers (one per sequence), or B*Ty (one per query) when Ty > 1. */
  checkReward(reward: ArrayLike<number> | undefined, B: number, Ty = 1): void {
    const want = Ty > 1 ? `${B} values (one per sequence) or ${B * Ty} (one per query)` : `${B} values (one per sequence)`;
    if (reward === undefined || reward === null || typeof reward !== 'object' || typeof reward.length !== 'number') {
      throw new TypeError(`reward must be an array of ${want}, got ${describe(reward)}`);
    }
    if (reward.length !== B && reward.length !== B * Ty) throw new ShapeError(`reward must have ${want}, got ${reward.length}`);
    for (let i = 0; i < reward.length; i++) if (!Number.isFinite(reward[i])) throw new RangeError(`reward[${i}] must be finite, got ${reward[i]}`);
  }

  /** The advantage of every query r of [B*Ty]: its reward minus the baseline (see the file comment). */
  private advantages(step: HardStep, reward: ArrayLike<number>): Float64Array {
    const { B, Ty } = step;
    const perQuery = reward.length === B * Ty && Ty > 1;
    const rewardOf = (b: number, q: number) => (perQuery ? reward[b * Ty + q] : reward[b]);
    const adv = new Float64Array(B * Ty);
    for (let q = 0; q < Ty; q++) {
      let sum = 0;
      for (let b = 0; b < B; b++) sum += rewardOf(b, q);
      for (let b = 0; b < B; b++) {
        const r = rewardOf(b, q);
        const base = this.baselineKind === 'leave-one-out' ? (B > 1 ? (sum - r) / (B - 1) : 0) : step.baseline;
        adv[b * Ty + q] = r - base;
      }
    }
    return adv;
  }

  /**
   * Device forward: s ([B, dq] or [B, Ty, dq]) against a memory of this layer's score
   * (scorer.memoryDevice); samples (sample = true) or takes the argmax of every query's weights.
   */
  forwardDevice(args: { s: Tensor; memory: AttentionMemory; arena: Arena; sample: boolean }): HardStep {
    const { s, memory, arena, sample } = args;
    const { B, Tx } = memory;
    const single = s.shape.length === 2;
    if (!(single || s.shape.length === 3) || s.shape[0] !== B || s.shape[s.shape.length - 1] !== this.scorer.querySize) {
      throw new ShapeError(`s must have shape [${B}, ${this.scorer.querySize}] or [${B}, Ty, ${this.scorer.querySize}], got [${s.shape.join(', ')}]`);
    }
    const Ty = single ? 1 : s.shape[1];
    const rt = this.rt;
    const dk = this.scorer.keySize;
    const { scores, query, tanhKeep } = this.scorer.scoresDevice(s, Ty, memory, arena, sample);
    const weights = new Tensor(rt.mem, arena.alloc(B * Ty * Tx * 4), [...scores.shape]);
    attentionSoftmaxForward(rt, { batch: B, queries: Ty, sources: Tx, e: scores.ptr, mask: memory.mask || undefined, a: weights.ptr });
    const context = new Tensor(rt.mem, arena.alloc(B * Ty * dk * 4), [...(single ? [B] : [B, Ty]), dk]);
    const a = weights.view().slice();
    const positions = new Int32Array(B * Ty);
    const hv = memory.h.view(), cv = context.view();
    for (let r = 0; r < B * Ty; r++) {
      const row = a.subarray(r * Tx, (r + 1) * Tx);
      let j = 0;
      if (sample) j = this.rng.categorical(row);
      else for (let k = 1; k < Tx; k++) if (row[k] > row[j]) j = k;
      positions[r] = j;
      const b = Math.floor(r / Ty);
      cv.set(hv.subarray((b * Tx + j) * dk, (b * Tx + j + 1) * dk), r * dk);
    }
    return { B, Ty, Tx, single, s, memory, query, tanhKeep, scores, weights, context, a, positions, baseline: this.baselineKind === 'none' ? 0 : this.baseline };
  }

  /**
   * Device backward of one forwardDevice call with its sequences' rewards: the REINFORCE
   * gradient into ds, dh (dot), dKeys and the score parameters, dContext (a pointer, optional)
   * into dh at the chosen positions (+= everywhere); then the baseline update.
   */
  backwardDevice(step: HardStep, args: { reward: ArrayLike<number>; dContext?: number; ds?: number; dh?: number; dKeys?: number; arena: Arena }): void {
    const { B, Ty, Tx, memory } = step;
    this.checkReward(args.reward, B, Ty);
    if (memory.keys && !args.dKeys) throw new Error(`backwardDevice: ${this.scorer.score} scores need a dKeys buffer`);
    const reward = args.reward;
    const rt = this.rt;
    const dk = this.scorer.keySize;
    const advantage = this.advantages(step, reward);
    const beta = this.entropyBonus;
    // dL/de in float64, then one upload.
    const de = new Float32Array(B * Ty * Tx);
    for (let r = 0; r < B * Ty; r++) {
      const adv = advantage[r];
      const a = step.a.subarray(r * Tx, (r + 1) * Tx);
      let H = 0;
      if (beta > 0) for (let k = 0; k < Tx; k++) if (a[k] > 0) H -= a[k] * Math.log(a[k]);
      for (let k = 0; k < Tx; k++) {
        if (a[k] === 0) continue; // masked (or underflowed): no gradient
        let g = -adv * ((k === step.positions[r] ? 1 : 0) - a[k]);
        if (beta > 0) g += beta * a[k] * (Math.log(a[k]) + H);
        de[r * Tx + k] = g;
      }
    }
    const dePtr = uploadFloats(rt, args.arena, de);
    this.scorer.scoresBackwardDevice({ s: step.s, Ty, memory, query: step.query, tanhKeep: step.tanhKeep, de: dePtr, ds: args.ds, dh: args.dh, dKeys: args.dKeys, arena: args.arena });
    if (args.dContext && args.dh) {
      const dhv = rt.mem.f32(args.dh, B * Tx * dk), dc = rt.mem.f32(args.dContext, B * Ty * dk);
      for (let r = 0; r < B * Ty; r++) {
        const b = Math.floor(r / Ty), j = step.positions[r];
        for (let k = 0; k < dk; k++) dhv[(b * Tx + j) * dk + k] += dc[r * dk + k];
      }
    }
    if (this.baselineKind === 'moving-average') {
      let mean = 0;
      for (let i = 0; i < reward.length; i++) mean += reward[i] / reward.length;
      this.baseline = this.baselineUpdates === 0 ? mean : this.baselineDecay * this.baseline + (1 - this.baselineDecay) * mean;
      this.baselineUpdates++;
    }
  }
}
