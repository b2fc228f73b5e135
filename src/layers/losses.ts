// Losses on the tape. Each returns the loss value (a number) and records a
// backward entry that adds d(loss)/d(input) into the input's gradient, so a
// training step is: forward, loss(es), tape.backward().
// Softmax cross-entropy runs in one fused wasm pass (src/kernels/loss.ts);
// MSE and BCE are elementwise over at most a batch of outputs and run in
// TypeScript with float64 sums.
import { checkAllFinite, ShapeError } from '../runtime/check.js';
import type { Tape, Variable } from '../train/tape.js';
import { axpy } from '../kernels/elementwise.js';
import { softmaxCrossEntropy } from '../kernels/loss.js';

export type Reduction = 'mean' | 'sum';

function checkReduction(reduction: unknown): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum') throw new RangeError(`reduction must be 'mean' or 'sum', got ${String(reduction)}`);
  return reduction;
}

function checkTargets(name: string, input: Variable, target: ArrayLike<number>): void {
  if (target.length !== input.size) {
    throw new ShapeError(`${name}: target has ${target.length} values, input [${input.shape.join(', ')}] has ${input.size}`);
  }
  checkAllFinite(`${name} target`, target);
}

/** Records dInput += grad (grad is an arena tensor made at forward time). */
function recordGrad(tape: Tape, name: string, input: Variable, gradPtr: number): void {
  tape.record(name, () => {
    if (input.requiresGrad) axpy(tape.rt, { alpha: 1, x: gradPtr, y: input.grad().ptr, n: input.size });
  });
}

/** Mean (or sum) of (input - target)^2 over all elements (torch.nn.MSELoss). */
export function mseLoss(tape: Tape, input: Variable, target: ArrayLike<number>, reduction: Reduction = 'mean'): number {
  tape.checkOp('mseLoss', { input });
  checkReduction(reduction);
  checkTargets('mseLoss', input, target);
  const n = input.size;
  const x = input.value.view();
  const scale = reduction === 'mean' ? 1 / n : 1;
  let sum = 0;
  const grad = tape.training ? tape.tensor(input.shape) : null;
  const g = grad?.view();
  for (let i = 0; i < n; i++) {
    const d = x[i] - target[i];
    sum += d * d;
    if (g) g[i] = 2 * d * scale;
  }
  if (grad) recordGrad(tape, 'mseLoss', input, grad.ptr);
  return sum * scale;
}

/** Binary cross-entropy of probabilities in [0, 1] (torch.nn.BCELoss: logs clamped at -100). */
export function binaryCrossEntropy(tape: Tape, input: Variable, target: ArrayLike<number>, reduction: Reduction = 'mean'): number {
  tape.checkOp('binaryCrossEntropy', { input });
  checkReduction(reduction);
  checkTargets('binaryCrossEntropy', input, target);
  const n = input.size;
  const p = input.value.view();
  const scale = reduction === 'mean' ? 1 / n : 1;
  for (let i = 0; i < n; i++) {
    if (!(target[i] >= 0 && target[i] <= 1)) throw new RangeError(`binaryCrossEntropy: target[${i}] = ${target[i]} is outside [0, 1]`);
    if (!(p[i] >= 0 && p[i] <= 1)) throw new RangeError(`binaryCrossEntropy: input[${i}] = ${p[i]} is not a probability (use binaryCrossEntropyWithLogits for raw scores)`);
  }
  const grad = tape.training ? tape.tensor(input.shape) : null;
  const g = grad?.view();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const logP = Math.max(Math.log(p[i]), -100);
    const log1mP = Math.max(Math.log(1 - p[i]), -100);
    sum -= target[i] * logP + (1 - target[i]) * log1mP;
    // d/dp of -(t log p + (1-t) log(1-p)), kept finite at p = 0 or 1 as torch does (eps 1e-12).
    if (g) g[i] = (scale * (p[i] - target[i])) / Math.max(p[i] * (1 - p[i]), 1e-12);
  }
  if (grad) recordGrad(tape, 'binaryCrossEntropy', input, grad.ptr);
  return sum * scale;
}

