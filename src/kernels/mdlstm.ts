/**
 * The 2-D LSTM kernels (assembly/mdlstm.ts) over wasm memory: one scan direction of a whole
 * grid per call, in wavefront order. Sizes: B batch, R rows, C columns, I inputs, H hidden;
 * N = B*R*C cells. Gate rows i, f_row, f_col, g, o (FORMAT.md §9).
 *
 *   mdlstmForward(rt, { batch, rows, cols, inputSize, hiddenSize, direction, x, wIh, wHh, bias?,
 *                       out, ldOut?, cellOut, ldCell?, accumulate?, kept, cellByCell?, work })
 *       x: [B, R, C, I]; out, cellOut: N rows of H at row strides ldOut, ldCell (default H),
 *       written or (accumulate) added to; kept: the wavefront-order buffers backward reads.
 *   mdlstmBackward(rt, { ..., dOut?, ldDOut?, dCell?, ldDCell?, kept, dx?, dxAccumulate?,
 *                        dWIh, dWHh, dBias?, scratch, cellByCell?, work })
 *       parameter gradients accumulated; dx [B, R, C, I] written or added to.
 *
 * Every pointer range is checked against the sizes before the kernel runs.
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';

/** Buffers a training forward keeps for backward, each in wavefront order (floats given). */
export interface MdlstmKept {
  /** x permuted: [N, I] */
  xw: number;
  /** gate activations: [N, 5H] */
  gates: number;
  /** [h_rowpred; h_colpred] of every cell: [N, 2H] */
  hcat: number;
  /** [N, H] */
  hw: number;
  /** [N, H] */
  cw: number;
}

/** Backward's scratch, wavefront order. */
export interface MdlstmBackwardScratch {
  /** [N, 5H] */
  dgates: number;
  /** [N, H] each: gradients carried from successors */
  dhw: number;
  dcw: number;
  /** [N, I] (needed only with dx) */
  dxw: number;
}

export interface MdlstmSizes {
  batch: number;
  rows: number;
  cols: number;
  inputSize: number;
  hiddenSize: number;
  /** 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right (the scan's start corner). */
  direction: number;
  /** One recurrent product per cell instead of one per anti-diagonal (for comparison). Default false. */
  cellByCell?: boolean;
}

export interface MdlstmForwardArgs extends MdlstmSizes {
  x: number;
  wIh: number;
  wHh: number;
  /** 0 or absent: no bias. */
  bias?: number;
  out: number;
  ldOut?: number;
  cellOut: number;
  ldCell?: number;
  accumulate?: boolean;
  kept: MdlstmKept;
  /** mdlstmWorkFloats(...).forward floats */
  work: number;
}

export interface MdlstmBackwardArgs extends MdlstmSizes {
  wIh: number;
  wHh: number;
  /** Gradient of out (row stride ldDOut, default H); absent: zero. */
  dOut?: number;
  ldDOut?: number;
  dCell?: number;
  ldDCell?: number;
  kept: MdlstmKept;
  /** [B, R, C, I]; absent: no input gradient. */
  dx?: number;
  dxAccumulate?: boolean;
  dWIh: number;
  dWHh: number;
  dBias?: number;
  scratch: MdlstmBackwardScratch;
  /** mdlstmWorkFloats(...).backward floats */
  work: number;
}

interface Checked { B: number; R: number; C: number; I: number; H: number; dir: number; N: number; cellByCell: number }

function checkSizes(name: string, a: MdlstmSizes): Checked {
  const B = checkSize(`${name} batch`, a.batch, 1);
  const R = checkSize(`${name} rows`, a.rows, 1);
  const C = checkSize(`${name} cols`, a.cols, 1);
  const I = checkSize(`${name} inputSize`, a.inputSize, 1);
  const H = checkSize(`${name} hiddenSize`, a.hiddenSize, 1);
  const dir = a.direction;
  if (dir !== 0 && dir !== 1 && dir !== 2 && dir !== 3) throw new RangeError(`${name} direction must be 0, 1, 2 or 3, got ${String(dir)}`);
  if (a.cellByCell !== undefined && typeof a.cellByCell !== 'boolean') throw new TypeError(`${name} cellByCell must be a boolean`);
  return { B, R, C, I, H, dir, N: B * R * C, cellByCell: a.cellByCell ? 1 : 0 };
}

/** Bytes of `rows` rows of `cols` floats at row stride ld. */
function span(rows: number, cols: number, ld: number): number {
  return ((rows - 1) * ld + cols) * 4;
}

function checkStride(name: string, ld: number | undefined, H: number): number {
  const v = checkSize(name, ld ?? H, 1);
  if (v < H) throw new RangeError(`${name} must be >= hiddenSize ${H}, got ${v}`);
  return v;
}

function checkKept(rt: Runtime, name: string, k: MdlstmKept, c: Checked): void {
  if (k === null || typeof k !== 'object') throw new TypeError(`${name} kept must be { xw, gates, hcat, hw, cw }`);
  const { N, I, H } = c;
  rt.mem.checkRange(`${name} kept.xw`, k.xw, N * I * 4);
  rt.mem.checkRange(`${name} kept.gates`, k.gates, N * 5 * H * 4);
  rt.mem.checkRange(`${name} kept.hcat`, k.hcat, N * 2 * H * 4);
  rt.mem.checkRange(`${name} kept.hw`, k.hw, N * H * 4);
  rt.mem.checkRange(`${name} kept.cw`, k.cw, N * H * 4);
}

