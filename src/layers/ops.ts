// Parameter-free ops on the tape that models need between layers:
// activations (wasm kernels), pooling over time with lengths, and
// concatenation along the feature axis (tensor-ops.ts). Pooling is a
// memory move over at most [T, B, H] values per step and runs in TypeScript.
import { ShapeError } from '../runtime/check.js';
import { accumulateInto, concat } from './tensor-ops.js';
import type { Tensor } from '../runtime/tensor.js';
import { axpy, copyBuffer } from '../kernels/elementwise.js';
import { reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../kernels/activations.js';
import { Variable, type Tape } from '../train/tape.js';
import type { RecurrentLayer } from './recurrent.js';
import type { RecurrentCell } from './cells.js';

type Activation = 'tanh' | 'sigmoid' | 'relu';

const ACTIVATIONS = {
  tanh: { forward: tanhForward, backward: tanhBackward },
  sigmoid: { forward: sigmoidForward, backward: sigmoidBackward },
  relu: { forward: reluForward, backward: reluBackward },
} as const;

/** y = f(x) elementwise; backward from the saved output. x, y: any shape. */
export function activation(tape: Tape, kind: Activation, x: Variable): Variable {
  const kernels = Object.hasOwn(ACTIVATIONS, kind) ? ACTIVATIONS[kind] : undefined;
  if (!kernels) throw new RangeError(`activation must be 'tanh', 'sigmoid' or 'relu', got ${String(kind)}`);
  tape.checkOp(kind, { x });
  const rt = tape.rt;
  const n = x.size;
  const y = tape.variable(x.shape);
  kernels.forward(rt, { x: x.ptr, y: y.ptr, n });
  tape.record(kind, () => {
    if (y.hasGrad) accumulateInto(tape, x, (dst) => kernels.backward(rt, { y: y.ptr, dy: y.grad().ptr, dx: dst, n }));
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
  tape.checkOp('meanOverTime', { x });
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
  tape.checkOp('maxOverTime', { x });
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

/** Concatenates along the last axis. parts: [..., H_i] with equal leading dims  y: [..., sum H_i] (tensor-ops' concat). */
export function concatFeatures(tape: Tape, parts: Variable[]): Variable {
  return concat(tape, parts, 'concatFeatures');
}

export interface RecurrentTapeInputs {
  /** [L*D, B, H] initial state; its gradient flows back when it requires one. */
  h0?: Variable;
  /** LSTM only. */
  c0?: Variable;
  /** [B], each in 1..T. */
  lengths?: Int32Array;
  /** GRU only: x holds the first layer's input products x · W_ihᵀ, [T, B, D·3H] (see DeviceForwardArgs.inputProjected); its gradient is theirs. */
  inputProjected?: boolean;
}

export interface RecurrentTapeOutputs {
  /** [T, B, D*H] (or [B, T, D*H] batchFirst), zero past each length. */
  output: Variable;
  /** [L*D, B, H] */
  hN: Variable;
  cN?: Variable;
}

/**
 * Runs an RNN/LSTM/GRU layer (src/layers/recurrent.ts device API) on the tape:
 * one whole-sequence forward in wasm, and on backward one BPTT call whose dx,
 * dH0, dC0 are added into the inputs' gradients. Each call keeps its own context,
 * so a layer may run several times per step (truncated BPTT over a stream: one
 * call per chunk, previous hN passed as a constant h0).
 */
export function recurrent(tape: Tape, layer: RecurrentLayer, x: Variable, inputs: RecurrentTapeInputs = {}): RecurrentTapeOutputs {
  tape.checkOp(`recurrent(${layer?.constructor?.name})`, { layer: layer?.rt, x, h0: inputs.h0, c0: inputs.c0 });
  const result = layer.forwardDevice({
    x: x.value,
    h0: inputs.h0?.value,
    c0: inputs.c0?.value,
    lengths: inputs.lengths,
    training: tape.training,
    ...(inputs.inputProjected ? { inputProjected: true } : {}),
    arena: tape.arena,
  });
  const wrap = (t: Tensor) => new Variable(tape, t, true);
  const output = wrap(result.output);
  const hN = wrap(result.hN);
  const cN = result.cN ? wrap(result.cN) : undefined;
  const context = result.context;
  tape.record(layer.constructor.name, () => {
    if (!output.hasGrad && !hN.hasGrad && !cN?.hasGrad) return;
    const grads = layer.backwardDevice({
      context,
      dOutput: output.hasGrad ? output.grad() : undefined,
      dHN: hN.hasGrad ? hN.grad() : undefined,
      dCN: cN?.hasGrad ? cN.grad() : undefined,
      arena: tape.arena,
      // Data inputs (no gradient wanted) skip BPTT's dx product, a fifth of its work.
      inputGrad: x.requiresGrad,
    });
    const add = (v: Variable | undefined, g: Tensor | undefined) => {
      if (v && g && v.requiresGrad) axpy(tape.rt, { alpha: 1, x: g.ptr, y: v.grad().ptr, n: v.size });
    };
    add(x, grads.dx);
    add(inputs.h0, grads.dH0);
    add(inputs.c0, grads.dC0);
  });
  return { output, hN, cN };
}

export interface CellTapeInputs {
  /** [B, H] previous state; zeros when absent. Its gradient flows back when it requires one. */
  h?: Variable;
  /** LSTMCell only: [B, H]. */
  c?: Variable;
  /** AttentionGRUCell only (required): [B], the attention weight of each row. */
  gate?: Variable;
}

export interface CellTapeOutputs {
  /** [B, H] */
  h: Variable;
  /** LSTMCell only. */
  c?: Variable;
}

/**
 * One step of a cell layer (src/layers/cells.ts) on the tape: x [B, I] -> h [B, H] (+ c).
 * Call it any number of times per training step (a decoder, the DMN's passes): each call
 * records its own backward, which adds dx, dh (dc, dGate) into the inputs' gradients and
 * the parameter gradients into the cell's block; the tape runs them in reverse order.
 */
export function cell(tape: Tape, layer: RecurrentCell, x: Variable, inputs: CellTapeInputs = {}): CellTapeOutputs {
  tape.checkOp(`cell(${layer?.constructor?.name})`, { layer: layer?.rt, x, h: inputs.h, c: inputs.c, gate: inputs.gate });
  const result = layer.forwardDevice({ x: x.value, h: inputs.h?.value, c: inputs.c?.value, gate: inputs.gate?.value, arena: tape.arena });
  const h = new Variable(tape, result.h, true);
  const c = result.c ? new Variable(tape, result.c, true) : undefined;
  const step = result.step;
  tape.record(layer.constructor.name, () => {
    if (!h.hasGrad && !c?.hasGrad) return;
    const grads = layer.backwardDevice(step, {
      dH: h.hasGrad ? h.grad() : undefined,
      dC: c?.hasGrad ? c.grad() : undefined,
      inputGrad: x.requiresGrad,
    });
    const add = (v: Variable | undefined, g: Tensor | undefined) => {
      if (v && g && v.requiresGrad) axpy(tape.rt, { alpha: 1, x: g.ptr, y: v.grad().ptr, n: v.size });
    };
    add(x, grads.dx);
    add(inputs.h, grads.dh);
    add(inputs.c, grads.dc);
    add(inputs.gate, grads.dGate);
  });
  return { h, ...(c ? { c } : {}) };
}

/** Entry k along the first axis: v [N, ...rest] -> y [...rest], gradient flowing back into v. */
export function selectFirstAxis(tape: Tape, v: Variable, k: number): Variable {
  tape.checkOp('selectFirstAxis', { v });
  const N = v.shape[0];
  if (v.shape.length < 2 || !Number.isInteger(k) || k < 0 || k >= N) {
    throw new RangeError(`selectFirstAxis: index ${k} must be an integer in [0, ${N}) of a tensor [${v.shape.join(', ')}] with at least 2 axes`);
  }
  const n = v.size / N;
  const y = tape.variable(v.shape.slice(1));
  copyBuffer(tape.rt, { x: v.ptr + k * n * 4, y: y.ptr, n });
  tape.record('selectFirstAxis', () => {
    if (y.hasGrad && v.requiresGrad) axpy(tape.rt, { alpha: 1, x: y.grad().ptr, y: v.grad().ptr + k * n * 4, n });
  });
  return y;
}
