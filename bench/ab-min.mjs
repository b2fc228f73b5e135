// Fastest call of several builds of rnn-wasm in one process, interleaved: each round times
// CHUNK calls of every build in turn (order reversed every other round) and keeps each
// build's best per-call time. On a busy host the minimum is the steadier figure beside
// ab-builds.mjs's median of paired ratios; the last column is last / first.
//
//   node --experimental-wasm-relaxed-simd bench/ab-min.mjs <fwd|train> <lstm|gru|rnn> '{"I":32,"H":64,"T":32,"B":1}' <dist> <dist> ...
//   BUILD=simd|relaxed (default simd), CHUNK (calls per round, default 200), ROUNDS (default 200)
// train = forward + backward with dx + SGD axpy + zeroGrad, as in ab-builds.mjs.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [mode, cell, shapeJson, ...dirs] = process.argv.slice(2);
if (!shapeJson || dirs.length === 0) throw new Error('usage: ab-min.mjs <fwd|train> <lstm|gru|rnn> <shape JSON {I,H,T,B}> <dist>...');
const { I, H, T, B } = JSON.parse(shapeJson);
const build = process.env.BUILD ?? 'simd';
const seeded = (n, seed) => {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = (s / 2 ** 32) * 2 - 1; }
  return a;
};
const x = { shape: [T, B, I], data: seeded(T * B * I, 1) }, dOutput = { shape: [T, B, H], data: seeded(T * B * H, 2) };
const sides = [];
for (const dir of dirs) {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', `${build}.wasm`)) });
  const layer = new ({ lstm: lib.LSTM, gru: lib.GRU, rnn: lib.RNN }[cell])(rt, { inputSize: I, hiddenSize: H, seed: 1 });
  const f = mode === 'fwd'
    ? () => layer.forward(x, { training: false })
    : () => {
      layer.forward(x, { training: true });
      layer.backward({ dOutput });
      rt.exports.axpy_f32(layer.block.count, -1e-6, layer.block.gradsPtr, layer.block.valuesPtr);
      layer.zeroGrad();
    };
  sides.push({ dir, f, best: Infinity });
}
const chunk = Number(process.env.CHUNK ?? 200), rounds = Number(process.env.ROUNDS ?? 200);
for (let r = 0; r < rounds; r++) {
  for (const s of r % 2 ? [...sides].reverse() : sides) {
    const t0 = performance.now();
    for (let i = 0; i < chunk; i++) s.f();
    s.best = Math.min(s.best, ((performance.now() - t0) / chunk) * 1000);
  }
}
console.log(`${cell} ${mode} ${shapeJson} ${build}: ` + sides.map((s) => `${s.dir} ${s.best.toFixed(3)} us`).join(' | ') +
  ` | last/first ${(sides[sides.length - 1].best / sides[0].best).toFixed(3)}`);
