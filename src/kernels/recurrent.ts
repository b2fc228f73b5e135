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
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { rangeChecker } from './elementwise.js';
import { sequenceDescriptor, type SequenceCellKind } from './cell-kinds.js';
import { checkLeadingDim, matrixBytes } from './elementwise.js';

export interface SequenceSizes {
  cell: SequenceCellKind;
  /** T: the longest sequence (rows of x are T*B). */
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
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

function checkSizes(fn: string, a: SequenceSizes) {
  if (a === null || typeof a !== 'object') throw new TypeError(`${fn} expects an options object`);
  const d = sequenceDescriptor(a.cell);
  const T = checkSize(`${fn} steps`, a.steps, 1);
  const B = checkSize(`${fn} batch`, a.batch, 1);
  const I = checkSize(`${fn} inputSize`, a.inputSize, 1);
  const H = checkSize(`${fn} hiddenSize`, a.hiddenSize, 1);
  return { d, T, B, I, H, GH: d.gates * H, rows: T * B };
}

/** Floats of `work` one sequence call needs. */
export function sequenceWorkFloats(rt: Runtime, args: Omit<SequenceSizes, 'steps'> & { phase: 'forward' | 'backward' }): number {
  const fn = 'sequenceWorkFloats';
  const { d, B, I, H } = checkSizes(fn, { ...args, steps: 1 });
  if (args.phase === 'forward') return d.sequence.forwardWorkFloats(rt.exports, B, H, I);
  if (args.phase === 'backward') return d.sequence.backwardWorkFloats(rt.exports, B, H);
  throw new RangeError(`${fn} phase must be 'forward' or 'backward', got ${String(args.phase)}`);
}

/** A pointer given exactly when wanted (0 and undefined are both "absent"). */
function exactlyWhen(fn: string, name: string, ptr: number | undefined, wanted: boolean, why: string): number {
  const given = ptr !== undefined && ptr !== 0;
  if (wanted && !given) throw new TypeError(`${fn} ${name} is required ${why}`);
  if (!wanted && given) throw new TypeError(`${fn} ${name} is only accepted ${why}`);
  return given ? ptr! : 0;
}

function checkLengths(rt: Runtime, fn: string, ptr: number | undefined, T: number, B: number): number {
  if (ptr === undefined || ptr === 0) return 0;
  rt.mem.checkRange(`${fn} lengths`, ptr, B * 4);
  const v = rt.mem.i32(ptr, B);
  for (let b = 0; b < B; b++) {
    if (v[b] < 1 || v[b] > T) throw new RangeError(`${fn} lengths[${b}] must be in 1..${T} (steps), got ${v[b]}`);
  }
  return ptr;
}

function checkBool(fn: string, name: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'boolean') throw new TypeError(`${fn} ${name} must be a boolean, got ${typeof v}`);
  return v ? 1 : 0;
}

function biasPair(fn: string, ih: number | undefined, hh: number | undefined, names: string): [number, number] {
  const a = ih ?? 0, b = hh ?? 0;
  if ((a === 0) !== (b === 0)) throw new ShapeError(`${fn} ${names} must be given together (or neither, without bias)`);
  return [a, b];
}

/** One layer-direction over the whole sequence. */
export function sequenceForward(rt: Runtime, a: SequenceForwardArgs): void {
  const fn = 'sequenceForward';
  const { d, T, B, I, H, GH, rows } = checkSizes(fn, a);
  const range = rangeChecker(rt, fn);
  const ldx = checkLeadingDim(`${fn} ldx`, a.ldx, I);
  const ldout = checkLeadingDim(`${fn} ldout`, a.ldout, H);
  const lstm = d.hasCellState;
  const c0 = exactlyWhen(fn, 'c0', a.c0, lstm, 'for LSTM');
  const cN = exactlyWhen(fn, 'cN', a.cN, lstm, 'for LSTM');
  const training = a.hprev !== undefined && a.hprev !== 0;
  const mode = training ? 'for LSTM training (with hprev)' : 'with hprev';
  const cprev = exactlyWhen(fn, 'cprev', a.cprev, lstm && training, lstm ? mode : 'for LSTM');
  const extra = exactlyWhen(fn, 'extra', a.extra, d.keepsExtra && training, d.keepsExtra ? 'for GRU training (with hprev)' : 'for GRU');
  const [bIh, bHh] = biasPair(fn, a.biasIh, a.biasHh, 'biasIh and biasHh');
  const state = B * H * 4;
  range('x', a.x, matrixBytes(rows, I, ldx));
  range('weightIh', a.weightIh, GH * I * 4);
  range('weightHh', a.weightHh, GH * H * 4);
  if (bIh !== 0) {
    range('biasIh', bIh, GH * 4);
    range('biasHh', bHh, GH * 4);
  }
  range('h0', a.h0, state);
  if (lstm) range('c0', c0, state);
  const lengths = checkLengths(rt, fn, a.lengths, T, B);
  range('output', a.output, matrixBytes(rows, H, ldout));
  range('hN', a.hN, state);
  if (lstm) range('cN', cN, state);
  range('gates', a.gates, rows * GH * 4);
  if (training) range('hprev', a.hprev!, rows * H * 4);
  if (cprev !== 0) range('cprev', cprev, rows * H * 4);
  if (extra !== 0) range('extra', extra, rows * H * 4);
  range('work', a.work, d.sequence.forwardWorkFloats(rt.exports, B, H, I) * 4);
  d.sequence.forward(rt.exports, {
    T, B, I, H, x: a.x, ldx, wIh: a.weightIh, wHh: a.weightHh, bIh, bHh, h0: a.h0, c0, lengths, reverse: checkBool(fn, 'reverse', a.reverse),
    out: a.output, ldout, hN: a.hN, cN, gates: a.gates, hprev: training ? a.hprev! : 0, cprev, extra, work: a.work,
  });
}

