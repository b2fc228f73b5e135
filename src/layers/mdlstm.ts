// MDLSTM: a 2-D LSTM over a grid (Graves et al. 2007), one or several scan directions
// merged by concatenation or sum (DESIGN.md's contract; cell and direction conventions of
// ../shared/golden/FORMAT.md §9). Per direction ONE wasm call runs the whole grid forward in
// wavefront order, and one its backward (assembly/mdlstm.ts through src/kernels/mdlstm.ts).
//
//   x: [B, R, C, I] -> output, cell: [B, R, C, D*H] (concat, in the order of `directions`)
//                                     or [B, R, C, H] (sum)
// Parameters per direction k (the scan's start corner): weight_ih_d{k} [5H, I],
// weight_hh_d{k} [5H, 2H] (columns [0,H) the row predecessor's h, [H,2H) the column
// predecessor's), bias_d{k} [5H]; gate rows i, f_row, f_col, g, o.
//
// Host API: forward(x) / backward({ dOutput, dCell }) on plain arrays (copies out; the
// activations live in the layer's own arena). Device API: forwardDevice / backwardDevice on
// wasm tensors with an arena passed in, and `mdlstm(tape, layer, x)` for models on a Tape.
import { checkAllFinite, checkHostTensor, checkShape, describe, checkSize, ShapeError, shapeSize } from '../runtime/check.js';
import { checkLayerUsable, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { ParameterBlock, Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import { axpy } from '../kernels/elementwise.js';
import { mdlstmBackward, mdlstmBufferFloats, mdlstmForward, type MdlstmKept } from '../kernels/mdlstm.js';
import { Rng } from '../train/rng.js';
import { Variable, type Tape } from '../train/tape.js';
import { layerSeed, ParameterLayer } from './parameters.js';

export type MdlstmMerge = 'concat' | 'sum';
export type MdlstmDirection = 0 | 1 | 2 | 3;

export interface MDLSTMOptions {
  inputSize: number;
  hiddenSize: number;
  /** Default true: one bias per direction, bias_d{k}. */
  bias?: boolean;
  /** Scan start corners (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right), distinct; default [0, 1, 2, 3]. */
  directions?: readonly number[];
  /** How the directions' h and c are merged; default 'concat'. */
  merge?: MdlstmMerge;
  /** One recurrent product per cell instead of one per anti-diagonal (same results; for benchmarks). Default false. */
  cellByCell?: boolean;
  /** Seed of the initialisation U(-1/sqrt(H), 1/sqrt(H)). Default: random. */
  seed?: number;
  /** An existing block holding `prefix + name` for every spec (one block for a whole model). */
  block?: ParameterBlock;
  prefix?: string;
}

export interface MDLSTMForwardResult {
  output: HostTensor;
  cell: HostTensor;
}

export interface MDLSTMBackwardArgs {
  /** Gradient of output. */
  dOutput: HostTensor;
  /** Gradient of cell; absent: zero. */
  dCell?: HostTensor;
  /** false: skip dx. Default true. */
  inputGrad?: boolean;
}

export interface MDLSTMDeviceForwardArgs {
  /** [B, R, C, I] in wasm memory. */
  x: Tensor;
  training?: boolean;
  arena: Arena;
}

export interface MDLSTMDeviceBackwardArgs {
  dOutput?: Tensor;
  dCell?: Tensor;
  arena: Arena;
  inputGrad?: boolean;
}

interface ForwardContext {
  B: number;
  R: number;
  C: number;
  arena: Arena;
  kept: MdlstmKept[];
}

interface DirectionParams { wIh: number; wHh: number; bias: number; gWIh: number; gWHh: number; gBias: number }

function resolveOptions(o: MDLSTMOptions) {
  if (o === null || typeof o !== 'object') throw new TypeError('MDLSTM options must be an object with inputSize and hiddenSize');
  const I = checkSize('inputSize', o.inputSize, 1);
  const H = checkSize('hiddenSize', o.hiddenSize, 1);
  for (const flag of ['bias', 'cellByCell'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new TypeError(`${flag} must be a boolean, got ${typeof o[flag]}`);
  }
  const directions = o.directions ?? [0, 1, 2, 3];
  if (!Array.isArray(directions) || directions.length === 0 || directions.length > 4) {
    throw new RangeError(`directions must be a non-empty array of distinct values from 0, 1, 2, 3, got ${describe(directions)}`);
  }
  for (const d of directions) {
    if (d !== 0 && d !== 1 && d !== 2 && d !== 3) throw new RangeError(`directions must hold 0, 1, 2 or 3, got ${describe(directions)}`);
  }
  if (new Set(directions).size !== directions.length) throw new RangeError(`directions must be distinct, got ${describe(directions)}`);
  const merge = o.merge ?? 'concat';
  if (merge !== 'concat' && merge !== 'sum') throw new RangeError(`merge must be 'concat' or 'sum', got ${describe(merge)}`);
  return { I, H, bias: o.bias ?? true, directions: [...directions] as MdlstmDirection[], merge, cellByCell: o.cellByCell ?? false };
}

/** Parameter names and shapes, direction by direction in the order of `directions`. */
export function mdlstmParameterSpecs(options: MDLSTMOptions): ParameterSpec[] {
  const c = resolveOptions(options);
  const specs: ParameterSpec[] = [];
  for (const k of c.directions) {
    specs.push({ name: `weight_ih_d${k}`, shape: [5 * c.H, c.I] });
    specs.push({ name: `weight_hh_d${k}`, shape: [5 * c.H, 2 * c.H] });
    if (c.bias) specs.push({ name: `bias_d${k}`, shape: [5 * c.H] });
  }
  return specs;
}

export class MDLSTM extends ParameterLayer {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly directions: readonly MdlstmDirection[];
  readonly merge: MdlstmMerge;
  readonly cellByCell: boolean;
  /** train() / eval(); forward's `training` option overrides it per call. */
  training = true;

  private readonly specs: ParameterSpec[];
  private hostArena: Arena | null = null;
  private ctx: ForwardContext | null = null;
  private params: DirectionParams[] | null = null;

  constructor(readonly rt: Runtime, options: MDLSTMOptions) {
    const c = resolveOptions(options);
    const specs = mdlstmParameterSpecs(options);
    const seed = layerSeed(options.seed);
    super(rt, specs, { block: options.block, prefix: options.prefix });
    this.inputSize = c.I;
    this.hiddenSize = c.H;
    this.bias = c.bias;
    this.directions = c.directions;
    this.merge = c.merge;
    this.cellByCell = c.cellByCell;
    this.specs = specs;
    this.resetParameters(new Rng(seed));
  }

  /** Width of the merged output's last axis: D*H (concat) or H (sum). */
  get outputSize(): number {
    return this.merge === 'concat' ? this.directions.length * this.hiddenSize : this.hiddenSize;
  }

  /** Every parameter U(-1/sqrt(H), 1/sqrt(H)) (torch's LSTM default), in spec order. */
  resetParameters(rng: { uniform(): number }): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    for (const s of this.specs) {
      const v = this.block.value(this.prefix + s.name).view();
      for (let i = 0; i < v.length; i++) v[i] = (rng.uniform() * 2 - 1) * k;
    }
  }

  train(): this {
    this.training = true;
    return this;
  }

  eval(): this {
    this.training = false;
    return this;
  }

  get arena(): Arena {
    if (!this.hostArena) this.hostArena = new Arena(this.rt.mem);
    return this.hostArena;
  }

  get arenaHighWater(): number {
    return this.hostArena?.highWater ?? 0;
  }

  dispose(): void {
    if (!markDisposed(this)) return;
    this.hostArena?.dispose();
    this.hostArena = null;
    this.ctx = null;
    this.named.dispose();
  }

  // ---- host API ----------------------------------------------------------------------

  forward(x: HostTensor, options: { training?: boolean } = {}): MDLSTMForwardResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { training? }');
    const { B, R, C } = this.checkInputShape('x', x?.shape);
    checkHostTensor('x', x);
    checkAllFinite('x', x.data);
    const training = checkTraining(options.training, this.training);
    const arena = this.arena;
    this.ctx = null;
    arena.reset();
    const xt = upload(this.rt, arena, x);
    const r = this.forwardRun(B, R, C, xt, training, arena);
    this.backwardDone = false;
    return { output: r.output.toHost(), cell: r.cell.toHost() };
  }

  backward(args: MDLSTMBackwardArgs): { dx?: HostTensor } {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { dOutput, dCell? }');
    const ctx = this.ctx;
    if (!ctx || ctx.arena !== this.hostArena) {
      throw new Error('backward() needs a preceding forward() in training mode (call train() or pass { training: true })');
    }
    if (this.backwardDone) throw secondBackwardError('MDLSTM');
    const shape = this.outputShape(ctx);
    if (args.dOutput === undefined) throw new TypeError(`backward: dOutput is required (shape [${shape.join(', ')}])`);
    for (const [name, t] of [['dOutput', args.dOutput], ['dCell', args.dCell]] as const) {
      if (t === undefined) continue;
      checkHostTensor(name, t);
      checkShape(name, t.shape, shape);
      checkAllFinite(name, t.data);
    }
    if (args.inputGrad !== undefined && typeof args.inputGrad !== 'boolean') throw new TypeError('inputGrad must be a boolean');
    const arena = ctx.arena;
    const dOutput = upload(this.rt, arena, args.dOutput);
    const dCell = args.dCell ? upload(this.rt, arena, args.dCell) : undefined;
    const r = this.backwardRun(ctx, dOutput, dCell, args.inputGrad ?? true);
    this.backwardDone = true;
    return r ? { dx: r.toHost() } : {};
  }

  // ---- device API --------------------------------------------------------------------

  forwardDevice(args: MDLSTMDeviceForwardArgs): { output: Tensor; cell: Tensor } {
    if (args === null || typeof args !== 'object' || !(args.arena instanceof Arena)) throw new TypeError('forwardDevice expects { x, arena, training? }');
    const { B, R, C } = this.checkInputShape('x', args.x?.shape);
    this.rt.mem.checkRange('x', args.x.ptr, args.x.bytes);
    const training = checkTraining(args.training, this.training);
    return this.forwardRun(B, R, C, args.x, training, args.arena);
  }

  /** Backward of the last training forwardDevice (same arena, not reset since); returns dx (absent when inputGrad is false). */
  backwardDevice(args: MDLSTMDeviceBackwardArgs): { dx?: Tensor } {
    const ctx = this.ctx;
    if (!ctx) throw new Error('backwardDevice() needs a preceding forwardDevice() in training mode');
    if (args.arena !== ctx.arena) throw new Error('backwardDevice() must use the arena of its training forward');
    const shape = this.outputShape(ctx);
    for (const [name, t] of [['dOutput', args.dOutput], ['dCell', args.dCell]] as const) {
      if (t === undefined) continue;
      checkShape(name, t.shape, shape);
      this.rt.mem.checkRange(name, t.ptr, t.bytes);
    }
    if (args.inputGrad !== undefined && typeof args.inputGrad !== 'boolean') throw new TypeError('inputGrad must be a boolean');
    const dx = this.backwardRun(ctx, args.dOutput, args.dCell, args.inputGrad ?? true);
    return dx ? { dx } : {};
  }

  // ---- internals ---------------------------------------------------------------------

  private outputShape(ctx: { B: number; R: number; C: number }): number[] {
    return [ctx.B, ctx.R, ctx.C, this.outputSize];
  }

  private sizes(B: number, R: number, C: number, direction: number) {
    return { batch: B, rows: R, cols: C, inputSize: this.inputSize, hiddenSize: this.hiddenSize, direction, cellByCell: this.cellByCell };
  }

  private forwardRun(B: number, R: number, C: number, x: Tensor, training: boolean, arena: Arena): { output: Tensor; cell: Tensor } {
    const { rt } = this;
    const H = this.hiddenSize;
    const N = B * R * C;
    this.ctx = null;
    const shape = [B, R, C, this.outputSize];
    const output = new Tensor(rt.mem, arena.alloc(N * this.outputSize * 4), shape);
    const cell = new Tensor(rt.mem, arena.alloc(N * this.outputSize * 4), shape);
    const floats = mdlstmBufferFloats(rt, this.sizes(B, R, C, 0));
    const work = arena.alloc(floats.forwardWork * 4);
    const allocKept = (): MdlstmKept => ({
      xw: arena.alloc(floats.kept.xw * 4), gates: arena.alloc(floats.kept.gates * 4), hcat: arena.alloc(floats.kept.hcat * 4),
      hw: arena.alloc(floats.kept.hw * 4), cw: arena.alloc(floats.kept.cw * 4),
    });
    // Inference reuses one set of wavefront buffers for every direction.
    const shared = training ? null : allocKept();
    const kept: MdlstmKept[] = [];
    const concat = this.merge === 'concat';
    const params = this.directionParams();
    this.directions.forEach((dir, d) => {
      const p = params[d];
      const k = shared ?? allocKept();
      mdlstmForward(rt, {
        ...this.sizes(B, R, C, dir), x: x.ptr, wIh: p.wIh, wHh: p.wHh, bias: p.bias,
        out: output.ptr + (concat ? d * H * 4 : 0), ldOut: this.outputSize,
        cellOut: cell.ptr + (concat ? d * H * 4 : 0), ldCell: this.outputSize,
        accumulate: !concat && d > 0, kept: k, work,
      });
      kept.push(k);
    });
    if (training) this.ctx = { B, R, C, arena, kept };
    return { output, cell };
  }

  private backwardRun(ctx: ForwardContext, dOutput: Tensor | undefined, dCell: Tensor | undefined, inputGrad: boolean): Tensor | undefined {
    const { rt } = this;
    const H = this.hiddenSize;
    const { B, R, C, arena } = ctx;
    const N = B * R * C;
    const floats = mdlstmBufferFloats(rt, this.sizes(B, R, C, 0));
    const work = arena.alloc(floats.backwardWork * 4);
    const scratch = {
      dgates: arena.alloc(floats.scratch.dgates * 4), dhw: arena.alloc(floats.scratch.dhw * 4),
      dcw: arena.alloc(floats.scratch.dcw * 4), dxw: inputGrad ? arena.alloc(floats.scratch.dxw * 4) : 0,
    };
    const dx = inputGrad ? new Tensor(rt.mem, arena.alloc(N * this.inputSize * 4), [B, R, C, this.inputSize]) : undefined;
    const concat = this.merge === 'concat';
    const params = this.directionParams();
    this.directions.forEach((dir, d) => {
      const p = params[d];
      const offset = concat ? d * H * 4 : 0;
      mdlstmBackward(rt, {
        ...this.sizes(B, R, C, dir), wIh: p.wIh, wHh: p.wHh,
        dOut: dOutput ? dOutput.ptr + offset : 0, ldDOut: this.outputSize,
        dCell: dCell ? dCell.ptr + offset : 0, ldDCell: this.outputSize,
        kept: ctx.kept[d], dx: dx?.ptr, dxAccumulate: d > 0,
        dWIh: p.gWIh, dWHh: p.gWHh, dBias: p.gBias, scratch, work,
      });
    });
    return dx;
  }

  private directionParams(): DirectionParams[] {
    if (this.params) return this.params;
    const b = this.block;
    const name = (n: string) => this.prefix + n;
    this.params = this.directions.map((k) => ({
      wIh: b.value(name(`weight_ih_d${k}`)).ptr,
      wHh: b.value(name(`weight_hh_d${k}`)).ptr,
      bias: this.bias ? b.value(name(`bias_d${k}`)).ptr : 0,
      gWIh: b.grad(name(`weight_ih_d${k}`)).ptr,
      gWHh: b.grad(name(`weight_hh_d${k}`)).ptr,
      gBias: this.bias ? b.grad(name(`bias_d${k}`)).ptr : 0,
    }));
    return this.params;
  }

  private checkInputShape(name: string, shape: readonly number[] | undefined): { B: number; R: number; C: number } {
    const layout = `[batch, rows, cols, ${this.inputSize}]`;
    if (!Array.isArray(shape) || shape.length !== 4) {
      throw new ShapeError(`${name} must have rank 4, shape ${layout}, got ${Array.isArray(shape) ? `[${shape.join(', ')}]` : String(shape)}`);
    }
    if (!shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ShapeError(`${name} must have shape ${layout} with every dimension >= 1 (no empty grid), got [${shape.join(', ')}]`);
    }
    if (shape[3] !== this.inputSize) throw new ShapeError(`${name} must have shape ${layout} (inputSize ${this.inputSize}), got [${shape.join(', ')}]`);
    return { B: shape[0], R: shape[1], C: shape[2] };
  }
}

function checkTraining(value: unknown, fallback: boolean): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`training must be a boolean, got ${typeof value}`);
  return (value as boolean | undefined) ?? fallback;
}


