// Whole-model gradient check shared by the model tests (DMN, Seq2Seq): the analytic gradient
// against central differences of the loss along one seeded random direction per parameter
// tensor, (L(p + eps d) - L(p - eps d)) / 2 eps vs grad . d, so that a wrong gradient of a
// small tensor is not hidden by the others.
import { expect } from 'vitest';
import type { Model } from '../src/train/model.js';
import { Rng } from '../src/train/rng.js';

export interface ModelGradientOptions {
  /** Step along each direction (default 1e-3). */
  eps?: number;
  /** Seed of the directions (default 11). */
  seed?: number;
  /** Scale each direction to length 1 (default true); else its entries are N(0, 1). */
  unitDirection?: boolean;
  /** Largest accepted |numeric - analytic| for one tensor (default 0.02 |analytic| + 2e-4). */
  tolerance?: (numeric: number, analytic: number) => number;
}

export interface TensorGradientCheck {
  name: string;
  numeric: number;
  analytic: number;
  /** |numeric - analytic| / tolerance: below 1 passes. */
  ratio: number;
}

/**
 * Checks every parameter tensor of `model`; `loss` records one forward pass on model.tape
 * (reset before each call) and returns the loss. Fails the test on the first tensor out of
 * tolerance; returns the worst tensor for the log. Parameter values are restored.
 */
export function checkModelGradient(model: Model, loss: () => number, options: ModelGradientOptions = {}): TensorGradientCheck {
  const eps = options.eps ?? 1e-3;
  const tolerance = options.tolerance ?? ((_numeric: number, analytic: number) => 0.02 * Math.abs(analytic) + 2e-4);
  const lossAt = () => {
    model.tape.reset();
    return loss();
  };
  model.train();
  model.zeroGrad();
  lossAt();
  model.tape.backward();
  const grads = new Map(model.params.names.map((name) => [name, model.params.grad(name).view().slice()]));
  const rng = new Rng(options.seed ?? 11);
  let worst: TensorGradientCheck = { name: '', numeric: 0, analytic: 0, ratio: 0 };
  for (const name of model.params.names) {
    const value = model.params.value(name);
    const base = value.view().slice();
    const direction = rng.fillNormal(new Float32Array(base.length));
    const length = options.unitDirection === false ? 1 : Math.sqrt(direction.reduce((sum, x) => sum + x * x, 0));
    const at = (sign: number) => {
      value.set(base.map((x, i) => x + (sign * eps * direction[i]) / length));
      return lossAt();
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    value.set(base);
    const grad = grads.get(name)!;
    let analytic = 0;
    for (let i = 0; i < grad.length; i++) analytic += (grad[i] * direction[i]) / length;
    const ratio = Math.abs(numeric - analytic) / tolerance(numeric, analytic);
    expect(ratio, `${name}: directional derivative ${analytic} vs finite differences ${numeric}`).toBeLessThan(1);
    if (ratio > worst.ratio) worst = { name, numeric, analytic, ratio };
  }
  return worst;
}
