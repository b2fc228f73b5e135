/**
 * One recurrent step over a whole batch, for every cell kind (assembly/{rnn,lstm,gru,
 * attention_gru}.ts `*_cell_forward` / `*_cell_backward`). Every pointer is checked
 * against the sizes before wasm runs; the kernels allocate nothing, so the caller passes
 * `work` (at least cellWorkFloats(...) floats) and the kept buffers.
 *
 *   cellForward(rt, { cell, batch, inputSize, hiddenSize, x, weightIh, weightHh, h, hOut, gates, work, ... })
 *   cellBackward(rt, { cell, batch, inputSize, hiddenSize, x, weightIh, weightHh, h, gates, dh, work, ... })
 *   cellWorkFloats(rt, { cell, phase, batch, inputSize, hiddenSize })
 *
 * Kept between a forward and its backward (the caller owns them, and keeps x, h, c and
 * gate unchanged): `gates` [B, G*H] always, `extra` [B, H] for the GRUs and the attention
 * GRU (CELL_KINDS[cell].keepsExtra).
 */
import type { Runtime } from '../runtime/runtime.js';
import { cellDescriptor, type CellKind, type StepBackwardCall, type StepForwardCall } from './cell-kinds.js';
import { checkBiasPair, checkOptionsObject, flag, presentWhen, RANGES, ShapeCache, type RecurrentShape } from './recurrent-checks.js';

export { CELL_KINDS, type CellKind, type CellDescriptor } from './cell-kinds.js';

export interface CellSizes {
  cell: CellKind;
  batch: number;
  inputSize: number;
  hiddenSize: number;
}

export interface CellForwardKernelArgs extends CellSizes {
  /** [B, I], row stride ldx (default I). */
  x: number;
  ldx?: number;
  /** [G*H, I] */
  weightIh: number;
  /** [G*H, H] */
  weightHh: number;
  /** [G*H] each, both or neither (0 or absent: no bias). */
  biasIh?: number;
  biasHh?: number;
  /** [B, H] the previous state. */
  h: number;
  /** LSTM only: [B, H] the previous cell state. */
  c?: number;
  /** Attention GRU only: [B] the attention weight g of each row. */
  gate?: number;
  /** [B, H] the new state (must not overlap the inputs). */
  hOut: number;
  /** LSTM only: [B, H] the new cell state. */
  cOut?: number;
  /** [B, G*H] written, kept for the backward. */
  gates: number;
  /** GRUs and attention GRU: [B, H] written, kept for the backward. */
  extra?: number;
  /** cellWorkFloats(rt, { ..., phase: 'forward' }) floats. */
  work: number;
}

export interface CellBackwardKernelArgs extends CellSizes {
  /** The forward's x, h, c, gate, weights, gates and extra, unchanged since. */
  x: number;
  ldx?: number;
  weightIh: number;
  weightHh: number;
  h: number;
  c?: number;
  gate?: number;
  gates: number;
  extra?: number;
  /** [B, H] gradient of hOut, or 0/absent (zero). */
  dhOut?: number;
  /** LSTM only: [B, H] gradient of cOut, or 0/absent. */
  dcOut?: number;
  /** [B, I] (row stride lddx, default I): written, or added to when dxAccumulate; 0/absent skips it. */
  dx?: number;
  lddx?: number;
  dxAccumulate?: boolean;
  /** [B, H] written: the gradient of h. */
  dh: number;
  /** LSTM only: [B, H] written. */
  dc?: number;
  /** Attention GRU only: [B] written: the gradient of gate. */
  dGate?: number;
  /** Accumulated into: [G*H, I], [G*H, H], [G*H], [G*H] (the biases 0/absent without bias). */
  gradWeightIh: number;
  gradWeightHh: number;
  gradBiasIh?: number;
  gradBiasHh?: number;
  /** cellWorkFloats(rt, { ..., phase: 'backward' }) floats. */
  work: number;
}

const SHAPES = new ShapeCache(cellDescriptor, (d) => d.step);

