// Paired A/B of two builds of rnn-wasm over the rows of `bench gemm`, `bench lstm`,
// `bench gru`, `bench attention` and `bench mdlstm`, in one process: every call of build A is
// paired with the same call of build B (order alternating), so both see the same machine
// noise; per row it prints the median of the per-pair ratios B/A (< 1: B is faster) with its
// interquartile range, each side's median CPU time per call, and max |output A - output B|
// (0: bit for bit the same result).
//
//   node --experimental-wasm-relaxed-simd bench/ab-rows.mjs <distA> <distB> [simd|relaxed] [rowFilter] [secondsPerRow]
//
// <dist> is a built dist/ directory (index.js and wasm/). rowFilter: a substring or regexp
// of row names (default: all rows). Rows take about secondsPerRow (default 3) of CPU time per side.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [dirA, dirB, build = 'simd', filter = '', secondsArg = '3'] = process.argv.slice(2);
if (!dirA || !dirB) throw new Error('usage: ab-rows.mjs <distA> <distB> [simd|relaxed] [rowFilter] [secondsPerRow]');
const budgetMs = Number(secondsArg) * 1000;

function seeded(n, seed, scale = 1) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

async function load(dir) {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', `${build}.wasm`)) });
  return { lib, rt };
}

// ---- rows: name -> setup(side) -> { call(), output() -> Float32Array } ----------------------

const ROWS = [];
const row = (name, setup) => ROWS.push({ name, setup });

const GEMM_VARIANTS = [['A*B', false, false], ['A*Bt', false, true], ['At*B', true, false], ['At*Bt', true, true]];
const GEMM_SHAPES = [
  [256, 256, 256], [512, 512, 512], [1024, 1024, 1024],
  // Linear / recurrent-like products: batch x out x in, and the weight gradients.
  [1, 1024, 256], [16, 1024, 256], [32, 768, 256], [64, 256, 64], [1024, 1024, 128], [1024, 128, 1024],
];
for (const [m, n, k] of GEMM_SHAPES) {
  for (const [op, transA, transB] of GEMM_VARIANTS) {
    row(`gemm ${m}x${n}x${k} ${op}`, ({ lib, rt }) => {
      const pa = rt.mem.alloc(m * k * 4), pb = rt.mem.alloc(k * n * 4), pc = rt.mem.alloc(m * n * 4);
      rt.mem.f32(pa, m * k).set(seeded(m * k, 1, 0.5));
      rt.mem.f32(pb, k * n).set(seeded(k * n, 2, 0.5));
      const args = { transA, transB, m, n, k, a: pa, b: pb, c: pc };
      return { call: () => lib.gemm(rt, args), output: () => rt.mem.f32(pc, m * n).slice() };
    });
  }
}
row('gemmBatched 32x(1x50x256 A*Bt)', ({ lib, rt }) => batched(lib, rt, 32, 1, 50, 256, false, true));
row('gemmBatched 32x(10x10x256 A*Bt)', ({ lib, rt }) => batched(lib, rt, 32, 10, 10, 256, false, true));
row('gemmBatched 32x(50x256x50 A*B)', ({ lib, rt }) => batched(lib, rt, 32, 50, 256, 50, false, false));
function batched(lib, rt, count, m, n, k, transA, transB) {
  const pa = rt.mem.alloc(count * m * k * 4), pb = rt.mem.alloc(count * k * n * 4), pc = rt.mem.alloc(count * m * n * 4);
  rt.mem.f32(pa, count * m * k).set(seeded(count * m * k, 3, 0.5));
  rt.mem.f32(pb, count * k * n).set(seeded(count * k * n, 4, 0.5));
  const args = { transA, transB, m, n, k, count, a: pa, b: pb, c: pc };
  return { call: () => lib.gemmBatched(rt, args), output: () => rt.mem.f32(pc, count * m * n).slice() };
}

const RNN_SHAPES = { small: { I: 32, H: 64, T: 32, B: 1 }, thr: { I: 128, H: 256, T: 64, B: 16 } };
for (const cell of ['lstm', 'gru']) {
  for (const [shapeName, { I, H, T, B }] of Object.entries(RNN_SHAPES)) {
    for (const mode of ['forward', 'train']) {
      row(`${cell} ${shapeName} ${mode}`, ({ lib, rt }) => {
        const layer = new { lstm: lib.LSTM, gru: lib.GRU }[cell](rt, { inputSize: I, hiddenSize: H, seed: 1 });
        const x = { shape: [T, B, I], data: seeded(T * B * I, 1) };
        const dOutput = { shape: [T, B, H], data: seeded(T * B * H, 2) };
        let out;
        const call = mode === 'forward'
          ? () => { out = layer.forward(x, { training: false }).output.data; }
          : () => {
            layer.forward(x, { training: true });
            out = layer.backward({ dOutput }).dx.data;
            layer.zeroGrad();
          };
        return { call, output: () => out };
      });
    }
  }
}