/** Floats of each buffer a call needs, for these sizes. */
export function mdlstmBufferFloats(rt: Runtime, sizes: MdlstmSizes): {
  forwardWork: number; backwardWork: number; kept: Record<keyof MdlstmKept, number>; scratch: Record<keyof MdlstmBackwardScratch, number>;
} {
  const c = checkSizes('mdlstmBufferFloats', sizes);
  const { N, I, H } = c;
  return {
    forwardWork: rt.exports.mdlstm_forward_work_floats(c.B, c.R, c.C, I, H, c.cellByCell),
    backwardWork: rt.exports.mdlstm_backward_work_floats(c.B, c.R, c.C, H, c.cellByCell),
    kept: { xw: N * I, gates: N * 5 * H, hcat: N * 2 * H, hw: N * H, cw: N * H },
    scratch: { dgates: N * 5 * H, dhw: N * H, dcw: N * H, dxw: N * I },
  };
}

export function mdlstmForward(rt: Runtime, a: MdlstmForwardArgs): void {
  const name = 'mdlstmForward';
  const c = checkSizes(name, a);
  const { B, R, C, I, H, N } = c;
  const ldOut = checkStride(`${name} ldOut`, a.ldOut, H);
  const ldCell = checkStride(`${name} ldCell`, a.ldCell, H);
  const mem = rt.mem;
  mem.checkRange(`${name} x`, a.x, N * I * 4);
  mem.checkRange(`${name} wIh`, a.wIh, 5 * H * I * 4);
  mem.checkRange(`${name} wHh`, a.wHh, 5 * H * 2 * H * 4);
  if (a.bias) mem.checkRange(`${name} bias`, a.bias, 5 * H * 4);
  mem.checkRange(`${name} out`, a.out, span(N, H, ldOut));
  mem.checkRange(`${name} cellOut`, a.cellOut, span(N, H, ldCell));
  checkKept(rt, name, a.kept, c);
  mem.checkRange(`${name} work`, a.work, rt.exports.mdlstm_forward_work_floats(B, R, C, I, H, c.cellByCell) * 4);
  const k = a.kept;
  rt.exports.mdlstm_forward(B, R, C, I, H, c.dir, a.x, a.wIh, a.wHh, a.bias ?? 0, a.out, ldOut, a.cellOut, ldCell, a.accumulate ? 1 : 0,
    k.xw, k.gates, k.hcat, k.hw, k.cw, c.cellByCell, a.work);
}

export function mdlstmBackward(rt: Runtime, a: MdlstmBackwardArgs): void {
  const name = 'mdlstmBackward';
  const c = checkSizes(name, a);
  const { B, R, C, I, H, N } = c;
  const mem = rt.mem;
  const ldDOut = checkStride(`${name} ldDOut`, a.ldDOut, H);
  const ldDCell = checkStride(`${name} ldDCell`, a.ldDCell, H);
  if (a.dOut) mem.checkRange(`${name} dOut`, a.dOut, span(N, H, ldDOut));
  if (a.dCell) mem.checkRange(`${name} dCell`, a.dCell, span(N, H, ldDCell));
  mem.checkRange(`${name} wIh`, a.wIh, 5 * H * I * 4);
  mem.checkRange(`${name} wHh`, a.wHh, 5 * H * 2 * H * 4);
  mem.checkRange(`${name} dWIh`, a.dWIh, 5 * H * I * 4);
  mem.checkRange(`${name} dWHh`, a.dWHh, 5 * H * 2 * H * 4);
  if (a.dBias) mem.checkRange(`${name} dBias`, a.dBias, 5 * H * 4);
  checkKept(rt, name, a.kept, c);
  const s = a.scratch;
  if (s === null || typeof s !== 'object') throw new TypeError(`${name} scratch must be { dgates, dhw, dcw, dxw }`);
  mem.checkRange(`${name} scratch.dgates`, s.dgates, N * 5 * H * 4);
  mem.checkRange(`${name} scratch.dhw`, s.dhw, N * H * 4);
  mem.checkRange(`${name} scratch.dcw`, s.dcw, N * H * 4);
  if (a.dx) {
    mem.checkRange(`${name} dx`, a.dx, N * I * 4);
    mem.checkRange(`${name} scratch.dxw`, s.dxw, N * I * 4);
  }
  mem.checkRange(`${name} work`, a.work, rt.exports.mdlstm_backward_work_floats(B, R, C, H, c.cellByCell) * 4);
  const k = a.kept;
  rt.exports.mdlstm_backward(B, R, C, I, H, c.dir, a.wIh, a.wHh, a.dOut ?? 0, ldDOut, a.dCell ?? 0, ldDCell,
    k.xw, k.gates, k.hcat, k.cw, a.dx ?? 0, a.dxAccumulate ? 1 : 0, a.dWIh, a.dWHh, a.dBias ?? 0,
    s.dgates, s.dhw, s.dcw, a.dx ? s.dxw : 0, c.cellByCell, a.work);
}
