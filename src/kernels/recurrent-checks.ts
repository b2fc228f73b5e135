/**
 * The argument checks the recurrent entry points share: sequenceForward / sequenceBackward
 * (recurrent.ts) and cellForward / cellBackward (cells.ts).
 *
 * A layer calls them with the same few shapes every step, many times per step at small
 * sizes, so what depends only on the sizes (the descriptor, the byte size of every buffer,
 * the kernels' work sizes, which are wasm calls) is validated once per distinct shape and
 * cached (ShapeCache); per call there remain one comparison per size and one range test per
 * pointer, against memory's size read once (RANGES). Nothing here allocates on the way
 * through: messages are built only when a check fails.
 */
import { checkSize, ShapeError } from '../runtime/check.js';
import type { LinearMemory } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import type { CellDescriptor, WorkSizes } from './cell-kinds.js';
import { checkLeadingDim, matrixBytes } from './elementwise.js';

/** The size fields every recurrent entry point takes. */
export interface RecurrentSizeArgs {
  cell: string;
  batch: number;
  inputSize: number;
  hiddenSize: number;
}

/** One call's sizes and the byte sizes that follow from them (T = 1 for a cell step). */
export interface RecurrentShape {
  readonly kind: CellDescriptor;
  readonly steps: number;
  readonly batch: number;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Row strides (elements) of x, of the output (or its gradient) and of dx. */
  readonly ldx: number;
  readonly ldy: number;
  readonly lddx: number;
  /** Bytes of: x [T*B, I] at ldx; the weights [G*H, I], [G*H, H]; a bias [G*H]. */
  readonly xBytes: number;
  readonly weightIhBytes: number;
  readonly weightHhBytes: number;
  readonly biasBytes: number;
  /** [B, H]: a state (h0, hN, c, dh, ...). */
  readonly stateBytes: number;
  /** [T*B, H]: a kept per-step buffer (hprev, cprev, extra, dgn). */
  readonly rowsBytes: number;
  /** [T*B, G*H]: gates, dgates. */
  readonly gatesBytes: number;
  /** [T*B, H] at ldy: output or dOutput. */
  readonly yBytes: number;
  /** [T*B, I] at lddx. */
  readonly dxBytes: number;
  /** The kernels' work space, in bytes. */
  readonly forwardWorkBytes: number;
  readonly backwardWorkBytes: number;
}

/** Shapes kept per runtime; a model uses a handful (layers x batch sizes), so a short list suffices. */
const MAX_SHAPES = 16;

/**
 * Validated shapes by runtime (the work sizes come from that runtime's kernels). `descriptor`
 * and `kernels` pick the kind's descriptor and its work-size functions (sequence or step).
 */
export class ShapeCache {
  private readonly byRuntime = new WeakMap<object, RecurrentShape[]>();

  constructor(
    private readonly descriptor: (kind: unknown) => CellDescriptor,
    private readonly kernels: (d: CellDescriptor) => WorkSizes,
  ) {}

