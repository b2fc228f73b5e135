/**
 * Whole-sequence recurrent kernels, one layer and one direction per call (assembly/{rnn,
 * lstm,gru}.ts `*_forward` / `*_backward`), behind checked options objects; the kernel of
 * each cell kind comes from its descriptor (cell-kinds.ts). Rows are time-first
 * (row = t*B + b); see assembly/recurrent_common.ts for the conventions.
 *
 *   sequenceForward(rt, { cell, steps, batch, inputSize, hiddenSize, x, weightIh, weightHh, h0, output, hN, gates, work, ... })
 *   sequenceBackward(rt, { cell, steps, batch, inputSize, hiddenSize, x, weightIh, weightHh, gates, hprev, dh0, dgates, work, ... })
 *   sequenceWorkFloats(rt, { cell, phase, batch, inputSize, hiddenSize })
 *   swapAxes01(rt, { d0, d1, features, src, dst })      batch-first <-> time-first
 *   multiplyInto(rt, { n, a, b, out })                  dropout masks and their gradient
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { sequenceDescriptor, type SequenceBackwardCall, type SequenceCellKind, type SequenceForwardCall } from './cell-kinds.js';
import { checkBiasPair, checkOptionsObject, flag, presentWhen, RANGES, ShapeCache } from './recurrent-checks.js';

export interface SequenceSizes {
  cell: SequenceCellKind;
  /** T: the longest sequence (rows of x are T*B). */
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
  /**
   * GRU only: x already holds the input products x · W_ihᵀ (inputSize = 3H), as a DMN's word
   * tables make them; weightIh and gradWeightIh are then absent (0), and backward's dx gets the
   * input side's gate gradients. Default false.
   */
  inputProjected?: boolean;
}

export interface SequenceForwardArgs extends SequenceSizes {
  /** [T*B, I], row stride ldx (default I). */
  x: number;
  ldx?: number;
  /** [G*H, I] */
  weightIh: number;
  /** [G*H, H] */
  weightHh: number;
  /** [G*H] each, both or neither. */
  biasIh?: number;
  biasHh?: number;
  /** [B, H] */
  h0: number;
  /** LSTM only: [B, H] */
  c0?: number;
  /** [B] int32, each in 1..T; 0/absent: every sequence has length T. */
  lengths?: number;
  /** Run each sequence from its end (the reverse direction). Default false. */
  reverse?: boolean;
  /** [T*B, H], row stride ldout (default H); zero past each length. */
  output: number;
  ldout?: number;
  /** [B, H]: the state after each sequence's last step (also the running state). */
  hN: number;
  /** LSTM only: [B, H]. */
  cN?: number;
  /** [T*B, G*H]: written; the activated gates, kept when training. */
  gates: number;
  /** Training: [T*B, H] each, kept for sequenceBackward (cprev: LSTM; extra: the GRUs); all 0/absent for inference. */
  hprev?: number;
  cprev?: number;
  extra?: number;
  /** sequenceWorkFloats(rt, { ..., phase: 'forward' }) floats. */
  work: number;
}

export interface SequenceBackwardArgs extends SequenceSizes {
  /** The training forward's x, weights, lengths, direction and kept buffers, unchanged since. */
  x: number;
  ldx?: number;
  weightIh: number;
  weightHh: number;
  lengths?: number;
  reverse?: boolean;
  gates: number;
  hprev: number;
  cprev?: number;
  extra?: number;
  /** [T*B, H] (row stride lddout, default H), or 0/absent: zero. */
  dOutput?: number;
  lddout?: number;
  /** [B, H] each, or 0/absent: zero. dcN: LSTM only. */
  dhN?: number;
  dcN?: number;
  /** [T*B, I] (row stride lddx, default I): written, or added to when dxAccumulate; 0/absent skips it. */
  dx?: number;
  lddx?: number;
  dxAccumulate?: boolean;
  /** [B, H] written; dc0: LSTM only. */
  dh0: number;
  dc0?: number;
  /** Accumulated into: [G*H, I], [G*H, H], [G*H], [G*H] (biases 0/absent without bias). */
  gradWeightIh: number;
  gradWeightHh: number;
  gradBiasIh?: number;
  gradBiasHh?: number;
  /** Scratch [T*B, G*H]; dgn [T*B, H]: GRU reset-after only. */
  dgates: number;
  dgn?: number;
  /** sequenceWorkFloats(rt, { ..., phase: 'backward' }) floats. */
  work: number;
}

