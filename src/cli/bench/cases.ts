// The recurrent cases shared by `bench --compare`, `bench memory` and the peers:
// the recurrent-layer issue's two shapes, seeded PyTorch-layout weights and
// data, and the FLOP counts behind every GFLOP/s figure.
import { flagInt, flagString, type ParsedArgs } from '../args.js';
import { randomFill } from './harness.js';
import { recurrentForwardFlops } from './recurrent.js';
import type { RecurrentSpec } from './peers.js';
import { RECURRENT_NAMES, recurrentKind, type RecurrentName } from '../../kernels/cell-kinds.js';

export type Cell = RecurrentSpec['cell'] & RecurrentName;
/** The sequence cells of CELL_KINDS by name (src/kernels/cell-kinds.ts). */
export const CELLS = RECURRENT_NAMES as readonly Cell[];
/** Gate blocks of a cell: rows of weight_ih are G*H. */
const gates = (cell: Cell) => recurrentKind(cell).gates;

export interface RecurrentShape {
  name: string;
  input: number;
  hidden: number;
  seq: number;
  batch: number;
}

/** The recurrent-layer issue's shapes: latency (small) and throughput. */
export const RECURRENT_SHAPES: RecurrentShape[] = [
  { name: 'small', input: 32, hidden: 64, seq: 32, batch: 1 },
  { name: 'throughput', input: 128, hidden: 256, seq: 64, batch: 16 },
];

/** --shapes small,throughput, or one custom shape from --input --hidden --seq --batch. */
export function shapesFromArgs(args: ParsedArgs): RecurrentShape[] {
  const custom = ['input', 'hidden', 'seq', 'batch'].some((k) => args.flags.has(k));
  if (custom) {
    const base = RECURRENT_SHAPES[0];
    return [{
      name: 'custom',
      input: flagInt(args, 'input', base.input),
      hidden: flagInt(args, 'hidden', base.hidden),
      seq: flagInt(args, 'seq', base.seq),
      batch: flagInt(args, 'batch', base.batch),
    }];
  }
  const names = flagString(args, 'shapes', RECURRENT_SHAPES.map((s) => s.name).join(',')).split(',');
  return names.map((n) => {
    const s = RECURRENT_SHAPES.find((r) => r.name === n);
    if (!s) throw new Error(`--shapes: '${n}' is not one of ${RECURRENT_SHAPES.map((r) => r.name).join(', ')} (or give --input --hidden --seq --batch)`);
    return s;
  });
}

/** 'lstm', 'lstm,gru' or 'all'. */
export function parseCells(value: string): Cell[] {
  if (value === 'all') return [...CELLS];
  return value.split(',').map((c) => {
    if (!(CELLS as string[]).includes(c)) throw new Error(`cell must be one of ${CELLS.join(', ')} or all, got '${c}'`);
    return c as Cell;
  });
}

export function shapeRecord(s: RecurrentShape): Record<string, number | string> {
  return { case: s.name, input: s.input, hidden: s.hidden, seq: s.seq, batch: s.batch };
}

/** FLOPs of the matrix products of one forward (counted as in `bench lstm`: 2*T*B*G*H*(I+H)). */
export function forwardFlops(cell: Cell, s: RecurrentShape): number {
  return recurrentForwardFlops(gates(cell), { ...s, layers: 1, bidirectional: false });
}

/**
 * A training step without dx (the peers do not compute it either): the forward,
 * then dW_ih, dW_hh and the per-step dh products. The optimizer is O(params).
 */
export function trainFlops(cell: Cell, s: RecurrentShape): number {
  return 3 * forwardFlops(cell, s) - 2 * s.seq * s.batch * gates(cell) * s.hidden * s.input;
}

export interface RecurrentData {
  spec: RecurrentSpec;
  /** [T,B,I] */
  x: Float32Array;
  /** Upstream gradient of the output, [T,B,H]: the step minimises sum(output * dOutput). */
  dOutput: Float32Array;
}

/** Seeded weights with torch's default scale U(-1/sqrt(H), 1/sqrt(H)), input and upstream gradient. */
export function recurrentData(cell: Cell, s: RecurrentShape, learningRate = 0.01): RecurrentData {
  const G = gates(cell);
  const H = s.hidden;
  const k = 1 / Math.sqrt(H);
  const weights = {
    weight_ih_l0: randomFill(new Float32Array(G * H * s.input), 11, k),
    weight_hh_l0: randomFill(new Float32Array(G * H * H), 12, k),
    bias_ih_l0: randomFill(new Float32Array(G * H), 13, k),
    bias_hh_l0: randomFill(new Float32Array(G * H), 14, k),
  };
  return {
    spec: { cell, inputSize: s.input, hiddenSize: H, seqLen: s.seq, batch: s.batch, weights, learningRate },
    x: randomFill(new Float32Array(s.seq * s.batch * s.input), 15),
    dOutput: randomFill(new Float32Array(s.seq * s.batch * H), 16),
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** Largest |a-b| / max(1, |b|): gradients summed over many steps grow with T*B. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`gradients differ in length: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
