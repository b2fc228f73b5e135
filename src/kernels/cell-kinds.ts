/**
 * One descriptor per recurrent cell kind: its gates, the buffers a forward keeps for its
 * backward (by name), and its wasm kernels (whole sequence and one step) with their work
 * sizes. The checked entry points (recurrent.ts, cells.ts), the layers, the bench and the
 * CLI dispatch through this table; adding a cell kind means adding its kernels in
 * assembly/ and one entry here.
 *
 * Kept buffers of a training sequence forward ([T*B, ...], rows indexed by time):
 *   gates [rows, G*H] (activated), hprev [rows, H] (the state each step started from),
 *   cprev [rows, H] (LSTM: the cell state likewise), extra [rows, H] (GRU reset-after:
 *   W_hn h + b_hn; reset-before: r⊙h; attention GRU: W_hn h + b_hn).
 * A step keeps gates [B, G*H] and extra [B, H]; its h and c are the caller's inputs, read
 * again in place by the backward.
 */
import type { KernelExports } from '../runtime/exports.generated.js';


/** Validated pointers and sizes of one sequence forward (0 = absent). */
export interface SequenceForwardCall {
  T: number; B: number; I: number; H: number; x: number; ldx: number; wIh: number; wHh: number; bIh: number; bHh: number;
  h0: number; c0: number; lengths: number; reverse: number; out: number; ldout: number; hN: number; cN: number;
  gates: number; hprev: number; cprev: number; extra: number; work: number;
}

/** Validated pointers and sizes of one sequence backward (0 = absent). */
export interface SequenceBackwardCall {
  T: number; B: number; I: number; H: number; x: number; ldx: number; wIh: number; wHh: number; lengths: number; reverse: number;
  dout: number; lddout: number; dhN: number; dcN: number; gates: number; hprev: number; cprev: number; extra: number;
  dx: number; lddx: number; dxAccumulate: number; dh0: number; dc0: number;
  gWIh: number; gWHh: number; gBIh: number; gBHh: number; dgates: number; dgn: number; work: number;
}

/** Validated pointers and sizes of one step forward. */
export interface StepForwardCall {
  B: number; I: number; H: number; x: number; ldx: number; wIh: number; wHh: number; bIh: number; bHh: number;
  h: number; c: number; gate: number; hOut: number; cOut: number; gates: number; extra: number; work: number;
}

/** Validated pointers and sizes of one step backward. */
export interface StepBackwardCall {
  B: number; I: number; H: number; x: number; ldx: number; wIh: number; wHh: number; h: number; c: number; gate: number;
  gates: number; extra: number; dhOut: number; dcOut: number; dx: number; lddx: number; dxAccumulate: number;
  dh: number; dc: number; dGate: number; gWIh: number; gWHh: number; gBIh: number; gBHh: number; work: number;
}

/** Floats of `work` a forward and a backward call need (the kernels' `*_work_floats`). */
export interface WorkSizes {
  forwardWorkFloats(ex: KernelExports, B: number, H: number, I: number): number;
  backwardWorkFloats(ex: KernelExports, B: number, H: number): number;
}

export interface SequenceKernels extends WorkSizes {
  forward(ex: KernelExports, a: SequenceForwardCall): void;
  backward(ex: KernelExports, a: SequenceBackwardCall): void;
}

export interface StepKernels extends WorkSizes {
  forward(ex: KernelExports, a: StepForwardCall): void;
  backward(ex: KernelExports, a: StepBackwardCall): void;
}