/** sigmoid + binary cross-entropy in one numerically stable step (torch.nn.BCEWithLogitsLoss). */
export function binaryCrossEntropyWithLogits(tape: Tape, input: Variable, target: ArrayLike<number>, reduction: Reduction = 'mean'): number {
  tape.checkOp('binaryCrossEntropyWithLogits', { input });
  checkReduction(reduction);
  checkTargets('binaryCrossEntropyWithLogits', input, target);
  const n = input.size;
  const z = input.value.view();
  const scale = reduction === 'mean' ? 1 / n : 1;
  for (let i = 0; i < n; i++) {
    if (!(target[i] >= 0 && target[i] <= 1)) throw new RangeError(`binaryCrossEntropyWithLogits: target[${i}] = ${target[i]} is outside [0, 1]`);
  }
  const grad = tape.training ? tape.tensor(input.shape) : null;
  const g = grad?.view();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = z[i];
    // log(1 + e^-|x|) + max(x, 0) - x t: no overflow for any finite x.
    sum += Math.max(x, 0) - x * target[i] + Math.log1p(Math.exp(-Math.abs(x)));
    if (g) g[i] = scale * (1 / (1 + Math.exp(-x)) - target[i]);
  }
  if (grad) recordGrad(tape, 'binaryCrossEntropyWithLogits', input, grad.ptr);
  return sum * scale;
}

export interface CrossEntropyOptions {
  /** Rows whose target equals this id count for nothing (torch's ignore_index); none by default. */
  ignoreIndex?: number;
  /** Per-row weight-or-skip mask: rows with mask 0 count for nothing (e.g. padding steps). */
  mask?: ArrayLike<number>;
  reduction?: Reduction;
}

/**
 * Softmax cross-entropy of logits [..., C] against integer targets [...]
 * (torch.nn.CrossEntropyLoss); mean over the rows that count. The wasm pass
 * writes d(loss)/d(logits) while it computes the loss.
 */
export function crossEntropyLoss(tape: Tape, logits: Variable, targets: ArrayLike<number>, options: CrossEntropyOptions = {}): number {
  tape.checkOp('crossEntropyLoss', { logits });
  const reduction = checkReduction(options.reduction ?? 'mean');
  const shape = logits.shape;
  if (shape.length < 1) throw new ShapeError('crossEntropyLoss: logits need a class axis');
  const classes = shape[shape.length - 1];
  const rows = logits.size / Math.max(1, classes);
  if (targets.length !== rows) {
    throw new ShapeError(`crossEntropyLoss: ${rows} rows of logits [${shape.join(', ')}] need ${rows} targets, got ${targets.length}`);
  }
  const ignore = options.ignoreIndex;
  if (ignore !== undefined && !Number.isInteger(ignore)) throw new RangeError(`crossEntropyLoss: ignoreIndex must be an integer, got ${ignore}`);
  const mask = options.mask;
  if (mask !== undefined) {
    if (mask.length !== rows) throw new ShapeError(`crossEntropyLoss: mask has ${mask.length} values, expected ${rows}`);
    checkAllFinite('crossEntropyLoss mask', mask);
  }
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignore || (mask !== undefined && mask[r] === 0)) continue;
    if (!Number.isInteger(t) || t < 0 || t >= classes) {
      throw new RangeError(`crossEntropyLoss: target of row ${r} is ${t}, outside the classes [0, ${classes})`);
    }
  }
  const targetsPtr = tape.int32(targets);
  const maskPtr = mask === undefined ? undefined : tape.input(mask, [rows]).ptr;
  const grad = tape.tensor(shape);
  // No ignore index: pass i32 min, which no valid target equals.
  const loss = softmaxCrossEntropy(tape.rt, {
    logits: logits.ptr, targets: targetsPtr, dlogits: grad.ptr, rowMask: maskPtr, ignoreIndex: ignore ?? -2147483648, reduction, rows, cols: classes,
  });
  recordGrad(tape, 'crossEntropyLoss', logits, grad.ptr);
  return loss;
}
