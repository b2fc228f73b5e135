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
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { rangeChecker } from './elementwise.js';
import { checkLeadingDim, matrixBytes } from './elementwise.js';
import { cellDescriptor, type CellDescriptor, type CellKind } from './cell-kinds.js';

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

function checkSizes(fn: string, a: CellSizes) {
  if (a === null || typeof a !== 'object') throw new TypeError(`${fn} expects an options object`);
  const shape = cellDescriptor(a.cell);
  const B = checkSize(`${fn} batch`, a.batch, 1);
  const I = checkSize(`${fn} inputSize`, a.inputSize, 1);
  const H = checkSize(`${fn} hiddenSize`, a.hiddenSize, 1);
  return { shape, B, I, H, GH: shape.gates * H };
}

/** Floats of `work` a cell step needs. */
export function cellWorkFloats(rt: Runtime, args: CellSizes & { phase: 'forward' | 'backward' }): number {
  const fn = 'cellWorkFloats';
  const { B, I, H } = checkSizes(fn, args);
  const forward = args.phase === 'forward';
  if (!forward && args.phase !== 'backward') throw new RangeError(`${fn} phase must be 'forward' or 'backward', got ${String(args.phase)}`);
  const step = cellDescriptor(args.cell).step;
  return forward ? step.forwardWorkFloats(rt.exports, B, H, I) : step.backwardWorkFloats(rt.exports, B, H);
}

/** A pointer that must be given exactly when the cell kind has that buffer. */
function optionalFor(fn: string, name: string, ptr: number | undefined, wanted: boolean, what: string): number {
  const given = ptr !== undefined && ptr !== 0;
  if (wanted && !given) throw new TypeError(`${fn} ${name} is required for ${what}`);
  if (!wanted && given) throw new TypeError(`${fn} ${name} is only accepted for ${what}`);
  return given ? ptr! : 0;
}

function disjoint(fn: string, outName: string, out: number, outBytes: number, inputs: [string, number, number][]): void {
  for (const [name, p, bytes] of inputs) {
    if (p !== 0 && out < p + bytes && p < out + outBytes) throw new RangeError(`${fn} ${outName} must not overlap ${name}`);
  }
}

/** One step: hOut (and cOut) from x and h (and c, gate); writes the kept gates (and extra). */
export function cellForward(rt: Runtime, a: CellForwardKernelArgs): void {
  const fn = 'cellForward';
  const { shape, B, I, H, GH } = checkSizes(fn, a);
  const range = rangeChecker(rt, fn);
  const ldx = checkLeadingDim(`${fn} ldx`, a.ldx, I);
  const lstm = shape.hasCellState;
  const what = { c: 'LSTM', gate: 'the attention GRU', extra: 'GRU and attention GRU cells' };
  const c = optionalFor(fn, 'c', a.c, lstm, what.c);
  const cOut = optionalFor(fn, 'cOut', a.cOut, lstm, what.c);
  const gate = optionalFor(fn, 'gate', a.gate, shape.hasGateInput, what.gate);
  const extra = optionalFor(fn, 'extra', a.extra, shape.keepsExtra, what.extra);
  const { bIh, bHh } = biases(fn, a.biasIh, a.biasHh, 'biasIh', 'biasHh');
  const state = B * H * 4;
  range('x', a.x, matrixBytes(B, I, ldx));
  range('weightIh', a.weightIh, GH * I * 4);
  range('weightHh', a.weightHh, GH * H * 4);
  if (bIh !== 0) {
    range('biasIh', bIh, GH * 4);
    range('biasHh', bHh, GH * 4);
  }
  range('h', a.h, state);
  if (lstm) range('c', c, state);
  if (gate !== 0) range('gate', gate, B * 4);
  range('hOut', a.hOut, state);
  if (lstm) range('cOut', cOut, state);
  range('gates', a.gates, B * GH * 4);
  if (extra !== 0) range('extra', extra, state);
  range('work', a.work, cellWorkFloats(rt, { ...a, phase: 'forward' }) * 4);
  const inputs: [string, number, number][] = [['x', a.x, matrixBytes(B, I, ldx)], ['h', a.h, state], ['c', c, state], ['gate', gate, B * 4]];
  disjoint(fn, 'hOut', a.hOut, state, inputs);
  if (lstm) disjoint(fn, 'cOut', cOut, state, [...inputs, ['hOut', a.hOut, state]]);
  shape.step.forward(rt.exports, {
    B, I, H, x: a.x, ldx, wIh: a.weightIh, wHh: a.weightHh, bIh, bHh, h: a.h, c, gate, hOut: a.hOut, cOut, gates: a.gates, extra, work: a.work,
  });
}

