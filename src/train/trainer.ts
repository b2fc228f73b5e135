// The training loop: explicit step() or fit() over epochs of mini-batches,
// with seeded shuffling, validation, a learning-rate schedule, clipping by
// global norm, a progress bar on stderr (TTY only), and checkpoints that
// resume exactly where an uninterrupted run would be.
//
// Determinism: the model's parameters come from its seeded Rng, each epoch's
// batch order from the trainer's Rng (its state at the start of the epoch is
// checkpointed, so a resumed run redraws the same order and skips the batches
// already done), dropout masks from the model's Rng (checkpointed), and every
// kernel is deterministic; two runs with the same seed give the same losses
// bit for bit.
import { checkFinite, checkSize } from '../runtime/check.js';
import { checkNotDisposed } from '../runtime/lifecycle.js';
import type { HostTensor } from '../runtime/tensor.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type JsonValue } from './checkpoint.js';
import type { Model } from './model.js';
import { Rng, type RngState } from './rng.js';
import { Adam, AdamW, SGD, clipGradNorm } from '../kernels/optim.js';

/** A model that computes its training loss (forward + loss on its tape) for one batch. */
export interface Trainable<Batch> extends Model {
  loss(batch: Batch): number;
}

/** Learning rate as a function of the 0-based step (src/train/schedule.ts builds these). */
export type LearningRateSchedule = (step: number) => number;

export interface TrainerOptions {
  /** Default 'adam'. */
  optimizer?: OptimizerName;
  /** Base learning rate (default 1e-3 for Adam/AdamW, 0.1 for SGD). */
  lr?: number;
  weightDecay?: number;
  momentum?: number;
  /** Overrides lr per step when given. */
  schedule?: LearningRateSchedule;
  /** Clip gradients to this global L2 norm (torch's clip_grad_norm_); none by default. */
  clipNorm?: number;
  /** Seed of the shuffling generator (the model has its own for init and dropout). Default 0. */
  seed?: number;
  /** Progress bar on stderr: 'auto' (default) when stderr is a TTY, true always, false never. */
  progress?: boolean | 'auto';
  /** Save a checkpoint to `path` every `every` steps (and at the end of fit). */
  checkpoint?: { path: string; every: number };
}

export interface StepResult {
  step: number;
  loss: number;
  lr: number;
  /** Global gradient norm before clipping (when clipping is on). */
  gradNorm?: number;
}

export interface EpochSummary {
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Metrics returned by the validate callback, if any. */
  validation?: Record<string, number>;
  seconds: number;
}

export interface FitOptions<Batch> {
  epochs: number;
  /**
   * The batches of one epoch, in order. Draw any shuffling from `rng` only:
   * a resumed run calls this again with the same generator state.
   */
  batches: (epoch: number, rng: Rng) => Batch[];
  /** Metrics on held-out data, run in eval mode at the end of each epoch. */
  validate?: () => Record<string, number>;
  /** Called after each epoch (logging). */
  onEpoch?: (summary: EpochSummary) => void;
  /** Called after each step. */
  onStep?: (result: StepResult) => void;
  /** Items per batch, for the progress bar's rate (default 1). */
  itemsPerBatch?: number;
  /** Unit of the progress rate ('seq', 'tok', ...); default 'it'. */
  unit?: string;
  /** Stop after this many steps in total (tests use it to simulate an interruption). */
  maxSteps?: number;
  /**
   * Stops fit between two steps: it rejects with `signal.reason` (an AbortError by default),
   * the trainer's counters at a step boundary, so save() then resume() continues exactly.
   */
  signal?: AbortSignal;
  /**
   * fit gives the event loop a turn (timers, UI, I/O) once this many milliseconds of steps
   * have run. Default 16 (one frame); 0 yields after every step; Infinity never yields.
   */
  yieldEveryMs?: number;
}

export class Trainer<Batch> {
  readonly optimizer: TrainerOptimizer;
  /** Shuffling generator. */
  readonly rng: Rng;
  /** Steps taken so far (optimizer updates). */
  step = 0;
  /** Current epoch (0-based) and batches of it already done. */
  epoch = 0;
  batchInEpoch = 0;
  /** Rng state at the start of the current epoch (redraws its batch order on resume). */
  private epochStartRng: RngState;
  private epochLossSum = 0;
  readonly history: EpochSummary[] = [];
  private readonly baseLr: number;
  private readonly clipNorm: number | undefined;

