// One library's training steps in a fresh process, for `rnn-wasm bench memory`.
// usage: node bench/peers/memory.mjs < job.json   (job: { lib, build, steps, spec, x, dOutput })
//   lib: ours | tfjs-cpu | tfjs-wasm; spec as in tfjs.mjs (weights as plain arrays).
// Prints one JSON line: resident set once the library is loaded (baseline),
// peak resident set (maxRSS) after the steps, median step time, and the
// library's own memory (wasm memory bytes; TF.js tensor bytes).
let input = '';
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const f32 = (a) => Float32Array.from(a);
const spec = { ...job.spec, weights: Object.fromEntries(Object.entries(job.spec.weights).map(([k, v]) => [k, f32(v)])) };
const x = f32(job.x);
const dOutput = f32(job.dOutput);

let model, library, baseline;
if (job.lib === 'ours') {
  const api = await import('rnn-wasm');
  const { recurrent } = await import('./ours.mjs');
  const rt = await api.createRuntime({ relaxedSimd: job.build === 'relaxed' });
  library = `rnn-wasm ${rt.features.build}`;
  baseline = process.memoryUsage.rss();
  model = recurrent(api, rt, spec, x, dOutput);
} else if (job.lib === 'tfjs-cpu' || job.lib === 'tfjs-wasm') {
  const tfjs = await import('./tfjs.mjs');
  const { tf, version } = await tfjs.activate(job.lib === 'tfjs-cpu' ? 'cpu' : 'wasm');
  library = `${job.lib === 'tfjs-cpu' ? '@tensorflow/tfjs' : '@tensorflow/tfjs-backend-wasm'}@${version}`;
  baseline = process.memoryUsage.rss();
  model = tfjs.recurrent(tf, spec, x, dOutput);
} else {
  console.error(`memory: unknown library '${job.lib}' (ours, tfjs-cpu, tfjs-wasm)`);
  process.exit(2);
}
const times = [];
for (let i = 0; i < job.steps; i++) {
  const t0 = performance.now();
  model.trainStep();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const report = {
  library,
  baselineRssBytes: baseline,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  stepMs: times[times.length >> 1],
  ...model.memory(),
};
model.dispose();
process.stdout.write(JSON.stringify(report) + '\n');
