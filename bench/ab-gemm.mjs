// Paired A/B of `bench gemm`'s rows between two builds of rnn-wasm in one process (as
// ab-builds.mjs does for the recurrent layers): each gemm() call of build A is paired with
// the same call of build B, in alternating order; prints per size and variant the median of
// the per-call ratios B/A (< 1: B is faster) and each side's minimum.
//
//   node --experimental-wasm-relaxed-simd bench/ab-gemm.mjs <distA> <distB> [simd|relaxed] [sizes, default 256,512,1024] [calls, default 30]
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [dirA, dirB, build = 'simd', sizesArg = '256,512,1024', callsArg = '30'] = process.argv.slice(2);
if (!dirA || !dirB) throw new Error('usage: ab-gemm.mjs <distA> <distB> [simd|relaxed] [sizes] [calls]');
const VARIANTS = [['A*B', false, false], ['A*Bt', false, true], ['At*B', true, false], ['At*Bt', true, true]];

async function load(dir) {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', `${build}.wasm`)) });
  return { lib, rt };
}

function fill(rt, ptr, n, seed) {
  const v = rt.mem.f32(ptr, n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    v[i] = (s / 2 ** 32) - 0.5;
  }
}

const a = await load(dirA), b = await load(dirB);
for (const size of sizesArg.split(',').map(Number)) {
  const calls = Math.max(6, Math.round(Number(callsArg) * (256 / size) ** 2));
  const sides = [a, b].map(({ lib, rt }) => {
    const n = size * size, pa = rt.mem.alloc(n * 4), pb = rt.mem.alloc(n * 4), pc = rt.mem.alloc(n * 4);
    fill(rt, pa, n, 1);
    fill(rt, pb, n, 2);
    return { lib, rt, pa, pb, pc };
  });
  for (const [op, transA, transB] of VARIANTS) {
    const call = (s) => s.lib.gemm(s.rt, { transA, transB, m: size, n: size, k: size, a: s.pa, b: s.pb, c: s.pc });
    const timed = (s) => { const t0 = performance.now(); call(s); return performance.now() - t0; };
    for (let i = 0; i < 2; i++) { call(sides[0]); call(sides[1]); }
    const ta = [], tb = [];
    for (let i = 0; i < calls; i++) {
      if (i % 2 === 0) { ta.push(timed(sides[0])); tb.push(timed(sides[1])); }
      else { tb.push(timed(sides[1])); ta.push(timed(sides[0])); }
    }
    const ratios = ta.map((t, i) => tb[i] / t).sort((p, q) => p - q);
    const ca = sides[0].rt.mem.f32(sides[0].pc, size * size), cb = sides[1].rt.mem.f32(sides[1].pc, size * size);
    let maxDiff = 0;
    for (let i = 0; i < ca.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ca[i] - cb[i]));
    console.log(`gemm ${size}^3 ${op} ${build}, ${calls} paired calls: B/A median ratio ${ratios[ratios.length >> 1].toFixed(3)}` +
      ` | A min ${Math.min(...ta).toFixed(3)} ms, B min ${Math.min(...tb).toFixed(3)} ms | max |C_A - C_B| ${maxDiff.toExponential(1)}`);
  }
}
