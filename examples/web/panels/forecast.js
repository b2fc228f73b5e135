// Panel adapter (runs in the worker): an LSTM forecaster. It reads
// s(t) = sin(t) + 0.4 sin(2.7t + 1) one sample at a time and predicts the next sample.
// The LSTM (forward and backpropagation through time), the linear read-out's matrix
// products and the Adam update all run in rnn-wasm's WebAssembly; this file only computes
// the squared error. The adapter contract is in ../worker.js.

const HIDDEN = 24;
const SEQ = 48; // steps per training sequence
const BATCH = 16; // sequences per step
const HELD_OUT = 160; // steps of the held-out stretch, later in time
const STEPS = 300;
const DT = 0.2;

const signal = (t) => Math.sin(t) + 0.4 * Math.sin(2.7 * t + 1);

/** x: [T, B, 1] samples from step `start + b*stride`; y: the next sample of each. */
function sequences(T, B, start, stride) {
  const x = new Float32Array(T * B);
  const y = new Float32Array(T * B);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const k = start + b * stride + t;
      x[t * B + b] = signal(k * DT);
      y[t * B + b] = signal((k + 1) * DT);
    }
  }
  return { x: { shape: [T, B, 1], data: x }, y, T, B };
}

function mse(pred, target) {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return s / pred.length;
}

function createModel(lib, rt) {
  const { Adam, LSTM, ParameterBlock, gemm } = lib;
  const lstmOptions = { inputSize: 1, hiddenSize: HIDDEN, seed: 7 };
  // One block for the whole model: LSTM weights under 'lstm.', then the read-out,
  // so that one Adam call updates everything.
  const specs = [
    ...LSTM.parameterSpecs(lstmOptions).map((s) => ({ name: `lstm.${s.name}`, shape: s.shape })),
    { name: 'head.weight', shape: [1, HIDDEN] },
    { name: 'head.bias', shape: [1] },
  ];
  const block = new ParameterBlock(rt.mem, specs);
  const lstm = new LSTM(rt, { ...lstmOptions, block, prefix: 'lstm.' });
  block.value('head.weight').set(Array.from({ length: HIDDEN }, (_, i) => Math.sin(i * 12.9898) * 0.2));
  const optimizer = new Adam(rt, block, { lr: 0.005 });
  const rows = Math.max(SEQ * BATCH, HELD_OUT);
  const hiddenPtr = rt.mem.alloc(rows * HIDDEN * 4); // LSTM outputs, [rows, H]
  const predPtr = rt.mem.alloc(rows * 4); // read-out, [rows, 1]
  const dPredPtr = rt.mem.alloc(rows * 4);
  const dHiddenPtr = rt.mem.alloc(rows * HIDDEN * 4);

  /** LSTM then y = h W^T + b over all rows at once. */
  function forward(seq, training) {
    const rowsUsed = seq.T * seq.B;
    const { output } = lstm.forward(seq.x, { training });
    rt.mem.f32(hiddenPtr, rowsUsed * HIDDEN).set(output.data);
    gemm(rt, { transB: true, m: rowsUsed, n: 1, k: HIDDEN, a: hiddenPtr, b: block.value('head.weight').ptr, c: predPtr });
    const pred = rt.mem.f32(predPtr, rowsUsed).slice();
    const bias = block.value('head.bias').view()[0];
    for (let i = 0; i < rowsUsed; i++) pred[i] += bias;
    return pred;
  }

  function trainStep(seq) {
    const rowsUsed = seq.T * seq.B;
    block.zeroGrad();
    const pred = forward(seq, true);
    const loss = mse(pred, seq.y);
    const dPred = rt.mem.f32(dPredPtr, rowsUsed);
    let dBias = 0;
    for (let i = 0; i < rowsUsed; i++) {
      dPred[i] = (2 * (pred[i] - seq.y[i])) / rowsUsed;
      dBias += dPred[i];
    }
    block.grad('head.bias').view()[0] += dBias;
    // dW += dY^T H ; dH = dY W
    gemm(rt, { transA: true, m: 1, n: HIDDEN, k: rowsUsed, a: dPredPtr, b: hiddenPtr, beta: 1, c: block.grad('head.weight').ptr });
    gemm(rt, { m: rowsUsed, n: HIDDEN, k: 1, a: dPredPtr, b: block.value('head.weight').ptr, c: dHiddenPtr });
    const dOutput = { shape: [seq.T, seq.B, HIDDEN], data: rt.mem.f32(dHiddenPtr, rowsUsed * HIDDEN).slice() };
    lstm.backward({ dOutput });
    optimizer.step();
    return loss;
  }

  return { forward, trainStep };
}

export async function createPanel({ lib, rt }) {
  const train = sequences(SEQ, BATCH, 0, 23);
  const heldOut = sequences(HELD_OUT, 1, BATCH * 23 + SEQ, 0);
  let model = null;
  return {
    info: {
      model: `LSTM(1→${HIDDEN}) + linear`,
      task:
        `read s(t) = sin(t) + 0.4 sin(2.7t + 1) one sample at a time and predict the next sample; ` +
        `${BATCH} training sequences of ${SEQ} steps, then a held-out stretch of ${HELD_OUT} steps later in time`,
    },
    startTraining() {
      // A fresh runtime memory would be cleaner, but a new model in the same runtime is enough
      // for a second run: its blocks are new allocations.
      model = createModel(lib, rt);
      return {
        total: STEPS,
        evaluateEvery: 5,
        step: () => model.trainStep(train),
        evaluate() {
          const prediction = model.forward(heldOut, false);
          const heldOutLoss = mse(prediction, heldOut.y);
          return { heldOutLoss, summary: `held-out loss ${heldOutLoss.toExponential(2)}`, target: Array.from(heldOut.y), prediction: Array.from(prediction) };
        },
      };
    },
  };
}
