// Whole-model gradient check for the DMN tests (test/model-grad.ts: one random direction per
// parameter tensor, |numeric - analytic| < relative |analytic| + absolute).
import type { DMN, DMNBatch } from '../src/models/dmn.js';
import { checkModelGradient } from './model-grad.js';

export function checkDMNGradient(model: DMN, batch: DMNBatch, options: { eps?: number; relative?: number; absolute?: number } = {}): void {
  const relative = options.relative ?? 0.02, absolute = options.absolute ?? 2e-4;
  checkModelGradient(model, () => model.loss(batch), { eps: options.eps, tolerance: (_numeric, analytic) => relative * Math.abs(analytic) + absolute });
}
