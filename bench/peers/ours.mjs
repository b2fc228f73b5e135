// rnn-wasm's recurrent layer behind the same interface as the peers
// (tfjs.mjs's recurrent), through the public API only, so `bench --compare`,
// `bench memory` and their child processes time the same user-level calls:
//   forward    Float32Array in, layer, output Float32Array out
//   trainStep  forward, backward of sum(output * dOutput) to the weights (no dx:
//              the input is data, and TF.js does not compute it either), one SGD step, zeroGrad
// `api` is the package namespace (import('rnn-wasm'), or the CLI's own modules).

const GATES = { lstm: 4, gru: 3, rnn: 1 };

export function recurrent(api, rt, spec, x, dOutput) {
  const { cell, inputSize: I, hiddenSize: H, seqLen: T, batch: B, weights } = spec;
  const G = GATES[cell];
  if (!G) throw new Error(`ours: unknown cell '${cell}'`);
  const options = { inputSize: I, hiddenSize: H, seed: 1 };
  // resetAfter false: the GRU TF.js has (see tfjs.mjs).
  const layer =
    cell === 'lstm' ? new api.LSTM(rt, options) : cell === 'gru' ? new api.GRU(rt, { ...options, resetAfter: false }) : new api.RNN(rt, options);
  layer.loadStateDict({
    weight_ih_l0: { shape: [G * H, I], data: weights.weight_ih_l0 },
    weight_hh_l0: { shape: [G * H, H], data: weights.weight_hh_l0 },
    bias_ih_l0: { shape: [G * H], data: weights.bias_ih_l0 },
    bias_hh_l0: { shape: [G * H], data: weights.bias_hh_l0 },
  });
  const optimizer = new api.SGD(rt, layer.block, { lr: spec.learningRate ?? 0.01 });
  const xHost = { shape: [T, B, I], data: x };
  const dHost = { shape: [T, B, H], data: dOutput };
  return {
    forward: () => layer.forward(xHost, { training: false }).output.data,
    output: () => layer.forward(xHost, { training: false }).output.data,
    trainStep() {
      layer.forward(xHost, { training: true });
      layer.backward({ dOutput: dHost, inputGrad: false });
      optimizer.step();
      layer.zeroGrad();
    },
    /** Gradients of sum(output * dOutput) by torch name; bias: bias_ih's (equal to bias_hh's here). */
    gradients() {
      layer.zeroGrad();
      layer.forward(xHost, { training: true });
      layer.backward({ dOutput: dHost, inputGrad: false });
      const g = layer.gradients();
      layer.zeroGrad();
      return { weight_ih_l0: g.weight_ih_l0.data, weight_hh_l0: g.weight_hh_l0.data, bias: g.bias_ih_l0.data };
    },
    memory: () => ({ wasmMemoryBytes: rt.memoryBytes, arenaBytes: layer.arenaHighWater }),
    dispose() {
      optimizer.dispose();
      layer.dispose();
    },
  };
}
