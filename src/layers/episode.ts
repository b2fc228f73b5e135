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
//
// The T passes of a DMN read the same facts s and question q: prepareDevice (tape op
// episodePrepare) computes what does not depend on m once — the q half of the gate network's
// first layer and the GRU's input projection s W_ihᵀ + b_ih — and each pass given it
// ({ prepared }) computes only its m half; the passes' backwards add into two sums whose
// products run once, in prepareBackwardDevice (the prepare's tape entry runs after every pass's).
import { checkAllFinite, checkHost, checkShape, checkSize, describe, ShapeError, shapeSize } from '../runtime/check.js';
import { checkLayerUsable, markDisposed, secondBackwardError } from '../runtime/lifecycle.js';
import { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import {
  episodeGateBackward, episodeGateBackwardShared, episodeGateBackwardWorkFloats, episodeGateForward, episodeGateForwardShared, episodeGatePrepare,
  episodeGatePrepareBackward, episodeGateRows, episodeGruBackward, episodeGruBackwardWorkFloats, episodeGruForward, episodeGruForwardWorkFloats,
  type EpisodeCell, type EpisodeGate,
} from '../kernels/episode.js';
import { axpy, biasAddRows, biasAddRowsBackward, copyBuffer, fillBuffer } from '../kernels/elementwise.js';
import { gemm } from '../kernels/gemm.js';
import { layerSeed, NamedParameters } from './parameters.js';
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
  /** Set when the pass ran on a prepared s and q. */
  prepared: EpisodePrepared | null;
}

/** What the passes over one s and q share (prepareDevice); valid until its arena is reset. */
export interface EpisodePrepared {
  B: number;
  M: number;
  s: Tensor;
  q: Tensor;
  /** Int32 [B] valid facts per row (pointer). */
  lengths: number;
  lengthsHost: Int32Array;
  /** [B*M, 2d] s⊙q, |s−q|;  [B*M, da] their W1 product + b1;  [B*M, G*H] s W_ihᵀ + b_ih. */
  zq: number;
  aq: number;
  projection: number;
  training: boolean;
  /** Sums of the passes' gate pre-activation and GRU input-side gradients (training only). */
  dpreSum: number;
  dpxSum: number;
  /** A pass's backward added into the sums. */
  accumulated: boolean;
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
    const seed = options.rng ? 0 : layerSeed(options.seed);
    super(rt, episodeParameterSpecs(options), options);
    this.factSize = options.factSize;
    this.hiddenSize = options.hiddenSize;
    this.gateSize = options.gateSize;
    this.cell = options.cell;
    this.gate = gate;
    this.resetParameters(options.rng ?? new Rng(seed));
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
    const r = this.forwardRun(up(s), up(q), up(m), lengths, options.training ?? this.training, arena, null);
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

  /**
   * One pass over arena tensors s [B, M, d], q, m [B, d]; lengths: valid facts per row (1..M).
   * With `prepared` (prepareDevice of the same s, q and lengths) only m's half is computed.
   */
  forwardDevice(args: { s: Tensor; q: Tensor; m: Tensor; lengths: Int32Array; training: boolean; arena: Arena; prepared?: EpisodePrepared }): EpisodeDeviceResult {
    const d = this.factSize;
    if (args.s?.shape?.length !== 3 || args.s.shape[2] !== d) throw new ShapeError(`s must have shape [B, M, ${d}], got ${describe(args.s?.shape)}`);
    const [B, M] = args.s.shape;
    checkShape('q', args.q.shape, [B, d]);
    checkShape('m', args.m.shape, [B, d]);
    checkLengthsArray(args.lengths, B, M);
    const p = args.prepared;
    if (p && (p.s !== args.s || p.q !== args.q || p.arena !== args.arena || p.lengthsHost.some((n, b) => n !== args.lengths[b]))) {
      throw new Error('forwardDevice: prepared was made for other facts, question, lengths or arena (call prepareDevice with this s, q and lengths)');
    }
    if (p && args.training && !p.training) throw new Error('forwardDevice: a training pass needs a prepareDevice made with training: true');
    return this.forwardRun(args.s, args.q, args.m, args.lengths, args.training, args.arena, p ?? null);
  }