// bench attention's shapes (B 32, d 256, no mask), device API as the tape uses it.
for (const score of ['dot', 'general', 'concat', 'additive']) {
  for (const [mode, Tx] of [['step', 10], ['step', 50], ['sequence', 10]]) {
    for (const phase of ['forward', 'train']) {
      row(`attention ${score} ${mode} Tx${Tx} ${phase}`, ({ lib, rt }) => attention(lib, rt, score, mode, Tx, phase));
    }
  }
}
function attention(lib, rt, score, mode, Tx, phase) {
  const B = 32, d = 256, Ty = mode === 'step' ? 1 : Tx;
  const att = new lib.Attention(rt, { score, querySize: d, keySize: d, attentionSize: d, seed: 1 });
  const keep = (data, shape) => {
    const t = new lib.Tensor(rt.mem, rt.mem.alloc(data.length * 4), shape);
    t.set(data);
    return t;
  };
  const s = keep(seeded(B * Ty * d, 5), mode === 'step' ? [B, d] : [B, Ty, d]);
  const h = keep(seeded(B * Tx * d, 6), [B, Tx, d]);
  const dC = keep(seeded(B * Ty * d, 7), [B * Ty * d]);
  const memArena = new lib.Arena(rt.mem), arena = new lib.Arena(rt.mem);
  const stepMemory = mode === 'step' ? att.memoryDevice({ h, arena: memArena }) : null;
  let out;
  const forward = () => {
    arena.reset();
    const memory = stepMemory ?? att.memoryDevice({ h, arena });
    return { memory, step: att.forwardDevice({ s, memory, arena }) };
  };
  const call = phase === 'forward'
    ? () => { out = forward().step.context; }
    : () => {
      const { memory, step } = forward();
      const ds = arena.allocZeroed(s.bytes), dh = arena.allocZeroed(h.bytes);
      const dKeys = memory.keys ? arena.allocZeroed(memory.keys.bytes) : 0;
      att.backwardDevice(step, { dContext: dC.ptr, ds, dh, dKeys, arena });
      if (!stepMemory && dKeys) att.memoryBackwardDevice(memory, { dKeys, dh });
      out = { ptr: ds, size: s.size };
      att.zeroGrad();
    };
  return { call, output: () => rt.mem.f32(out.ptr, out.size).slice() };
}

// bench mdlstm's shape (grid 32 x 32, I 16, H 32, four directions concatenated, B 8), host API.
for (const phase of ['forward', 'train']) {
  row(`mdlstm B8 32x32 ${phase}`, ({ lib, rt }) => {
    const [B, R, C, I, H] = [8, 32, 32, 16, 32];
    const layer = new lib.MDLSTM(rt, { inputSize: I, hiddenSize: H, directions: [0, 1, 2, 3], merge: 'concat', seed: 1 });
    const x = { shape: [B, R, C, I], data: seeded(B * R * C * I, 8) };
    const dOutput = { shape: [B, R, C, 4 * H], data: seeded(B * R * C * 4 * H, 9) };
    let out;
    const call = phase === 'forward'
      ? () => { out = layer.forward(x, { training: false }).output.data; }
      : () => {
        layer.forward(x, { training: true });
        out = layer.backward({ dOutput }).dx.data;
        layer.zeroGrad();
      };
    return { call, output: () => out };
  });
}

// ---- run --------------------------------------------------------------------------------

// Timed in CPU time of this process (process.cpuUsage: user + system), not wall clock: on a
// shared machine another process's time slices then do not count, only their cache effects.
// A sample is `reps` calls, enough for ~10 ms of CPU time. Besides the median of the paired
// ratios it prints the ratio of each side's 10th percentile (noise only adds time, so the
// fast samples are the ones least disturbed by other processes).
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const a = await load(dirA), b = await load(dirB);
const re = new RegExp(filter);
const median = (t) => [...t].sort((p, q) => p - q)[t.length >> 1];
for (const r of ROWS) {
  if (!re.test(r.name)) continue;
  const sa = r.setup(a), sb = r.setup(b);
  sa.call(); sb.call();
  const oa = sa.output(), ob = sb.output();
  let maxDiff = 0;
  for (let i = 0; i < oa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(oa[i] - ob[i]));
  // Warm-up, then as many pairs as fit the budget (at least 30).
  let t0 = cpuMs();
  for (let i = 0; i < 3; i++) { sa.call(); sb.call(); }
  const perCall = Math.max(1e-3, (cpuMs() - t0) / 6);
  const reps = Math.max(1, Math.ceil(10 / perCall));
  const pairs = Math.max(30, Math.min(1000, Math.round(budgetMs / (perCall * reps))));
  const ta = [], tb = [];
  const timed = (side) => { const t = cpuMs(); for (let k = 0; k < reps; k++) side.call(); return (cpuMs() - t) / reps; };
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) { ta.push(timed(sa)); tb.push(timed(sb)); }
    else { tb.push(timed(sb)); ta.push(timed(sa)); }
  }
  const ratios = ta.map((t, i) => tb[i] / t).sort((p, q) => p - q);
  const q = (f) => ratios[Math.min(ratios.length - 1, Math.floor(f * ratios.length))];
  const p10 = (t) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 10)];
  console.log(`${build}\t${r.name}\t${q(0.5).toFixed(3)}\tIQR ${q(0.25).toFixed(3)}-${q(0.75).toFixed(3)}\tp10 ratio ${(p10(tb) / p10(ta)).toFixed(3)}\tpairs ${pairs}x${reps}\tA ${median(ta).toFixed(4)} ms\tB ${median(tb).toFixed(4)} ms CPU\tmax|A-B| ${maxDiff.toExponential(1)}`);
}
