#!/usr/bin/env node
// The 10,000-step soak of issue 18 (not in the default suite): a seq2seq and a DMN training loop
// of small shapes, run against the built package (dist/; `npm run build` first). Every batch has
// the same padded shape (its first row has the longest source/target, or the most facts and the
// longest fact), so after the first step nothing may grow:
//   - the tape's arena: no heap growth after step 1 (Arena.growths) and the same high-water mark;
//   - wasm memory (bytes of the memory, live bytes of the allocator): equal after step 1 and the end;
//   - RSS: sampled every 250 steps (after a full GC when run with --expose-gc, as npm run soak
//     does); from step 1,000 (JIT and GC warm) to the end it may vary by at most RSS_TOLERANCE_MIB;
//   - the JS heap after that GC may grow by at most HEAP_TOLERANCE_MIB from step 1,000 to the end;
//   - the loss is finite at every step (the Trainer also refuses a non-finite one).
// Usage: npm run soak [-- --steps N] [--only seq2seq|dmn] [--json FILE]   (nice -n 10 on a shared machine)
import { writeFileSync } from 'node:fs';
import { createRuntime, Seq2Seq, DMN, Trainer, makeDMNBatch, generateBabi, parseBabi, babiVocabulary, encodeBabi } from '../dist/index.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const STEPS = Number(flag('steps', 10000));
const JSON_OUT = flag('json', '');
const RSS_TOLERANCE_MIB = 24;
const HEAP_TOLERANCE_MIB = 2;
const MIB = 1024 * 1024;

/** A tiny seeded generator (LCG), so every run trains on the same batches. */
function lcg(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
}

