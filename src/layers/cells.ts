// One-step recurrent cells like torch.nn.RNNCell / LSTMCell / GRUCell, plus the DMN+
// attention GRU cell: forward(x [B, I], h [B, H] (+ c, or gate [B])) -> h' (+ c'), and its
// backward. Names weight_ih [G*H, I], weight_hh [G*H, H], bias_ih, bias_hh [G*H]; torch's
// initialisation (every parameter U(-1/sqrt(H), 1/sqrt(H)), in that order).
//
// Unlike the sequence layers, a cell keeps nothing inside itself between a forward and its
// backward: forwardDevice returns a CellStep (what the backward needs, in the caller's
// arena) and backwardDevice takes it. So a cell runs any number of times per training
// step (a decoder feeding its output back, the DMN's passes over the facts), each call's
// backward adding into the same parameter gradients. The host API (forward / backward on
// plain arrays) keeps the last forward's step, like the other layers.
import { checkHost, checkShape, checkSize, describe, ShapeError } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import { cellBackward, cellForward, cellWorkFloats } from '../kernels/cells.js';
import { cellDescriptor, kindFor, type CellDescriptor, type CellKind } from '../kernels/cell-kinds.js';
import { Rng } from '../train/rng.js';
import { layerSeed, ParameterLayer } from './parameters.js';
import { checkLayerUsable, checkSameRuntime, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';

export interface CellOptions {
  inputSize: number;
  hiddenSize: number;
  /** Default true: bias_ih and bias_hh. */
  bias?: boolean;
  /** Seed of the initialisation. Default: random. */
  seed?: number;
  /** An existing block holding `prefix + name` for every spec (one block for a whole model). */
  block?: import('../runtime/tensor.js').ParameterBlock;
  /** Name prefix inside a shared block, e.g. 'decoder.'. */
  prefix?: string;
}

export interface CellForwardOptions {
  /** [B, H]; zeros when absent. */
  h?: HostTensor;
  /** LSTMCell only: [B, H]; zeros when absent. */
  c?: HostTensor;
  /** AttentionGRUCell only (required): [B], the attention weight g of each row. */
  gate?: HostTensor;
}

export interface CellForwardResult {
  /** [B, H] */
  h: HostTensor;
  /** LSTMCell only. */
  c?: HostTensor;
}

export interface CellBackwardArgs {
  /** [B, H] gradient of the new h (absent: zero). */
  dH?: HostTensor;
  /** LSTMCell only: gradient of the new c. */
  dC?: HostTensor;
  /** false: skip dx. Default true. */
  inputGrad?: boolean;
}

export interface CellBackwardResult {
  dx?: HostTensor;
  dh: HostTensor;
  dc?: HostTensor;
  /** AttentionGRUCell only: [B]. */
  dGate?: HostTensor;
}

export interface CellDeviceForwardArgs {
  /** [B, I] in wasm memory. */
  x: Tensor;
  /** [B, H]; zeros when absent. */
  h?: Tensor;
  /** LSTMCell only. */
  c?: Tensor;
  /** AttentionGRUCell only (required): [B]. */
  gate?: Tensor;
  /** Where the outputs and the kept buffers go; must not be reset before the backward. */
  arena: Arena;
}

/** What one forward keeps for its backward (buffers in the forward's arena). */
export interface CellStep {
  readonly cell: RecurrentCell;
  readonly arena: Arena;
  readonly batch: number;
  readonly x: number;
  readonly h: number;
  readonly c: number;
  readonly gate: number;
  readonly gates: number;
  readonly extra: number;
}

export interface CellDeviceForwardResult {
  h: Tensor;
  c?: Tensor;
  step: CellStep;
}

export interface CellDeviceBackwardArgs {
  dH?: Tensor;
  dC?: Tensor;
  /** false: skip dx. Default true. */
  inputGrad?: boolean;
}

export interface CellDeviceBackwardResult {
  dx?: Tensor;
  dh: Tensor;
  dc?: Tensor;
  dGate?: Tensor;
}

/** torch's cell names and shapes for G gate blocks. */
export function cellParameterSpecs(gates: number, options: CellOptions): ParameterSpec[] {
  const { I, H, bias } = resolveCellSizes(options);
  const specs: ParameterSpec[] = [
    { name: 'weight_ih', shape: [gates * H, I] },
    { name: 'weight_hh', shape: [gates * H, H] },
  ];
  if (bias) specs.push({ name: 'bias_ih', shape: [gates * H] }, { name: 'bias_hh', shape: [gates * H] });
  return specs;
}

function resolveCellSizes(o: CellOptions) {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object with inputSize and hiddenSize');
  const I = checkSize('inputSize', o.inputSize, 1);
  const H = checkSize('hiddenSize', o.hiddenSize, 1);
  if (o.bias !== undefined && typeof o.bias !== 'boolean') throw new TypeError(`bias must be a boolean, got ${typeof o.bias}`);
  return { I, H, bias: o.bias ?? true };
}

export class RecurrentCell extends ParameterLayer {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  /** The cell kind's descriptor (gates, state, kept buffers, kernels). */
  readonly shape: CellDescriptor;
  private hostArena: Arena | null = null;
  private lastStep: CellStep | null = null;
  private pointers: { wIh: number; wHh: number; bIh: number; bHh: number; gWIh: number; gWHh: number; gBIh: number; gBHh: number } | null = null;

  constructor(readonly rt: Runtime, readonly cell: CellKind, options: CellOptions) {
    const { I, H, bias } = resolveCellSizes(options);
    const shape = cellDescriptor(cell);
    const seed = layerSeed(options.seed);
    super(rt, cellParameterSpecs(shape.gates, options), { block: options.block, prefix: options.prefix });
    this.inputSize = I;
    this.hiddenSize = H;
    this.bias = bias;
    this.shape = shape;
    this.resetParameters(new Rng(seed));
  }

  /** torch's initialisation: every parameter U(-1/sqrt(H), 1/sqrt(H)), in state_dict order. */
  resetParameters(rng: { uniform(): number }): void {
    this.named.initUniform(1 / Math.sqrt(this.hiddenSize), rng);
  }

  /** The host API's arena (for memory reports). */
  get arena(): Arena {
    if (!this.hostArena) this.hostArena = new Arena(this.rt.mem);
    return this.hostArena;
  }

  dispose(): void {
    if (!markDisposed(this)) return;
    this.hostArena?.dispose();
    this.hostArena = null;
    this.lastStep = null;
    this.named.dispose();
  }

  // ---- host API ----------------------------------------------------------------------

  forward(x: HostTensor, options: CellForwardOptions = {}): CellForwardResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { h?, c?, gate? }');
    const B = this.checkX(x?.shape);
    const H = this.hiddenSize;
    checkHost('x', x, [B, this.inputSize]);
    this.checkStateKinds(options.c !== undefined, options.gate !== undefined);
    if (options.h !== undefined) checkHost('h', options.h, [B, H]);
    if (options.c !== undefined) checkHost('c', options.c, [B, H]);
    if (options.gate !== undefined) checkHost('gate', options.gate, [B]);
    const arena = this.arena;
    this.lastStep = null;
    arena.reset();
    const up = (t: HostTensor | undefined) => {
      if (!t) return undefined;
      const tensor = new Tensor(this.rt.mem, arena.alloc(t.data.length * 4), [...t.shape]);
      tensor.set(t.data);
      return tensor;
    };
    const r = this.forwardDevice({ x: up(x)!, h: up(options.h), c: up(options.c), gate: up(options.gate), arena });
    this.lastStep = r.step;
    this.backwardDone = false;
    return { h: r.h.toHost(), ...(r.c ? { c: r.c.toHost() } : {}) };
  }

  backward(args: CellBackwardArgs = {}): CellBackwardResult {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { dH?, dC?, inputGrad? }');
    const step = this.lastStep;
    if (!step) throw new Error('backward() needs a preceding forward()');
    if (this.backwardDone) throw secondBackwardError(this.constructor.name);
    const shape = [step.batch, this.hiddenSize];
    if (args.dC !== undefined && !this.shape.hasCellState) throw new Error('dC is only accepted by LSTMCell');
    if (args.dH !== undefined) checkHost('dH', args.dH, shape);
    if (args.dC !== undefined) checkHost('dC', args.dC, shape);
    const up = (t: HostTensor | undefined) => {
      if (!t) return undefined;
      const tensor = new Tensor(this.rt.mem, step.arena.alloc(t.data.length * 4), [...t.shape]);
      tensor.set(t.data);
      return tensor;
    };
    const r = this.backwardDevice(step, { dH: up(args.dH), dC: up(args.dC), inputGrad: args.inputGrad });
    this.backwardDone = true;
    return {
      ...(r.dx ? { dx: r.dx.toHost() } : {}), dh: r.dh.toHost(),
      ...(r.dc ? { dc: r.dc.toHost() } : {}), ...(r.dGate ? { dGate: r.dGate.toHost() } : {}),
    };
  }

  // ---- device API --------------------------------------------------------------------

  /** One step over wasm-memory tensors; the returned step is what backwardDevice needs. */
  forwardDevice(args: CellDeviceForwardArgs): CellDeviceForwardResult {
    checkLayerUsable(this, 'forwardDevice');
    checkSameRuntime(this.rt, `${this.constructor.name}.forwardDevice`, { x: args?.x, h: args?.h, c: args?.c, gate: args?.gate, arena: args?.arena });
    if (args === null || typeof args !== 'object') throw new TypeError('forwardDevice expects an object { x, h?, c?, gate?, arena }');
    if (!(args.arena instanceof Arena)) throw new TypeError(`arena must be an Arena, got ${describe(args.arena)}`);
    const B = this.checkX(args.x?.shape);
    const H = this.hiddenSize, G = this.shape.gates;
    this.checkStateKinds(args.c !== undefined, args.gate !== undefined);
    if (args.h !== undefined) checkShape('h', args.h.shape, [B, H]);
    if (args.c !== undefined) checkShape('c', args.c.shape, [B, H]);
    if (args.gate !== undefined) checkShape('gate', args.gate.shape, [B]);
    const { rt } = this;
    const mem = rt.mem;
    const arena = args.arena;
    const p = this.parameterPointers();
    const lstm = this.shape.hasCellState;
    const stateBytes = B * H * 4;
    const sizes = { cell: this.cell, batch: B, inputSize: this.inputSize, hiddenSize: H };
    // Everything the kernel touches is allocated before the call (the arena may grow memory).
    const h = args.h ? args.h.ptr : arena.allocZeroed(stateBytes);
    const c = lstm ? (args.c ? args.c.ptr : arena.allocZeroed(stateBytes)) : 0;
    const hOut = new Tensor(mem, arena.alloc(stateBytes), [B, H]);
    const cOut = lstm ? new Tensor(mem, arena.alloc(stateBytes), [B, H]) : undefined;
    const gates = arena.alloc(B * G * H * 4);
    const extra = this.shape.keepsExtra ? arena.alloc(stateBytes) : 0;
    const work = arena.alloc(cellWorkFloats(rt, { ...sizes, phase: 'forward' }) * 4);
    const gate = args.gate ? args.gate.ptr : 0;
    cellForward(rt, {
      ...sizes, x: args.x.ptr, weightIh: p.wIh, weightHh: p.wHh, biasIh: p.bIh, biasHh: p.bHh,
      h, c, gate, hOut: hOut.ptr, cOut: cOut?.ptr, gates, extra, work,
    });
    const step: CellStep = { cell: this, arena, batch: B, x: args.x.ptr, h, c, gate, gates, extra };
    return { h: hOut, ...(cOut ? { c: cOut } : {}), step };
  }

  /**
   * Backward of one forwardDevice of this cell (its arena not reset since): adds the
   * parameter gradients into the block; returns dx, dh (and dc, dGate) in the step's arena.
   */
  backwardDevice(step: CellStep, args: CellDeviceBackwardArgs = {}): CellDeviceBackwardResult {
    checkLayerUsable(this, 'backwardDevice');
    if (!step || step.cell !== this) throw new Error('backwardDevice() needs a step returned by this cell\'s forwardDevice()');
    if (args === null || typeof args !== 'object') throw new TypeError('backwardDevice expects an object { dH?, dC?, inputGrad? }');
    const { rt } = this;
    const mem = rt.mem;
    const B = step.batch, H = this.hiddenSize, I = this.inputSize;
    if (args.dC !== undefined && !this.shape.hasCellState) throw new Error('dC is only accepted by LSTMCell');
    if (args.dH !== undefined) checkShape('dH', args.dH.shape, [B, H]);
    if (args.dC !== undefined) checkShape('dC', args.dC.shape, [B, H]);
    if (args.inputGrad !== undefined && typeof args.inputGrad !== 'boolean') throw new TypeError('inputGrad must be a boolean');
    const inputGrad = args.inputGrad ?? true;
    const arena = step.arena;
    const p = this.parameterPointers();
    const lstm = this.shape.hasCellState;
    const sizes = { cell: this.cell, batch: B, inputSize: I, hiddenSize: H };
    const dh = new Tensor(mem, arena.alloc(B * H * 4), [B, H]);
    const dc = lstm ? new Tensor(mem, arena.alloc(B * H * 4), [B, H]) : undefined;
    const dGate = this.shape.hasGateInput ? new Tensor(mem, arena.alloc(B * 4), [B]) : undefined;
    const dx = inputGrad ? new Tensor(mem, arena.alloc(B * I * 4), [B, I]) : undefined;
    const work = arena.alloc(cellWorkFloats(rt, { ...sizes, phase: 'backward' }) * 4);
    cellBackward(rt, {
      ...sizes, x: step.x, weightIh: p.wIh, weightHh: p.wHh, h: step.h, c: step.c, gate: step.gate,
      gates: step.gates, extra: step.extra, dhOut: args.dH?.ptr, dcOut: args.dC?.ptr, dx: dx?.ptr,
      dh: dh.ptr, dc: dc?.ptr, dGate: dGate?.ptr,
      gradWeightIh: p.gWIh, gradWeightHh: p.gWHh, gradBiasIh: p.gBIh, gradBiasHh: p.gBHh, work,
    });
    return { ...(dx ? { dx } : {}), dh, ...(dc ? { dc } : {}), ...(dGate ? { dGate } : {}) };
  }

  // ---- internals ---------------------------------------------------------------------

  private parameterPointers() {
    if (this.pointers) return this.pointers;
    const n = this.named;
    const b = this.bias;
    return (this.pointers = {
      wIh: n.valuePtr('weight_ih'), wHh: n.valuePtr('weight_hh'),
      bIh: b ? n.valuePtr('bias_ih') : 0, bHh: b ? n.valuePtr('bias_hh') : 0,
      gWIh: n.gradPtr('weight_ih'), gWHh: n.gradPtr('weight_hh'),
      gBIh: b ? n.gradPtr('bias_ih') : 0, gBHh: b ? n.gradPtr('bias_hh') : 0,
    });
  }

  /** x must be [B, inputSize]; returns B. */
  private checkX(shape: readonly number[] | undefined): number {
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d >= 1) || shape[1] !== this.inputSize) {
      throw new ShapeError(`x must have shape [B, ${this.inputSize}] (B >= 1), got ${Array.isArray(shape) ? `[${shape.join(', ')}]` : String(shape)}`);
    }
    return shape[0];
  }

  private checkStateKinds(hasC: boolean, hasGate: boolean): void {
    if (hasC && !this.shape.hasCellState) throw new Error(`c is only accepted by LSTMCell (this is ${this.constructor.name})`);
    if (hasGate && !this.shape.hasGateInput) throw new Error(`gate is only accepted by AttentionGRUCell (this is ${this.constructor.name})`);
    if (!hasGate && this.shape.hasGateInput) throw new Error('AttentionGRUCell needs gate: [B], the attention weight of each row');
  }
}