/** Floats of `work` a cell step needs. */
export function cellWorkFloats(rt: Runtime, args: CellSizes & { phase: 'forward' | 'backward' }): number {
  return SHAPES.workFloats(rt, 'cellWorkFloats', args);
}

// The kernels' argument lists, filled in place per call (calls never nest).
const forwardCall: StepForwardCall = {
  B: 0, I: 0, H: 0, x: 0, ldx: 0, wIh: 0, wHh: 0, bIh: 0, bHh: 0, h: 0, c: 0, gate: 0, hOut: 0, cOut: 0, gates: 0, extra: 0, work: 0,
};
const backwardCall: StepBackwardCall = {
  B: 0, I: 0, H: 0, x: 0, ldx: 0, wIh: 0, wHh: 0, h: 0, c: 0, gate: 0, gates: 0, extra: 0, dhOut: 0, dcOut: 0, dx: 0, lddx: 0,
  dxAccumulate: 0, dh: 0, dc: 0, dGate: 0, gWIh: 0, gWHh: 0, gBIh: 0, gBHh: 0, work: 0,
};

const WHAT = { c: 'for LSTM', gate: 'for the attention GRU', extra: 'for GRU and attention GRU cells' };

type StepCommonArgs = Pick<CellForwardKernelArgs, keyof CellSizes | 'x' | 'ldx' | 'weightIh' | 'weightHh' | 'h' | 'c' | 'gate' | 'gates' | 'extra' | 'work'>;
type StepCommonCall = Pick<StepForwardCall, 'B' | 'I' | 'H' | 'x' | 'ldx' | 'wIh' | 'wHh' | 'h' | 'c' | 'gate' | 'gates' | 'extra' | 'work'>;

/**
 * The checker both step entry points share: sizes (cached per shape), x, the weights, the
 * previous state (h, c for LSTM, gate for the attention GRU), the kept buffers (gates, extra
 * for the GRUs) and the work space of `phase`. Writes them into `call`; returns the shape,
 * leaving the range checker (RANGES) open for the entry point's own buffers (end() it before the kernel runs).
 */
function checkCommon(rt: Runtime, fn: string, a: StepCommonArgs, lddx: number | undefined, call: StepCommonCall, phase: 'forward' | 'backward') {
  checkOptionsObject(fn, a);
  const s = SHAPES.get(rt, fn, a, 1, a.ldx, undefined, lddx);
  const d = s.kind;
  const c = presentWhen(fn, 'c', a.c, d.hasCellState, WHAT.c);
  const gate = presentWhen(fn, 'gate', a.gate, d.hasGateInput, WHAT.gate);
  const extra = presentWhen(fn, 'extra', a.extra, d.keepsExtra, WHAT.extra);
  const r = RANGES.begin(rt, fn);
  r.need('x', a.x, s.xBytes);
  r.need('weightIh', a.weightIh, s.weightIhBytes);
  r.need('weightHh', a.weightHh, s.weightHhBytes);
  r.need('h', a.h, s.stateBytes);
  r.given('c', c, s.stateBytes);
  r.given('gate', gate, s.batch * 4);
  r.need('gates', a.gates, s.gatesBytes);
  r.given('extra', extra, s.stateBytes);
  r.need('work', a.work, phase === 'forward' ? s.forwardWorkBytes : s.backwardWorkBytes);
  call.B = s.batch; call.I = s.inputSize; call.H = s.hiddenSize; call.x = a.x; call.ldx = s.ldx; call.wIh = a.weightIh; call.wHh = a.weightHh;
  call.h = a.h; call.c = c; call.gate = gate; call.gates = a.gates; call.extra = extra; call.work = a.work;
  return s;
}

/** Throws when [out, out + bytes) overlaps [p, p + pBytes) (p 0: absent). */
function disjoint(fn: string, outName: string, out: number, bytes: number, name: string, p: number, pBytes: number): void {
  if (p !== 0 && out < p + pBytes && p < out + bytes) throw new RangeError(`${fn} ${outName} must not overlap ${name}`);
}

