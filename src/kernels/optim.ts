/**
 * Optimizers and gradient clipping as single kernel calls over whole flat
 * blocks (llm.c style): parameters, gradients and optimizer state share one
 * layout of `count` float32 values. Semantics are torch.optim's (1.13).
 *
 *   new SGD(rt, params, { lr, momentum?, dampening?, weightDecay?, nesterov? })
 *   new Adam(rt, params, { lr?, betas?, eps?, weightDecay? })      torch.optim.Adam
 *   new AdamW(rt, params, { lr?, betas?, eps?, weightDecay? })     torch.optim.AdamW
 *       params: a ParameterBlock (its values and grads blocks) or { ptr, count, gradPtr }.
 *       opt.step() updates the parameters from the gradients (which it only reads);
 *       opt.stepCount counts steps; opt.lr can be changed between steps;
 *       opt.dispose() frees the state blocks.
 *   sgdStep(rt, args), adamStep(rt, args): the same updates with explicit state
 *       pointers and step counter, for callers that manage their own state.
 *   clipGradNorm(rt, grads, maxNorm, { errorIfNonfinite? }) -> total norm
 *       torch.nn.utils.clip_grad_norm_ (L2) over one block: grads is a ParameterBlock
 *       (its gradient block) or { ptr, count }.
 *   clipGradNormList(rt, tensors, maxNorm, { errorIfNonfinite? }) -> total norm
 *       the same over a list of { ptr, count } tensors (one global norm).
 *
 * The sum of squares is accumulated in float64, so the norm of a large block is
 * accurate to about 1e-7 relative after the final float32 rounding.
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ParameterBlock } from '../runtime/tensor.js';
import { checkFloat32, checkVector } from './elementwise.js';
import { checkNotDisposed, markDisposed } from '../runtime/lifecycle.js';

/** A flat parameter block and its gradient block of the same length. */
export interface FlatParameters {
  ptr: number;
  count: number;
  gradPtr: number;
}

export type OptimizerParameters = ParameterBlock | FlatParameters;

function isParameterBlock(p: OptimizerParameters): p is ParameterBlock {
  return typeof (p as ParameterBlock).valuesPtr === 'number' && typeof (p as ParameterBlock).gradsPtr === 'number';
}

function resolveParameters(rt: Runtime, name: string, params: OptimizerParameters): FlatParameters {
  if (params === null || typeof params !== 'object') {
    throw new TypeError(`${name}: params must be a ParameterBlock or { ptr, count, gradPtr }, got ${String(params)}`);
  }
  if (isParameterBlock(params)) {
    if (params.mem !== rt.mem) throw new Error(`${name}: the ParameterBlock belongs to another runtime`);
    params.checkLive(name);
    // Pointers read through the block at each step, so a step after its dispose throws.
    const block = params;
    return {
      get ptr() { block.checkLive(`${name}.step`); return block.valuesPtr; },
      count: block.count,
      get gradPtr() { block.checkLive(`${name}.step`); return block.gradsPtr; },
    };
  }
  const count = checkSize(`${name} params.count`, params.count);
  checkVector(rt, `${name} params.ptr`, params.ptr, count);
  checkVector(rt, `${name} params.gradPtr`, params.gradPtr, count);
  return { ptr: params.ptr, count, gradPtr: params.gradPtr };
}

function checkRange01(name: string, value: unknown, inclusiveOne = false): number {
  const v = checkFloat32(name, value);
  if (v < 0 || (inclusiveOne ? v > 1 : v >= 1)) {
    throw new RangeError(`${name} must lie in [0, 1${inclusiveOne ? ']' : ')'}, got ${v}`);
  }
  return v;
}

function checkNonNegative(name: string, value: unknown): number {
  const v = checkFloat32(name, value);
  if (v < 0) throw new RangeError(`${name} must be >= 0, got ${v}`);
  return v;
}

// ---------------------------------------------------------------- SGD

export interface SgdStepArgs {
  params: number;
  grads: number;
  /** momentum buffer (count floats); ignored when momentum is 0 */
  momentumBuffer: number;
  count: number;
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** true on the first step: the momentum buffer is initialised to the gradient */
  first: boolean;
}