/**
 * The backward of one cellForward: writes dh (dc, dGate) and dx (or adds to it), and adds
 * the parameter gradients into gradWeightIh, gradWeightHh (gradBiasIh, gradBiasHh).
 */
export function cellBackward(rt: Runtime, a: CellBackwardKernelArgs): void {
  const fn = 'cellBackward';
  const { shape, B, I, H, GH } = checkSizes(fn, a);
  const range = rangeChecker(rt, fn);
  const ldx = checkLeadingDim(`${fn} ldx`, a.ldx, I);
  const lstm = shape.hasCellState;
  const what = { c: 'LSTM', gate: 'the attention GRU', extra: 'GRU and attention GRU cells' };
  const c = optionalFor(fn, 'c', a.c, lstm, what.c);
  const dc = optionalFor(fn, 'dc', a.dc, lstm, what.c);
  const gate = optionalFor(fn, 'gate', a.gate, shape.hasGateInput, what.gate);
  const dGate = optionalFor(fn, 'dGate', a.dGate, shape.hasGateInput, what.gate);
  const extra = optionalFor(fn, 'extra', a.extra, shape.keepsExtra, what.extra);
  if (!lstm && a.dcOut) throw new TypeError(`${fn} dcOut is only accepted for LSTM`);
  const dhOut = a.dhOut ?? 0, dcOut = a.dcOut ?? 0, dx = a.dx ?? 0;
  const lddx = checkLeadingDim(`${fn} lddx`, a.lddx, I);
  if (a.dxAccumulate !== undefined && typeof a.dxAccumulate !== 'boolean') throw new TypeError(`${fn} dxAccumulate must be a boolean`);
  const { bIh: gbIh, bHh: gbHh } = biases(fn, a.gradBiasIh, a.gradBiasHh, 'gradBiasIh', 'gradBiasHh');
  const state = B * H * 4;
  range('x', a.x, matrixBytes(B, I, ldx));
  range('weightIh', a.weightIh, GH * I * 4);
  range('weightHh', a.weightHh, GH * H * 4);
  range('h', a.h, state);
  if (lstm) range('c', c, state);
  if (gate !== 0) range('gate', gate, B * 4);
  range('gates', a.gates, B * GH * 4);
  if (extra !== 0) range('extra', extra, state);
  if (dhOut !== 0) range('dhOut', dhOut, state);
  if (dcOut !== 0) range('dcOut', dcOut, state);
  if (dx !== 0) range('dx', dx, matrixBytes(B, I, lddx));
  range('dh', a.dh, state);
  if (lstm) range('dc', dc, state);
  if (dGate !== 0) range('dGate', dGate, B * 4);
  range('gradWeightIh', a.gradWeightIh, GH * I * 4);
  range('gradWeightHh', a.gradWeightHh, GH * H * 4);
  if (gbIh !== 0) {
    range('gradBiasIh', gbIh, GH * 4);
    range('gradBiasHh', gbHh, GH * 4);
  }
  range('work', a.work, cellWorkFloats(rt, { ...a, phase: 'backward' }) * 4);
  shape.step.backward(rt.exports, {
    B, I, H, x: a.x, ldx, wIh: a.weightIh, wHh: a.weightHh, h: a.h, c, gate, gates: a.gates, extra, dhOut, dcOut, dx, lddx,
    dxAccumulate: a.dxAccumulate ? 1 : 0, dh: a.dh, dc, dGate, gWIh: a.gradWeightIh, gWHh: a.gradWeightHh, gBIh: gbIh, gBHh: gbHh, work: a.work,
  });
}

/** Both bias pointers or neither (the kernels add b_ih and b_hh together). */
function biases(fn: string, ih: number | undefined, hh: number | undefined, ihName: string, hhName: string): { bIh: number; bHh: number } {
  const bIh = ih ?? 0, bHh = hh ?? 0;
  if ((bIh === 0) !== (bHh === 0)) throw new ShapeError(`${fn} ${ihName} and ${hhName} must be given together (or neither, without bias)`);
  return { bIh, bHh };
}