  /** What every pass over s [B, M, d] and q [B, d] shares: see EpisodePrepared. */
  prepareDevice(args: { s: Tensor; q: Tensor; lengths: Int32Array; training: boolean; arena: Arena }): EpisodePrepared {
    const d = this.factSize, da = this.gateSize, H = this.hiddenSize;
    if (args.s?.shape?.length !== 3 || args.s.shape[2] !== d) throw new ShapeError(`s must have shape [B, M, ${d}], got ${describe(args.s?.shape)}`);
    const [B, M] = args.s.shape;
    checkShape('q', args.q.shape, [B, d]);
    checkLengthsArray(args.lengths, B, M);
    const rt = this.rt, arena = args.arena, rows = B * M;
    const GH = episodeGateRows(this.cell) * H;
    const lengths = arena.alloc(B * 4);
    rt.mem.i32(lengths, B).set(args.lengths);
    const zq = arena.alloc(rows * 2 * d * 4), aq = arena.alloc(rows * da * 4), projection = arena.alloc(rows * GH * 4);
    episodeGatePrepare(rt, { batch: B, facts: M, factSize: d, gateSize: da, s: args.s.ptr, q: args.q.ptr, W1: this.value('W1'), b1: this.value('b1'), zq, aq });
    fillBuffer(rt, { x: projection, n: rows * GH, value: 0 });
    biasAddRows(rt, { y: projection, b: this.value('gru.bias_ih'), rows, cols: GH });
    gemm(rt, { transB: true, m: rows, n: GH, k: d, a: args.s.ptr, b: this.value('gru.weight_ih'), beta: 1, c: projection });
    const dpreSum = args.training ? arena.allocZeroed(rows * da * 4) : 0;
    const dpxSum = args.training ? arena.allocZeroed(rows * GH * 4) : 0;
    return {
      B, M, s: args.s, q: args.q, lengths, lengthsHost: Int32Array.from(args.lengths), zq, aq, projection, training: args.training,
      dpreSum, dpxSum, accumulated: false, arena,
    };
  }

  /** After every pass's backwardDevice: the shared products' gradients, once. Accumulates the parameter gradients; returns ds [B, M, d], dq [B, d]. */
  prepareBackwardDevice(p: EpisodePrepared): { ds: Tensor; dq: Tensor } {
    if (!p?.training) throw new Error('prepareBackwardDevice() needs a prepareDevice made with training: true');
    const rt = this.rt, mem = rt.mem, arena = p.arena;
    const { B, M } = p;
    const d = this.factSize, da = this.gateSize, rows = B * M;
    const GH = episodeGateRows(this.cell) * this.hiddenSize;
    const ds = new Tensor(mem, arena.alloc(rows * d * 4), [B, M, d]);
    const dq = new Tensor(mem, arena.allocZeroed(B * d * 4), [B, d]);
    // ds = dpxSum W_ih; dW_ih += dpxSumᵀ s; db_ih += Σ dpxSum.
    gemm(rt, { m: rows, n: d, k: GH, a: p.dpxSum, b: this.value('gru.weight_ih'), c: ds.ptr });
    gemm(rt, { transA: true, m: GH, n: d, k: rows, a: p.dpxSum, b: p.s.ptr, beta: 1, c: this.grad('gru.weight_ih') });
    biasAddRowsBackward(rt, { dy: p.dpxSum, db: this.grad('gru.bias_ih'), rows, cols: GH });
    episodeGatePrepareBackward(rt, {
      batch: B, facts: M, factSize: d, gateSize: da, s: p.s.ptr, q: p.q.ptr, W1: this.value('W1'), zq: p.zq, dpreSum: p.dpreSum,
      dW1: this.grad('W1'), ds: ds.ptr, dq: dq.ptr, work: arena.alloc(episodeGateBackwardWorkFloats(rt, { batch: B, facts: M, factSize: d, gateSize: da }) * 4),
    });
    return { ds, dq };
  }

