// EpisodeAttention: one pass of the DMN's episodic memory (DESIGN.md, the public contract):
// the gate network over the facts and the gated (lecture, DMN) or attention (DMN+) GRU that
// reads the facts weighted by their gates. One wasm call per kernel per pass for the whole
// batch (assembly/episode.ts), never one per fact from JavaScript.
//   s: [B, M, d]  q, m: [B, d]  mask: B*M values, a prefix of 1s per row (at least one)
//   -> scores, g: [B, M]  episode: [B, hiddenSize] (the state at each row's last valid fact)
// Names (golden files' `param.` names): W1 [da, 4d], b1 [da], W2 [1, da], b2 [1],
// gru.weight_ih [G*H, d], gru.weight_hh [G*H, H], gru.bias_ih, gru.bias_hh [G*H]
// (G = 3 rows r, z, n for 'gated-gru'; 2 rows r, n for 'attention-gru').
//
// Two levels, as the recurrent layers: host forward/backward on plain arrays (the contract),
// and forwardDevice/backwardDevice on arena tensors returning an explicit context, so that a
// model calls the same layer once per pass and backpropagates through every pass.
// The DMN's tied memory update m^t = GRU(c^t, m^{t−1}) is a GRUCell (src/layers/cells.ts).
import { checkAllFinite, checkHost, checkShape, checkSize, describe, ShapeError, shapeSize } from '../runtime/check.js';
import { checkLayerUsable, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import {
  episodeGateBackward, episodeGateBackwardWorkFloats, episodeGateForward, episodeGateRows, episodeGruBackward,
  episodeGruBackwardWorkFloats, episodeGruForward, episodeGruForwardWorkFloats, type EpisodeCell, type EpisodeGate,
} from '../kernels/episode.js';
import { axpy, fillBuffer } from '../kernels/elementwise.js';
import { NamedParameters } from './parameters.js';
import { initUniform, type InitRandom, type ParameterBinding } from './linear.js';
import { Rng } from '../train/rng.js';
import { Variable, type Tape } from '../train/tape.js';

export type { EpisodeCell, EpisodeGate } from '../kernels/episode.js';

export interface EpisodeAttentionOptions extends ParameterBinding {
  /** d: size of a fact, of the question and of the memory. */
  factSize: number;
  /** H: size of the episode GRU's state. */
  hiddenSize: number;
  /** da: hidden size of the gate network. */
  gateSize: number;
  /** 'gated-gru' (lecture, DMN) or 'attention-gru' (DMN+). */
  cell: EpisodeCell;
  /** 'softmax' over the facts (default) or an independent 'sigmoid' per fact. */
  gate?: EpisodeGate;
  /** Seed of the initialisation (default random); ignored when `rng` is given. */
  seed?: number;
  rng?: InitRandom;
}

export interface EpisodeForwardOptions {
  /** Uint8Array or Int32Array of B*M values, 1 = valid; a prefix per row with at least one 1. Default: all valid. */
  mask?: Uint8Array | Int32Array;
  /** Keep what backward needs (default: the layer's training flag). */
  training?: boolean;
}

export interface EpisodeForwardResult {
  scores: HostTensor;
  g: HostTensor;
  episode: HostTensor;
}

export interface EpisodeBackwardArgs {
  /** [B, hiddenSize] */
  dEpisode?: HostTensor;
  /** [B, M] (entries at masked facts have no effect) */
  dG?: HostTensor;
}

export interface EpisodeBackwardResult {
  ds: HostTensor;
  dq: HostTensor;
  dm: HostTensor;
}

/** What one device forward kept for its backward (valid until its arena is reset). */
export interface EpisodeContext {
  B: number;
  M: number;
  s: Tensor;
  q: Tensor;
  m: Tensor;
  lengths: number;
  z: number;
  a: number;
  g: Tensor;
  gates: number;
  hprev: number;
  hn: number;
  arena: Arena;
}

export interface EpisodeDeviceResult {
  scores: Tensor;
  g: Tensor;
  episode: Tensor;
  /** null in inference mode. */
  context: EpisodeContext | null;
}

/** Parameter names and shapes of an EpisodeAttention. */
export function episodeParameterSpecs(o: { factSize: number; hiddenSize: number; gateSize: number; cell: EpisodeCell }): ParameterSpec[] {
  const d = checkSize('EpisodeAttention factSize', o.factSize, 1);
  const H = checkSize('EpisodeAttention hiddenSize', o.hiddenSize, 1);
  const da = checkSize('EpisodeAttention gateSize', o.gateSize, 1);
  if (o.cell !== 'gated-gru' && o.cell !== 'attention-gru') throw new RangeError(`EpisodeAttention cell must be 'gated-gru' or 'attention-gru', got ${String(o.cell)}`);
  const GH = episodeGateRows(o.cell) * H;
  return [
    { name: 'W1', shape: [da, 4 * d] }, { name: 'b1', shape: [da] }, { name: 'W2', shape: [1, da] }, { name: 'b2', shape: [1] },
    { name: 'gru.weight_ih', shape: [GH, d] }, { name: 'gru.weight_hh', shape: [GH, H] }, { name: 'gru.bias_ih', shape: [GH] }, { name: 'gru.bias_hh', shape: [GH] },
  ];
}

/** The shared parameter bookkeeping (src/layers/parameters.ts) with the pointer accessors the kernels take. */
class EpisodeParameters extends NamedParameters {
  constructor(readonly rt: Runtime, specs: ParameterSpec[], binding: ParameterBinding) {
    super(rt, specs, binding);
  }

  protected value(name: string): number {
    return this.valuePtr(name);
  }

  protected grad(name: string): number {
    return this.gradPtr(name);
  }

  parameterNames(): string[] {
    return this.names();
  }
}


/** Valid fact counts per row from a prefix mask of B*M values; throws naming the offending row. */
export function maskLengths(mask: Uint8Array | Int32Array, B: number, M: number): Int32Array {
  if (!(mask instanceof Uint8Array || mask instanceof Int32Array)) throw new TypeError(`mask must be a Uint8Array or Int32Array of ${B * M} values, got ${describe(mask)}`);
  if (mask.length !== B * M) throw new ShapeError(`mask must have B*M = ${B}*${M} = ${B * M} values, got ${mask.length}`);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let i = 0; i < M; i++) {
      const v = mask[b * M + i];
      if (v !== 0 && v !== 1) throw new RangeError(`mask[${b * M + i}] must be 0 or 1, got ${v}`);
      if (v === 1) {
        if (n !== i) throw new RangeError(`mask row ${b} must be a prefix (1…1 0…0): fact ${i} is valid after an invalid one`);
        n++;
      }
    }
    if (n === 0) throw new RangeError(`mask row ${b} has no valid fact (each row needs at least one)`);
    lengths[b] = n;
  }
  return lengths;
}