export interface RNNCellOptions extends CellOptions {
  /** Default 'tanh'. */
  nonlinearity?: 'tanh' | 'relu';
}

/** torch.nn.RNNCell: h' = act(W_ih x + b_ih + W_hh h + b_hh). */
export class RNNCell extends RecurrentCell {
  readonly nonlinearity: 'tanh' | 'relu';

  static parameterSpecs(options: CellOptions): ParameterSpec[] {
    return cellParameterSpecs(1, options);
  }

  constructor(rt: Runtime, options: RNNCellOptions) {
    super(rt, kindFor('rnn', options), options);
    this.nonlinearity = this.shape.variant!.value as 'tanh' | 'relu';
  }
}

/** torch.nn.LSTMCell: gates i, f, g, o; c' = σ(f)c + σ(i)tanh(g), h' = σ(o)tanh(c'). */
export class LSTMCell extends RecurrentCell {
  static parameterSpecs(options: CellOptions): ParameterSpec[] {
    return cellParameterSpecs(4, options);
  }

  constructor(rt: Runtime, options: CellOptions) {
    super(rt, 'lstm', options);
  }
}

export interface GRUCellOptions extends CellOptions {
  /** Default true (torch.nn.GRUCell); false: the lecture's n = tanh(W_in x + b_in + W_hn (r⊙h) + b_hn). */
  resetAfter?: boolean;
}

/** torch.nn.GRUCell: gates r, z, n; h' = (1-z)n + z h. */
export class GRUCell extends RecurrentCell {
  readonly resetAfter: boolean;

  static parameterSpecs(options: CellOptions): ParameterSpec[] {
    return cellParameterSpecs(3, options);
  }

  constructor(rt: Runtime, options: GRUCellOptions) {
    super(rt, kindFor('gru', options), options);
    this.resetAfter = this.shape.variant!.value as boolean;
  }
}

/**
 * The DMN+ attention GRU (Xiong et al. 2016): gates r, n (two row blocks);
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)),
 * h' = g n + (1-g) h with g [B] given per row (forward's `gate`).
 */
export class AttentionGRUCell extends RecurrentCell {
  static parameterSpecs(options: CellOptions): ParameterSpec[] {
    return cellParameterSpecs(2, options);
  }

  constructor(rt: Runtime, options: CellOptions) {
    super(rt, 'attention_gru', options);
  }
}
