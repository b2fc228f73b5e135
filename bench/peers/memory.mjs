// One library's training steps in a fresh process, for `rnn-wasm bench memory`.
// usage: node bench/peers/memory.mjs < job   (from src/cli/bench/memory.ts)
//   lib: ours | tfjs-cpu | tfjs-wasm; spec as in tfjs.mjs (weights as plain arrays).
// Prints one JSON line: resident set once the library is loaded (baseline),
// peak resident set (VmHWM on Linux) after the steps, median step time, and the
// library's own memory (wasm memory bytes; TF.js tensor bytes).
import { readFileSync } from 'node:fs';

/**
 * Peak resident set of this process. Linux: VmHWM, the high-water mark of this
 * process image. Not getrusage's maxRSS: Linux carries that over exec() from
 * the forked parent, so a child of a large parent would report the parent's peak.
 */
function peakRssBytes() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

// stdin: a JSON header line, then the float32 arrays named in header.arrays, back to back
// (binary, so the job adds a few MB at most to the process before the baseline).
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = Buffer.concat(chunks);
const newline = input.indexOf(10);
const job = JSON.parse(input.subarray(0, newline).toString('utf8'));
const arrays = {};
let offset = newline + 1;
for (const [name, length] of job.arrays) {
  arrays[name] = new Float32Array(input.buffer.slice(input.byteOffset + offset, input.byteOffset + offset + length * 4));
  offset += length * 4;
}
const { x, dOutput, ...weights } = arrays;
const spec = { ...job.spec, weights };

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
  peakRssBytes: peakRssBytes(),
  stepMs: times[times.length >> 1],
  ...model.memory(),
};
model.dispose();
process.stdout.write(JSON.stringify(report) + '\n');
