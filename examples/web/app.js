// Trains an LSTM forecaster in the page and draws its loss curve and predictions as it
// learns. The LSTM (forward and backpropagation through time), the linear read-out's
// matrix products and the Adam update all run in rnn-wasm's WebAssembly; the page only
// computes the squared error and draws. State is published on window.rnnWasmExample
// for the end-to-end test (test/runtimes/chromium.test.ts).
import { Adam, LSTM, ParameterBlock, createRuntime, gemm } from 'rnn-wasm';

const HIDDEN = 24;
const SEQ = 48; // steps per training sequence
const BATCH = 16; // sequences per step
const HELD_OUT = 160; // steps of the held-out stretch, later in time
const STEPS = 300;
const STEPS_PER_FRAME = 5;
const DT = 0.2;

const state = (window.rnnWasmExample = { build: null, model: `LSTM(1→${HIDDEN}) + linear`, step: 0, losses: [], heldOutLoss: null, done: false, error: null });
const status = document.getElementById('status');
document.getElementById('task').textContent =
  `Task: read s(t) = sin(t) + 0.4 sin(2.7t + 1) one sample at a time and predict the next sample; ` +
  `${BATCH} training sequences of ${SEQ} steps, then a held-out stretch of ${HELD_OUT} steps later in time.`;

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

function createModel(rt) {
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
  const headWeight = block.value('head.weight');
  headWeight.set(Array.from({ length: HIDDEN }, (_, i) => Math.sin(i * 12.9898) * 0.2));
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

  function mse(pred, target) {
    let s = 0;
    for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
    return s / pred.length;
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

  return { forward, trainStep, mse };
}

function drawLoss(canvas, losses) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (losses.length < 2) return;
  const logs = losses.map((l) => Math.log10(l));
  const hi = Math.max(...logs), lo = Math.min(...logs);
  const pad = 30;
  ctx.fillStyle = '#555';
  ctx.font = '11px sans-serif';
  ctx.fillText(`${losses[0].toExponential(1)}`, 2, pad - 4);
  ctx.fillText(`${losses[losses.length - 1].toExponential(1)}`, 2, h - 6);
  ctx.strokeStyle = '#2a6fd2';
  ctx.lineWidth = 2;
  ctx.beginPath();
  logs.forEach((v, i) => {
    const x = pad + ((w - pad - 8) * i) / (STEPS - 1);
    const y = pad + ((h - 2 * pad) * (hi - v)) / Math.max(hi - lo, 1e-9);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

function drawPredictions(canvas, target, pred) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const sx = (i) => 10 + ((w - 20) * i) / (target.length - 1);
  const sy = (v) => h / 2 - (v * (h - 20)) / 3;
  for (const [series, color, width] of [[target, '#bbb', 6], [pred, '#d2492a', 2]]) {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    series.forEach((v, i) => (i === 0 ? ctx.moveTo(sx(i), sy(v)) : ctx.lineTo(sx(i), sy(v))));
    ctx.stroke();
  }
}

async function main() {
  const rt = await createRuntime();
  state.build = rt.features.build;
  const model = createModel(rt);
  const train = sequences(SEQ, BATCH, 0, 23);
  const heldOut = sequences(HELD_OUT, 1, BATCH * 23 + SEQ, 0);
  const lossCanvas = document.getElementById('loss');
  const predCanvas = document.getElementById('predictions');

  await new Promise((resolve) => {
    function frame() {
      for (let i = 0; i < STEPS_PER_FRAME && state.step < STEPS; i++) {
        state.losses.push(model.trainStep(train));
        state.step++;
      }
      const pred = model.forward(heldOut, false);
      state.heldOutLoss = model.mse(pred, heldOut.y);
      drawLoss(lossCanvas, state.losses);
      drawPredictions(predCanvas, heldOut.y, pred);
      status.textContent = `${rt.features.build} build | ${state.model} | step ${state.step}/${STEPS} | ` +
        `train loss ${state.losses[state.losses.length - 1].toExponential(2)} | held-out loss ${state.heldOutLoss.toExponential(2)}`;
      if (state.step < STEPS) requestAnimationFrame(frame); else resolve();
    }
    requestAnimationFrame(frame);
  });
  state.done = true;
}

main().catch((err) => {
  state.error = String((err && err.stack) || err);
  status.textContent = `error: ${err.message}`;
});