/** A new state [B, H] at `out` must not overlap the step's inputs (the kernel reads them while writing it). */
function outsideInputs(fn: string, outName: string, out: number, s: RecurrentShape, inputs: StepCommonCall): void {
  const state = s.stateBytes;
  disjoint(fn, outName, out, state, 'x', inputs.x, s.xBytes);
  disjoint(fn, outName, out, state, 'h', inputs.h, state);
  disjoint(fn, outName, out, state, 'c', inputs.c, state);
  disjoint(fn, outName, out, state, 'gate', inputs.gate, s.batch * 4);
}

/** One step: hOut (and cOut) from x and h (and c, gate); writes the kept gates (and extra). */
export function cellForward(rt: Runtime, a: CellForwardKernelArgs): void {
  const fn = 'cellForward';
  const call = forwardCall;
  const s = checkCommon(rt, fn, a, undefined, call, 'forward');
  const d = s.kind, r = RANGES;
  const cOut = presentWhen(fn, 'cOut', a.cOut, d.hasCellState, WHAT.c);
  const bIh = a.biasIh ?? 0, bHh = a.biasHh ?? 0;
  checkBiasPair(fn, bIh, bHh, 'biasIh', 'biasHh', s);
  r.need('hOut', a.hOut, s.stateBytes);
  r.given('cOut', cOut, s.stateBytes);
  r.end();
  outsideInputs(fn, 'hOut', a.hOut, s, call);
  if (cOut !== 0) {
    outsideInputs(fn, 'cOut', cOut, s, call);
    disjoint(fn, 'cOut', cOut, s.stateBytes, 'hOut', a.hOut, s.stateBytes);
  }
  call.bIh = bIh; call.bHh = bHh; call.hOut = a.hOut; call.cOut = cOut;
  d.step.forward(rt.exports, call);
}

/**
 * The backward of one cellForward: writes dh (dc, dGate) and dx (or adds to it), and adds
 * the parameter gradients into gradWeightIh, gradWeightHh (gradBiasIh, gradBiasHh).
 */
export function cellBackward(rt: Runtime, a: CellBackwardKernelArgs): void {
  const fn = 'cellBackward';
  const call = backwardCall;
  const s = checkCommon(rt, fn, a, a?.lddx, call, 'backward');
  const d = s.kind, r = RANGES;
  const lstm = d.hasCellState;
  const dc = presentWhen(fn, 'dc', a.dc, lstm, WHAT.c);
  const dGate = presentWhen(fn, 'dGate', a.dGate, d.hasGateInput, WHAT.gate);
  if (!lstm && a.dcOut) throw new TypeError(`${fn} dcOut is only accepted for LSTM`);
  const dhOut = a.dhOut ?? 0, dcOut = a.dcOut ?? 0, dx = a.dx ?? 0;
  const dxAccumulate = flag(fn, 'dxAccumulate', a.dxAccumulate);
  const gBIh = a.gradBiasIh ?? 0, gBHh = a.gradBiasHh ?? 0;
  checkBiasPair(fn, gBIh, gBHh, 'gradBiasIh', 'gradBiasHh', s);
  r.given('dhOut', dhOut, s.stateBytes);
  r.given('dcOut', dcOut, s.stateBytes);
  r.given('dx', dx, s.dxBytes);
  r.need('dh', a.dh, s.stateBytes);
  r.given('dc', dc, s.stateBytes);
  r.given('dGate', dGate, s.batch * 4);
  r.need('gradWeightIh', a.gradWeightIh, s.weightIhBytes);
  r.need('gradWeightHh', a.gradWeightHh, s.weightHhBytes);
  r.end();
  call.dhOut = dhOut; call.dcOut = dcOut; call.dx = dx; call.lddx = s.lddx; call.dxAccumulate = dxAccumulate;
  call.dh = a.dh; call.dc = dc; call.dGate = dGate; call.gWIh = a.gradWeightIh; call.gWHh = a.gradWeightHh; call.gBIh = gBIh; call.gBHh = gBHh;
  d.step.backward(rt.exports, call);
}
