// Paired A/B of two builds of rnn-wasm in one process: each call of build A is paired with the
// same call of build B, so both see the same machine noise; prints the median of the per-call
// ratios B/A (< 1: B is faster) and each side's min and median.
//
//   node --experimental-wasm-relaxed-simd bench/ab-builds.mjs <distA> <distB> [simd|relaxed] [small|thr|tiny] [calls]
//   MODE=train (forward + backward with dx + SGD axpy + zeroGrad; default MODE=fwd), CELL=gru|rnn
//
// <dist> is a built dist/ directory (index.js and wasm/), e.g. a copy of dist/ kept before a change.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [dirA, dirB, build = 'simd', shapeName = 'small', callsArg = '400'] = process.argv.slice(2);
if (!dirA || !dirB) throw new Error('usage: ab-builds.mjs <distA> <distB> [simd|relaxed] [small|thr|tiny] [calls]');
// tiny: almost no arithmetic, so the times are the TypeScript side's checks and dispatch per call.
const SHAPES = { small: { I: 32, H: 64, T: 32, B: 1 }, thr: { I: 128, H: 256, T: 64, B: 16 }, tiny: { I: 4, H: 4, T: 1, B: 1 } };
const shape = SHAPES[shapeName];
if (!shape) throw new Error(`shape must be small, thr or tiny, got ${shapeName}`);
const { I, H, T, B } = shape;
const mode = process.env.MODE ?? 'fwd';
const cell = process.env.CELL ?? 'lstm';

function seeded(n, seed) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

async function load(dir) {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', `${build}.wasm`)) });
  const Layer = { lstm: lib.LSTM, gru: lib.GRU, rnn: lib.RNN }[cell];
  return { rt, layer: new Layer(rt, { inputSize: I, hiddenSize: H, seed: 1 }) };
}

const x = { shape: [T, B, I], data: seeded(T * B * I, 1) };
const dOutput = { shape: [T, B, H], data: seeded(T * B * H, 2) };
function call({ rt, layer }) {
  if (mode === 'fwd') return layer.forward(x, { training: false });
  layer.forward(x, { training: true });
  layer.backward({ dOutput });
  rt.exports.axpy_f32(layer.block.count, -1e-6, layer.block.gradsPtr, layer.block.valuesPtr);
  layer.zeroGrad();
}

const a = await load(dirA), b = await load(dirB);
const outA = a.layer.forward(x, { training: false }).output.data, outB = b.layer.forward(x, { training: false }).output.data;
let maxDiff = 0;
for (let i = 0; i < outA.length; i++) maxDiff = Math.max(maxDiff, Math.abs(outA[i] - outB[i]));
for (let i = 0; i < 5; i++) { call(a); call(b); }
const calls = Number(callsArg), ta = [], tb = [];
// The order alternates (A B, B A, ...): whichever runs second finds the caches holding the
// other's data, so a fixed order would bias the ratio.
const timed = (side) => { const t0 = performance.now(); call(side); return performance.now() - t0; };
for (let i = 0; i < calls; i++) {
  if (i % 2 === 0) { ta.push(timed(a)); tb.push(timed(b)); }
  else { tb.push(timed(b)); ta.push(timed(a)); }
}
const ratios = ta.map((t, i) => tb[i] / t).sort((p, q) => p - q);
const summary = (t) => { const s = [...t].sort((p, q) => p - q); return `min ${s[0].toFixed(4)} median ${s[s.length >> 1].toFixed(4)} ms`; };
console.log(`${cell} ${shapeName} ${build} ${mode}, ${calls} paired calls: B/A median ratio ${ratios[ratios.length >> 1].toFixed(3)}`);
console.log(`  A ${summary(ta)} | B ${summary(tb)} | max |output A - output B| ${maxDiff.toExponential(2)}`);