const SHAPES = new ShapeCache(sequenceDescriptor, (d) => d.sequence!);

/** Floats of `work` one sequence call needs. */
export function sequenceWorkFloats(rt: Runtime, args: Omit<SequenceSizes, 'steps'> & { phase: 'forward' | 'backward' }): number {
  return SHAPES.workFloats(rt, 'sequenceWorkFloats', args);
}

// The kernels' argument lists, filled in place per call (calls never nest).
const forwardCall: SequenceForwardCall = {
  T: 0, B: 0, I: 0, H: 0, x: 0, ldx: 0, wIh: 0, wHh: 0, bIh: 0, bHh: 0, h0: 0, c0: 0, lengths: 0, reverse: 0, out: 0, ldout: 0,
  hN: 0, cN: 0, gates: 0, hprev: 0, cprev: 0, extra: 0, work: 0,
};
const backwardCall: SequenceBackwardCall = {
  T: 0, B: 0, I: 0, H: 0, x: 0, ldx: 0, wIh: 0, wHh: 0, lengths: 0, reverse: 0, dout: 0, lddout: 0, dhN: 0, dcN: 0,
  gates: 0, hprev: 0, cprev: 0, extra: 0, dx: 0, lddx: 0, dxAccumulate: 0, dh0: 0, dc0: 0, gWIh: 0, gWHh: 0, gBIh: 0, gBHh: 0,
  dgates: 0, dgn: 0, work: 0,
};

type SequenceCommonArgs = Pick<SequenceForwardArgs, keyof SequenceSizes | 'x' | 'ldx' | 'weightIh' | 'weightHh' | 'lengths' | 'reverse' | 'gates' | 'hprev' | 'cprev' | 'extra' | 'work'>;
type SequenceCommonCall = Pick<SequenceForwardCall, 'T' | 'B' | 'I' | 'H' | 'x' | 'ldx' | 'wIh' | 'wHh' | 'lengths' | 'reverse' | 'gates' | 'hprev' | 'cprev' | 'extra' | 'work'>;

/**
 * The checker both sequence entry points share: sizes (cached per shape), x, the weights,
 * lengths, direction, the kept buffers (which a training forward writes and its backward
 * reads: gates always, hprev when training, cprev for LSTM, extra for the GRUs) and the
 * work space of `phase`. Writes them into `call`; returns the shape, leaving the range checker
 * for the entry point's own buffers (RANGES, to end() before the kernel runs).
 */
function checkCommon(rt: Runtime, fn: string, a: SequenceCommonArgs, ldy: number | undefined, lddx: number | undefined, call: SequenceCommonCall, training: boolean, phase: 'forward' | 'backward') {
  checkOptionsObject(fn, a);
  const s = SHAPES.get(rt, fn, a, a.steps, a.ldx, ldy, lddx);
  const d = s.kind;
  const why = KEPT_WHY[phase];
  const cprev = presentWhen(fn, 'cprev', a.cprev, d.hasCellState && training, d.hasCellState ? why.lstm : 'for LSTM');
  const extra = presentWhen(fn, 'extra', a.extra, d.keepsExtra && training, d.keepsExtra ? why.gru : 'for GRU');
  const reverse = flag(fn, 'reverse', a.reverse);
  const projected = inputProjected(fn, a, d);
  if (projected && a.weightIh) throw new TypeError(`${fn} weightIh must be absent (0) with inputProjected: x holds the products already`);
  const r = RANGES.begin(rt, fn);
  r.need('x', a.x, s.xBytes);
  if (!projected) r.need('weightIh', a.weightIh, s.weightIhBytes);
  r.need('weightHh', a.weightHh, s.weightHhBytes);
  const lengths = a.lengths ?? 0;
  if (lengths !== 0) {
    r.need('lengths', lengths, s.batch * 4);
    checkLengths(rt, fn, lengths, s.steps, s.batch);
  }
  r.need('gates', a.gates, s.gatesBytes);
  if (training) r.need('hprev', a.hprev!, s.rowsBytes);
  r.given('cprev', cprev, s.rowsBytes);
  r.given('extra', extra, s.rowsBytes);
  r.need('work', a.work, phase === 'forward' ? s.forwardWorkBytes : s.backwardWorkBytes);
  call.T = s.steps; call.B = s.batch; call.I = s.inputSize; call.H = s.hiddenSize;
  call.x = a.x; call.ldx = s.ldx; call.wIh = projected ? 0 : a.weightIh; call.wHh = a.weightHh; call.lengths = lengths; call.reverse = reverse;
  call.gates = a.gates; call.hprev = training ? a.hprev! : 0; call.cprev = cprev; call.extra = extra; call.work = a.work;
  return s;
}

