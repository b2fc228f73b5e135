// TensorFlow.js peer for `rnn-wasm bench --compare`: the same recurrent layer,
// with our (PyTorch-layout) weights loaded, on the cpu or wasm backend, single
// thread. Loaded with a dynamic import so rnn-wasm never depends on TF.js.
//
// Weight conversion (PyTorch -> Keras):
//   LSTM  weight_ih [4H,I] rows i,f,g,o -> kernel [I,4H] columns i,f,c,o (same order, transposed)
//   GRU   weight_ih [3H,I] rows r,z,n   -> kernel [I,3H] columns z,r,h (r and z swapped)
//   RNN   weight_ih [H,I]               -> kernel [I,H]
//   Keras has one bias: b_ih + b_hh. That is exact for LSTM and RNN, and for the
//   GRU only in its reset-before variant (TF.js has no resetAfter), so the GRU
//   comparison runs our GRU with resetAfter: false.

export const INSTALL = 'npm install --save-dev @tensorflow/tfjs @tensorflow/tfjs-backend-wasm';

let tfPromise;

/** Imports TF.js once; throws an Error carrying the install command if it is missing. */
export async function importTf() {
  tfPromise ??= (async () => {
    let tf;
    try {
      tf = await import('@tensorflow/tfjs');
    } catch (err) {
      throw unavailable('@tensorflow/tfjs', err);
    }
    tf = tf.default?.layers ? tf.default : tf;
    // Production mode, as a deployed app runs: no debug checks, and no
    // "install tfjs-node" banner (advice, not a result).
    tf.enableProdMode();
    return tf;
  })();
  return tfPromise;
}

function unavailable(pkg, err) {
  const e = new Error(`${pkg} is not installed (${err?.code ?? err?.message ?? err}); install it with: ${INSTALL}`);
  e.code = 'PEER_UNAVAILABLE';
  e.install = INSTALL;
  return e;
}

let wasmReady;