/** BPTT of one training sequenceForward (same sizes, lengths, direction, kept buffers). */
export function sequenceBackward(rt: Runtime, a: SequenceBackwardArgs): void {
  const fn = 'sequenceBackward';
  const { d, T, B, I, H, GH, rows } = checkSizes(fn, a);
  const range = rangeChecker(rt, fn);
  const ldx = checkLeadingDim(`${fn} ldx`, a.ldx, I);
  const lddout = checkLeadingDim(`${fn} lddout`, a.lddout, H);
  const lddx = checkLeadingDim(`${fn} lddx`, a.lddx, I);
  const lstm = d.hasCellState;
  const cprev = exactlyWhen(fn, 'cprev', a.cprev, lstm, 'for LSTM');
  const dc0 = exactlyWhen(fn, 'dc0', a.dc0, lstm, 'for LSTM');
  const extra = exactlyWhen(fn, 'extra', a.extra, d.keepsExtra, 'for GRU');
  const dgn = exactlyWhen(fn, 'dgn', a.dgn, d.needsDgn, 'for the reset-after GRU');
  if (!lstm && a.dcN) throw new TypeError(`${fn} dcN is only accepted for LSTM`);
  const [gBIh, gBHh] = biasPair(fn, a.gradBiasIh, a.gradBiasHh, 'gradBiasIh and gradBiasHh');
  const dout = a.dOutput ?? 0, dhN = a.dhN ?? 0, dcN = a.dcN ?? 0, dx = a.dx ?? 0;
  const state = B * H * 4;
  range('x', a.x, matrixBytes(rows, I, ldx));
  range('weightIh', a.weightIh, GH * I * 4);
  range('weightHh', a.weightHh, GH * H * 4);
  const lengths = checkLengths(rt, fn, a.lengths, T, B);
  range('gates', a.gates, rows * GH * 4);
  range('hprev', a.hprev, rows * H * 4);
  if (cprev !== 0) range('cprev', cprev, rows * H * 4);
  if (extra !== 0) range('extra', extra, rows * H * 4);
  if (dout !== 0) range('dOutput', dout, matrixBytes(rows, H, lddout));
  if (dhN !== 0) range('dhN', dhN, state);
  if (dcN !== 0) range('dcN', dcN, state);
  if (dx !== 0) range('dx', dx, matrixBytes(rows, I, lddx));
  range('dh0', a.dh0, state);
  if (lstm) range('dc0', dc0, state);
  range('gradWeightIh', a.gradWeightIh, GH * I * 4);
  range('gradWeightHh', a.gradWeightHh, GH * H * 4);
  if (gBIh !== 0) {
    range('gradBiasIh', gBIh, GH * 4);
    range('gradBiasHh', gBHh, GH * 4);
  }
  range('dgates', a.dgates, rows * GH * 4);
  if (dgn !== 0) range('dgn', dgn, rows * H * 4);
  range('work', a.work, d.sequence.backwardWorkFloats(rt.exports, B, H) * 4);
  d.sequence.backward(rt.exports, {
    T, B, I, H, x: a.x, ldx, wIh: a.weightIh, wHh: a.weightHh, lengths, reverse: checkBool(fn, 'reverse', a.reverse),
    dout, lddout, dhN, dcN, gates: a.gates, hprev: a.hprev, cprev, extra, dx, lddx, dxAccumulate: checkBool(fn, 'dxAccumulate', a.dxAccumulate),
    dh0: a.dh0, dc0, gWIh: a.gradWeightIh, gWHh: a.gradWeightHh, gBIh, gBHh, dgates: a.dgates, dgn, work: a.work,
  });
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
