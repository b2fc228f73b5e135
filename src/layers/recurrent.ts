// The shared driver of RNN, LSTM and GRU: torch.nn semantics (names, shapes, defaults,
// packed-sequence lengths, bidirectional layout), parameters in a ParameterBlock, and
// per layer and direction ONE wasm call for the whole forward sequence and one for its
// backward (assembly/{rnn,lstm,gru}.ts).
//
// Two levels of API:
//  * host:   forward(x: HostTensor, {h0, c0, lengths, training}) / backward({dOutput, dHN, dCN}):
//            plain arrays in, copies out; activations live in the layer's own arena.
//  * device: forwardDevice / backwardDevice over Tensor handles in wasm memory with an Arena
//            passed in, so that a model chains layers without copying through JS. Every
//            buffer they return lives in that arena until its next reset().
//
// Truncated BPTT: run chunk after chunk, passing the previous chunk's hN (and cN) as h0 (c0)
// of the next; call backward per chunk and ignore dH0/dC0, so gradients stop at the boundary.
import { checkAllFinite, checkHostTensor, checkFinite, checkShape, checkSize, describe, ShapeError } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import { checkLayerUsable, checkSameRuntime, markDisposed } from '../runtime/lifecycle.js';
import type { Runtime } from '../runtime/runtime.js';
import { ParameterBlock, Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import { Rng } from '../train/rng.js';
import { layerSeed, NamedParameters } from './parameters.js';

import { sequenceDescriptor, type CellDescriptor, type CellKind, type SequenceCellKind } from '../kernels/cell-kinds.js';
import { multiplyInto, sequenceBackward, sequenceForward, sequenceWorkFloats, swapAxes01 } from '../kernels/recurrent.js';

export type { CellKind, SequenceCellKind };

export interface RecurrentOptions {
  inputSize: number;
  hiddenSize: number;
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Default false. */
  bidirectional?: boolean;
  /** Default true: bias_ih and bias_hh (both applied, as in torch). */
  bias?: boolean;
  /** x and output as [B, T, F] instead of [T, B, F] (h0/hN stay [L*D, B, H]). Default false. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode only. Default 0. */
  dropout?: number;
  /** Seed of the initialisation U(-1/sqrt(H), 1/sqrt(H)) and of the dropout masks. Default: random. */
  seed?: number;
  /**
   * Generator of the dropout masks instead of one derived from seed. A model passes its own
   * `rng`, which its checkpoints save, so that a resumed run draws the same masks.
   */
  dropoutRng?: Rng;
  /** An existing block holding `prefix + name` for every spec (one block for a whole model). */
  block?: ParameterBlock;
  /** Name prefix inside a shared block, e.g. 'encoder.'. */
  prefix?: string;
}

export interface RecurrentForwardOptions {
  /** [L*D, B, H]; zeros when absent. */
  h0?: HostTensor;
  /** LSTM only: [L*D, B, H]; zeros when absent. */
  c0?: HostTensor;
  /** [B], each in 1..T (torch's pack_padded_sequence, any order). */
  lengths?: Int32Array;
  /** Overrides the layer's train()/eval() mode for this call. */
  training?: boolean;
}

export interface RecurrentForwardResult {
  /** [T, B, D*H] ([B, T, D*H] when batchFirst); exactly 0 past each sequence's length. */
  output: HostTensor;
  /** [L*D, B, H]: the state after each sequence's last valid step. */
  hN: HostTensor;
  /** LSTM only. */
  cN?: HostTensor;
}

export interface RecurrentBackwardArgs {
  dOutput?: HostTensor;
  dHN?: HostTensor;
  dCN?: HostTensor;
  /** false: skip dx (one [T*B, G*H]x[G*H, I] product per direction), e.g. for one-hot inputs. Default true. */
  inputGrad?: boolean;
  /** Keep the forward's activations so that backward may run again (gradients add up), as torch's retain_graph. Default false. */
  retainGraph?: boolean;
}

export interface RecurrentBackwardResult {
  /** Absent when inputGrad is false. */
  dx?: HostTensor;
  dH0: HostTensor;
  dC0?: HostTensor;
}

/** forward options of GRU and RNN, which have no cell state: passing c0 does not type-check. */
export type StatelessForwardOptions = Omit<RecurrentForwardOptions, 'c0'>;
/** backward arguments of GRU and RNN: passing dCN does not type-check. */
export type StatelessBackwardArgs = Omit<RecurrentBackwardArgs, 'dCN'>;

export interface DeviceForwardArgs {
  /** [T, B, I] ([B, T, I] when batchFirst), in wasm memory. */
  x: Tensor;
  h0?: Tensor;
  c0?: Tensor;
  lengths?: Int32Array;
  training?: boolean;
  /**
   * GRU only: x holds the first layer's input products x · W_ihᵀ (+ nothing else: the biases
   * are still the layer's) for every direction, [T, B, D·3H] (direction d at columns d·3H, the
   * gates in weight_ih's order), as a caller with a cheaper way to make them passes them (the
   * DMN's word tables). The layer then neither reads the first layer's W_ih nor writes its
   * gradient, and backwardDevice's dx is [T, B, D·3H]: the gradient of those products.
   */
  inputProjected?: boolean;
  /** Where outputs and kept activations go; must not be reset before backwardDevice. */
  arena: Arena;
}

export interface DeviceForwardResult {
  output: Tensor;
  hN: Tensor;
  cN?: Tensor;
  /** Training mode: what backwardDevice needs for this call (several calls per step may each be backpropagated). */
  context?: RecurrentContext;
}

export interface DeviceBackwardArgs {
  /** Each optional: absent means a zero upstream gradient. */
  dOutput?: Tensor;
  dHN?: Tensor;
  dCN?: Tensor;
  /** The arena the training forward used (it allocates the gradients here). */
  arena: Arena;
  /** false: skip dx (the input needs no gradient). Default true. */
  inputGrad?: boolean;
  /** Keep the activations for another backward (gradients add up). Default false: a second backward throws. */
  retainGraph?: boolean;
  /** The forward to backpropagate (its result's context); default: the layer's last training forward. */
  context?: RecurrentContext;
}

export interface DeviceBackwardResult {
  /** Absent when inputGrad is false. */
  dx?: Tensor;
  dH0: Tensor;
  dC0?: Tensor;
}

interface DirectionParams {
  wIh: number; wHh: number; bIh: number; bHh: number;
  gWIh: number; gWHh: number; gBIh: number; gBHh: number;
}

/** What one layer-direction keeps from a training forward for its backward (see kernels/cell-kinds.ts). */
interface KeptDirection {
  gates: number;
  hprev: number;
  /** LSTM: c_{t-1}; else 0. */
  cprev: number;
  /** GRU: W_hn h + b_hn (reset-after) or r⊙h (reset-before); else 0. */
  extra: number;
}

interface KeptLayer {
  /** Time-first input of the layer as the kernels saw it (after dropout). */
  input: number;
  inputSize: number;
  /** Dropout mask applied to this layer's input (scaled by 1/(1-p)), or 0. */
  mask: number;
  dirs: KeptDirection[];
}

/** What a training forwardDevice keeps for its backward (in its arena); pass it to backwardDevice. */
export interface RecurrentContext {
  readonly layer: RecurrentLayer;
  T: number;
  B: number;
  lengths: number;
  arena: Arena;
  layers: KeptLayer[];
  /** The forward's inputProjected: layer 0's input is D·G·H products wide. */
  inputProjected: boolean;
  /** Set by a backward without retainGraph: a second pass would add the gradients twice. */
  consumed: boolean;
}


/** Parameter names and shapes, in torch's state_dict order. */
export function recurrentParameterSpecs(gates: number, options: RecurrentOptions): ParameterSpec[] {
  const c = resolveSizes(options);
  const specs: ParameterSpec[] = [];
  for (let k = 0; k < c.L; k++) {
    for (let d = 0; d < c.D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      const inSize = k === 0 ? c.I : c.D * c.H;
      specs.push({ name: `weight_ih${sfx}`, shape: [gates * c.H, inSize] });
      specs.push({ name: `weight_hh${sfx}`, shape: [gates * c.H, c.H] });
      if (c.bias) {
        specs.push({ name: `bias_ih${sfx}`, shape: [gates * c.H] });
        specs.push({ name: `bias_hh${sfx}`, shape: [gates * c.H] });
      }
    }
  }
  return specs;
}

function resolveSizes(o: RecurrentOptions) {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object with inputSize and hiddenSize');
  const I = checkSize('inputSize', o.inputSize, 1);
  const H = checkSize('hiddenSize', o.hiddenSize, 1);
  const L = checkSize('numLayers', o.numLayers ?? 1, 1);
  for (const flag of ['bidirectional', 'bias', 'batchFirst'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new TypeError(`${flag} must be a boolean, got ${typeof o[flag]}`);
  }
  const dropout = checkFinite('dropout', o.dropout ?? 0);
  if (dropout < 0 || dropout >= 1) throw new RangeError(`dropout must be in [0, 1), got ${dropout}`);
  return { I, H, L, D: o.bidirectional ? 2 : 1, bias: o.bias ?? true, batchFirst: o.batchFirst ?? false, dropout };
}

export class RecurrentLayer {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly gateCount: number;
  /** The cell kind's descriptor: gates, kept buffers, kernels. */
  readonly kind: CellDescriptor;
  /** The block holding the parameters (shared with a model, or the layer's own). */
  readonly block: ParameterBlock;
  /** Prefix of this layer's names inside block. */
  readonly prefix: string;
  /** train() / eval(); forward's `training` option overrides it per call. */
  training = true;

  private readonly D: number;
  private readonly params: NamedParameters;
  private readonly dropoutRng: Rng;
  /** Arena of the host-level API (forward/backward): reset at each host forward. */
  private hostArena: Arena | null = null;
  private ctx: RecurrentContext | null = null;

  constructor(
    readonly rt: Runtime,
    readonly cell: SequenceCellKind,
    options: RecurrentOptions,
  ) {
    const c = resolveSizes(options);
    // Checked before the parameters are allocated: nothing to undo on this error.
    if (options.dropoutRng !== undefined && typeof options.dropoutRng?.uniform !== 'function') throw new TypeError('dropoutRng must be an Rng (e.g. a model\'s rng)');
    this.inputSize = c.I;
    this.hiddenSize = c.H;
    this.numLayers = c.L;
    this.D = c.D;
    this.bidirectional = c.D === 2;
    this.bias = c.bias;
    this.batchFirst = c.batchFirst;
    this.dropout = c.dropout;
    this.kind = sequenceDescriptor(cell);
    this.gateCount = this.kind.gates;
    this.params = new NamedParameters(rt, recurrentParameterSpecs(this.gateCount, options), { block: options.block, prefix: options.prefix, label: this.label });
    this.block = this.params.block;
    this.prefix = this.params.prefix;
    const seed = layerSeed(options.seed);
    const rng = new Rng(seed);
    const own = rng.split(); // drawn either way, so that the initialisation does not depend on dropoutRng
    this.dropoutRng = options.dropoutRng ?? own;
    this.resetParameters(rng);
  }

  /** Names the layer in errors, e.g. 'LSTM(inputSize 3, hiddenSize 30000)'. */
  get label(): string {
    return `${this.kind.layerName}(inputSize ${this.inputSize}, hiddenSize ${this.hiddenSize}${this.numLayers > 1 ? `, numLayers ${this.numLayers}` : ''}${this.bidirectional ? ', bidirectional' : ''})`;
  }

  /** torch.nn's default initialisation: every parameter U(-1/sqrt(H), 1/sqrt(H)), in state_dict order. */
  resetParameters(rng: { uniform(): number }): void {
    this.params.initUniform(1 / Math.sqrt(this.hiddenSize), rng);
  }

  train(): this {
    this.training = true;
    return this;
  }

  eval(): this {
    this.training = false;
    return this;
  }

  /** torch state_dict names (without the block prefix) and shapes. */
  parameterNames(): string[] {
    return this.params.names();
  }

  /** Copies of every parameter by torch name. */
  stateDict(): Record<string, HostTensor> {
    checkLayerUsable(this, 'stateDict');
    return this.params.stateDict();
  }

  /**
   * Loads torch state_dict tensors (names without a prefix). Every expected tensor must be
   * present with its exact shape, and nothing else (a `__metadata__` entry is ignored).
   */
  loadStateDict(dict: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    checkLayerUsable(this, 'loadStateDict');
    this.params.loadStateDict(dict);
  }

  /** Copies of the accumulated gradients by torch name. */
  gradients(): Record<string, HostTensor> {
    checkLayerUsable(this, 'gradients');
    return this.params.gradients();
  }

  /** Zeroes this layer's gradients (only its own tensors when the block is shared). */
  zeroGrad(): void {
    checkLayerUsable(this, 'zeroGrad');
    this.params.zeroGrad();
  }

  /** Bytes of the host API's arena at its high-water mark (activations of one training step). */
  get arenaHighWater(): number {
    return this.hostArena?.highWater ?? 0;
  }

  /** The host API's arena (for memory reports and flatness checks). */
  get arena(): Arena {
    if (!this.hostArena) this.hostArena = new Arena(this.rt.mem, 0, `${this.label} activations`);
    return this.hostArena;
  }

  /** Frees the layer's own memory; a second dispose is a no-op, every other later use throws. */
  dispose(): void {
    if (!markDisposed(this)) return;
    this.hostArena?.dispose();
    this.hostArena = null;
    this.ctx = null;
    this.params.dispose();
  }

  // ---- host API ----------------------------------------------------------------------

  forward(x: HostTensor, options: RecurrentForwardOptions = {}): RecurrentForwardResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { h0?, c0?, lengths?, training? }');
    const { T, B } = this.checkInputShape('x', x?.shape);
    checkHostTensor('x', x);
    checkFiniteData('x', x.data);
    const LD = this.numLayers * this.D, H = this.hiddenSize;
    checkHostInput('h0', options.h0, LD, B, H);
    if (options.c0 !== undefined && !this.kind.hasCellState) throw new Error('c0 is only accepted by LSTM');
    checkHostInput('c0', options.c0, LD, B, H);
    this.checkLengths(options.lengths, T, B);
    const arena = this.arena;
    this.ctx = null;
    arena.reset();
    const xt = this.upload(arena, x);
    const h0 = options.h0 ? this.upload(arena, options.h0) : undefined;
    const c0 = options.c0 ? this.upload(arena, options.c0) : undefined;
    // Everything forwardDevice validates was checked above (the uploads lie in the arena).
    const r = this.forwardRun(T, B, { x: xt, h0, c0, lengths: options.lengths, training: options.training, arena });
    return { output: r.output.toHost(), hN: r.hN.toHost(), ...(r.cN ? { cN: r.cN.toHost() } : {}) };
  }

  backward(args: RecurrentBackwardArgs = {}): RecurrentBackwardResult {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { dOutput?, dHN?, dCN? }');
    const ctx = this.ctx;
    if (!ctx || ctx.arena !== this.hostArena) {
      if (this.backwardDone) throw this.secondBackwardError('backward');
      throw new Error('backward() needs a preceding forward() in training mode (call train() or pass { training: true })');
    }
    const { T, B } = ctx;
    const H = this.hiddenSize;
    const LD = this.numLayers * this.D;
    if (args.dCN !== undefined && !this.kind.hasCellState) throw new Error('dCN is only accepted by LSTM');
    checkHostInput('dOutput', args.dOutput, this.batchFirst ? B : T, this.batchFirst ? T : B, this.D * H);
    checkHostInput('dHN', args.dHN, LD, B, H);
    checkHostInput('dCN', args.dCN, LD, B, H);
    const arena = ctx.arena;
    const dOutput = args.dOutput ? this.upload(arena, args.dOutput) : undefined;
    const dHN = args.dHN ? this.upload(arena, args.dHN) : undefined;
    const dCN = args.dCN ? this.upload(arena, args.dCN) : undefined;
    const r = this.backwardDevice({ dOutput, dHN, dCN, arena, inputGrad: args.inputGrad, retainGraph: args.retainGraph });
    return { ...(r.dx ? { dx: r.dx.toHost() } : {}), dH0: r.dH0.toHost(), ...(r.dC0 ? { dC0: r.dC0.toHost() } : {}) };
  }

  // ---- device API --------------------------------------------------------------------

  /**
   * Forward over wasm-memory tensors. Training mode keeps the activations BPTT needs in
   * args.arena (until its next reset) for backwardDevice; inference keeps nothing.
   */
  forwardDevice(args: DeviceForwardArgs): DeviceForwardResult {
    checkLayerUsable(this, 'forwardDevice');
    this.checkRuntimeOf('forwardDevice', 'x', args?.x);
    this.checkRuntimeOf('forwardDevice', 'h0', args?.h0);
    this.checkRuntimeOf('forwardDevice', 'c0', args?.c0);
    this.checkRuntimeOf('forwardDevice', 'arena', args?.arena);
    const { rt, D } = this;
    const H = this.hiddenSize, L = this.numLayers;
    const mem = rt.mem;
    if (args.inputProjected !== undefined && typeof args.inputProjected !== 'boolean') throw new TypeError(`inputProjected must be a boolean, got ${typeof args.inputProjected}`);
    if (args.inputProjected && this.kind.name !== 'gru') throw new TypeError(`inputProjected is only accepted by GRU layers, not ${this.kind.layerName}`);
    const { T, B } = this.checkInputShape('x', args.x?.shape, args.inputProjected === true);
    mem.checkRange('x', args.x.ptr, args.x.bytes);
    if (args.c0 !== undefined && !this.kind.hasCellState) throw new Error('c0 is only accepted by LSTM');
    checkDeviceTensor(mem, 'h0', args.h0, L * D, B, H);
    checkDeviceTensor(mem, 'c0', args.c0, L * D, B, H);
    this.checkLengths(args.lengths, T, B);
    return this.forwardRun(T, B, args);
  }

  /** forwardDevice after validation (shapes, ranges and lengths checked by the caller). */
  private forwardRun(T: number, B: number, args: DeviceForwardArgs): DeviceForwardResult {
    const { rt, D } = this;
    const H = this.hiddenSize, L = this.numLayers, G = this.gateCount;
    const mem = rt.mem;
    const stateShape = [L * D, B, H];
    if (args.training !== undefined && typeof args.training !== 'boolean') throw new TypeError(`training must be a boolean, got ${typeof args.training}`);
    const training = args.training ?? this.training;
    const arena = args.arena;
    const isLstm = this.kind.hasCellState;
    this.ctx = null;
    this.backwardDone = false;

    const stateBytes = L * D * B * H * 4;
    const h0 = args.h0 ? args.h0.ptr : arena.allocZeroed(stateBytes);
    const c0 = isLstm ? (args.c0 ? args.c0.ptr : arena.allocZeroed(stateBytes)) : 0;
    const hN = new Tensor(mem, arena.alloc(stateBytes), stateShape);
    const cN = isLstm ? new Tensor(mem, arena.alloc(stateBytes), stateShape) : undefined;
    const lengths = this.uploadLengths(arena, args.lengths);
    const projected = args.inputProjected === true;
    const width0 = projected ? this.projectedInputSize : this.inputSize;
    let input = args.x.ptr;
    if (this.batchFirst) {
      input = arena.alloc(T * B * width0 * 4);
      swapAxes01(rt, { d0: B, d1: T, features: width0, src: args.x.ptr, dst: input });
    }

    const rows = T * B;
    const outBytes = rows * D * H * 4;
    const work = arena.alloc(this.forwardWorkFloats(B, projected) * 4);
    // Inference: one gates scratch and two ping-pong layer outputs, whatever L and D.
    const scratchGates = training ? 0 : arena.alloc(rows * G * H * 4);
    const pingPong = training ? [] : [arena.alloc(outBytes), L > 1 ? arena.alloc(outBytes) : 0];
    const kept: KeptLayer[] = [];
    let out = 0;
    for (let k = 0; k < L; k++) {
      const inSize = k === 0 ? width0 : D * H;
      // A projected first layer: each direction reads its G*H columns of the products.
      const dirIn = k === 0 && projected ? G * H : inSize;
      let mask = 0;
      if (k > 0 && training && this.dropout > 0) {
        mask = this.dropoutMask(arena, rows * inSize);
        const dropped = arena.alloc(rows * inSize * 4);
        multiplyInto(rt, { n: rows * inSize, a: input, b: mask, out: dropped });
        input = dropped;
      }
      out = training ? arena.alloc(outBytes) : pingPong[k % 2];
      const dirs: KeptDirection[] = [];
      for (let d = 0; d < D; d++) {
        const p = this.directionParams(k, d);
        const kd = (k * D + d) * B * H * 4;
        const rowsH = rows * H * 4;
        const keep: KeptDirection = training
          ? { gates: arena.alloc(rows * G * H * 4), hprev: arena.alloc(rowsH), cprev: isLstm ? arena.alloc(rowsH) : 0, extra: this.kind.keepsExtra ? arena.alloc(rowsH) : 0 }
          : { gates: scratchGates, hprev: 0, cprev: 0, extra: 0 };
        const proj = k === 0 && projected;
        sequenceForward(rt, {
          cell: this.cell, steps: T, batch: B, inputSize: dirIn, hiddenSize: H, x: proj ? input + d * dirIn * 4 : input, ldx: inSize, inputProjected: proj,
          weightIh: proj ? 0 : p.wIh, weightHh: p.wHh, biasIh: p.bIh, biasHh: p.bHh, h0: h0 + kd, c0: isLstm ? c0 + kd : 0, lengths, reverse: d === 1,
          output: out + d * H * 4, ldout: D * H, hN: hN.ptr + kd, cN: isLstm ? cN!.ptr + kd : 0,
          gates: keep.gates, hprev: keep.hprev, cprev: keep.cprev, extra: keep.extra, work,
        });
        dirs.push(keep);
      }
      kept.push({ input, inputSize: inSize, mask, dirs });
      input = out;
    }
    let output = new Tensor(mem, out, [T, B, D * H]);
    if (this.batchFirst) {
      output = new Tensor(mem, arena.alloc(outBytes), [B, T, D * H]);
      swapAxes01(rt, { d0: T, d1: B, features: D * H, src: out, dst: output.ptr });
    }
    if (!training) return { output, hN, ...(cN ? { cN } : {}) };
    const context: RecurrentContext = { layer: this, T, B, lengths, arena, layers: kept, inputProjected: projected, consumed: false };
    this.ctx = context;
    return { output, hN, ...(cN ? { cN } : {}), context };
  }

  /**
   * BPTT of a training forwardDevice (args.context, or the last one; its arena not reset
   * since). Adds the parameter gradients into the block's gradient half; returns dx, dH0
   * (and dC0). Any number of forwards may share a step, each backpropagated once.
   */
  backwardDevice(args: DeviceBackwardArgs): DeviceBackwardResult {
    checkLayerUsable(this, 'backwardDevice');
    this.checkRuntimeOf('backwardDevice', 'dOutput', args?.dOutput);
    this.checkRuntimeOf('backwardDevice', 'dHN', args?.dHN);
    this.checkRuntimeOf('backwardDevice', 'dCN', args?.dCN);
    this.checkRuntimeOf('backwardDevice', 'arena', args?.arena);
    if (args.context !== undefined && args.context?.layer !== this) throw new Error('backwardDevice() context must come from this layer\'s forwardDevice()');
    const ctx = args.context ?? this.ctx;
    if ((!ctx && this.backwardDone) || (ctx && ctx.consumed)) throw this.secondBackwardError('backwardDevice');
    if (!ctx) throw new Error('backwardDevice() needs a preceding forwardDevice() in training mode');
    if (args.arena !== ctx.arena) throw new Error('backwardDevice() must use the arena of its training forward');
    const { rt, D } = this;
    const mem = rt.mem;
    const H = this.hiddenSize, L = this.numLayers, G = this.gateCount;
    const { T, B, lengths, arena } = ctx;
    const rows = T * B;
    const stateShape = [L * D, B, H];
    if (args.dCN !== undefined && !this.kind.hasCellState) throw new Error('dCN is only accepted by LSTM');
    checkDeviceTensor(mem, 'dOutput', args.dOutput, this.batchFirst ? B : T, this.batchFirst ? T : B, D * H);
    checkDeviceTensor(mem, 'dHN', args.dHN, L * D, B, H);
    checkDeviceTensor(mem, 'dCN', args.dCN, L * D, B, H);
    if (args.inputGrad !== undefined && typeof args.inputGrad !== 'boolean') throw new TypeError('inputGrad must be a boolean');
    if (args.retainGraph !== undefined && typeof args.retainGraph !== 'boolean') throw new TypeError('retainGraph must be a boolean');
    // Consumed now, before any kernel: without retainGraph a second backward would add the gradients twice.
    if (!args.retainGraph) {
      ctx.consumed = true;
      if (ctx === this.ctx) {
        this.ctx = null;
        this.backwardDone = true;
      }
    }
    const inputGrad = args.inputGrad ?? true;
    const isLstm = this.kind.hasCellState;
    let dOut = args.dOutput ? args.dOutput.ptr : 0;
    if (dOut !== 0 && this.batchFirst) {
      dOut = arena.alloc(rows * D * H * 4);
      swapAxes01(rt, { d0: B, d1: T, features: D * H, src: args.dOutput!.ptr, dst: dOut });
    }
    const stateBytes = L * D * B * H * 4;
    const dH0 = new Tensor(mem, arena.alloc(stateBytes), stateShape);
    const dC0 = isLstm ? new Tensor(mem, arena.alloc(stateBytes), stateShape) : undefined;
    const dHN = args.dHN ? args.dHN.ptr : 0;
    const dCN = args.dCN ? args.dCN.ptr : 0;
    const work = arena.alloc(this.backwardWorkFloats(B, ctx.inputProjected) * 4);
    const dgates = arena.alloc(rows * G * H * 4);
    const dgn = this.kind.needsDgn ? arena.alloc(rows * H * 4) : 0;
    let dIn = 0;
    for (let k = L - 1; k >= 0; k--) {
      const layer = ctx.layers[k];
      const inSize = layer.inputSize;
      const proj = k === 0 && ctx.inputProjected;
      const dirIn = proj ? G * H : inSize;
      dIn = k > 0 || inputGrad ? arena.alloc(rows * inSize * 4) : 0;
      for (let d = 0; d < D; d++) {
        const p = this.directionParams(k, d);
        const keep = layer.dirs[d];
        const kd = (k * D + d) * B * H * 4;
        const dO = dOut === 0 ? 0 : dOut + d * H * 4;
        // A projected first layer: each direction's products (and their gradient) are its own columns.
        const col = proj ? d * dirIn * 4 : 0;
        sequenceBackward(rt, {
          cell: this.cell, steps: T, batch: B, inputSize: dirIn, hiddenSize: H, x: layer.input + col, ldx: inSize, inputProjected: proj,
          weightIh: proj ? 0 : p.wIh, weightHh: p.wHh, lengths, reverse: d === 1, gates: keep.gates, hprev: keep.hprev, cprev: keep.cprev, extra: keep.extra,
          dOutput: dO, lddout: D * H, dhN: dHN === 0 ? 0 : dHN + kd, dcN: dCN === 0 ? 0 : dCN + kd,
          dx: dIn === 0 ? 0 : dIn + col, lddx: inSize, dxAccumulate: d === 1 && !proj, dh0: dH0.ptr + kd, dc0: isLstm ? dC0!.ptr + kd : 0,
          gradWeightIh: proj ? 0 : p.gWIh, gradWeightHh: p.gWHh, gradBiasIh: p.gBIh, gradBiasHh: p.gBHh, dgates, dgn, work,
        });
      }
      if (layer.mask !== 0) multiplyInto(rt, { n: rows * inSize, a: dIn, b: layer.mask, out: dIn });
      dOut = dIn;
    }
    if (!inputGrad) return { dH0, ...(dC0 ? { dC0 } : {}) };
    const width0 = ctx.layers[0].inputSize;
    let dx = new Tensor(mem, dIn, [T, B, width0]);
    if (this.batchFirst) {
      dx = new Tensor(mem, arena.alloc(rows * width0 * 4), [B, T, width0]);
      swapAxes01(rt, { d0: T, d1: B, features: width0, src: dIn, dst: dx.ptr });
    }
    return { dx, dH0, ...(dC0 ? { dC0 } : {}) };
  }

  // ---- internals ---------------------------------------------------------------------

  /** Set when a backward consumed the last forward's activations (no retainGraph). */
  private backwardDone = false;
  /** checkSameRuntime for one argument, its message built only when it fails. */
  private checkRuntimeOf(action: string, name: string, value: { mem: unknown } | undefined): void {
    if (value !== undefined && value !== null && value.mem !== this.rt.mem) {
      checkSameRuntime(this.rt, `${this.constructor.name}.${action}`, { [name]: value as Tensor });
    }
  }

  private secondBackwardError(call: string): Error {
    return new Error(`${call}() was already called after the last forward: its activations are consumed and a second pass would add the gradients twice; run forward again, or pass { retainGraph: true } to the first ${call}()`);
  }
  /** Work sizes by batch size (fixed per layer: the kernels' formulas depend on B, H, I only). */
  private workFloats = new Map<number, { forward: number; backward: number }>();

  private forwardWorkFloats(B: number, projected = false): number {
    return projected ? this.projectedWorkSizes(B).forward : this.workSizes(B).forward;
  }

  private backwardWorkFloats(B: number, projected = false): number {
    return projected ? this.projectedWorkSizes(B).backward : this.workSizes(B).backward;
  }

  /**
   * The first layer's W_ih [G*H, inputSize] of each direction, value and gradient byte
   * pointers: what a caller that passes inputProjected multiplies by, and accumulates into.
   */
  inputWeights(): { weight: number; grad: number }[] {
    return Array.from({ length: this.D }, (_, d) => ({ weight: this.directionParams(0, d).wIh, grad: this.directionParams(0, d).gWIh }));
  }

  /** inputProjected's x width: every direction's G*H products. */
  get projectedInputSize(): number {
    return this.D * this.gateCount * this.hiddenSize;
  }

  /** Work sizes of an inputProjected call (the kernels then see inputSize = G*H). */
  private projectedWorkFloats = new Map<number, { forward: number; backward: number }>();

  private projectedWorkSizes(B: number): { forward: number; backward: number } {
    let w = this.projectedWorkFloats.get(B);
    if (!w) {
      const GH = this.gateCount * this.hiddenSize;
      const floats = (I: number, phase: 'forward' | 'backward') => sequenceWorkFloats(this.rt, { cell: this.cell, phase, batch: B, inputSize: I, hiddenSize: this.hiddenSize });
      const plain = this.workSizes(B);
      w = { forward: Math.max(plain.forward, floats(GH, 'forward')), backward: Math.max(plain.backward, floats(GH, 'backward')) };
      this.projectedWorkFloats.set(B, w);
    }
    return w;
  }

  private workSizes(B: number): { forward: number; backward: number } {
    let w = this.workFloats.get(B);
    if (!w) this.workFloats.set(B, (w = { forward: this.computeForwardWorkFloats(B), backward: this.computeBackwardWorkFloats(B) }));
    return w;
  }

  private computeForwardWorkFloats(B: number): number {
    const H = this.hiddenSize;
    const floats = (I: number) => sequenceWorkFloats(this.rt, { cell: this.cell, phase: 'forward', batch: B, inputSize: I, hiddenSize: H });
    // Enough for every layer's input projection (layers after the first take D*H inputs).
    return this.numLayers > 1 ? Math.max(floats(this.inputSize), floats(this.D * H)) : floats(this.inputSize);
  }

  private computeBackwardWorkFloats(B: number): number {
    return sequenceWorkFloats(this.rt, { cell: this.cell, phase: 'backward', batch: B, inputSize: this.inputSize, hiddenSize: this.hiddenSize });
  }

  /** Parameter pointers per layer and direction (fixed for the block's lifetime), built on first use. */
  private dirParams: DirectionParams[] = [];

  private directionParams(k: number, d: number): DirectionParams {
    return (this.dirParams[k * this.D + d] ??= this.lookUpDirectionParams(k, d));
  }

  private lookUpDirectionParams(k: number, d: number): DirectionParams {
    const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
    const b = this.block;
    const name = (n: string) => this.prefix + n + sfx;
    return {
      wIh: b.value(name('weight_ih')).ptr,
      wHh: b.value(name('weight_hh')).ptr,
      bIh: this.bias ? b.value(name('bias_ih')).ptr : 0,
      bHh: this.bias ? b.value(name('bias_hh')).ptr : 0,
      gWIh: b.grad(name('weight_ih')).ptr,
      gWHh: b.grad(name('weight_hh')).ptr,
      gBIh: this.bias ? b.grad(name('bias_ih')).ptr : 0,
      gBHh: this.bias ? b.grad(name('bias_hh')).ptr : 0,
    };
  }

  /** Validates an input shape against inputSize and batchFirst; returns T and B. */
  private checkInputShape(name: string, shape: readonly number[] | undefined, projected = false): { T: number; B: number } {
    const width = projected ? this.projectedInputSize : this.inputSize;
    const what = projected ? 'D*3H (inputProjected)' : 'inputSize';
    const layout = this.batchFirst ? `[B, T, ${what}]` : `[T, B, ${what}]`;
    if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ShapeError(`${name} must have shape ${layout} with every dimension >= 1, got ${Array.isArray(shape) ? `[${shape.join(', ')}]` : String(shape)}`);
    }
    if (shape[2] !== width) {
      throw new ShapeError(`${name} must have shape ${layout} with ${what} ${width}, got [${shape.join(', ')}]`);
    }
    return this.batchFirst ? { T: shape[1], B: shape[0] } : { T: shape[0], B: shape[1] };
  }

  private checkLengths(lengths: Int32Array | undefined, T: number, B: number): void {
    if (lengths === undefined) return;
    if (!(lengths instanceof Int32Array)) throw new TypeError(`lengths must be an Int32Array of ${B} values, got ${describe(lengths)}`);
    if (lengths.length !== B) throw new ShapeError(`lengths must have ${B} values (the batch size), got ${lengths.length}`);
    for (let b = 0; b < B; b++) {
      if (lengths[b] < 1 || lengths[b] > T) throw new RangeError(`lengths[${b}] must be in 1..${T} (the sequence length), got ${lengths[b]}`);
    }
  }

  private uploadLengths(arena: Arena, lengths: Int32Array | undefined): number {
    if (!lengths) return 0;
    const p = arena.alloc(lengths.length * 4);
    this.rt.mem.i32(p, lengths.length).set(lengths);
    return p;
  }

  private upload(arena: Arena, t: HostTensor): Tensor {
    const tensor = new Tensor(this.rt.mem, arena.alloc(t.data.length * 4), [...t.shape]);
    tensor.set(t.data);
    return tensor;
  }

  /** Inverted-dropout mask: 0 with probability p, else 1/(1-p). */
  private dropoutMask(arena: Arena, n: number): number {
    const p = arena.alloc(n * 4);
    const v = this.rt.mem.f32(p, n);
    const keepScale = 1 / (1 - this.dropout);
    for (let i = 0; i < n; i++) v[i] = this.dropoutRng.uniform() < this.dropout ? 0 : keepScale;
    return p;
  }
}

