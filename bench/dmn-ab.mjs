// Paired A/B of DMN+ training steps between two builds of rnn-wasm in one process, in CPU time:
// both models (same seed, same options) train on the same bAbI batches, alternating A and B
// step by step, so both see the same machine noise. Prints each side's questions per CPU-second
// (median over steps) and the median of the per-step ratios A/B (> 1: B is faster).
//
//   node --experimental-wasm-relaxed-simd bench/dmn-ab.mjs <distA> <distB> [bAbI train file] [steps] [variant]
//
// <dist> is a built dist/ directory (index.js and wasm/). Batches: 100 questions, bucketed by
// fact count as `train babi` does (sorted within windows of 16 batches), the recipe
// (E = H = 80, 3 passes, Adam 1e-3, dropout 0.1, at most 40 facts).
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [dirA, dirB, file = '/work/shared/data/babi/en-10k/qa1_single-supporting-fact_train.txt', stepsArg = '60', variant = 'dmn+'] = process.argv.slice(2);
if (!dirA || !dirB) throw new Error('usage: dmn-ab.mjs <distA> <distB> [file] [steps] [variant]');
const steps = Number(stepsArg);
const text = fs.readFileSync(file, 'utf8');

async function load(dir) {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', 'relaxed.wasm')) });
  const examples = lib.parseBabi(text, { maxFacts: 40 });
  const vocab = lib.babiVocabulary(examples);
  const enc = examples.map((e) => lib.encodeBabi(e, vocab));
  const model = new lib.DMN(rt, { vocabSize: vocab.size, variant, seed: 0 });
  const trainer = new lib.Trainer(model, { lr: 1e-3, clipNorm: 10, seed: 0 });
  const batches = lib.miniBatches(enc.length, 100, { seed: 1, lengths: enc.map((e) => e.facts.length) });
  return { lib, model, trainer, enc, batches };
}

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const A = await load(dirA), B = await load(dirB);
const qps = { A: [], B: [] }, ratios = [];
for (let s = 0; s < steps + 5; s++) {
  const ms = {};
  for (const [name, side] of s % 2 ? [['B', B], ['A', A]] : [['A', A], ['B', B]]) {
    const idx = side.batches[s % side.batches.length];
    const t0 = cpu();
    const batch = side.lib.makeDMNBatch(Array.from(idx, (i) => side.enc[i]), 3);
    side.trainer.trainStep(batch);
    ms[name] = cpu() - t0;
  }
  if (s < 5) continue; // warm-up (tier-up of both sides)
  qps.A.push(100 / (ms.A / 1000));
  qps.B.push(100 / (ms.B / 1000));
  ratios.push(ms.A / ms.B);
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(JSON.stringify({ file: file.split('/').pop(), variant, steps, qpsA: Math.round(median(qps.A)), qpsB: Math.round(median(qps.B)), speedupBoverA: +median(ratios).toFixed(3) }));