export interface CellDescriptor<Kind extends string = CellKind> {
  readonly kind: Kind;
  /**
   * The name models, the CLI and the bench choose the cell by ('lstm', 'gru', 'rnn'). Kinds
   * that share a name are variants of one layer (GRU's resetAfter, RNN's nonlinearity); the
   * first of them in CELL_KINDS is what the name alone means.
   */
  readonly name: string;
  /** What errors and labels call its layer: 'LSTM', 'GRU', 'RNN', 'AttentionGRUCell'. */
  readonly layerName: string;
  /** For kinds that share a name: the layer option and its value that choose this one (GRU's resetAfter: false). */
  readonly variant?: { readonly option: string; readonly value: string | boolean };
  /** Gate row blocks of weight_ih / weight_hh (each H rows), in torch's order. */
  readonly gateNames: readonly string[];
  readonly gates: number;
  /** A cell state c beside h (LSTM): c0/cN, cprev kept, dc. */
  readonly hasCellState: boolean;
  /** One scalar gate per batch row given as input (the attention GRU's g). */
  readonly hasGateInput: boolean;
  /** Keeps `extra` [rows, H] besides gates and hprev. */
  readonly keepsExtra: boolean;
  /** Sequence backward needs `dgn` [rows, H] besides dgates (GRU reset-after: the n gate's hidden side). */
  readonly needsDgn: boolean;
  /** Whole-sequence kernels, absent for a step-only cell. */
  readonly sequence?: SequenceKernels;
  readonly step: StepKernels;
}

const rnn = (relu: number): { sequence: SequenceKernels; step: StepKernels } => ({
  sequence: {
    forward: (ex, a) => ex.rnn_forward(a.T, a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h0, a.lengths, a.reverse, relu,
      a.out, a.ldout, a.hN, a.gates, a.hprev, a.work),
    backward: (ex, a) => ex.rnn_backward(a.T, a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.lengths, a.reverse, relu, a.dout, a.lddout,
      a.dhN, a.gates, a.hprev, a.dx, a.lddx, a.dxAccumulate, a.dh0, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.dgates, a.work),
    forwardWorkFloats: (ex, B, H, I) => ex.rnn_forward_work_floats(B, H, I),
    backwardWorkFloats: (ex, B, H) => ex.rnn_backward_work_floats(B, H),
  },
  step: {
    forward: (ex, a) => ex.rnn_cell_forward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h, relu, a.hOut, a.gates, a.work),
    backward: (ex, a) => ex.rnn_cell_backward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.h, relu, a.gates, a.dhOut, a.dx, a.lddx,
      a.dxAccumulate, a.dh, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.work),
    forwardWorkFloats: (ex, B, H, I) => ex.rnn_cell_forward_work_floats(B, H, I),
    backwardWorkFloats: (ex, B, H) => ex.rnn_cell_backward_work_floats(B, H),
  },
});

const gru = (resetAfter: number): { sequence: SequenceKernels; step: StepKernels } => ({
  sequence: {
    forward: (ex, a) => ex.gru_forward(a.T, a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h0, a.lengths, a.reverse, resetAfter,
      a.out, a.ldout, a.hN, a.gates, a.hprev, a.extra, a.work),
    backward: (ex, a) => ex.gru_backward(a.T, a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.lengths, a.reverse, resetAfter, a.dout, a.lddout,
      a.dhN, a.gates, a.hprev, a.extra, a.dx, a.lddx, a.dxAccumulate, a.dh0, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.dgates, a.dgn, a.work),
    forwardWorkFloats: (ex, B, H, I) => ex.gru_forward_work_floats(B, H, I),
    backwardWorkFloats: (ex, B, H) => ex.gru_backward_work_floats(B, H),
  },
  step: {
    forward: (ex, a) => ex.gru_cell_forward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h, resetAfter, a.hOut, a.gates, a.extra, a.work),
    backward: (ex, a) => ex.gru_cell_backward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.h, resetAfter, a.gates, a.extra, a.dhOut, a.dx, a.lddx,
      a.dxAccumulate, a.dh, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.work),
    forwardWorkFloats: (ex, B, H, I) => ex.gru_cell_forward_work_floats(B, H, I),
    backwardWorkFloats: (ex, B, H) => ex.gru_cell_backward_work_floats(B, H),
  },
});