/** One torch.optim.SGD step over a flat block (explicit state). */
export function sgdStep(rt: Runtime, args: SgdStepArgs): void {
  const name = 'sgdStep';
  const count = checkSize(`${name} count`, args.count);
  const lr = checkNonNegative(`${name} lr`, args.lr);
  const momentum = checkNonNegative(`${name} momentum`, args.momentum ?? 0);
  const dampening = checkFloat32(`${name} dampening`, args.dampening ?? 0);
  const weightDecay = checkNonNegative(`${name} weightDecay`, args.weightDecay ?? 0);
  const nesterov = args.nesterov ?? false;
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError(`${name}: nesterov needs momentum > 0 and dampening 0, got momentum ${momentum}, dampening ${dampening}`);
  }
  checkVector(rt, `${name} params`, args.params, count);
  checkVector(rt, `${name} grads`, args.grads, count);
  if (momentum !== 0) checkVector(rt, `${name} momentumBuffer`, args.momentumBuffer, count);
  rt.exports.sgd_step(
    args.params, args.grads, momentum !== 0 ? args.momentumBuffer : 0, count,
    lr, momentum, dampening, weightDecay, nesterov ? 1 : 0, args.first ? 1 : 0,
  );
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD over a whole parameter block. */
export class SGD {
  readonly params: FlatParameters;
  /** Momentum buffer (0 when momentum is 0). */
  readonly momentumPtr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  stepCount = 0;
  private learningRate: number;

  constructor(private readonly rt: Runtime, params: OptimizerParameters, options: SGDOptions) {
    this.params = resolveParameters(rt, 'SGD', params);
    if (options === null || typeof options !== 'object') throw new TypeError('SGD options must be an object with lr');
    this.learningRate = checkNonNegative('SGD lr', options.lr);
    this.momentum = checkNonNegative('SGD momentum', options.momentum ?? 0);
    this.dampening = checkFloat32('SGD dampening', options.dampening ?? 0);
    this.weightDecay = checkNonNegative('SGD weightDecay', options.weightDecay ?? 0);
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
    }
    this.momentumPtr = this.momentum !== 0 ? rt.mem.alloc(this.params.count * 4, this, 'SGD', 'momentum state') : 0;
  }

  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    this.learningRate = checkNonNegative('SGD lr', value);
  }

  step(): void {
    checkNotDisposed(this, 'step');
    const p = this.params;
    sgdStep(this.rt, {
      params: p.ptr, grads: p.gradPtr, momentumBuffer: this.momentumPtr, count: p.count,
      lr: this.learningRate, momentum: this.momentum, dampening: this.dampening,
      weightDecay: this.weightDecay, nesterov: this.nesterov, first: this.stepCount === 0,
    });
    this.stepCount++;
  }

  /** Frees the state; a second dispose is a no-op, a later step throws. */
  dispose(): void {
    if (!markDisposed(this) || this.rt.mem.disposed) return;
    if (this.momentumPtr !== 0) this.rt.mem.free(this.momentumPtr, this);
  }
}

// ---------------------------------------------------------------- Adam / AdamW

export interface AdamStepArgs {
  params: number;
  grads: number;
  /** first-moment state (count floats, zero before step 1) */
  m: number;
  /** second-moment state (count floats, zero before step 1) */
  v: number;
  count: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** false: Adam (weightDecay * p added to the gradient); true: AdamW (p *= 1 - lr * weightDecay) */
  decoupled: boolean;
  /** 1 on the first step; the bias corrections use it */
  step: number;
}