/** The inputProjected flag, checked: GRU cells only, with inputSize = 3H. */
function inputProjected(fn: string, a: SequenceSizes, d: { name: string; gates: number }): boolean {
  const projected = flag(fn, 'inputProjected', a.inputProjected);
  if (!projected) return false;
  if (d.name !== 'gru') throw new TypeError(`${fn} inputProjected is only accepted for GRU cells, got ${a.cell}`);
  if (a.inputSize !== d.gates * a.hiddenSize) throw new RangeError(`${fn} inputProjected needs inputSize = 3 * hiddenSize = ${d.gates * a.hiddenSize} (x holds x · W_ihᵀ), got ${a.inputSize}`);
  return true;
}

/** When the kept buffers are required or refused, as the messages say it. */
const KEPT_WHY = {
  forward: { lstm: 'for LSTM training (with hprev)', gru: 'for GRU training (with hprev)' },
  backward: { lstm: 'for LSTM', gru: 'for GRU' },
};

/** Every length in 1..T (the range of the B values is checked already). */
function checkLengths(rt: Runtime, fn: string, ptr: number, T: number, B: number): void {
  const v = rt.mem.i32(ptr, B);
  for (let b = 0; b < B; b++) {
    if (v[b] < 1 || v[b] > T) throw new RangeError(`${fn} lengths[${b}] must be in 1..${T} (steps), got ${v[b]}`);
  }
}

/** One layer-direction over the whole sequence. */
export function sequenceForward(rt: Runtime, a: SequenceForwardArgs): void {
  const fn = 'sequenceForward';
  const call = forwardCall;
  const s = checkCommon(rt, fn, a, a?.ldout, undefined, call, a?.hprev !== undefined && a.hprev !== 0, 'forward');
  const d = s.kind, r = RANGES;
  const lstm = d.hasCellState;
  const c0 = presentWhen(fn, 'c0', a.c0, lstm, 'for LSTM');
  const cN = presentWhen(fn, 'cN', a.cN, lstm, 'for LSTM');
  const bIh = a.biasIh ?? 0, bHh = a.biasHh ?? 0;
  checkBiasPair(fn, bIh, bHh, 'biasIh', 'biasHh', s);
  r.need('h0', a.h0, s.stateBytes);
  r.given('c0', c0, s.stateBytes);
  r.need('output', a.output, s.yBytes);
  r.need('hN', a.hN, s.stateBytes);
  r.given('cN', cN, s.stateBytes);
  r.end();
  call.bIh = bIh; call.bHh = bHh; call.h0 = a.h0; call.c0 = c0; call.out = a.output; call.ldout = s.ldy; call.hN = a.hN; call.cN = cN;
  d.sequence!.forward(rt.exports, call);
}

