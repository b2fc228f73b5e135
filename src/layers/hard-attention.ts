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
// is fixed before the sample is drawn: updated only after the gradient is formed), and for the
// per-sequence scalar rewards this layer takes it removes the bulk of the variance (the mean
// reward level). A learned, input-dependent baseline (a regression head b(s)) can go further
// but adds a model and a loss to tune; 'none' is there for comparisons and tests.
import { checkFinite, describe, ShapeError } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor, type HostTensor } from '../runtime/tensor.js';
import { Rng } from '../train/rng.js';
import { attentionSoftmaxForward } from '../kernels/attention.js';
import { Attention, checkHost, checkMask, upload, uploadFloats, type AttentionMask, type AttentionMemory, type AttentionOptions } from './attention.js';

export interface HardAttentionOptions extends AttentionOptions {
  /** 'moving-average' (default) or 'none'. */
  baseline?: 'moving-average' | 'none';
  /** Weight of the old value in the moving average (default 0.9). */
  baselineDecay?: number;
  /** β of the entropy bonus (default 0: none). */
  entropyBonus?: number;
}

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
  /** [B]: the reward of each sequence for the positions sampled in the last forward. */
  reward: ArrayLike<number>;
}

interface HardStep {
  B: number; Ty: number; Tx: number; single: boolean;
  s: Tensor; memory: AttentionMemory; query: number;
  weights: Float32Array; positions: Int32Array;
}

export class HardAttention {
  readonly scorer: Attention;
  readonly baselineKind: 'moving-average' | 'none';
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
    const kind = options?.baseline ?? 'moving-average';
    if (kind !== 'moving-average' && kind !== 'none') throw new RangeError(`baseline must be 'moving-average' or 'none', got ${describe(kind)}`);
    const decay = checkFinite('baselineDecay', options.baselineDecay ?? 0.9);
    if (decay < 0 || decay >= 1) throw new RangeError(`baselineDecay must be in [0, 1), got ${decay}`);
    const beta = checkFinite('entropyBonus', options.entropyBonus ?? 0);
    if (beta < 0) throw new RangeError(`entropyBonus must be >= 0, got ${beta}`);
    const seed = options.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : checkFinite('seed', options.seed);
    this.scorer = new Attention(rt, { ...options, seed });
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

  parameterNames(): string[] {
    return this.scorer.parameterNames();
  }

  stateDict(): Record<string, HostTensor> {
    return this.scorer.stateDict();
  }

  loadStateDict(dict: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    this.scorer.loadStateDict(dict);
  }

  gradients(): Record<string, HostTensor> {
    return this.scorer.gradients();
  }

  zeroGrad(): void {
    this.scorer.zeroGrad();
  }

  dispose(): void {
    this.arena?.dispose();
    this.arena = null;
    this.last = null;
    this.scorer.dispose();
  }

  forward(s: HostTensor, h: HostTensor, options: HardAttentionForwardOptions = {}): HardAttentionResult {
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { mask?, training? }');
    const { B, Ty, Tx, single } = this.scorer.checkInputs(s, h);
    const maskF = options.mask === undefined ? null : checkMask('mask', options.mask, B, Tx, false);
    if (options.training !== undefined && typeof options.training !== 'boolean') throw new TypeError(`training must be a boolean, got ${describe(options.training)}`);
    const sample = options.training ?? this.training;
    const rt = this.rt;
    const arena = (this.arena ??= new Arena(rt.mem));
    this.last = null;
    arena.reset();
    const st = upload(rt, arena, s);
    const ht = upload(rt, arena, h);
    const mask = maskF ? uploadFloats(rt, arena, maskF) : 0;
    const memory = this.scorer.memoryDevice({ h: ht, mask, arena });
    const { scores, query } = this.scorer.scoresDevice(st, Ty, memory, arena);
    const a = new Tensor(rt.mem, arena.alloc(B * Ty * Tx * 4), [...scores.shape]);
    attentionSoftmaxForward(rt, { batch: B, queries: Ty, sources: Tx, e: scores.ptr, mask: mask || undefined, a: a.ptr });
    const weights = a.toHost();
    const positions = new Int32Array(B * Ty);
    const dk = this.scorer.keySize;
    const context = new Float32Array(B * Ty * dk);
    for (let r = 0; r < B * Ty; r++) {
      const row = weights.data.subarray(r * Tx, (r + 1) * Tx);
      let j = 0;
      if (sample) j = this.rng.categorical(row);
      else for (let k = 1; k < Tx; k++) if (row[k] > row[j]) j = k;
      positions[r] = j;
      const b = Math.floor(r / Ty);
      context.set(h.data.subarray((b * Tx + j) * dk, (b * Tx + j + 1) * dk), r * dk);
    }
    this.last = { B, Ty, Tx, single, s: st, memory, query, weights: weights.data, positions };
    const lead = single ? [B] : [B, Ty];
    return { scores: scores.toHost(), weights, positions: positions.slice(), context: { shape: [...lead, dk], data: context } };
  }