/** Selects a backend ('cpu' or 'wasm', one thread) and returns the tf module and its version. */
export async function activate(backend) {
  const tf = await importTf();
  if (backend === 'wasm') {
    wasmReady ??= (async () => {
      let wasm;
      try {
        wasm = await import('@tensorflow/tfjs-backend-wasm');
      } catch (err) {
        throw unavailable('@tensorflow/tfjs-backend-wasm', err);
      }
      const { createRequire } = await import('node:module');
      const path = await import('node:path');
      const require = createRequire(import.meta.url);
      // In Node the .wasm files are found by path: the package's dist/ folder.
      wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
      wasm.setThreadsCount(1);
      return wasm;
    })();
    await wasmReady;
  } else if (backend !== 'cpu') {
    throw new Error(`tfjs backend must be cpu or wasm, got '${backend}'`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js could not initialise its ${backend} backend`);
  await tf.ready();
  return { tf, version: tf.version?.tfjs ?? tf.version_core ?? 'unknown' };
}

function transpose2d(src, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

/** [T,B,F] <-> [B,T,F] (our time-major default <-> Keras batch-major). */
export function swapTimeBatch(src, a, b, f) {
  const out = new Float32Array(src.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) {
    out.set(src.subarray((i * b + j) * f, (i * b + j + 1) * f), (j * a + i) * f);
  }
  return out;
}

/** Reorders the gate blocks of a [G*H, n] row-major matrix (or [G*H] vector). */
function permuteGates(src, hidden, order) {
  const block = src.length / order.length;
  const out = new Float32Array(src.length);
  order.forEach((from, to) => out.set(src.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

const GATES = { lstm: 4, gru: 3, rnn: 1 };
// Keras gate block k takes PyTorch block ORDER[k] (each order is its own inverse).
const ORDER = { lstm: [0, 1, 2, 3], gru: [1, 0, 2], rnn: [0] };

/**
 * Builds the peer layer with PyTorch-layout weights.
 * spec: { cell, inputSize, hiddenSize, seqLen, batch, weights: { weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 }, learningRate }
 * x and dOutput are in our [T,B,*] layout; they are converted once, outside any timing.
 */
export function recurrent(tf, spec, x, dOutput) {
  const { cell, inputSize: I, hiddenSize: H, seqLen: T, batch: B, weights } = spec;
  const G = GATES[cell];
  if (!G) throw new Error(`tfjs peer: unknown cell '${cell}'`);
  const common = {
    units: H,
    returnSequences: true,
    kernelInitializer: 'zeros',
    recurrentInitializer: 'zeros',
    biasInitializer: 'zeros',
  };
  const layer =
    cell === 'lstm'
      ? tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid', activation: 'tanh', unitForgetBias: false })
      : cell === 'gru'
        ? tf.layers.gru({ ...common, recurrentActivation: 'sigmoid', activation: 'tanh', resetAfter: false })
        : tf.layers.simpleRNN({ ...common, activation: 'tanh' });
  // The first call builds the weights (layer.build() alone does not mark the layer built).
  tf.tidy(() => layer.apply(tf.zeros([B, T, I])));
  const perm = ORDER[cell];
  const kernel = transpose2d(permuteGates(weights.weight_ih_l0, H, perm), G * H, I);
  const recurrentKernel = transpose2d(permuteGates(weights.weight_hh_l0, H, perm), G * H, H);
  const biasSum = new Float32Array(G * H);
  for (let i = 0; i < G * H; i++) biasSum[i] = weights.bias_ih_l0[i] + weights.bias_hh_l0[i];
  const bias = permuteGates(biasSum, H, perm);
  const loaded = [tf.tensor2d(kernel, [I, G * H]), tf.tensor2d(recurrentKernel, [H, G * H]), tf.tensor1d(bias)];
  layer.setWeights(loaded);
  loaded.forEach((t) => t.dispose());

  const xNative = swapTimeBatch(x, T, B, I);
  const dNative = tf.tensor3d(swapTimeBatch(dOutput, T, B, H), [B, T, H]);
  const optimizer = tf.train.sgd(spec.learningRate ?? 0.01);

  return {
    /** What a user does: Float32Array in, layer, Float32Array out. */
    forward() {
      const y = tf.tidy(() => layer.apply(tf.tensor3d(xNative, [B, T, I])));
      const out = y.dataSync();
      y.dispose();
      return out;
    },
    /** Output in our [T,B,H] layout, for the agreement check. */
    output() {
      return swapTimeBatch(this.forward(), B, T, H);
    },
    /** Forward, backward of sum(output * dOutput), one SGD step on all weights. */
    trainStep() {
      const loss = optimizer.minimize(() => {
        const xs = tf.tensor3d(xNative, [B, T, I]);
        return tf.sum(tf.mul(layer.apply(xs), dNative));
      }, true);
      loss.dataSync();
      loss.dispose();
    },
    /**
     * Gradients of sum(output * dOutput) in PyTorch layout (weights not changed), for the
     * agreement check: weight_ih_l0, weight_hh_l0, and bias (Keras's single bias, whose
     * gradient equals both bias_ih's and bias_hh's).
     */
    gradients() {
      const vars = layer.trainableWeights.map((w) => w.read());
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(tf.tensor3d(xNative, [B, T, I])), dNative)), vars);
      const [gk, grk, gb] = vars.map((v) => grads[v.name].dataSync());
      Object.values(grads).forEach((g) => g.dispose());
      return {
        weight_ih_l0: permuteGates(transpose2d(gk, I, G * H), H, perm),
        weight_hh_l0: permuteGates(transpose2d(grk, H, G * H), H, perm),
        bias: permuteGates(gb, H, perm),
      };
    },
    /** Bytes held by TF.js tensors now, and the wasm heap of the wasm backend. */
    memory() {
      const m = tf.memory();
      const heap = tf.getBackend() === 'wasm' ? tf.backend().wasm?.HEAPU8?.length : undefined;
      return { tensorBytes: m.numBytes, wasmMemoryBytes: heap };
    },
    dispose() {
      dNative.dispose();
      optimizer.dispose();
      layer.dispose();
    },
  };
}
