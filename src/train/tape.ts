// The layer-level tape (DESIGN.md): a model author writes only the forward
// pass; every layer call made while the tape is in training mode records a
// backward entry, and backward() replays the entries in reverse order.
// Activations and their gradients live in the runtime's arena, which reset()
// rewinds once per training step, so a steady loop allocates nothing.
import { checkAllFinite, ShapeError, shapeSize } from '../runtime/check.js';
import { checkSameRuntime } from '../runtime/lifecycle.js';
import type { Arena } from '../runtime/memory.js';
import type { Runtime } from '../runtime/runtime.js';
import { Tensor } from '../runtime/tensor.js';

/**
 * A tensor produced during one step: its value and, once backward reaches it,
 * its gradient (same shape, zero-initialised on first use, accumulated into).
 * Both live in the arena and become invalid at the tape's next reset().
 */
export class Variable {
  private gradTensor: Tensor | null = null;
  readonly generation: number;

  constructor(
    readonly tape: Tape,
    readonly value: Tensor,
    /** False for inputs and constants: backward skips their gradients. */
    readonly requiresGrad: boolean,
  ) {
    this.generation = tape.generation;
  }

  get shape(): number[] {
    return this.value.shape;
  }

  get size(): number {
    return this.value.size;
  }

  get ptr(): number {
    this.tape.checkLive(this);
    return this.value.ptr;
  }

  /** Whether backward has written a gradient to this variable. */
  get hasGrad(): boolean {
    return this.gradTensor !== null;
  }

  /** The gradient buffer (allocated zeroed in the arena on first use). */
  grad(): Tensor {
    this.tape.checkLive(this);
    if (this.gradTensor === null) {
      this.gradTensor = new Tensor(this.value.mem, this.tape.arena.allocZeroed(this.value.bytes), this.value.shape);
    }
    return this.gradTensor;
  }

  /** A copy of the value for the user. */
  toArray(): Float32Array {
    this.tape.checkLive(this);
    return this.value.view().slice();
  }

  /** A copy of the gradient (zeros if backward never reached this variable). */
  gradToArray(): Float32Array {
    return this.gradTensor === null ? new Float32Array(this.size) : this.grad().view().slice();
  }
}

interface Entry {
  name: string;
  backward: () => void;
}

export class Tape {
  readonly arena: Arena;
  /** Training mode records backward entries and keeps activations; eval mode records nothing. */
  training = true;
  /** Bumped by reset(): variables of older steps are rejected instead of reading reused memory. */
  generation = 0;
  private entries: Entry[] = [];

  constructor(readonly rt: Runtime, arena?: Arena) {
    this.arena = arena ?? rt.arena;
    checkSameRuntime(rt, 'new Tape', { arena: this.arena });
  }

  /** Number of recorded backward entries. */
  get length(): number {
    return this.entries.length;
  }

  /** Names of the recorded entries in forward order (for debugging and tests). */
  get entryNames(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** Starts a new step: forgets the entries and rewinds the arena. */
  reset(): void {
    this.entries = [];
    this.generation++;
    this.arena.reset();
  }

  checkLive(v: Variable): void {
    if (v.tape !== this) throw new Error(v.tape.rt.mem === this.rt.mem ? 'variable belongs to another tape' : 'variable belongs to another runtime');
    if (v.generation !== this.generation) {
      throw new Error(`variable from step ${v.generation} used after tape.reset() (now step ${this.generation})`);
    }
  }

  /**
   * The check at the top of every op and layer forward on this tape: the layer's runtime
   * (`layer`) is the tape's, and every Variable argument (arrays of them too) belongs to
   * this tape and to its current step. `op` names the call in the error.
   */
  checkOp(op: string, args: { layer?: Runtime } & Record<string, Variable | readonly Variable[] | Runtime | undefined>): void {
    this.rt.mem.checkLive(op);
    if (args.layer !== undefined && args.layer.mem !== this.rt.mem) {
      throw new Error(`${op}: the layer belongs to another runtime than the tape (create the layer and the tape from the same createRuntime())`);
    }
    for (const [name, value] of Object.entries(args)) {
      if (name === 'layer' || value === undefined) continue;
      const list = Array.isArray(value) ? value : [value];
      list.forEach((v, i) => {
        const label = Array.isArray(value) ? `${name}[${i}]` : name;
        if (!(v instanceof Variable)) throw new TypeError(`${op}: ${label} must be a Variable of this tape, got ${v === null ? 'null' : typeof v}`);
        if (v.tape !== this) {
          throw new Error(`${op}: ${label} belongs to another ${v.tape.rt.mem === this.rt.mem ? 'tape' : 'runtime'}`);
        }
        if (v.generation !== this.generation) {
          throw new Error(`${op}: ${label} is from step ${v.generation}, used after tape.reset() (now step ${this.generation})`);
        }
      });
    }
  }

  /** A zero-filled arena tensor of this shape. */
  tensor(shape: number[]): Tensor {
    return new Tensor(this.rt.mem, this.arena.allocZeroed(checkedBytes(shape)), [...shape]);
  }

  /** A new variable (zero-filled) produced by an op. */
  variable(shape: number[], requiresGrad = true): Variable {
    return new Variable(this, this.tensor(shape), requiresGrad);
  }

  /**
   * A new variable NOT zero-filled, for an op whose kernel writes every element next (a
   * step's large outputs would otherwise pay for a fill they never read).
   */
  unfilledVariable(shape: number[], requiresGrad = true): Variable {
    return new Variable(this, new Tensor(this.rt.mem, this.arena.alloc(checkedBytes(shape)), [...shape]), requiresGrad);
  }

  /** Copies host data into the arena as a constant input (no gradient unless asked). */
  input(data: ArrayLike<number>, shape: number[], requiresGrad = false): Variable {
    const n = shapeSize(shape);
    if (data.length !== n) throw new ShapeError(`input of shape [${shape.join(', ')}] needs ${n} values, got ${data.length}`);
    checkAllFinite('tape.input data', data);
    const v = this.variable(shape, requiresGrad);
    v.value.view().set(data);
    return v;
  }

  /** Int32 data in the arena (token ids, targets, lengths); returns the byte pointer. */
  int32(data: ArrayLike<number>): number {
    const ptr = this.arena.alloc(Math.max(1, data.length) * 4);
    this.rt.mem.i32(ptr, data.length).set(data);
    return ptr;
  }

  /** Records a backward entry; a no-op in eval mode. */
  record(name: string, backward: () => void): void {
    if (this.training) this.entries.push({ name, backward });
  }

  /**
   * Replays the recorded entries in reverse. Losses record entries that seed
   * their input gradients, so call backward() after computing the loss(es).
   * Entries are consumed: a second backward() without a new forward throws.
   */
  backward(): void {
    if (!this.training) throw new Error('backward() in eval mode: nothing was recorded (set tape.training = true)');
    if (this.entries.length === 0) throw new Error('backward(): the tape is empty (run a training forward and a loss first)');
    const entries = this.entries;
    this.entries = [];
    for (let i = entries.length - 1; i >= 0; i--) entries[i].backward();
  }
}

/** Bytes of a float32 tensor of this shape, which must hold non-negative integers. */
function checkedBytes(shape: number[]): number {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`tensor shape must hold non-negative integers, got [${shape.join(', ')}]`);
  }
  return shapeSize(shape) * 4;
}
