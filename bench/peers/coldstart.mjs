// One cold start, in a fresh process: from the first import of the library to
// the first result of the small LSTM (input 32, hidden 64, seq 32, batch 1).
// usage: node bench/peers/coldstart.mjs <ours|tfjs-cpu|tfjs-wasm> [simd|relaxed]
// Prints one JSON line, times from just before the first import: importMs (the
// library's modules loaded), initMs (wasm compiled / backend ready, layer
// constructed; TF.js creates its weights lazily, in the first call), firstResultMs; and processMs, the same moment from the process's start.
const [lib, build = 'simd'] = process.argv.slice(2);
const T = 32, B = 1, I = 32, H = 64;
const x = new Float32Array(T * B * I);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);

const t0 = performance.now();
let imported, initialised, checksum;
if (lib === 'ours') {
  // The package by its own name (package.json self-reference): what a user imports.
  const { createRuntime, LSTM } = await import('rnn-wasm');
  imported = performance.now();
  const rt = await createRuntime({ relaxedSimd: build === 'relaxed' });
  const lstm = new LSTM(rt, { inputSize: I, hiddenSize: H });
  initialised = performance.now();
  const { output } = lstm.forward({ shape: [T, B, I], data: x });
  checksum = output.data[output.data.length - 1];
} else if (lib === 'tfjs-cpu' || lib === 'tfjs-wasm') {
  const tfjs = await import('./tfjs.mjs');
  await tfjs.importTf();
  imported = performance.now();
  const { tf } = await tfjs.activate(lib === 'tfjs-cpu' ? 'cpu' : 'wasm');
  // Uniform initialisers like ours (TF.js's default orthogonal one runs a QR
  // decomposition; a user loading weights would skip it too).
  const layer = tf.layers.lstm({
    units: H, returnSequences: true, recurrentActivation: 'sigmoid',
    kernelInitializer: 'glorotUniform', recurrentInitializer: 'glorotUniform',
  });
  initialised = performance.now();
  const y = layer.apply(tf.tensor3d(x, [B, T, I]));
  const data = y.dataSync();
  checksum = data[data.length - 1];
} else {
  console.error(`coldstart: unknown library '${lib}' (ours, tfjs-cpu, tfjs-wasm)`);
  process.exit(2);
}
const done = performance.now();
if (!Number.isFinite(checksum)) {
  console.error(`coldstart ${lib}: first result is not finite (${checksum})`);
  process.exit(1);
}
process.stdout.write(
  JSON.stringify({ lib, build, importMs: imported - t0, initMs: initialised - t0, firstResultMs: done - t0, processMs: done }) + '\n',
);
