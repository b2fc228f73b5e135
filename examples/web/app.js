// Trains a small forecaster in the page and draws its loss curve and predictions
// as it learns. Every matrix product (forward and backward) runs in rnn-wasm's
// WebAssembly GEMM; the few elementwise steps run here.
// The state is published on window.rnnWasmExample for the end-to-end test.
import { createRuntime, gemm } from 'rnn-wasm';

const WINDOW = 16; // past samples the model sees
const HIDDEN = 24;
const TRAIN = 256; // training windows
const TEST = 120; // held-out windows, later in time
const STEPS = 400;
const STEPS_PER_FRAME = 10;
const LEARNING_RATE = 0.01;

const state = (window.rnnWasmExample = { build: null, model: `MLP ${WINDOW}-${HIDDEN}-1`, step: 0, losses: [], heldOutLoss: null, done: false, error: null });
const status = document.getElementById('status');
document.getElementById('task').textContent =
  `Task: predict the next sample of s(t) = sin(t) + 0.4 sin(2.7t + 1) from the previous ${WINDOW}; ` +
  `${TRAIN} training windows, ${TEST} held-out ones later in time.`;

const signal = (t) => Math.sin(t) + 0.4 * Math.sin(2.7 * t + 1);
const DT = 0.2;

function windows(count, start) {
  const x = new Float32Array(count * WINDOW);
  const y = new Float32Array(count);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < WINDOW; i++) x[n * WINDOW + i] = signal((start + n + i) * DT);
    y[n] = signal((start + n + WINDOW) * DT);
  }
  return { x, y };
}

/** Deterministic init, so every run (and the test) sees the same curve. */
function seeded(n, seed, scale) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 * 2 - 1) * scale;
  }
  return out;
}

/** Parameters, gradients and Adam moments on the host; matrices copied into wasm memory per step. */
function createModel(rt) {
  const params = {
    w1: seeded(HIDDEN * WINDOW, 1, 1 / Math.sqrt(WINDOW)),
    b1: new Float32Array(HIDDEN),
    w2: seeded(HIDDEN, 2, 1 / Math.sqrt(HIDDEN)),
    b2: new Float32Array(1),
  };
  const moments = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { m: new Float32Array(v.length), v: new Float32Array(v.length) }]));
  const rows = Math.max(TRAIN, TEST);
  // Byte pointers into wasm memory, allocated once and reused by every step.
  const p = {
    x: rt.mem.alloc(rows * WINDOW * 4),
    w1: rt.mem.alloc(HIDDEN * WINDOW * 4),
    w2: rt.mem.alloc(HIDDEN * 4),
    a1: rt.mem.alloc(rows * HIDDEN * 4),
    y: rt.mem.alloc(rows * 4),
    dy: rt.mem.alloc(rows * 4),
    dz1: rt.mem.alloc(rows * HIDDEN * 4),
    dw1: rt.mem.alloc(HIDDEN * WINDOW * 4),
    dw2: rt.mem.alloc(HIDDEN * 4),
  };
  const f32 = (ptr, n) => rt.mem.f32(ptr, n); // fresh views: memory may grow between calls

  function forward(x, n) {
    f32(p.x, n * WINDOW).set(x);
    f32(p.w1, HIDDEN * WINDOW).set(params.w1);
    f32(p.w2, HIDDEN).set(params.w2);
    gemm(rt, { transB: true, m: n, n: HIDDEN, k: WINDOW, a: p.x, b: p.w1, c: p.a1 }); // Z1 = X W1^T
    const a1 = f32(p.a1, n * HIDDEN);
    for (let r = 0; r < n; r++) for (let j = 0; j < HIDDEN; j++) a1[r * HIDDEN + j] = Math.tanh(a1[r * HIDDEN + j] + params.b1[j]);
    gemm(rt, { transB: true, m: n, n: 1, k: HIDDEN, a: p.a1, b: p.w2, c: p.y }); // Y = A1 W2^T
    const y = f32(p.y, n).slice();
    for (let r = 0; r < n; r++) y[r] += params.b2[0];
    return y;
  }

  function mse(pred, target) {
    let s = 0;
    for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
    return s / pred.length;
  }

  function trainStep(data, step) {
    const n = data.y.length;
    const pred = forward(data.x, n);
    const loss = mse(pred, data.y);
    const dy = f32(p.dy, n);
    for (let r = 0; r < n; r++) dy[r] = (2 * (pred[r] - data.y[r])) / n;
    const grads = { b2: new Float32Array([dy.reduce((a, b) => a + b, 0)]), b1: new Float32Array(HIDDEN) };
    gemm(rt, { transA: true, m: 1, n: HIDDEN, k: n, a: p.dy, b: p.a1, c: p.dw2 }); // dW2 = dY^T A1
    gemm(rt, { m: n, n: HIDDEN, k: 1, a: p.dy, b: p.w2, c: p.dz1 }); // dA1 = dY W2
    const dz1 = f32(p.dz1, n * HIDDEN), a1 = f32(p.a1, n * HIDDEN);
    for (let i = 0; i < n * HIDDEN; i++) {
      dz1[i] *= 1 - a1[i] * a1[i];
      grads.b1[i % HIDDEN] += dz1[i];
    }
    gemm(rt, { transA: true, m: HIDDEN, n: WINDOW, k: n, a: p.dz1, b: p.x, c: p.dw1 }); // dW1 = dZ1^T X
    grads.w1 = f32(p.dw1, HIDDEN * WINDOW).slice();
    grads.w2 = f32(p.dw2, HIDDEN).slice();
    // Adam
    const t = step + 1, b1 = 0.9, b2 = 0.999;
    for (const [name, value] of Object.entries(params)) {
      const g = grads[name], { m, v } = moments[name];
      for (let i = 0; i < value.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        value[i] -= (LEARNING_RATE * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + 1e-8);
      }
    }
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
  const train = windows(TRAIN, 0);
  const test = windows(TEST, TRAIN + WINDOW);
  const lossCanvas = document.getElementById('loss');
  const predCanvas = document.getElementById('predictions');

  await new Promise((resolve) => {
    function frame() {
      for (let i = 0; i < STEPS_PER_FRAME && state.step < STEPS; i++) {
        state.losses.push(model.trainStep(train, state.step));
        state.step++;
      }
      const pred = model.forward(test.x, TEST);
      state.heldOutLoss = model.mse(pred, test.y);
      drawLoss(lossCanvas, state.losses);
      drawPredictions(predCanvas, test.y, pred);
      status.textContent = `${rt.features.build} build | ${state.model} | step ${state.step}/${STEPS} | ` +
        `train loss ${state.losses[state.losses.length - 1].toExponential(2)} | held-out loss ${state.heldOutLoss.toExponential(2)}`;
      if (state.step < STEPS) requestAnimationFrame(frame); else resolve();
    }
    requestAnimationFrame(frame);
  });
  state.done = true;
}

main().catch((err) => {
  state.error = String(err && err.stack || err);
  status.textContent = `error: ${err.message}`;
});