async function soak(name, { rt, model, nextBatch, lr }) {
  const trainer = new Trainer(model, { lr, clipNorm: 5, progress: false });
  const rss = [];
  let first = null;
  let lossFirst = NaN, lossLast = NaN, lossMin = Infinity, lossMax = -Infinity, nonFinite = 0;
  const t0 = performance.now();
  for (let step = 1; step <= STEPS; step++) {
    const { loss } = trainer.trainStep(nextBatch());
    if (!Number.isFinite(loss)) nonFinite++;
    if (step === 1) {
      lossFirst = loss;
      first = { growths: model.tape.arena.growths, highWater: model.tape.arena.highWater, memory: rt.mem.byteLength, live: rt.mem.liveBytes };
    }
    lossLast = loss;
    lossMin = Math.min(lossMin, loss);
    lossMax = Math.max(lossMax, loss);
    if (step % 250 === 0) {
      // With --expose-gc (npm run soak), a full collection first: what stays is what is kept.
      globalThis.gc?.();
      const m = process.memoryUsage();
      rss.push({ step, rss: m.rss, heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
    }
    if (step % 2000 === 0) process.stderr.write(`${name}: step ${step}, loss ${loss.toFixed(4)}, rss ${(process.memoryUsage().rss / MIB).toFixed(1)} MiB\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const last = { growths: model.tape.arena.growths, highWater: model.tape.arena.highWater, reserved: model.tape.arena.reservedBytes, memory: rt.mem.byteLength, live: rt.mem.liveBytes };
  const warm = rss.filter((r) => r.step >= 1000).map((r) => r.rss);
  const rssSpreadMiB = (Math.max(...warm) - Math.min(...warm)) / MIB;
  const rssGrowthMiB = (warm[warm.length - 1] - warm[0]) / MIB;
  const heap = rss.filter((r) => r.step >= 1000).map((r) => r.heap);
  const heapGrowthMiB = (heap[heap.length - 1] - heap[0]) / MIB;
  const warmSamples = rss.filter((r) => r.step >= 1000);
  const externalGrowthMiB = (warmSamples[warmSamples.length - 1].external - warmSamples[0].external) / MIB;
  const arrayBuffersGrowthMiB = (warmSamples[warmSamples.length - 1].arrayBuffers - warmSamples[0].arrayBuffers) / MIB;
  trainer.dispose();
  model.dispose();
  const checks = {
    arenaFlat: last.growths === first.growths && last.highWater === first.highWater,
    wasmMemoryFlat: last.memory === first.memory,
    liveBytesFlat: last.live === first.live,
    rssFlat: rssSpreadMiB <= RSS_TOLERANCE_MIB,
    // Only meaningful after a forced collection.
    jsHeapFlat: !globalThis.gc || heapGrowthMiB <= HEAP_TOLERANCE_MIB,
    lossFinite: nonFinite === 0,
  };
  return {
    name, steps: STEPS, seconds, stepsPerSecond: STEPS / seconds,
    arena: { growthsAfterStep1: first.growths, growthsEnd: last.growths, highWaterAfterStep1: first.highWater, highWaterEnd: last.highWater, reservedEnd: last.reserved },
    wasmMemoryBytes: { afterStep1: first.memory, end: last.memory },
    liveBytes: { afterStep1: first.live, end: last.live },
    rssMiB: { at1000: warm[0] / MIB, end: warm[warm.length - 1] / MIB, spreadFrom1000: rssSpreadMiB, growthFrom1000: rssGrowthMiB, toleranceMiB: RSS_TOLERANCE_MIB },
    jsHeapMiB: { gcBeforeSamples: Boolean(globalThis.gc), at1000: heap[0] / MIB, end: heap[heap.length - 1] / MIB, growthFrom1000: heapGrowthMiB, toleranceMiB: HEAP_TOLERANCE_MIB },
    externalMiB: { growthFrom1000: externalGrowthMiB, arrayBuffersGrowthFrom1000: arrayBuffersGrowthMiB },
    rssSamples: rss.map((r) => [r.step, Number((r.rss / MIB).toFixed(1))]),
    loss: { first: lossFirst, last: lossLast, min: lossMin, max: lossMax, nonFinite },
    checks, ok: Object.values(checks).every(Boolean),
  };
}

/** Seq2Seq: reverse a sequence of 3..6 ids; row 0 of every batch is 6 long, so the shape is fixed. */
async function seq2seqSoak(rt) {
  const V = 12, B = 8, MAX = 6;
  const rand = lcg(1);
  const model = new Seq2Seq(rt, { sourceVocabSize: V, targetVocabSize: V, hiddenSize: 16, embeddingDim: 8, attention: 'bahdanau', seed: 1 });
  const nextBatch = () => {
    const sources = [], targets = [];
    for (let b = 0; b < B; b++) {
      const n = b === 0 ? MAX : 3 + rand(MAX - 2);
      const src = Int32Array.from({ length: n }, () => 4 + rand(V - 4));
      sources.push(src);
      targets.push(src.slice().reverse());
    }
    return { sources, targets };
  };
  return soak('seq2seq (GRU, Bahdanau, hidden 16, batch 8)', { rt, model, nextBatch, lr: 3e-3 });
}

/** DMN+: bAbI-style task 1 with every question at its 6 most recent facts; row 0 has the longest fact. */
async function dmnSoak(rt) {
  const examples = parseBabi(generateBabi({ task: 1, stories: 300, seed: 3 }), { maxFacts: 6 }).filter((e) => e.facts.length === 6);
  const vocab = babiVocabulary(examples);
  const encoded = examples.map((e) => encodeBabi(e, vocab));
  const longest = (e) => Math.max(...e.facts.map((f) => f.length));
  const L = Math.max(...encoded.map(longest));
  const heads = encoded.filter((e) => longest(e) === L && e.question.length === Math.max(...encoded.map((x) => x.question.length)));
  const B = 16, rand = lcg(2);
  const model = new DMN(rt, { vocabSize: vocab.size, embeddingDim: 16, hiddenSize: 16, passes: 2, dropout: 0.1, seed: 1 });
  const nextBatch = () => makeDMNBatch([heads[rand(heads.length)], ...Array.from({ length: B - 1 }, () => encoded[rand(encoded.length)])], 2);
  return soak(`DMN+ (fusion, attention GRU, hidden 16, 2 passes, batch ${B}, ${examples.length} questions)`, { rt, model, nextBatch, lr: 3e-3 });
}

const rt = await createRuntime();
const ONLY = flag('only', 'seq2seq,dmn').split(',');
const results = [];
if (ONLY.includes('seq2seq')) results.push(await seq2seqSoak(rt));
if (ONLY.includes('dmn')) results.push(await dmnSoak(rt));
const report = { node: process.version, build: rt.features.build, date: new Date().toISOString(), results };
console.log(JSON.stringify(report, null, 2));
if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(report, null, 2)}\n`);
const failed = results.filter((r) => !r.ok);
for (const r of failed) console.error(`soak FAILED: ${r.name}: ${Object.entries(r.checks).filter(([, v]) => !v).map(([k]) => k).join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