  /** The shape of `a` (with `steps` rows per batch row and the given strides), checked on first sight. */
  get(rt: Runtime, fn: string, a: RecurrentSizeArgs, steps: number, ldx: number | undefined, ldy: number | undefined, lddx: number | undefined): RecurrentShape {
    const ex = rt.exports;
    let list = this.byRuntime.get(ex);
    if (list === undefined) this.byRuntime.set(ex, (list = []));
    const I = a.inputSize, H = a.hiddenSize;
    const wantLdx = ldx ?? I, wantLdy = ldy ?? H, wantLddx = lddx ?? I;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      if (s.kind.kind === a.cell && s.steps === steps && s.batch === a.batch && s.inputSize === I && s.hiddenSize === H &&
        s.ldx === wantLdx && s.ldy === wantLdy && s.lddx === wantLddx) return s;
    }
    const s = this.validate(rt, fn, a, steps, ldx, ldy, lddx);
    list.unshift(s);
    if (list.length > MAX_SHAPES) list.pop();
    return s;
  }

  /** `*WorkFloats(rt, { cell, phase, batch, inputSize, hiddenSize })` of an entry point family. */
  workFloats(rt: Runtime, fn: string, args: RecurrentSizeArgs & { phase: 'forward' | 'backward' }): number {
    checkOptionsObject(fn, args);
    const s = this.get(rt, fn, args, 1, undefined, undefined, undefined);
    if (args.phase === 'forward') return s.forwardWorkBytes / 4;
    if (args.phase === 'backward') return s.backwardWorkBytes / 4;
    throw new RangeError(`${fn} phase must be 'forward' or 'backward', got ${String(args.phase)}`);
  }

  private validate(rt: Runtime, fn: string, a: RecurrentSizeArgs, stepsArg: number, ldxArg?: number, ldyArg?: number, lddxArg?: number): RecurrentShape {
    const kind = this.descriptor(a.cell);
    const T = checkSize(`${fn} steps`, stepsArg, 1);
    const B = checkSize(`${fn} batch`, a.batch, 1);
    const I = checkSize(`${fn} inputSize`, a.inputSize, 1);
    const H = checkSize(`${fn} hiddenSize`, a.hiddenSize, 1);
    const ldx = checkLeadingDim(`${fn} ldx`, ldxArg, I);
    const ldy = checkLeadingDim(`${fn} ${fn.endsWith('Forward') ? 'ldout' : 'lddout'}`, ldyArg, H);
    const lddx = checkLeadingDim(`${fn} lddx`, lddxArg, I);
    const GH = kind.gates * H, rows = T * B;
    const work = this.kernels(kind);
    return {
      kind, steps: T, batch: B, inputSize: I, hiddenSize: H, ldx, ldy, lddx,
      xBytes: matrixBytes(rows, I, ldx), weightIhBytes: GH * I * 4, weightHhBytes: GH * H * 4, biasBytes: GH * 4,
      stateBytes: B * H * 4, rowsBytes: rows * H * 4, gatesBytes: rows * GH * 4,
      yBytes: matrixBytes(rows, H, ldy), dxBytes: matrixBytes(rows, I, lddx),
      forwardWorkBytes: work.forwardWorkFloats(rt.exports, B, H, I) * 4,
      backwardWorkBytes: work.backwardWorkFloats(rt.exports, B, H) * 4,
    };
  }
}

/**
 * rt.mem.checkRange for the many buffers of one call: memory's size is read once at
 * begin(), and the message (prefixed by the entry point's name) is only built for a range
 * that fails, which then throws checkRange's error. One instance serves every call (they
 * never nest); it drops its memory at end() and on failure.
 */
class RangeCheck {
  private mem: LinearMemory | null = null;
  private fn = '';
  private low = 0;
  private high = 0;

  begin(rt: Runtime, fn: string): this {
    const mem = rt.mem;
    this.mem = mem;
    this.fn = fn;
    this.low = mem.heapBase;
    this.high = mem.byteLength;
    return this;
  }

  /** A buffer of `bytes` at `ptr`: inside the heap, 4-byte aligned. */
  need(name: string, ptr: number, bytes: number): void {
    if (Number.isInteger(ptr) && ptr >= this.low && ptr + bytes <= this.high && (ptr & 3) === 0) return;
    const mem = this.mem!;
    this.mem = null;
    mem.checkRange(`${this.fn} ${name}`, ptr, bytes);
    this.mem = mem; // checkRange accepts an empty range below the heap
  }

  /** A buffer that may be absent (pointer 0). */
  given(name: string, ptr: number, bytes: number): void {
    if (ptr !== 0) this.need(name, ptr, bytes);
  }

  end(): void {
    this.mem = null;
  }
}

export const RANGES = new RangeCheck();

export function checkOptionsObject(fn: string, a: unknown): void {
  if (a === null || typeof a !== 'object') throw new TypeError(`${fn} expects an options object`);
}

/** A pointer given exactly when wanted (0 and undefined both mean absent); `why` says when, e.g. 'for LSTM'. */
export function presentWhen(fn: string, name: string, ptr: number | undefined, wanted: boolean, why: string): number {
  const given = ptr !== undefined && ptr !== 0;
  if (wanted && !given) throw new TypeError(`${fn} ${name} is required ${why}`);
  if (!wanted && given) throw new TypeError(`${fn} ${name} is only accepted ${why}`);
  return given ? ptr! : 0;
}

/**
 * Both bias pointers (or their gradients) or neither, as the kernels add b_ih and b_hh
 * together; each [G*H] when given. Call before RANGES.end().
 */
export function checkBiasPair(fn: string, ih: number, hh: number, ihName: string, hhName: string, s: RecurrentShape): void {
  if ((ih === 0) !== (hh === 0)) throw new ShapeError(`${fn} ${ihName} and ${hhName} must be given together (or neither, without bias)`);
  RANGES.given(ihName, ih, s.biasBytes);
  RANGES.given(hhName, hh, s.biasBytes);
}

/** An optional boolean as the kernels' 0 / 1. */
export function flag(fn: string, name: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'boolean') throw new TypeError(`${fn} ${name} must be a boolean, got ${typeof v}`);
  return v ? 1 : 0;
}
