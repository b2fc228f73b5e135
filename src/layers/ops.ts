// Parameter-free ops on the tape that models need between layers:
// activations (wasm kernels), pooling over time with lengths, and
// concatenation along the feature axis. Pooling and concatenation are
// memory moves over at most [T, B, H] values per step and run in TypeScript.
import { ShapeError } from '../runtime/check.js';
import type { Tape, Variable } from '../train/tape.js';

type Activation = 'tanh' | 'sigmoid' | 'relu';

/**
 * Adds a kernel-written gradient into x's gradient: straight into x.grad()
 * when nothing was accumulated yet, else through a scratch buffer and axpy.
 */
function accumulateInto(tape: Tape, x: Variable, write: (dst: number) => void): void {
  if (!x.requiresGrad) return;
  if (!x.hasGrad) {
    write(x.grad().ptr);
    return;
  }
  const tmp = tape.tensor(x.shape);
  write(tmp.ptr);
  tape.rt.exports.axpy_f32(x.size, 1, tmp.ptr, x.grad().ptr);
}

/** y = f(x) elementwise; backward from the saved output. x, y: any shape. */
export function activation(tape: Tape, kind: Activation, x: Variable): Variable {
  const ex = tape.rt.exports;
  const fwd = kind === 'tanh' ? ex.tanh_forward : kind === 'sigmoid' ? ex.sigmoid_forward : kind === 'relu' ? ex.relu_forward : undefined;
  const bwd = kind === 'tanh' ? ex.tanh_backward : kind === 'sigmoid' ? ex.sigmoid_backward : ex.relu_backward;
  if (!fwd) throw new RangeError(`activation must be 'tanh', 'sigmoid' or 'relu', got ${String(kind)}`);
  const n = x.size;
  const y = tape.variable(x.shape);
  fwd(x.ptr, y.ptr, n);
  tape.record(kind, () => {
    if (y.hasGrad) accumulateInto(tape, x, (dst) => bwd(y.ptr, y.grad().ptr, dst, n));
  });
  return y;
}

export const tanh = (tape: Tape, x: Variable) => activation(tape, 'tanh', x);
export const sigmoid = (tape: Tape, x: Variable) => activation(tape, 'sigmoid', x);
export const relu = (tape: Tape, x: Variable) => activation(tape, 'relu', x);

/** Checks x is [T, B, H] and lengths (one per batch entry) lie in 1..T. */
function checkSequence(name: string, x: Variable, lengths: ArrayLike<number> | undefined): { T: number; B: number; H: number; len: (b: number) => number } {
  if (x.shape.length !== 3) throw new ShapeError(`${name}: x must be [T, B, H], got [${x.shape.join(', ')}]`);
  const [T, B, H] = x.shape;
  if (lengths !== undefined) {
    if (lengths.length !== B) throw new ShapeError(`${name}: lengths must have ${B} entries (one per batch entry), got ${lengths.length}`);
    for (let b = 0; b < B; b++) {
      const l = lengths[b];
      if (!Number.isInteger(l) || l < 1 || l > T) throw new RangeError(`${name}: lengths[${b}] = ${l} must be an integer in [1, ${T}]`);
    }
  } else if (T < 1) throw new ShapeError(`${name}: needs at least one time step`);
  return { T, B, H, len: (b) => (lengths === undefined ? T : lengths[b]) };
}

/** Mean over the valid steps of each sequence. x: [T, B, H]  lengths: [B]  y: [B, H] */
export function meanOverTime(tape: Tape, x: Variable, lengths?: ArrayLike<number>): Variable {
  const { B, H, len } = checkSequence('meanOverTime', x, lengths);
  const lens = Array.from({ length: B }, (_, b) => len(b));
  const y = tape.variable([B, H]);
  const xv = x.value.view();
  const yv = y.value.view();
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lens[b]; t++) {
      const row = (t * B + b) * H;
      for (let h = 0; h < H; h++) yv[b * H + h] += xv[row + h];
    }
    for (let h = 0; h < H; h++) yv[b * H + h] /= lens[b];
  }
  tape.record('meanOverTime', () => {
    if (!y.hasGrad || !x.requiresGrad) return;
    // Take both gradient tensors before any view: allocating one may grow memory.
    const dxT = x.grad();
    const dy = y.grad().view();
    const dx = dxT.view();
    for (let b = 0; b < B; b++) {
      const inv = 1 / lens[b];
      for (let t = 0; t < lens[b]; t++) {
        const row = (t * B + b) * H;
        for (let h = 0; h < H; h++) dx[row + h] += dy[b * H + h] * inv;
      }
    }
  });
  return y;
}

/** Max over the valid steps of each sequence (gradient to the first maximum). x: [T, B, H]  y: [B, H] */
export function maxOverTime(tape: Tape, x: Variable, lengths?: ArrayLike<number>): Variable {
  const { B, H, len } = checkSequence('maxOverTime', x, lengths);
  const y = tape.variable([B, H]);
  const argmax = new Int32Array(B * H);
  const xv = x.value.view();
  const yv = y.value.view();
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      let best = xv[b * H + h];
      let at = 0;
      for (let t = 1; t < len(b); t++) {
        const v = xv[(t * B + b) * H + h];
        if (v > best) {
          best = v;
          at = t;
        }
      }
      yv[b * H + h] = best;
      argmax[b * H + h] = at;
    }
  }
  tape.record('maxOverTime', () => {
    if (!y.hasGrad || !x.requiresGrad) return;
    // Take both gradient tensors before any view: allocating one may grow memory.
    const dxT = x.grad();
    const dy = y.grad().view();
    const dx = dxT.view();
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) dx[(argmax[b * H + h] * B + b) * H + h] += dy[b * H + h];
    }
  });
  return y;
}

/** Concatenates along the last axis. parts: [..., H_i] with equal leading dims  y: [..., sum H_i] */
export function concatFeatures(tape: Tape, parts: Variable[]): Variable {
  if (parts.length === 0) throw new ShapeError('concatFeatures: needs at least one input');
  const lead = parts[0].shape.slice(0, -1);
  for (const p of parts) {
    const l = p.shape.slice(0, -1);
    if (p.shape.length !== parts[0].shape.length || l.some((d, i) => d !== lead[i])) {
      throw new ShapeError(`concatFeatures: leading dims differ: [${parts.map((q) => q.shape.join(', ')).join('] vs [')}]`);
    }
  }
  const rows = lead.reduce((a, b) => a * b, 1);
  const widths = parts.map((p) => p.shape[p.shape.length - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const y = tape.variable([...lead, total]);
  const yv = y.value.view();
  let col = 0;
  parts.forEach((p, i) => {
    const pv = p.value.view();
    const w = widths[i];
    for (let r = 0; r < rows; r++) yv.set(pv.subarray(r * w, (r + 1) * w), r * total + col);
    col += w;
  });
  tape.record('concatFeatures', () => {
    if (!y.hasGrad) return;
    // Allocate every gradient before taking views: an allocation may grow memory.
    const grads = parts.map((p) => (p.requiresGrad ? p.grad() : null));
    const dy = y.grad().view();
    let c = 0;
    parts.forEach((p, i) => {
      const w = widths[i];
      const g = grads[i];
      if (g) {
        const dp = g.view();
        for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) dp[r * w + j] += dy[r * total + c + j];
      }
      c += w;
    });
  });
  return y;
}