const plain = { hasCellState: false, hasGateInput: false, keepsExtra: false, needsDgn: false };

// In the order the CLI and the bench list the names.
const KINDS = {
  lstm: {
    kind: 'lstm', name: 'lstm', layerName: 'LSTM', gateNames: ['i', 'f', 'g', 'o'], gates: 4, ...plain, hasCellState: true,
    sequence: {
      forward: (ex, a) => ex.lstm_forward(a.T, a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h0, a.c0, a.lengths, a.reverse,
        a.out, a.ldout, a.hN, a.cN, a.gates, a.hprev, a.cprev, a.work),
      backward: (ex, a) => ex.lstm_backward(a.T, a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.lengths, a.reverse, a.dout, a.lddout,
        a.dhN, a.dcN, a.gates, a.hprev, a.cprev, a.dx, a.lddx, a.dxAccumulate, a.dh0, a.dc0, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.dgates, a.work),
      forwardWorkFloats: (ex, B, H, I) => ex.lstm_forward_work_floats(B, H, I),
      backwardWorkFloats: (ex, B, H) => ex.lstm_backward_work_floats(B, H),
    },
    step: {
      forward: (ex, a) => ex.lstm_cell_forward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h, a.c, a.hOut, a.cOut, a.gates, a.work),
      backward: (ex, a) => ex.lstm_cell_backward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.h, a.c, a.gates, a.dhOut, a.dcOut, a.dx, a.lddx,
        a.dxAccumulate, a.dh, a.dc, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.work),
      forwardWorkFloats: (ex, B, H, I) => ex.lstm_cell_forward_work_floats(B, H, I),
      backwardWorkFloats: (ex, B, H) => ex.lstm_cell_backward_work_floats(B, H),
    },
  },
  gru_after: { kind: 'gru_after', name: 'gru', layerName: 'GRU', variant: { option: 'resetAfter', value: true }, gateNames: ['r', 'z', 'n'], gates: 3, ...plain, keepsExtra: true, needsDgn: true, ...gru(1) },
  gru_before: { kind: 'gru_before', name: 'gru', layerName: 'GRU', variant: { option: 'resetAfter', value: false }, gateNames: ['r', 'z', 'n'], gates: 3, ...plain, keepsExtra: true, ...gru(0) },
  rnn_tanh: { kind: 'rnn_tanh', name: 'rnn', layerName: 'RNN', variant: { option: 'nonlinearity', value: 'tanh' }, gateNames: ['h'], gates: 1, ...plain, ...rnn(0) },
  rnn_relu: { kind: 'rnn_relu', name: 'rnn', layerName: 'RNN', variant: { option: 'nonlinearity', value: 'relu' }, gateNames: ['h'], gates: 1, ...plain, ...rnn(1) },
  attention_gru: {
    kind: 'attention_gru', name: 'attention_gru', layerName: 'AttentionGRUCell', gateNames: ['r', 'n'], gates: 2, ...plain, hasGateInput: true, keepsExtra: true,
    step: {
      forward: (ex, a) => ex.attention_gru_cell_forward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.bIh, a.bHh, a.h, a.gate, a.hOut, a.gates, a.extra, a.work),
      backward: (ex, a) => ex.attention_gru_cell_backward(a.B, a.I, a.H, a.x, a.ldx, a.wIh, a.wHh, a.h, a.gate, a.gates, a.extra, a.dhOut, a.dx,
        a.lddx, a.dxAccumulate, a.dh, a.dGate, a.gWIh, a.gWHh, a.gBIh, a.gBHh, a.work),
      forwardWorkFloats: (ex, B, H, I) => ex.attention_gru_cell_forward_work_floats(B, H, I),
      backwardWorkFloats: (ex, B, H) => ex.attention_gru_cell_backward_work_floats(B, H),
    },
  },
} as const satisfies Record<string, CellDescriptor<string>>;

/** The cell kinds of the wasm kernels: the keys of CELL_KINDS. */
export type CellKind = keyof typeof KINDS;