/** BPTT of one training sequenceForward (same sizes, lengths, direction, kept buffers). */
export function sequenceBackward(rt: Runtime, a: SequenceBackwardArgs): void {
  const fn = 'sequenceBackward';
  const call = backwardCall;
  const s = checkCommon(rt, fn, a, a?.lddout, a?.lddx, call, true, 'backward');
  const d = s.kind, r = RANGES;
  const lstm = d.hasCellState;
  const dc0 = presentWhen(fn, 'dc0', a.dc0, lstm, 'for LSTM');
  const dgn = presentWhen(fn, 'dgn', a.dgn, d.needsDgn, 'for the reset-after GRU');
  if (!lstm && a.dcN) throw new TypeError(`${fn} dcN is only accepted for LSTM`);
  const gBIh = a.gradBiasIh ?? 0, gBHh = a.gradBiasHh ?? 0;
  checkBiasPair(fn, gBIh, gBHh, 'gradBiasIh', 'gradBiasHh', s);
  const dout = a.dOutput ?? 0, dhN = a.dhN ?? 0, dcN = a.dcN ?? 0, dx = a.dx ?? 0;
  const dxAccumulate = flag(fn, 'dxAccumulate', a.dxAccumulate);
  r.given('dOutput', dout, s.yBytes);
  r.given('dhN', dhN, s.stateBytes);
  r.given('dcN', dcN, s.stateBytes);
  r.given('dx', dx, s.dxBytes);
  r.need('dh0', a.dh0, s.stateBytes);
  r.given('dc0', dc0, s.stateBytes);
  const projected = call.wIh === 0;
  if (projected && a.gradWeightIh) throw new TypeError(`${fn} gradWeightIh must be absent (0) with inputProjected: the caller owns W_ih's gradient`);
  if (!projected) r.need('gradWeightIh', a.gradWeightIh, s.weightIhBytes);
  r.need('gradWeightHh', a.gradWeightHh, s.weightHhBytes);
  r.need('dgates', a.dgates, s.gatesBytes);
  r.given('dgn', dgn, s.rowsBytes);
  r.end();
  call.dout = dout; call.lddout = s.ldy; call.dhN = dhN; call.dcN = dcN; call.dx = dx; call.lddx = s.lddx; call.dxAccumulate = dxAccumulate;
  call.dh0 = a.dh0; call.dc0 = dc0; call.gWIh = projected ? 0 : a.gradWeightIh; call.gWHh = a.gradWeightHh; call.gBIh = gBIh; call.gBHh = gBHh;
  call.dgates = a.dgates; call.dgn = dgn;
  d.sequence!.backward(rt.exports, call);
}

export interface SwapAxes01Args {
  /** src: [d0, d1, features] -> dst: [d1, d0, features] (must not overlap). */
  d0: number;
  d1: number;
  features: number;
  src: number;
  dst: number;
}

/** Swaps the first two axes (batch-first <-> time-first). */
export function swapAxes01(rt: Runtime, a: SwapAxes01Args): void {
  const fn = 'swapAxes01';
  const d0 = checkSize(`${fn} d0`, a.d0), d1 = checkSize(`${fn} d1`, a.d1), F = checkSize(`${fn} features`, a.features);
  const bytes = d0 * d1 * F * 4;
  rt.mem.checkRange(`${fn} src`, a.src, bytes);
  rt.mem.checkRange(`${fn} dst`, a.dst, bytes);
  if (bytes > 0 && a.dst < a.src + bytes && a.src < a.dst + bytes) throw new RangeError(`${fn} dst must not overlap src`);
  rt.exports.rec_swap01(d0, d1, F, a.src, a.dst);
}

export interface MultiplyIntoArgs {
  n: number;
  a: number;
  b: number;
  /** out[i] = a[i] * b[i]; may alias a or b. */
  out: number;
}

/** out = a * b elementwise (dropout masks on the layers' inputs and on their gradients). */
export function multiplyInto(rt: Runtime, args: MultiplyIntoArgs): void {
  const n = checkSize('multiplyInto n', args.n);
  rt.mem.checkRange('multiplyInto a', args.a, n * 4);
  rt.mem.checkRange('multiplyInto b', args.b, n * 4);
  rt.mem.checkRange('multiplyInto out', args.out, n * 4);
  rt.exports.rec_mul(n, args.a, args.b, args.out);
}
