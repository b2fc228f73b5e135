// The recurrent kernels alone, two builds in one process (same wasm ABI): lstm_forward /
// gru_forward (and their backward, with train) called straight through rt.exports with
// fixed buffers, rounds alternating A B / B A; prints the median of the per-round ratios B/A
// and the ratio of the fastest rounds. Separates kernel speed from the TypeScript side.
//
//   node --experimental-wasm-relaxed-simd bench/ab-kernels.mjs <distA> <distB> [simd|relaxed] [lstm|gru] [fwd|train] [small|thr]
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
const [dA, dB, build = 'simd', cell = 'lstm', mode = 'fwd', shape = 'small'] = process.argv.slice(2);
const S = { small: [32, 1, 32, 64], thr: [64, 16, 128, 256] }[shape];
const [T, B, I, H] = S; const G = cell === 'lstm' ? 4 : 3;
async function load(dir) {
  const lib = await import(pathToFileURL(dir + '/index.js').href);
  const rt = await lib.createRuntime({ bytes: fs.readFileSync(dir + `/wasm/${build}.wasm`) });
  const ex = rt.exports, al = (n) => rt.mem.alloc(n * 4);
  const x = al(T*B*I), wih = al(G*H*I), whh = al(G*H*H), b1 = al(G*H), b2 = al(G*H), h0 = al(B*H), c0 = al(B*H);
  const out = al(T*B*H), hN = al(B*H), cN = al(B*H), gates = al(T*B*G*H), hprev = al(T*B*H), cprev = al(T*B*H);
  const fw = al(ex[`${cell}_forward_work_floats`](B, H, I)), bw = al(ex[`${cell}_backward_work_floats`](B, H));
  const dout = al(T*B*H), dx = al(T*B*I), dh0 = al(B*H), dc0 = al(B*H), gwih = al(G*H*I), gwhh = al(G*H*H), gb1 = al(G*H), gb2 = al(G*H), dg = al(T*B*G*H), dgn = al(T*B*H);
  const v = new Float32Array(rt.mem.memory.buffer); for (let i = x / 4; i < (dgn + T*B*H*4) / 4; i++) v[i] = ((i * 2654435761) % 1000) / 20000 - 0.025;
  const fwd = cell === 'lstm' ? () => ex.lstm_forward(T, B, I, H, x, I, wih, whh, b1, b2, h0, c0, 0, 0, out, H, hN, cN, gates, hprev, cprev, fw)
    : () => ex.gru_forward(T, B, I, H, x, I, wih, whh, b1, b2, h0, 0, 0, 1, out, H, hN, gates, hprev, cprev, fw);
  const bwd = cell === 'lstm' ? () => ex.lstm_backward(T, B, I, H, x, I, wih, whh, 0, 0, dout, H, 0, 0, gates, hprev, cprev, dx, I, 0, dh0, dc0, gwih, gwhh, gb1, gb2, dg, bw)
    : () => ex.gru_backward(T, B, I, H, x, I, wih, whh, 0, 0, 1, dout, H, 0, gates, hprev, cprev, dx, I, 0, dh0, gwih, gwhh, gb1, gb2, dg, dgn, bw);
  return mode === 'fwd' ? fwd : () => { fwd(); bwd(); };
}
const a = await load(dA), b = await load(dB);
for (let i = 0; i < 20; i++) { a(); b(); }
const reps = shape === 'small' ? 10 : 1, rounds = shape === 'small' ? 300 : 40;
const ta = [], tb = [];
const t = (f) => { const s = performance.now(); for (let k = 0; k < reps; k++) f(); return performance.now() - s; };
for (let i = 0; i < rounds; i++) { if (i % 2) { ta.push(t(a)); tb.push(t(b)); } else { tb.push(t(b)); ta.push(t(a)); } }
const r = ta.map((v, i) => tb[i] / v).sort((p, q) => p - q);
console.log(`kernels ${cell} ${shape} ${build} ${mode}: B/A median ${r[r.length >> 1].toFixed(3)}, min ratio ${(Math.min(...tb) / Math.min(...ta)).toFixed(3)} (A min ${(Math.min(...ta) / reps).toFixed(4)} ms)`);