function checkLengthsArray(lengths: Int32Array, B: number, M: number): void {
  if (!(lengths instanceof Int32Array) || lengths.length !== B) throw new ShapeError(`lengths must be an Int32Array of ${B} values, got ${describe(lengths)}`);
  for (let b = 0; b < B; b++) if (!(lengths[b] >= 1 && lengths[b] <= M)) throw new RangeError(`lengths[${b}] must be in 1..${M}, got ${lengths[b]}`);
}

export class EpisodeAttention extends EpisodeParameters {
  readonly factSize: number;
  readonly hiddenSize: number;
  readonly gateSize: number;
  readonly cell: EpisodeCell;
  readonly gate: EpisodeGate;
  training = true;
  private hostArena: Arena | null = null;
  private hostContext: EpisodeContext | null = null;
  /** backward() ran since the last forward() and zeroGrad(). */
  private backwardDone = false;

  constructor(rt: Runtime, options: EpisodeAttentionOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('EpisodeAttention options must be an object { factSize, hiddenSize, gateSize, cell }');
    const gate = options.gate ?? 'softmax';
    if (gate !== 'softmax' && gate !== 'sigmoid') throw new RangeError(`EpisodeAttention gate must be 'softmax' or 'sigmoid', got ${String(gate)}`);
    super(rt, episodeParameterSpecs(options), options);
    this.factSize = options.factSize;
    this.hiddenSize = options.hiddenSize;
    this.gateSize = options.gateSize;
    this.cell = options.cell;
    this.gate = gate;
    this.resetParameters(options.rng ?? new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 31)));
  }

  /** torch-style defaults: Linear-like U(±1/sqrt(fan_in)) for the gate network, U(±1/sqrt(H)) for the GRU. */
  resetParameters(rng: InitRandom): void {
    const b = this.block, p = this.prefix;
    const k1 = 1 / Math.sqrt(4 * this.factSize), k2 = 1 / Math.sqrt(this.gateSize), kh = 1 / Math.sqrt(this.hiddenSize);
    initUniform(b.value(p + 'W1'), k1, rng);
    initUniform(b.value(p + 'b1'), k1, rng);
    initUniform(b.value(p + 'W2'), k2, rng);
    initUniform(b.value(p + 'b2'), k2, rng);
    for (const n of ['gru.weight_ih', 'gru.weight_hh', 'gru.bias_ih', 'gru.bias_hh']) initUniform(b.value(p + n), kh, rng);
  }

  train(): this {
    this.training = true;
    return this;
  }

  eval(): this {
    this.training = false;
    return this;
  }

  // ---- host API (the contract) -------------------------------------------------------

  forward(s: HostTensor, q: HostTensor, m: HostTensor, options: EpisodeForwardOptions = {}): EpisodeForwardResult {
    checkLayerUsable(this, 'forward');
    if (options === null || typeof options !== 'object') throw new TypeError('forward options must be an object { mask?, training? }');
    if (!s || !Array.isArray(s.shape) || s.shape.length !== 3) throw new ShapeError(`s must have shape [B, M, ${this.factSize}], got ${describe(s?.shape)}`);
    const [B, M] = s.shape;
    checkSize('s batch', B, 1);
    checkSize('s facts', M, 1);
    const d = this.factSize;
    checkHost('s', s, [B, M, d]);
    checkHost('q', q, [B, d]);
    checkHost('m', m, [B, d]);
    const lengths = options.mask === undefined ? new Int32Array(B).fill(M) : maskLengths(options.mask, B, M);
    if (options.training !== undefined && typeof options.training !== 'boolean') throw new TypeError('training must be a boolean');
    const arena = (this.hostArena ??= new Arena(this.rt.mem));
    this.hostContext = null;
    arena.reset();
    const up = (t: HostTensor) => {
      const x = new Tensor(this.rt.mem, arena.alloc(t.data.length * 4), [...t.shape]);
      x.set(t.data);
      return x;
    };
    const r = this.forwardRun(up(s), up(q), up(m), lengths, options.training ?? this.training, arena);
    this.hostContext = r.context;
    this.backwardDone = false;
    return { scores: r.scores.toHost(), g: r.g.toHost(), episode: r.episode.toHost() };
  }

  backward(args: EpisodeBackwardArgs = {}): EpisodeBackwardResult {
    checkLayerUsable(this, 'backward');
    if (args === null || typeof args !== 'object') throw new TypeError('backward expects an object { dEpisode?, dG? }');
    const ctx = this.hostContext;
    if (!ctx) throw new Error('backward() needs a preceding forward() in training mode (call train() or pass { training: true })');
    if (this.backwardDone) throw secondBackwardError('EpisodeAttention');
    const { B, M } = ctx;
    if (args.dEpisode !== undefined) checkHost('dEpisode', args.dEpisode, [B, this.hiddenSize]);
    if (args.dG !== undefined) checkHost('dG', args.dG, [B, M]);
    const up = (t: HostTensor | undefined) => {
      if (!t) return undefined;
      const x = new Tensor(this.rt.mem, ctx.arena.alloc(t.data.length * 4), [...t.shape]);
      x.set(t.data);
      return x;
    };
    const r = this.backwardDevice(ctx, { dEpisode: up(args.dEpisode), dG: up(args.dG) });
    this.backwardDone = true;
    return { ds: r.ds.toHost(), dq: r.dq.toHost(), dm: r.dm.toHost() };
  }

  zeroGrad(): void {
    super.zeroGrad();
    this.backwardDone = false;
  }

  dispose(): void {
    if (!markDisposed(this)) return;
    this.hostArena?.dispose();
    this.hostArena = null;
    this.hostContext = null;
    super.dispose();
  }

  // ---- device API --------------------------------------------------------------------

  /** One pass over arena tensors s [B, M, d], q, m [B, d]; lengths: valid facts per row (1..M). */
  forwardDevice(args: { s: Tensor; q: Tensor; m: Tensor; lengths: Int32Array; training: boolean; arena: Arena }): EpisodeDeviceResult {
    const d = this.factSize;
    if (args.s?.shape?.length !== 3 || args.s.shape[2] !== d) throw new ShapeError(`s must have shape [B, M, ${d}], got ${describe(args.s?.shape)}`);
    const [B, M] = args.s.shape;
    checkShape('q', args.q.shape, [B, d]);
    checkShape('m', args.m.shape, [B, d]);
    checkLengthsArray(args.lengths, B, M);
    return this.forwardRun(args.s, args.q, args.m, args.lengths, args.training, args.arena);
  }

  private forwardRun(s: Tensor, q: Tensor, m: Tensor, lengthsArr: Int32Array, training: boolean, arena: Arena): EpisodeDeviceResult {
    const rt = this.rt, mem = rt.mem;
    const [B, M] = s.shape;
    const d = this.factSize, H = this.hiddenSize, da = this.gateSize, cell = this.cell;
    const rows = B * M;
    const GH = episodeGateRows(cell) * H;
    const lengths = arena.alloc(B * 4);
    mem.i32(lengths, B).set(lengthsArr);
    const z = arena.alloc(rows * 4 * d * 4);
    const a = arena.alloc(rows * da * 4);
    const scores = new Tensor(mem, arena.alloc(rows * 4), [B, M]);
    const g = new Tensor(mem, arena.alloc(rows * 4), [B, M]);
    episodeGateForward(rt, {
      batch: B, facts: M, factSize: d, gateSize: da, gate: this.gate, s: s.ptr, q: q.ptr, m: m.ptr, lengths,
      W1: this.value('W1'), b1: this.value('b1'), W2: this.value('W2'), b2: this.value('b2'), z, a, scores: scores.ptr, g: g.ptr,
    });
    const episode = new Tensor(mem, arena.alloc(B * H * 4), [B, H]);
    const gates = arena.alloc(rows * GH * 4), hprev = arena.alloc(rows * H * 4), hn = arena.alloc(rows * H * 4);
    const sizes = { batch: B, facts: M, inputSize: d, hiddenSize: H, cell };
    const work = arena.alloc(episodeGruForwardWorkFloats(rt, sizes) * 4);
    episodeGruForward(rt, {
      ...sizes, x: s.ptr, g: g.ptr, h0: 0, lengths, W_ih: this.value('gru.weight_ih'), W_hh: this.value('gru.weight_hh'),
      b_ih: this.value('gru.bias_ih'), b_hh: this.value('gru.bias_hh'), hN: episode.ptr, gates, hprev, hn, work,
    });
    const context = training ? { B, M, s, q, m, lengths, z, a, g, gates, hprev, hn, arena } : null;
    return { scores, g, episode, context };
  }

  /**
   * Backward of one device forward (its context; the arena not reset since). Accumulates the
   * parameter gradients; returns ds [B, M, d], dq, dm [B, d] in the arena.
   */
  backwardDevice(ctx: EpisodeContext, args: { dEpisode?: Tensor; dG?: Tensor }): { ds: Tensor; dq: Tensor; dm: Tensor } {
    if (!ctx) throw new Error('backwardDevice() needs the context of a training forward');
    const rt = this.rt, mem = rt.mem, arena = ctx.arena;
    const { B, M } = ctx;
    const d = this.factSize, H = this.hiddenSize, da = this.gateSize, cell = this.cell;
    const rows = B * M;
    if (args.dEpisode) checkShape('dEpisode', args.dEpisode.shape, [B, H]);
    if (args.dG) checkShape('dG', args.dG.shape, [B, M]);
    const dh = arena.alloc(B * H * 4);
    if (args.dEpisode) mem.f32(dh, B * H).set(args.dEpisode.view());
    else fillBuffer(rt, { x: dh, n: B * H, value: 0 });
    const ds = new Tensor(mem, arena.alloc(rows * d * 4), [B, M, d]);
    const dg = arena.alloc(rows * 4);
    const sizes = { batch: B, facts: M, inputSize: d, hiddenSize: H, cell };
    const work = arena.alloc(Math.max(episodeGruBackwardWorkFloats(rt, sizes), episodeGateBackwardWorkFloats(rt, { batch: B, facts: M, factSize: d, gateSize: da })) * 4);
    episodeGruBackward(rt, {
      ...sizes, x: ctx.s.ptr, g: ctx.g.ptr, lengths: ctx.lengths, W_ih: this.value('gru.weight_ih'), W_hh: this.value('gru.weight_hh'),
      gates: ctx.gates, hprev: ctx.hprev, hn: ctx.hn, dh, dx: ds.ptr, dg,
      dW_ih: this.grad('gru.weight_ih'), dW_hh: this.grad('gru.weight_hh'), db_ih: this.grad('gru.bias_ih'), db_hh: this.grad('gru.bias_hh'), work,
    });
    if (args.dG) axpy(rt, { alpha: 1, x: args.dG.ptr, y: dg, n: rows });
    const dq = new Tensor(mem, arena.allocZeroed(B * d * 4), [B, d]);
    const dm = new Tensor(mem, arena.allocZeroed(B * d * 4), [B, d]);
    episodeGateBackward(rt, {
      batch: B, facts: M, factSize: d, gateSize: da, gate: this.gate, s: ctx.s.ptr, q: ctx.q.ptr, m: ctx.m.ptr, lengths: ctx.lengths,
      W1: this.value('W1'), W2: this.value('W2'), z: ctx.z, a: ctx.a, g: ctx.g.ptr, dg,
      dW1: this.grad('W1'), db1: this.grad('b1'), dW2: this.grad('W2'), db2: this.grad('b2'), ds: ds.ptr, dq: dq.ptr, dm: dm.ptr, work,
    });
    return { ds, dq, dm };
  }
}