function upload(rt: Runtime, arena: Arena, t: HostTensor): Tensor {
  const tensor = new Tensor(rt.mem, arena.alloc(t.data.length * 4), [...t.shape]);
  tensor.set(t.data);
  return tensor;
}

export interface MdlstmTapeOutputs {
  /** [B, R, C, D*H] or [B, R, C, H] */
  output: Variable;
  cell: Variable;
}

/** The last training forward of each MDLSTM (it keeps one backward context). */
const lastCall = new WeakMap<MDLSTM, Variable>();

/**
 * Runs an MDLSTM on the tape: x [B, R, C, I] -> { output, cell }. Backward runs the layer's
 * wasm backward once and adds dx into x's gradient. Call each layer once per step.
 */
export function mdlstm(tape: Tape, layer: MDLSTM, x: Variable): MdlstmTapeOutputs {
  tape.checkOp('mdlstm', { layer: layer?.rt, x });
  const r = layer.forwardDevice({ x: x.value, training: tape.training, arena: tape.arena });
  const output = new Variable(tape, r.output, true);
  const cell = new Variable(tape, r.cell, true);
  if (tape.training) lastCall.set(layer, output);
  tape.record('MDLSTM', () => {
    if (!output.hasGrad && !cell.hasGrad) return;
    if (lastCall.get(layer) !== output) throw new Error('MDLSTM was called again after this call in the same step: it can be backpropagated through once per step');
    const g = layer.backwardDevice({
      dOutput: output.hasGrad ? output.grad() : undefined,
      dCell: cell.hasGrad ? cell.grad() : undefined,
      arena: tape.arena,
      inputGrad: x.requiresGrad,
    });
    if (g.dx && x.requiresGrad) axpy(tape.rt, { alpha: 1, x: g.dx.ptr, y: x.grad().ptr, n: x.size });
  });
  return { output, cell };
}