  private forwardRun(s: Tensor, q: Tensor, m: Tensor, lengthsArr: Int32Array, training: boolean, arena: Arena, prepared: EpisodePrepared | null): EpisodeDeviceResult {
    const rt = this.rt, mem = rt.mem;
    const [B, M] = s.shape;
    const d = this.factSize, H = this.hiddenSize, da = this.gateSize, cell = this.cell;
    const rows = B * M;
    const GH = episodeGateRows(cell) * H;
    let lengths: number;
    if (prepared) lengths = prepared.lengths;
    else {
      lengths = arena.alloc(B * 4);
      mem.i32(lengths, B).set(lengthsArr);
    }
    const z = arena.alloc(rows * (prepared ? 2 : 4) * d * 4);
    const a = arena.alloc(rows * da * 4);
    const scores = new Tensor(mem, arena.alloc(rows * 4), [B, M]);
    const g = new Tensor(mem, arena.alloc(rows * 4), [B, M]);
    const gateSizes = { batch: B, facts: M, factSize: d, gateSize: da, gate: this.gate };
    if (prepared) {
      episodeGateForwardShared(rt, {
        ...gateSizes, s: s.ptr, m: m.ptr, lengths, aq: prepared.aq, W1: this.value('W1'), W2: this.value('W2'), b2: this.value('b2'), zm: z, a, scores: scores.ptr, g: g.ptr,
      });
    } else {
      episodeGateForward(rt, {
        ...gateSizes, s: s.ptr, q: q.ptr, m: m.ptr, lengths, W1: this.value('W1'), b1: this.value('b1'), W2: this.value('W2'), b2: this.value('b2'), z, a, scores: scores.ptr, g: g.ptr,
      });
    }
    const episode = new Tensor(mem, arena.alloc(B * H * 4), [B, H]);
    const gates = arena.alloc(rows * GH * 4), hprev = arena.alloc(rows * H * 4), hn = arena.alloc(rows * H * 4);
    if (prepared) copyBuffer(rt, { x: prepared.projection, y: gates, n: rows * GH });
    const sizes = { batch: B, facts: M, inputSize: d, hiddenSize: H, cell };
    const work = arena.alloc(episodeGruForwardWorkFloats(rt, sizes) * 4);
    episodeGruForward(rt, {
      ...sizes, x: s.ptr, g: g.ptr, h0: 0, lengths, W_ih: this.value('gru.weight_ih'), W_hh: this.value('gru.weight_hh'),
      b_ih: this.value('gru.bias_ih'), b_hh: this.value('gru.bias_hh'), hN: episode.ptr, gates, hprev, hn, work, projected: prepared !== null,
    });
    const context = training ? { B, M, s, q, m, lengths, z, a, g, gates, hprev, hn, arena, prepared } : null;
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
    const p = ctx.prepared;
    // With a prepared s, the GRU leaves ds to prepareBackwardDevice: start from zeros.
    const ds = new Tensor(mem, p ? arena.allocZeroed(rows * d * 4) : arena.alloc(rows * d * 4), [B, M, d]);
    const dg = arena.alloc(rows * 4);
    const sizes = { batch: B, facts: M, inputSize: d, hiddenSize: H, cell };
    const work = arena.alloc(Math.max(episodeGruBackwardWorkFloats(rt, sizes), episodeGateBackwardWorkFloats(rt, { batch: B, facts: M, factSize: d, gateSize: da })) * 4);
    episodeGruBackward(rt, {
      ...sizes, x: ctx.s.ptr, g: ctx.g.ptr, lengths: ctx.lengths, W_ih: this.value('gru.weight_ih'), W_hh: this.value('gru.weight_hh'),
      gates: ctx.gates, hprev: ctx.hprev, hn: ctx.hn, dh, dx: ds.ptr, dg,
      dW_ih: this.grad('gru.weight_ih'), dW_hh: this.grad('gru.weight_hh'), db_ih: this.grad('gru.bias_ih'), db_hh: this.grad('gru.bias_hh'), work,
      dpxSum: p ? p.dpxSum : 0,
    });
    if (args.dG) axpy(rt, { alpha: 1, x: args.dG.ptr, y: dg, n: rows });
    const dq = new Tensor(mem, arena.allocZeroed(B * d * 4), [B, d]);
    const dm = new Tensor(mem, arena.allocZeroed(B * d * 4), [B, d]);
    const gateSizes = { batch: B, facts: M, factSize: d, gateSize: da, gate: this.gate };
    const weightGrads = { dW1: this.grad('W1'), db1: this.grad('b1'), dW2: this.grad('W2'), db2: this.grad('b2') };
    if (p) {
      episodeGateBackwardShared(rt, {
        ...gateSizes, ...weightGrads, s: ctx.s.ptr, m: ctx.m.ptr, lengths: ctx.lengths, W1: this.value('W1'), W2: this.value('W2'),
        zm: ctx.z, a: ctx.a, g: ctx.g.ptr, dg, ds: ds.ptr, dm: dm.ptr, dpreSum: p.dpreSum, work,
      });
      p.accumulated = true;
    } else {
      episodeGateBackward(rt, {
        ...gateSizes, ...weightGrads, s: ctx.s.ptr, q: ctx.q.ptr, m: ctx.m.ptr, lengths: ctx.lengths, W1: this.value('W1'), W2: this.value('W2'),
        z: ctx.z, a: ctx.a, g: ctx.g.ptr, dg, ds: ds.ptr, dq: dq.ptr, dm: dm.ptr, work,
      });
    }
    return { ds, dq, dm };
  }
}