/** The kinds with whole-sequence kernels (a step-only cell such as the attention GRU runs step by step). */
export type SequenceCellKind = { [K in CellKind]: (typeof KINDS)[K] extends { sequence: SequenceKernels } ? K : never }[CellKind];

/** The names a sequence cell is chosen by in models, the CLI and the bench ('lstm' | 'gru' | 'rnn'). */
export type RecurrentName = (typeof KINDS)[SequenceCellKind]['name'];

export const CELL_KINDS: Readonly<Record<CellKind, CellDescriptor>> = KINDS;

/** Every RecurrentName, in table order (each once). */
export const RECURRENT_NAMES: readonly RecurrentName[] = [...new Set(Object.values(CELL_KINDS).filter((d) => d.sequence).map((d) => d.name as RecurrentName))];

/** 'lstm, gru or rnn': the names for messages. */
export function recurrentNameList(conjunction = 'or'): string {
  return `${RECURRENT_NAMES.slice(0, -1).join(', ')} ${conjunction} ${RECURRENT_NAMES[RECURRENT_NAMES.length - 1]}`;
}

/**
 * The sequence descriptor a name means by itself (its first kind in the table: torch's
 * defaults, reset-after GRU and tanh RNN). `what` names the argument in the error.
 */
export function recurrentKind(name: unknown, what = 'cell'): CellDescriptor<SequenceCellKind> & { sequence: SequenceKernels } {
  const d = Object.values(CELL_KINDS).find((k) => k.sequence && k.name === name);
  if (!d) throw new RangeError(`${what} must be ${recurrentNameList()}, got ${typeof name === 'string' ? `'${name}'` : String(name)}`);
  return d as CellDescriptor<SequenceCellKind> & { sequence: SequenceKernels };
}

/**
 * The kind a layer of cell `name` runs with these options: the one whose variant option has
 * the value given (GRU's resetAfter, RNN's nonlinearity), or the first of the name when the
 * option is absent. A value no kind of the name has is refused.
 */
export function kindFor(name: string, options: object | undefined): CellKind {
  const kinds = Object.values(CELL_KINDS).filter((d) => d.name === name);
  const first = kinds[0];
  if (!first) throw new RangeError(`no cell kind is named '${name}'`);
  const variant = first.variant;
  if (!variant) return first.kind;
  const value = (options as Record<string, unknown> | undefined)?.[variant.option];
  if (value === undefined) return first.kind;
  const d = kinds.find((k) => k.variant!.value === value);
  if (!d) {
    const values = kinds.map((k) => (typeof k.variant!.value === 'string' ? `'${k.variant!.value}'` : String(k.variant!.value)));
    throw new RangeError(`${variant.option} must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}, got ${typeof value === 'string' ? value : describeValue(value)}`);
  }
  return d.kind;
}

function describeValue(v: unknown): string {
  return typeof v === 'object' && v !== null ? typeof v : String(v);
}

/** The descriptor of a kind, with a clear error for anything else. */
export function cellDescriptor(kind: unknown): CellDescriptor {
  if (typeof kind !== 'string' || !Object.hasOwn(CELL_KINDS, kind)) {
    throw new RangeError(`cell must be one of ${Object.keys(CELL_KINDS).join(', ')}, got ${String(kind)}`);
  }
  return CELL_KINDS[kind as CellKind];
}

/** The descriptor of a kind with whole-sequence kernels. */
export function sequenceDescriptor(kind: unknown): CellDescriptor & { sequence: SequenceKernels } {
  const d = cellDescriptor(kind);
  if (!d.sequence) throw new RangeError(`cell '${d.kind}' has no whole-sequence kernels (run it step by step); sequence cells: ${Object.values(CELL_KINDS).filter((c) => c.sequence).map((c) => c.kind).join(', ')}`);
  return d as CellDescriptor<SequenceCellKind> & { sequence: SequenceKernels };
}