/**
 * One episode pass on the tape: s [B, M, d], q, m [B, d] (Variables), lengths = valid facts per
 * row. Returns scores, g [B, M] and episode [B, H]; backward adds into s, q and m's gradients
 * from whatever reached episode and g (strong supervision of the gates writes g's gradient).
 */
export function episodeAttention(tape: Tape, layer: EpisodeAttention, s: Variable, q: Variable, m: Variable, lengths: Int32Array): { scores: Variable; g: Variable; episode: Variable } {
  tape.checkOp('episodeAttention', { layer: layer?.rt, s, q, m });
  const r = layer.forwardDevice({ s: s.value, q: q.value, m: m.value, lengths, training: tape.training, arena: tape.arena });
  const wrap = (t: Tensor) => new Variable(tape, t, true);
  const scores = new Variable(tape, r.scores, false);
  const g = wrap(r.g);
  const episode = wrap(r.episode);
  const ctx = r.context;
  tape.record('EpisodeAttention', () => {
    if (!ctx || (!episode.hasGrad && !g.hasGrad)) return;
    const grads = layer.backwardDevice(ctx, { dEpisode: episode.hasGrad ? episode.grad() : undefined, dG: g.hasGrad ? g.grad() : undefined });
    const add = (v: Variable, t: Tensor) => {
      if (v.requiresGrad) axpy(tape.rt, { alpha: 1, x: t.ptr, y: v.grad().ptr, n: v.size });
    };
    add(s, grads.ds);
    add(q, grads.dq);
    add(m, grads.dm);
  });
  return { scores, g, episode };
}
