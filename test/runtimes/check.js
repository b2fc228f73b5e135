// The check every runtime test runs, in Node, Deno, workerd and Chromium alike:
// plain JavaScript with no imports, handed the package's exports (`lib`), a runtime
// made the way that platform's README snippet makes it, and the bytes of a PyTorch
// fixture (test/fixtures/rnn_002_lstm_L3_uni_bias_tf.safetensors). It returns a
// JSON-able report; the vitest file on the Node side asserts on it.
//
// 1. LSTM forward: output, h_n, c_n against PyTorch within 1e-4 * max(1, |ref|).
// 2. Training: a few gradient steps whose losses must fall and match a float64
//    reference of the same steps.

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

/** Seeded uniform values in [-1, 1) (mulberry32), identical in every runtime. */
function seeded(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/** Copies host data into a fresh allocation; returns the byte pointer. */
function upload(rt, data) {
  const ptr = rt.mem.alloc(data.length * 4);
  rt.mem.f32(ptr, data.length).set(data);
  return ptr;
}

/**
 * Interim LSTM forward (time-first, unidirectional, no lengths) built on the
 * package's gemm: one GEMM projects every step's input, one recurrent GEMM per
 * step; gate nonlinearities on the host. Replaced by the LSTM layer once it ships.
 */
function lstmForwardWithGemm(lib, rt, file, config) {
  const { inputSize: I, hiddenSize: H, numLayers: L, seqLen: T, batch: B } = config;
  const G = 4 * H;
  const output = new Float32Array(T * B * H);
  const hN = new Float32Array(L * B * H);
  const cN = new Float32Array(L * B * H);
  let layerInput = file.x.data;
  for (let k = 0; k < L; k++) {
    const inSize = k === 0 ? I : H;
    const wih = file[`model.weight_ih_l${k}`].data;
    const whh = file[`model.weight_hh_l${k}`].data;
    const bias = new Float32Array(G);
    for (let j = 0; j < G; j++) bias[j] = file[`model.bias_ih_l${k}`].data[j] + file[`model.bias_hh_l${k}`].data[j];
    const px = upload(rt, layerInput), pwih = upload(rt, wih), pwhh = upload(rt, whh);
    const pgx = rt.mem.alloc(T * B * G * 4), ph = rt.mem.alloc(B * H * 4), pg = rt.mem.alloc(B * G * 4);
    // Gx = X W_ih^T for all T*B rows at once.
    lib.gemm(rt, { transB: true, m: T * B, n: G, k: inSize, a: px, b: pwih, c: pgx });
    const h = file.h0.data.slice(k * B * H, (k + 1) * B * H);
    const c = file.c0.data.slice(k * B * H, (k + 1) * B * H);
    const layerOutput = new Float32Array(T * B * H);
    for (let t = 0; t < T; t++) {
      rt.mem.f32(ph, B * H).set(h);
      rt.mem.f32(pg, B * G).set(rt.mem.f32(pgx + t * B * G * 4, B * G));
      lib.gemm(rt, { transB: true, m: B, n: G, k: H, a: ph, b: pwhh, beta: 1, c: pg });
      const g = rt.mem.f32(pg, B * G);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) {
          const row = b * G;
          const ig = sigmoid(g[row + j] + bias[j]);
          const fg = sigmoid(g[row + H + j] + bias[H + j]);
          const gg = Math.tanh(g[row + 2 * H + j] + bias[2 * H + j]);
          const og = sigmoid(g[row + 3 * H + j] + bias[3 * H + j]);
          const cv = fg * c[b * H + j] + ig * gg;
          c[b * H + j] = cv;
          h[b * H + j] = og * Math.tanh(cv);
        }
      }
      layerOutput.set(h, t * B * H);
    }
    hN.set(h, k * B * H);
    cN.set(c, k * B * H);
    for (const p of [px, pwih, pwhh, pgx, ph, pg]) rt.mem.free(p);
    layerInput = layerOutput;
    if (k === L - 1) output.set(layerOutput);
  }
  return { output, hN, cN };
}