/**
 * One episode pass on the tape: s [B, M, d], q, m [B, d] (Variables), lengths = valid facts per
 * row. Returns scores, g [B, M] and episode [B, H]; backward adds into s, q and m's gradients
 * from whatever reached episode and g (strong supervision of the gates writes g's gradient).
 */
export function episodeAttention(
  tape: Tape, layer: EpisodeAttention, s: Variable, q: Variable, m: Variable, lengths: Int32Array, options: { prepared?: EpisodePreparedVariables } = {},
): { scores: Variable; g: Variable; episode: Variable } {
  tape.checkOp('episodeAttention', { layer: layer?.rt, s, q, m });
  const shared = options.prepared;
  if (shared && (shared.s !== s || shared.q !== q || shared.layer !== layer)) throw new Error('episodeAttention: prepared was made by episodePrepare for other s, q or layer');
  const r = layer.forwardDevice({ s: s.value, q: q.value, m: m.value, lengths, training: tape.training, arena: tape.arena, prepared: shared?.prepared });
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

/** episodePrepare's result: pass it to every episodeAttention over the same s and q. */
export interface EpisodePreparedVariables {
  layer: EpisodeAttention;
  s: Variable;
  q: Variable;
  prepared: EpisodePrepared;
}

/**
 * What the passes over facts s [B, M, d] and question q [B, d] share, computed once on the tape
 * (see EpisodePrepared). Call before the passes: its backward, which runs after theirs, adds the
 * shared products' gradients into s and q.
 */
export function episodePrepare(tape: Tape, layer: EpisodeAttention, s: Variable, q: Variable, lengths: Int32Array): EpisodePreparedVariables {
  tape.checkOp('episodePrepare', { layer: layer?.rt, s, q });
  const prepared = layer.prepareDevice({ s: s.value, q: q.value, lengths, training: tape.training, arena: tape.arena });
  tape.record('EpisodePrepare', () => {
    if (!prepared.training || !prepared.accumulated) return;
    const { ds, dq } = layer.prepareBackwardDevice(prepared);
    if (s.requiresGrad) axpy(tape.rt, { alpha: 1, x: ds.ptr, y: s.grad().ptr, n: s.size });
    if (q.requiresGrad) axpy(tape.rt, { alpha: 1, x: dq.ptr, y: q.grad().ptr, n: q.size });
  });
  return { layer, s, q, prepared };
}