  /**
   * REINFORCE for the score parameters (and s, and h through the scores) plus backprop of
   * dContext into h at the chosen positions; then updates the baseline with this batch's
   * mean reward. Gradients are of the loss to minimise (see the file comment) and accumulate
   * until zeroGrad().
   */
  backward(args: HardAttentionBackwardArgs): { ds: HostTensor; dh: HostTensor } {
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { reward, dContext? }');
    const last = this.last;
    if (!last) throw new Error('HardAttention.backward() needs a preceding forward()');
    const { B, Ty, Tx, single } = last;
    const dk = this.scorer.keySize, dq = this.scorer.querySize;
    const reward = args.reward;
    if (reward === undefined || reward === null || typeof reward !== 'object' || typeof reward.length !== 'number') {
      throw new TypeError(`reward must be an array of ${B} numbers (one per sequence), got ${describe(reward)}`);
    }
    if (reward.length !== B) throw new ShapeError(`reward must have ${B} values (one per sequence), got ${reward.length}`);
    for (let b = 0; b < B; b++) if (!Number.isFinite(reward[b])) throw new RangeError(`reward[${b}] must be finite, got ${reward[b]}`);
    if (args.dContext !== undefined) checkHost('dContext', args.dContext, [...(single ? [B] : [B, Ty]), dk]);
    const rt = this.rt;
    const arena = this.arena!;
    const base = this.baselineKind === 'none' ? 0 : this.baseline;
    const beta = this.entropyBonus;
    // dL/de in float64, then one upload.
    const de = new Float32Array(B * Ty * Tx);
    for (let r = 0; r < B * Ty; r++) {
      const adv = reward[Math.floor(r / Ty)] - base;
      const a = last.weights.subarray(r * Tx, (r + 1) * Tx);
      let H = 0;
      if (beta > 0) for (let k = 0; k < Tx; k++) if (a[k] > 0) H -= a[k] * Math.log(a[k]);
      for (let k = 0; k < Tx; k++) {
        if (a[k] === 0) continue; // masked (or underflowed): no gradient
        let g = -adv * ((k === last.positions[r] ? 1 : 0) - a[k]);
        if (beta > 0) g += beta * a[k] * (Math.log(a[k]) + H);
        de[r * Tx + k] = g;
      }
    }
    const dePtr = uploadFloats(rt, arena, de);
    const ds = new Tensor(rt.mem, arena.allocZeroed(B * Ty * dq * 4), [...last.s.shape]);
    const dh = new Tensor(rt.mem, arena.allocZeroed(B * Tx * dk * 4), [B, Tx, dk]);
    const dKeys = last.memory.keys ? arena.allocZeroed(last.memory.keys.bytes) : 0;
    this.scorer.scoresBackwardDevice({ s: last.s, Ty, memory: last.memory, query: last.query, de: dePtr, ds: ds.ptr, dh: dh.ptr, dKeys, arena });
    if (dKeys) this.scorer.memoryBackwardDevice(last.memory, { dKeys, dh: dh.ptr });
    if (args.dContext) {
      const dhv = dh.view();
      const dc = args.dContext.data;
      for (let r = 0; r < B * Ty; r++) {
        const b = Math.floor(r / Ty), j = last.positions[r];
        for (let k = 0; k < dk; k++) dhv[(b * Tx + j) * dk + k] += dc[r * dk + k];
      }
    }
    if (this.baselineKind === 'moving-average') {
      let mean = 0;
      for (let b = 0; b < B; b++) mean += reward[b] / B;
      this.baseline = this.baselineUpdates === 0 ? mean : this.baselineDecay * this.baseline + (1 - this.baselineDecay) * mean;
      this.baselineUpdates++;
    }
    return { ds: ds.toHost(), dh: dh.toHost() };
  }
}