/** One torch.optim.Adam / AdamW step over a flat block (explicit state and step counter). */
export function adamStep(rt: Runtime, args: AdamStepArgs): void {
  const name = args.decoupled ? 'AdamW' : 'Adam';
  const count = checkSize(`${name} count`, args.count);
  const lr = checkNonNegative(`${name} lr`, args.lr);
  const beta1 = checkRange01(`${name} beta1`, args.beta1);
  const beta2 = checkRange01(`${name} beta2`, args.beta2);
  const eps = checkNonNegative(`${name} eps`, args.eps);
  const weightDecay = checkNonNegative(`${name} weightDecay`, args.weightDecay);
  const step = checkSize(`${name} step`, args.step, 1);
  checkVector(rt, `${name} params`, args.params, count);
  checkVector(rt, `${name} grads`, args.grads, count);
  checkVector(rt, `${name} m`, args.m, count);
  checkVector(rt, `${name} v`, args.v, count);
  // Step-dependent factors in f64, as torch computes them in Python floats.
  const biasCorrection1 = 1 - Math.pow(beta1, step);
  const biasCorrection2 = 1 - Math.pow(beta2, step);
  const stepSize = lr / biasCorrection1;
  const bc2Sqrt = Math.sqrt(biasCorrection2);
  if (!Number.isFinite(stepSize) || !(bc2Sqrt > 0)) {
    throw new RangeError(`${name}: bias correction underflows at step ${step} (beta1 ${beta1}, beta2 ${beta2})`);
  }
  const l2Decay = args.decoupled ? 0 : weightDecay;
  const paramScale = args.decoupled ? 1 - lr * weightDecay : 1;
  rt.exports.adam_step(
    args.params, args.grads, args.m, args.v, count, beta1, beta2, stepSize, bc2Sqrt, eps, l2Decay, paramScale,
  );
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** not supported; passing true throws */
  amsgrad?: boolean;
}

class AdamBase {
  readonly params: FlatParameters;
  readonly mPtr: number;
  readonly vPtr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  stepCount = 0;
  private learningRate: number;

  constructor(
    private readonly rt: Runtime, params: OptimizerParameters, options: AdamOptions,
    private readonly decoupled: boolean, defaultWeightDecay: number,
  ) {
    const name = decoupled ? 'AdamW' : 'Adam';
    if (options === null || typeof options !== 'object') throw new TypeError(`${name} options must be an object`);
    if (options.amsgrad) throw new Error(`${name}: amsgrad is not supported`);
    this.params = resolveParameters(rt, name, params);
    this.learningRate = checkNonNegative(`${name} lr`, options.lr ?? 1e-3);
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new RangeError(`${name} betas must be [beta1, beta2]`);
    this.beta1 = checkRange01(`${name} betas[0]`, betas[0]);
    this.beta2 = checkRange01(`${name} betas[1]`, betas[1]);
    this.eps = checkNonNegative(`${name} eps`, options.eps ?? 1e-8);
    this.weightDecay = checkNonNegative(`${name} weightDecay`, options.weightDecay ?? defaultWeightDecay);
    // Both moments checked before either is taken: a failure leaks nothing.
    rt.mem.checkFits(2 * this.params.count * 4, name, `moment state (2 x ${this.params.count} values)`);
    this.mPtr = rt.mem.alloc(this.params.count * 4, this, name, 'first-moment state');
    try {
      this.vPtr = rt.mem.alloc(this.params.count * 4, this, name, 'second-moment state');
    } catch (e) {
      rt.mem.free(this.mPtr, this);
      throw e;
    }
  }

  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    this.learningRate = checkNonNegative(`${this.decoupled ? 'AdamW' : 'Adam'} lr`, value);
  }

  step(): void {
    checkNotDisposed(this, 'step');
    const p = this.params;
    adamStep(this.rt, {
      params: p.ptr, grads: p.gradPtr, m: this.mPtr, v: this.vPtr, count: p.count,
      lr: this.learningRate, beta1: this.beta1, beta2: this.beta2, eps: this.eps,
      weightDecay: this.weightDecay, decoupled: this.decoupled, step: this.stepCount + 1,
    });
    this.stepCount++;
  }

  /** Frees the moments; a second dispose is a no-op, a later step throws. */
  dispose(): void {
    if (!markDisposed(this) || this.rt.mem.disposed) return;
    this.rt.mem.free(this.mPtr, this);
    this.rt.mem.free(this.vPtr, this);
  }
}

/** torch.optim.Adam (weight decay as L2 on the gradient); defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 0. */
export class Adam extends AdamBase {
  constructor(rt: Runtime, params: OptimizerParameters, options: AdamOptions = {}) {
    super(rt, params, options, false, 0);
  }
}

