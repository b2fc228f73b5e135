// Issue 3's three figures over time, window by window (public API, SIMD build). The host here
// alternates between a fast and a ~1.5x slower phase every few seconds, so one CLI run mixes
// them; this prints each short window's median, then the 10th percentile and the median of those,
// the same figures scaled window by window by the register-only roofline timed beside them (an
// estimate), and the medians of only the windows whose roofline ran at full speed.
//   node bench/phase-monitor.mjs [dist] [seconds]
import fs from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = resolve(process.argv[2] ?? 'dist');
const seconds = Number(process.argv[3] ?? 90);
const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', 'simd.wasm')) });

function shape(I, H, T, B) {
  const layer = new lib.LSTM(rt, { inputSize: I, hiddenSize: H, seed: 1 });
  const x = { shape: [T, B, I], data: new Float32Array(T * B * I).map((_, i) => Math.sin(i)) };
  const dOutput = { shape: [T, B, H], data: new Float32Array(T * B * H).map((_, i) => Math.cos(i) * 0.01) };
  return { layer, x, dOutput };
}
const small = shape(32, 64, 32, 1), throughput = shape(128, 256, 64, 16);
const forward = (s) => s.layer.forward(s.x, { training: false });
// As `rnn-wasm bench lstm` times a training step: forward, BPTT with dx, SGD over the block, zeroGrad.
function trainStep(s) {
  s.layer.forward(s.x, { training: true });
  s.layer.backward({ dOutput: s.dOutput });
  rt.exports.axpy_f32(s.layer.block.count, -1e-3, s.layer.block.gradsPtr, s.layer.block.valuesPtr);
  s.layer.zeroGrad();
}
function windowMedian(fn, calls) {
  const t = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[calls >> 1];
}

for (let i = 0; i < 3; i++) { forward(throughput); trainStep(throughput); for (let j = 0; j < 100; j++) forward(small); }
// Each window also times the build's register-only roofline (roofline_f32x4, no memory traffic):
// its GFLOP/s tells how fast the host lets this core run in that window.
const ROOF_ITERS = 1 << 19;
const roofGflops = () => (ROOF_ITERS * 64) / (windowMedian(() => rt.exports.roofline_f32x4(ROOF_ITERS), 5) * 1e6);
const rows = [];
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  const row = [windowMedian(() => forward(small), 201) * 1000, windowMedian(() => forward(throughput), 5), windowMedian(() => trainStep(throughput), 3), roofGflops()];
  rows.push(row);
  console.log(`${((performance.now() - start) / 1000).toFixed(0).padStart(3)} s  small forward ${row[0].toFixed(1)} us | throughput forward ${row[1].toFixed(1)} ms | training step ${row[2].toFixed(1)} ms | roofline ${row[3].toFixed(1)} GFLOP/s`);
}
const pick = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];
const column = (k) => rows.map((r) => r[k]);
console.log(`${rows.length} windows, 10th percentile / median of the window medians: small forward ${pick(column(0), 0.1).toFixed(1)} / ${pick(column(0), 0.5).toFixed(1)} us, ` +
  `throughput forward ${pick(column(1), 0.1).toFixed(2)} / ${pick(column(1), 0.5).toFixed(2)} ms, training step ${pick(column(2), 0.1).toFixed(1)} / ${pick(column(2), 0.5).toFixed(1)} ms`);
// An estimate, not a measurement: each window's figures scaled by its roofline to the 90th
// percentile roofline of the run (what the host gives in its fast phase), then the median.
// It assumes the host's slow phase slows the products as much as the roofline.
const fastRoof = pick(column(3), 0.9);
const scaled = (k) => pick(rows.map((r) => (r[k] * r[3]) / fastRoof), 0.5);
console.log(`roofline ${pick(column(3), 0.1).toFixed(1)} / ${pick(column(3), 0.5).toFixed(1)} / ${fastRoof.toFixed(1)} GFLOP/s (10th / 50th / 90th percentile); ` +
  `scaled to the 90th: small forward ${scaled(0).toFixed(1)} us, throughput forward ${scaled(1).toFixed(2)} ms, training step ${scaled(2).toFixed(1)} ms`);
// A measurement, not an estimate: only the windows whose roofline came within 3% of the 90th
// percentile (the core's arithmetic at full speed; memory traffic from other tenants can still
// slow the products there), 10th percentile / median / 90th percentile of their medians.
const fast = rows.filter((r) => r[3] >= 0.97 * fastRoof);
const fastPick = (k) => [0.1, 0.5, 0.9].map((p) => pick(fast.map((r) => r[k]), p));
const fmt = (k, d) => fastPick(k).map((v) => v.toFixed(d)).join(' / ');
console.log(`${fast.length} windows with the roofline at full speed: small forward ${fmt(0, 1)} us, throughput forward ${fmt(1, 2)} ms, training step ${fmt(2, 1)} ms (10th / 50th / 90th percentile)`);