/**
 * Interim training: least squares Y ~ X W^T by gradient descent, forward and
 * gradient both GEMMs in wasm, against the same steps in float64.
 */
function trainWithGemm(lib, rt, steps) {
  const N = 37, I = 5, O = 3, lr = 0.1;
  const X = seeded(N * I, 11), Wtrue = seeded(O * I, 12);
  const Y = new Float32Array(N * O);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    let s = 0;
    for (let i = 0; i < I; i++) s += X[n * I + i] * Wtrue[o * I + i];
    Y[n * O + o] = s;
  }
  const px = upload(rt, X), pw = rt.mem.alloc(O * I * 4), pp = rt.mem.alloc(N * O * 4), pgrad = rt.mem.alloc(O * I * 4);
  const losses = [], reference = [];
  const W64 = new Float64Array(O * I);
  for (let step = 0; step < steps; step++) {
    // wasm: P = X W^T; R = P - Y; loss = mean(R^2); dW = (2/(N*O)) R^T X
    lib.gemm(rt, { transB: true, m: N, n: O, k: I, a: px, b: pw, c: pp });
    const r = rt.mem.f32(pp, N * O);
    let loss = 0;
    for (let i = 0; i < N * O; i++) { r[i] -= Y[i]; loss += r[i] * r[i]; }
    losses.push(loss / (N * O));
    lib.gemm(rt, { transA: true, m: O, n: I, k: N, alpha: 2 / (N * O), a: pp, b: px, c: pgrad });
    const w = rt.mem.f32(pw, O * I), grad = rt.mem.f32(pgrad, O * I);
    for (let i = 0; i < O * I; i++) w[i] -= lr * grad[i];
    // float64 reference of the same step
    const R64 = new Float64Array(N * O);
    let loss64 = 0;
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += X[n * I + i] * W64[o * I + i];
      R64[n * O + o] = s - Y[n * O + o];
      loss64 += R64[n * O + o] ** 2;
    }
    reference.push(loss64 / (N * O));
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += R64[n * O + o] * X[n * I + i];
      W64[o * I + i] -= (lr * 2 * s) / (N * O);
    }
  }
  for (const p of [px, pw, pp, pgrad]) rt.mem.free(p);
  return { losses, reference };
}

/**
 * @param {{ lib: any, rt: any, fixture: Uint8Array, runtime: string }} args
 * @returns {Promise<object>} report: which build ran, errors per output, training losses, failures
 */
export async function runCheck({ lib, rt, fixture, runtime }) {
  const failures = [];
  const file = lib.readSafetensors(fixture);
  const config = JSON.parse(file.__metadata__.config);
  const got = lstmForwardWithGemm(lib, rt, file, config);
  const forward = {
    output: maxRelError(got.output, file.output.data),
    h_n: maxRelError(got.hN, file.h_n.data),
    c_n: maxRelError(got.cN, file.c_n.data),
  };
  for (const [name, err] of Object.entries(forward)) {
    if (!(err <= TOLERANCE)) failures.push(`forward ${name}: max relative error ${err} > ${TOLERANCE}`);
  }
  const training = trainWithGemm(lib, rt, 6);
  for (let i = 1; i < training.losses.length; i++) {
    if (!(training.losses[i] < training.losses[i - 1])) failures.push(`training loss did not fall at step ${i}: ${training.losses.join(', ')}`);
  }
  const lossErr = maxRelError(training.losses, training.reference);
  if (!(lossErr <= TOLERANCE)) failures.push(`training losses differ from the float64 reference by ${lossErr}`);
  return {
    runtime,
    build: rt.features.build,
    relaxedSimd: rt.features.relaxedSimd,
    model: 'interim: LSTM forward from gemm (layer pending)',
    fixture: file.__metadata__.case,
    forward,
    training: { losses: training.losses, maxRelErrorVsFloat64: lossErr },
    ok: failures.length === 0,
    failures,
  };
}