  constructor(readonly model: Trainable<Batch>, readonly options: TrainerOptions = {}) {
    const name = options.optimizer ?? 'adam';
    this.baseLr = checkFinite('lr', options.lr ?? (name === 'sgd' ? 0.1 : 1e-3));
    if (this.baseLr <= 0) throw new RangeError(`lr must be > 0, got ${this.baseLr}`);
    if (options.clipNorm !== undefined && !(checkFinite('clipNorm', options.clipNorm) > 0)) {
      throw new RangeError(`clipNorm must be > 0, got ${options.clipNorm}`);
    }
    this.clipNorm = options.clipNorm;
    if (options.checkpoint) {
      if (typeof options.checkpoint.path !== 'string' || options.checkpoint.path === '') throw new Error('checkpoint.path must be a file path');
      checkSize('checkpoint.every', options.checkpoint.every, 1);
    }
    this.optimizer = new TrainerOptimizer(model, name, {
      lr: this.baseLr,
      weightDecay: options.weightDecay,
      momentum: options.momentum,
    });
    this.rng = new Rng(options.seed ?? 0);
    this.epochStartRng = this.rng.state();
  }

  /** The learning rate of the next step. */
  get lr(): number {
    const lr = this.options.schedule ? this.options.schedule(this.step) : this.baseLr;
    return checkFinite('learning-rate schedule value', lr);
  }

  /** One optimizer step on one batch: forward + loss, backward, clip, update. */
  trainStep(batch: Batch): StepResult {
    const model = this.model;
    checkNotDisposed(model, 'trainStep');
    model.train();
    model.tape.reset();
    model.zeroGrad();
    const loss = model.loss(batch);
    if (!Number.isFinite(loss)) {
      throw new Error(`loss is ${loss} at step ${this.step}${describeNonFinite(model)}: lower the learning rate or enable clipNorm`);
    }
    model.tape.backward();
    let gradNorm: number | undefined;
    if (this.clipNorm !== undefined) gradNorm = this.optimizer.clip(this.clipNorm);
    const lr = this.lr;
    this.optimizer.step(lr);
    this.step++;
    return { step: this.step, loss, lr, gradNorm };
  }