/** torch.optim.AdamW (decoupled weight decay); defaults as Adam but weightDecay 1e-2. */
export class AdamW extends AdamBase {
  constructor(rt: Runtime, params: OptimizerParameters, options: AdamOptions = {}) {
    super(rt, params, options, true, 1e-2);
  }
}

// ---------------------------------------------------------------- clipping

export interface FlatTensor {
  ptr: number;
  count: number;
}

export interface ClipOptions {
  /** torch's error_if_nonfinite: throw (leaving the gradients unscaled) when the norm is NaN or infinite */
  errorIfNonfinite?: boolean;
}

function nonfiniteError(total: number): Error {
  return new Error(
    `clipGradNorm: the total L2 norm of the gradients is ${total}, so they cannot be clipped (errorIfNonfinite is set)`,
  );
}

/**
 * torch.nn.utils.clip_grad_norm_(max_norm, norm_type=2) over one flat block:
 * scales it by min(1, maxNorm / (norm + 1e-6)); returns the norm before clipping.
 */
export function clipGradNorm(rt: Runtime, grads: ParameterBlock | FlatTensor, maxNorm: number, options: ClipOptions = {}): number {
  const max = checkNonNegative('clipGradNorm maxNorm', maxNorm);
  let ptr: number, count: number;
  if (grads !== null && typeof grads === 'object' && isParameterBlock(grads as OptimizerParameters)) {
    const block = grads as ParameterBlock;
    if (block.mem !== rt.mem) throw new Error('clipGradNorm: the ParameterBlock belongs to another runtime');
    ptr = block.gradsPtr;
    count = block.count;
  } else {
    const t = grads as FlatTensor;
    if (t === null || typeof t !== 'object') throw new TypeError('clipGradNorm grads must be a ParameterBlock or { ptr, count }');
    count = checkSize('clipGradNorm grads.count', t.count);
    checkVector(rt, 'clipGradNorm grads.ptr', t.ptr, count);
    ptr = t.ptr;
  }
  const strict = options.errorIfNonfinite ?? false;
  const total = rt.exports.clip_grad_norm(ptr, count, max, strict ? 0 : 1);
  if (strict && !Number.isFinite(total)) throw nonfiniteError(total);
  return total;
}

/** clip_grad_norm_ over several tensors with one global norm; returns the norm before clipping. */
export function clipGradNormList(rt: Runtime, tensors: FlatTensor[], maxNorm: number, options: ClipOptions = {}): number {
  const max = checkNonNegative('clipGradNormList maxNorm', maxNorm);
  if (!Array.isArray(tensors)) throw new TypeError('clipGradNormList tensors must be an array of { ptr, count }');
  const spans: [number, number, number][] = [];
  tensors.forEach((t, i) => {
    if (t === null || typeof t !== 'object') throw new TypeError(`clipGradNormList tensors[${i}] must be { ptr, count }`);
    const count = checkSize(`clipGradNormList tensors[${i}].count`, t.count);
    checkVector(rt, `clipGradNormList tensors[${i}].ptr`, t.ptr, count);
    if (count > 0) spans.push([t.ptr, t.ptr + count * 4, i]);
  });
  // Overlapping tensors would be counted and scaled twice.
  spans.sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < spans.length; k++) {
    if (spans[k][0] < spans[k - 1][1]) {
      throw new RangeError(`clipGradNormList tensors[${spans[k - 1][2]}] and tensors[${spans[k][2]}] overlap`);
    }
  }
  const strict = options.errorIfNonfinite ?? false;
  // The (ptr, count) list lives in wasm memory for the one call.
  const list = rt.mem.alloc(Math.max(1, tensors.length) * 8);
  try {
    const view = rt.mem.i32(list, tensors.length * 2);
    tensors.forEach((t, i) => {
      view[2 * i] = t.ptr;
      view[2 * i + 1] = t.count;
    });
    const total = rt.exports.clip_grad_norm_list(list, tensors.length, max, strict ? 0 : 1);
    if (strict && !Number.isFinite(total)) throw nonfiniteError(total);
    return total;
  } finally {
    rt.mem.free(list);
  }
}

