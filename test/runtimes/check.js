// The check every runtime test runs, in Node, Deno, workerd and Chromium alike:
// plain JavaScript with no imports, handed the package's exports (`lib`), a runtime
// made the way that platform's README snippet makes it, and the bytes of a PyTorch
// fixture (test/fixtures/rnn_002_lstm_L3_uni_bias_tf.safetensors). It returns a
// JSON-able report; the vitest file on the Node side asserts on it.
//
// 1. The LSTM layer against PyTorch within 1e-4 * max(1, |ref|): forward (output,
//    h_n, c_n), then backward (grad.x, grad.h0, grad.c0 and every weight gradient).
// 2. Training: a few gradient-descent steps through the public API; the loss must
//    fall at every step (and by 5% overall). The Node side also compares the losses
//    with the same steps run in-process, so every runtime computes the same numbers.

const TOLERANCE = 1e-4;

function maxRelError(got, ref) {
  if (got.length !== ref.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** Tensors of the fixture under prefix `model.`, as torch's state_dict names. */
function stateDictOf(file, prefix) {
  const out = {};
  for (const name of Object.keys(file)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = file[name];
  return out;
}

/** The package's LSTM layer against PyTorch: forward, then the backward's vector-Jacobian products. */
function lstmAgainstFixture(lib, rt, file, config) {
  const lstm = new lib.LSTM(rt, {
    inputSize: config.inputSize, hiddenSize: config.hiddenSize, numLayers: config.numLayers,
    bidirectional: config.bidirectional, bias: config.bias, batchFirst: config.batchFirst,
  });
  lstm.loadStateDict(stateDictOf(file, 'model.'));
  lstm.train();
  const { output, hN, cN } = lstm.forward(file.x, { h0: file.h0, c0: file.c0, lengths: file.lengths?.data });
  const forward = {
    output: maxRelError(output.data, file.output.data),
    h_n: maxRelError(hN.data, file.h_n.data),
    c_n: maxRelError(cN.data, file.c_n.data),
  };
  lstm.zeroGrad();
  const { dx, dH0, dC0 } = lstm.backward({ dOutput: file.d_output, dHN: file.d_h_n, dCN: file.d_c_n });
  const backward = {
    'grad.x': maxRelError(dx.data, file['grad.x'].data),
    'grad.h0': maxRelError(dH0.data, file['grad.h0'].data),
    'grad.c0': maxRelError(dC0.data, file['grad.c0'].data),
  };
  for (const [name, g] of Object.entries(lstm.gradients())) backward[`grad.model.${name}`] = maxRelError(g.data, file[`grad.model.${name}`].data);
  lstm.dispose?.();
  return { forward, backward };
}

/**
 * A few steps of plain gradient descent through the public API (forward, backward,
 * gradients, loadStateDict): the LSTM learns to map the fixture's x to a smooth target.
 */
function trainLstm(lib, rt, file, config, steps) {
  const lstm = new lib.LSTM(rt, {
    inputSize: config.inputSize, hiddenSize: config.hiddenSize, numLayers: config.numLayers,
    bidirectional: config.bidirectional, bias: config.bias, batchFirst: config.batchFirst,
  });
  lstm.loadStateDict(stateDictOf(file, 'model.'));
  lstm.train();
  const n = file.output.data.length;
  const width = file.output.shape[file.output.shape.length - 1];
  const target = new Float32Array(n);
  for (let i = 0; i < n; i++) target[i] = 0.5 * Math.sin(Math.floor(i / width) / 3 + (i % width));
  const lr = 5;
  const losses = [];
  for (let step = 0; step < steps; step++) {
    const { output } = lstm.forward(file.x, { h0: file.h0, c0: file.c0, lengths: file.lengths?.data });
    const dOutput = new Float32Array(n);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const r = output.data[i] - target[i];
      loss += (0.5 * r * r) / n;
      dOutput[i] = r / n;
    }
    losses.push(loss);
    lstm.zeroGrad();
    lstm.backward({ dOutput: { shape: output.shape, data: dOutput } });
    const params = lstm.stateDict();
    const grads = lstm.gradients();
    for (const name of Object.keys(params)) {
      const p = params[name].data, g = grads[name].data;
      for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
    }
    lstm.loadStateDict(params);
  }
  lstm.dispose?.();
  return { losses };
}

/**
 * @param {{ lib: any, rt: any, fixture: Uint8Array, runtime: string }} args
 * @returns {Promise<object>} report: which build ran, errors per output, training losses, failures
 */
export async function runCheck({ lib, rt, fixture, runtime }) {
  const failures = [];
  const file = lib.readSafetensors(fixture);
  const config = JSON.parse(file.__metadata__.config);
  const tolerate = (what, errors) => {
    for (const [name, err] of Object.entries(errors)) {
      if (!(err <= TOLERANCE)) failures.push(`${what} ${name}: max relative error ${err} > ${TOLERANCE}`);
    }
  };
  const report = { runtime, build: rt.features.build, relaxedSimd: rt.features.relaxedSimd, fixture: file.__metadata__.case };
  if (typeof lib.LSTM !== 'function') {
    return { ...report, ok: false, failures: ['the package does not export LSTM'] };
  }
  const { forward, backward } = lstmAgainstFixture(lib, rt, file, config);
  tolerate('forward', forward);
  tolerate('backward', backward);
  const training = trainLstm(lib, rt, file, config, 8);
  Object.assign(report, { model: 'LSTM layer', forward, backward, training });
  const losses = report.training.losses;
  for (let i = 1; i < losses.length; i++) {
    if (!(losses[i] < losses[i - 1])) failures.push(`training loss did not fall at step ${i}: ${losses.join(', ')}`);
  }
  if (!(losses[losses.length - 1] < 0.95 * losses[0])) failures.push(`training loss fell by less than 5%: ${losses.join(', ')}`);
  return { ...report, ok: failures.length === 0, failures };
}
