import { describe, it, expect, beforeAll } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { Seq2Seq, type Seq2SeqOptions } from '../src/models/seq2seq.js';
import { HardAttention } from '../src/layers/hard-attention.js';
import { checkModelGradient } from './model-grad.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

const batch = {
  sources: [[4, 5, 6, 7], [8, 9], [5, 10, 11]],
  targets: [[4, 5, 6], [7], [8, 9, 10, 11]],
};

/**
 * Directional finite difference per parameter tensor (test/model-grad.ts), N(0, 1) directions,
 * eps 1e-2; passes when |numeric - analytic| / max(1e-2, |numeric| + |analytic|) < tolerance.
 */
function checkGradients(options: Partial<Seq2SeqOptions>, tolerance = 2e-2, prepare?: (model: Seq2Seq) => void): { worst: number; name: string } {
  const model = new Seq2Seq(rt, { sourceVocabSize: 12, targetVocabSize: 12, hiddenSize: 6, embeddingDim: 5, attentionSize: 4, seed: 3, ...options });
  prepare?.(model);
  const worst = checkModelGradient(model, () => model.loss(batch), {
    eps: 1e-2,
    seed: 7,
    unitDirection: false,
    tolerance: (numeric, analytic) => tolerance * Math.max(1e-2, Math.abs(numeric) + Math.abs(analytic)),
  });
  model.dispose();
  return { worst: worst.ratio * tolerance, name: `${worst.name}: numeric ${worst.numeric}, analytic ${worst.analytic}` };
}

describe('Seq2Seq gradients (directional finite differences per parameter tensor)', () => {
  const cases: [string, Partial<Seq2SeqOptions>][] = [
    ['no attention', { attention: 'none' }],
    ['bahdanau', { attention: 'bahdanau' }],
    ['luong-dot', { attention: 'luong-dot', embeddingDim: 6 }],
    ['luong-general', { attention: 'luong-general' }],
    ['luong-concat + input feeding', { attention: 'luong-concat', inputFeeding: true }],
    ['local-m', { attention: 'local-m', window: 1 }],
    ['local-p', { attention: 'local-p', window: 2 }],
    ['lstm encoder and decoder, bahdanau', { attention: 'bahdanau', encoderCell: 'lstm', cell: 'lstm' }],
    ['bidirectional 2-layer reversed encoder, luong-general', { attention: 'luong-general', bidirectional: true, numLayers: 2, reverseSource: true }],
    ['tied embeddings', { attention: 'bahdanau', embeddingDim: 6, tieEmbeddings: true }],
  ];
  for (const [label, options] of cases) {
    it(label, () => {
      const r = checkGradients(options);
      console.log(label, r.worst.toExponential(2), r.name);
    });
  }
  it('hard (argmax positions, REINFORCE advantage held at 0: the backprop path through the chosen keys)', () => {
    // With the positions fixed (argmax) the loss is differentiable in every parameter but the
    // scorer's, whose true gradient is then 0; a zero reward with no baseline zeroes REINFORCE,
    // so the analytic gradient must equal the finite differences everywhere (W included: 0).
    const r = checkGradients({ attention: 'hard' }, 2e-2, (model) => {
      const layer = model.attentionLayer as HardAttention;
      expect(layer).toBeInstanceOf(HardAttention);
      layer.eval();
      (layer as { baselineKind: string }).baselineKind = 'none';
      const backward = layer.backwardDevice.bind(layer);
      layer.backwardDevice = (step, args) => backward(step, { ...args, reward: new Float64Array(step.B) });
    });
    console.log('hard', r.worst.toExponential(2), r.name);
  });
});