  /** Trains for options.epochs epochs (continuing a resumed epoch first). */
  async fit(options: FitOptions<Batch>): Promise<EpochSummary[]> {
    if (options === null || typeof options !== 'object') throw new TypeError('fit expects an object { epochs, batches, ... }');
    checkSize('epochs', options.epochs, 1);
    const signal = options.signal;
    if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean')) throw new TypeError('signal must be an AbortSignal');
    const yieldEveryMs = options.yieldEveryMs ?? 16;
    if (typeof yieldEveryMs !== 'number' || !(yieldEveryMs >= 0)) throw new RangeError(`yieldEveryMs must be a number >= 0 (or Infinity), got ${String(yieldEveryMs)}`);
    let lastYield = performance.now();
    const progressWanted = this.options.progress ?? 'auto';
    const showProgress = progressWanted === 'auto' ? isStderrTty() : progressWanted;
    const maxSteps = options.maxSteps ?? Infinity;
    for (; this.epoch < options.epochs; ) {
      const t0 = performance.now();
      // Redraw this epoch's batches from the generator state at its start.
      this.rng.setState(this.epochStartRng);
      if (this.batchInEpoch === 0) this.model.resetCarriedState();
      const batches = options.batches(this.epoch, this.rng);
      if (batches.length === 0) throw new Error(`epoch ${this.epoch} has no batches`);
      const bar = showProgress
        ? await makeProgress(batches.length, `epoch ${this.epoch + 1}/${options.epochs}`, options.itemsPerBatch ?? 1, options.unit ?? 'it')
        : null;
      for (; this.batchInEpoch < batches.length; ) {
        if (this.step >= maxSteps) {
          bar?.close();
          return this.history;
        }
        if (signal?.aborted) {
          bar?.close();
          throw abortReason(signal);
        }
        const result = this.trainStep(batches[this.batchInEpoch]);
        this.batchInEpoch++;
        this.epochLossSum += result.loss;
        options.onStep?.(result);
        bar?.update(this.batchInEpoch, this.epochLossSum / this.batchInEpoch);
        const ck = this.options.checkpoint;
        if (ck && this.step % ck.every === 0) await this.save(ck.path);
        if (performance.now() - lastYield >= yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      bar?.close();
      const summary: EpochSummary = { epoch: this.epoch, loss: this.epochLossSum / batches.length, seconds: (performance.now() - t0) / 1000 };
      if (options.validate) {
        this.model.eval();
        try {
          summary.validation = options.validate();
        } finally {
          this.model.train();
        }
      }
      this.history.push(summary);
      options.onEpoch?.(summary);
      this.epoch++;
      this.batchInEpoch = 0;
      this.epochLossSum = 0;
      this.epochStartRng = this.rng.state();
    }
    const ck = this.options.checkpoint;
    if (ck) await this.save(ck.path);
    return this.history;
  }

  /** Everything a resumed run needs: parameters, optimizer state, counters, generators, carried state. */
  checkpoint(): Checkpoint {
    const tensors: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(this.model.stateDict())) tensors[`model.${name}`] = t;
    for (const [name, t] of Object.entries(this.optimizer.stateTensors())) tensors[`optim.${name}`] = t;
    for (const [name, t] of Object.entries(this.model.carriedState())) tensors[`carry.${name}`] = t;
    const state: { [key: string]: JsonValue } = {
      step: this.step,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      epochLossSum: this.epochLossSum,
      epochStartRng: this.epochStartRng as unknown as JsonValue,
      modelRng: this.model.rng.state() as unknown as JsonValue,
      optimizer: this.optimizer.stateJson(),
      history: this.history as unknown as JsonValue,
    };
    return { tensors, state };
  }

  /** Restores a checkpoint() into this trainer and its model (validated before anything changes). */
  restore(ck: Checkpoint): void {
    const { tensors, state } = ck;
    const modelDict: Record<string, HostTensor> = {};
    const optimDict: Record<string, HostTensor> = {};
    const carry: Record<string, HostTensor> = {};
    for (const [key, t] of Object.entries(tensors)) {
      const tensor = { shape: t.shape, data: Float32Array.from(t.data) };
      if (key.startsWith('model.')) modelDict[key.slice(6)] = tensor;
      else if (key.startsWith('optim.')) optimDict[key.slice(6)] = tensor;
      else if (key.startsWith('carry.')) carry[key.slice(6)] = tensor;
      else throw new Error(`checkpoint: unexpected tensor '${key}'`);
    }
    for (const k of ['step', 'epoch', 'batchInEpoch']) {
      const v = state[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`checkpoint state.${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    if (typeof state.epochLossSum !== 'number') throw new Error('checkpoint state.epochLossSum must be a number');
    const epochRng = Rng.fromState(state.epochStartRng as unknown as RngState);
    const modelRng = Rng.fromState(state.modelRng as unknown as RngState);
    // Validate every part before writing any.
    this.model.checkStateDict(modelDict);
    this.optimizer.checkState(optimDict, state.optimizer);
    this.model.loadStateDict(modelDict);
    this.optimizer.loadState(optimDict, state.optimizer);
    this.model.loadCarriedState(carry);
    this.model.rng.setState(modelRng.state());
    this.epochStartRng = epochRng.state();
    this.rng.setState(this.epochStartRng);
    this.step = state.step as number;
    this.epoch = state.epoch as number;
    this.batchInEpoch = state.batchInEpoch as number;
    this.epochLossSum = state.epochLossSum;
    this.history.length = 0;
    if (Array.isArray(state.history)) this.history.push(...(state.history as unknown as EpochSummary[]));
  }

  /** Atomic save (temporary file + rename): a crash never leaves a half-written checkpoint. */
  async save(path: string): Promise<void> {
    const bad = firstNonFiniteParameter(this.model);
    if (bad) throw new Error(`refusing to save a checkpoint to ${path} at step ${this.step}: parameter '${bad.name}' holds ${bad.value} at index ${bad.index}`);
    await saveCheckpoint(path, this.checkpoint());
  }

  async resume(path: string): Promise<void> {
    this.restore(await loadCheckpoint(path));
  }

  /** Frees the optimizer state (the model stays usable). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

export type OptimizerName = 'adam' | 'adamw' | 'sgd';

/**
 * The trainer's view of an optimizer from src/kernels/optim.ts: one step over
 * the model's whole parameter block at a given learning rate, one clipping
 * call, and its state as tensors + JSON for checkpoints.
 */
export class TrainerOptimizer {
  readonly impl: SGD | Adam | AdamW;

  constructor(readonly model: Model, readonly name: OptimizerName, options: { lr: number; weightDecay?: number; momentum?: number }) {
    const rt = model.rt;
    if (name === 'sgd') this.impl = new SGD(rt, model.params, { lr: options.lr, momentum: options.momentum ?? 0, weightDecay: options.weightDecay ?? 0 });
    else if (name === 'adam') this.impl = new Adam(rt, model.params, { lr: options.lr, weightDecay: options.weightDecay ?? 0 });
    else if (name === 'adamw') this.impl = new AdamW(rt, model.params, { lr: options.lr, weightDecay: options.weightDecay });
    else throw new RangeError(`optimizer must be 'adam', 'adamw' or 'sgd', got ${String(name)}`);
  }

  step(lr: number): void {
    this.impl.lr = lr;
    this.impl.step();
  }

  /** Clips the whole gradient block to maxNorm; returns the norm before clipping. */
  clip(maxNorm: number): number {
    return clipGradNorm(this.model.rt, this.model.params, maxNorm);
  }

  /** Optimizer state blocks (same layout as the parameter block) by slot name. */
  private slots(): Record<string, number> {
    const impl = this.impl;
    if (impl instanceof SGD) return impl.momentumPtr !== 0 ? { momentum: impl.momentumPtr } : {};
    return { exp_avg: impl.mPtr, exp_avg_sq: impl.vPtr };
  }

  stateTensors(): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    const mem = this.model.rt.mem;
    const count = this.model.params.count;
    for (const [slot, ptr] of Object.entries(this.slots())) out[slot] = { shape: [count], data: mem.f32(ptr, count).slice() };
    return out;
  }

  stateJson(): JsonValue {
    return { name: this.name, stepCount: this.impl.stepCount };
  }

  /** Throws unless loadState would accept these; changes nothing. */
  checkState(tensors: Record<string, HostTensor>, json: JsonValue | undefined): void {
    const j = json as { name?: unknown; stepCount?: unknown } | undefined;
    if (!j || j.name !== this.name) throw new Error(`checkpoint optimizer is ${JSON.stringify(j?.name)}, this trainer uses '${this.name}'`);
    if (typeof j.stepCount !== 'number' || !Number.isInteger(j.stepCount) || j.stepCount < 0) throw new Error('checkpoint optimizer.stepCount must be a non-negative integer');
    const count = this.model.params.count;
    const slots = this.slots();
    for (const slot of Object.keys(tensors)) if (!(slot in slots)) throw new Error(`checkpoint: unexpected optimizer state '${slot}'`);
    for (const slot of Object.keys(slots)) {
      const t = tensors[slot];
      if (!t || t.data.length !== count) throw new Error(`checkpoint: optimizer state '${slot}' must hold ${count} values`);
    }
  }

  loadState(tensors: Record<string, HostTensor>, json: JsonValue | undefined): void {
    this.checkState(tensors, json);
    const j = json as { stepCount: number };
    const count = this.model.params.count;
    const slots = this.slots();
    for (const [slot, ptr] of Object.entries(slots)) this.model.rt.mem.f32(ptr, count).set(tensors[slot].data);
    this.impl.stepCount = j.stepCount;
  }

  dispose(): void {
    this.impl.dispose();
  }
}

/** The first parameter holding NaN or an infinity, for divergence reports; null when all are finite. */
export function firstNonFiniteParameter(model: Model): { name: string; index: number; value: number } | null {
  for (const name of model.params.names) {
    const v = model.params.value(name).view();
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return { name, index: i, value: v[i] };
  }
  return null;
}

function describeNonFinite(model: Model): string {
  const bad = firstNonFiniteParameter(model);
  return bad ? ` (the first non-finite parameter is '${bad.name}', ${bad.value} at index ${bad.index})` : ' (every parameter is still finite)';
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('fit was aborted');
  e.name = 'AbortError';
  return e;
}

/** A macrotask turn: timers, I/O and (in a page) rendering run before training continues. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof g.MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new g.MessageChannel!();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function isStderrTty(): boolean {
  const p = (globalThis as { process?: { stderr?: { isTTY?: boolean } } }).process;
  return p?.stderr?.isTTY === true;
}

interface ProgressLike {
  update(done: number, loss: number): void;
  close(): void;
}

async function makeProgress(total: number, label: string, itemsPerBatch: number, unit: string): Promise<ProgressLike> {
  const { ProgressBar } = await import('./progress.js');
  // Forced on (progress: true) off a terminal prints a line every 10%; 'auto' is quiet there.
  const bar = new ProgressBar({ total: total * itemsPerBatch, label, unit, mode: isStderrTty() ? 'tty' : 'lines', everyPercent: 10 });
  return {
    update: (done, loss) => bar.update(done * itemsPerBatch, loss),
    close: () => bar.finish(),
  };
}