/**
 * checkAllFinite for Float32Array data, fast path first: x*0 is 0 for every finite x and NaN
 * otherwise, summed in four independent chains (about 2.5x faster than a per-element
 * Number.isFinite test). On a miss the plain scan throws the usual error.
 */
function checkFiniteData(name: string, d: Float32Array): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n = d.length, n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    s0 += d[i] * 0;
    s1 += d[i + 1] * 0;
    s2 += d[i + 2] * 0;
    s3 += d[i + 3] * 0;
  }
  for (; i < n; i++) s0 += d[i] * 0;
  if (s0 + s1 + s2 + s3 !== 0) checkAllFinite(name, d);
}

/** An optional host tensor of shape [d0, d1, d2] with finite data. */
function checkHostInput(name: string, t: HostTensor | undefined, d0: number, d1: number, d2: number): void {
  if (t === undefined) return;
  checkHostTensor(name, t);
  const s = t.shape;
  if (s.length !== 3 || s[0] !== d0 || s[1] !== d1 || s[2] !== d2) checkShape(name, s, [d0, d1, d2]);
  checkFiniteData(name, t.data);
}

/** An optional device tensor of shape [d0, d1, d2] inside wasm memory (the shape array is only built for the message). */
function checkDeviceTensor(mem: Runtime['mem'], name: string, t: Tensor | undefined, d0: number, d1: number, d2: number): void {
  if (t === undefined) return;
  const s = t.shape;
  if (s.length !== 3 || s[0] !== d0 || s[1] !== d1 || s[2] !== d2) checkShape(name, s, [d0, d1, d2]);
  mem.checkRange(name, t.ptr, t.bytes);
}

