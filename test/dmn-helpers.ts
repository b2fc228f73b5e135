// Whole-model gradient checks for the DMN tests: the analytic gradient against central
// differences of the loss along one random direction per parameter tensor (so that a wrong
// gradient of a small tensor is not hidden by the others).
import { expect } from 'vitest';
import type { DMN, DMNBatch } from '../src/models/dmn.js';
import { Rng } from '../src/train/rng.js';

export function checkDMNGradient(model: DMN, batch: DMNBatch, options: { eps?: number; relative?: number; absolute?: number } = {}): void {
  const eps = options.eps ?? 1e-3;
  model.train();
  const lossAt = () => {
    model.tape.reset();
    return model.loss(batch);
  };
  model.zeroGrad();
  lossAt();
  model.tape.backward();
  const grad = Float64Array.from(model.params.gradsView());
  const theta = Float32Array.from(model.params.valuesView());
  const rng = new Rng(11);
  const base = model.params.valuesPtr;
  for (const name of model.params.names) {
    const t = model.params.value(name);
    const offset = (t.ptr - base) / 4;
    const dir = new Float32Array(t.size);
    rng.fillNormal(dir);
    const norm = Math.sqrt(dir.reduce((a, x) => a + x * x, 0));
    const at = (sign: number) => {
      const w = model.params.valuesView();
      w.set(theta);
      for (let i = 0; i < dir.length; i++) w[offset + i] = theta[offset + i] + (sign * eps * dir[i]) / norm;
      return lossAt();
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    model.params.valuesView().set(theta);
    let analytic = 0;
    for (let i = 0; i < dir.length; i++) analytic += (grad[offset + i] * dir[i]) / norm;
    expect(Math.abs(numeric - analytic), `${name}: directional derivative ${analytic} vs ${numeric}`).toBeLessThan((options.relative ?? 0.02) * Math.abs(analytic) + (options.absolute ?? 2e-4));
  }
}
