// node gemm-ab.mjs distA distB transA transB M N K calls
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
const [dA, dB, tA, tB, M, N, K, calls = '60'] = process.argv.slice(2);
const build = process.env.BUILD ?? 'simd';
async function load(dir) {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href + '?' + dir);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(resolve(dir, 'wasm', `${build}.wasm`)) });
  return rt;
}
const m = +M, n = +N, k = +K, ta = +tA, tb = +tB;
function setup(rt) {
  const e = rt.exports;
  const mem = () => new Float32Array(e.memory.buffer);
  const need = (m * k + k * n + m * n) * 4 + 1024;
  const base = e.heap_base ? e.heap_base() : 0;
  const pages = Math.ceil((base + need) / 65536) - e.memory.buffer.byteLength / 65536;
  if (pages > 0) e.memory.grow(pages + 1);
  const A = (base + 63) & ~63, B = A + m * k * 4, C = B + k * n * 4;
  const f = mem();
  for (let i = 0; i < m * k; i++) f[A / 4 + i] = Math.sin(i);
  for (let i = 0; i < k * n; i++) f[B / 4 + i] = Math.cos(i);
  const lda = ta ? m : k, ldb = tb ? k : n;
  return () => e.gemm_f32(ta, tb, m, n, k, 1, A, lda, B, ldb, 0, C, n);
}
const a = setup(await load(dA)), b = setup(await load(dB));
for (let i = 0; i < 3; i++) { a(); b(); }
const r = [], xa = [], xb = [];
for (let i = 0; i < +calls; i++) {
  let t = performance.now(); a(); const ya = performance.now() - t;
  t = performance.now(); b(); const yb = performance.now() - t;
  xa.push(ya); xb.push(yb);
  if (i % 2) r.push(yb / ya); else { t = performance.now(); b(); const yb2 = performance.now() - t; t = performance.now(); a(); const ya2 = performance.now() - t; r.push(yb2 / ya2); }
}
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const mn = (x) => Math.min(...x);
console.log(`${ta}${tb} ${m}x${n}x${k}: B/A ${med(r).toFixed(3)}  A min ${mn(xa).toFixed(3)} B min ${mn(xb).toFixed(3)} ms  GFLOP/s A ${(2*m*n*k/mn(xa)/1e6).toFixed(1)} B ${(2*m*n*k/mn(xb)/1e6).toFixed(1)}`);
