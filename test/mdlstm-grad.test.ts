// MDLSTM against a plain float64 reference written from FORMAT.md §9 (cell by cell, in the
// scan's own order): forward values, and every gradient against central differences of the
// reference loss sum(output·dOutput) + sum(cell·dCell), for all four directions under both
// merges, grids 1x1, 1xC, Rx1 and non-square, H off the SIMD width. Then bad input: a clear
// error before any kernel, and the layer's state (the last forward's context) unchanged.
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, maxRelError, randomArray, runtimeFor } from './helpers.js';
import { numericalGradient } from './kernel-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { MDLSTM, Tape, mdlstm, type MdlstmMerge } from '../src/index.js';
import { Arena } from '../src/runtime/memory.js';

interface Cfg { B: number; R: number; C: number; I: number; H: number; dirs: number[]; merge: MdlstmMerge; bias: boolean }

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** Reference forward: output and cell [B, R, C, W] in float64. */
function reference(cfg: Cfg, params: Record<string, Float64Array>, x: Float64Array): { out: Float64Array; cell: Float64Array } {
  const { B, R, C, I, H, dirs, merge } = cfg;
  const W = merge === 'concat' ? dirs.length * H : H;
  const out = new Float64Array(B * R * C * W), cell = new Float64Array(B * R * C * W);
  dirs.forEach((k, d) => {
    const wih = params[`weight_ih_d${k}`], whh = params[`weight_hh_d${k}`], bias = params[`bias_d${k}`];
    const h = new Float64Array(B * R * C * H), c = new Float64Array(B * R * C * H);
    const rowStep = k & 2 ? -1 : 1, colStep = k & 1 ? -1 : 1;
    const rows = [...Array(R).keys()], cols = [...Array(C).keys()];
    if (rowStep < 0) rows.reverse();
    if (colStep < 0) cols.reverse();
    for (let b = 0; b < B; b++) {
      for (const r of rows) {
        for (const col of cols) {
          const idx = (b * R + r) * C + col;
          const rp = r - rowStep, cp = col - colStep;
          const hasR = rp >= 0 && rp < R, hasC = cp >= 0 && cp < C;
          const rIdx = (b * R + rp) * C + col, cIdx = (b * R + r) * C + cp;
          const pre = new Float64Array(5 * H);
          for (let j = 0; j < 5 * H; j++) {
            let v = bias ? bias[j] : 0;
            for (let i = 0; i < I; i++) v += wih[j * I + i] * x[idx * I + i];
            for (let u = 0; u < H; u++) {
              if (hasR) v += whh[j * 2 * H + u] * h[rIdx * H + u];
              if (hasC) v += whh[j * 2 * H + H + u] * h[cIdx * H + u];
            }
            pre[j] = v;
          }
          for (let u = 0; u < H; u++) {
            const cv = sig(pre[H + u]) * (hasR ? c[rIdx * H + u] : 0) + sig(pre[2 * H + u]) * (hasC ? c[cIdx * H + u] : 0)
              + sig(pre[u]) * Math.tanh(pre[3 * H + u]);
            c[idx * H + u] = cv;
            h[idx * H + u] = sig(pre[4 * H + u]) * Math.tanh(cv);
          }
        }
      }
    }
    const off = merge === 'concat' ? d * H : 0;
    for (let n = 0; n < B * R * C; n++) {
      for (let u = 0; u < H; u++) {
        out[n * W + off + u] += h[n * H + u];
        cell[n * W + off + u] += c[n * H + u];
      }
    }
  });
  return { out, cell };
}

const CONFIGS: { name: string; cfg: Cfg }[] = [];
for (const merge of ['concat', 'sum'] as const) {
  CONFIGS.push({ name: `${merge} 4 dirs 3x4 B2 H3`, cfg: { B: 2, R: 3, C: 4, I: 2, H: 3, dirs: [0, 1, 2, 3], merge, bias: true } });
  CONFIGS.push({ name: `${merge} 4 dirs 1x1 H5`, cfg: { B: 2, R: 1, C: 1, I: 3, H: 5, dirs: [3, 1, 0, 2], merge, bias: true } });
  CONFIGS.push({ name: `${merge} 4 dirs 1x5 no bias`, cfg: { B: 1, R: 1, C: 5, I: 2, H: 2, dirs: [0, 1, 2, 3], merge, bias: false } });
  CONFIGS.push({ name: `${merge} 4 dirs 4x1 B3`, cfg: { B: 3, R: 4, C: 1, I: 2, H: 4, dirs: [2, 0, 3, 1], merge, bias: true } });
  CONFIGS.push({ name: `${merge} dirs 1,2 5x2`, cfg: { B: 1, R: 5, C: 2, I: 2, H: 3, dirs: [1, 2], merge, bias: true } });
}

describe.each(BUILDS)('MDLSTM vs float64 reference (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(CONFIGS)('$name: forward and finite-difference gradients', ({ cfg }) => {
    const { B, R, C, I, H } = cfg;
    const md = new MDLSTM(rt, { inputSize: I, hiddenSize: H, bias: cfg.bias, directions: cfg.dirs, merge: cfg.merge, seed: 7 });
    const W = md.outputSize;
    const N = B * R * C;
    const x = randomArray(N * I, 11);
    const dOut = randomArray(N * W, 12);
    const dCell = randomArray(N * W, 13);
    const params: Record<string, Float64Array> = {};
    for (const [name, t] of Object.entries(md.stateDict())) params[name] = Float64Array.from(t.data);
    const x64 = Float64Array.from(x);
    const ref = reference(cfg, params, x64);
    const f = md.forward({ shape: [B, R, C, I], data: x });
    expect(f.output.shape).toEqual([B, R, C, W]);
    expect(maxRelError(f.output.data, ref.out)).toBeLessThan(2e-6);
    expect(maxRelError(f.cell.data, ref.cell)).toBeLessThan(2e-6);
    const { dx } = md.backward({ dOutput: { shape: [B, R, C, W], data: dOut }, dCell: { shape: [B, R, C, W], data: dCell } });
    const loss = () => {
      const r = reference(cfg, params, x64);
      let s = 0;
      for (let i = 0; i < r.out.length; i++) s += r.out[i] * dOut[i] + r.cell[i] * dCell[i];
      return s;
    };
    expect(maxRelError(dx!.data, numericalGradient(loss, x64, 1e-6)), 'dx').toBeLessThan(1e-4);
    const grads = md.gradients();
    for (const name of Object.keys(params)) {
      expect(maxRelError(grads[name].data, numericalGradient(loss, params[name], 1e-6)), name).toBeLessThan(1e-4);
    }
    // Gradients accumulate until zeroGrad (as torch's .grad does).
    md.forward({ shape: [B, R, C, I], data: x });
    md.backward({ dOutput: { shape: [B, R, C, W], data: dOut }, dCell: { shape: [B, R, C, W], data: dCell } });
    const twice = md.gradients();
    const first = Object.keys(params)[0];
    expect(maxRelError(twice[first].data, grads[first].data.map((v) => 2 * v))).toBeLessThan(1e-5);
    md.zeroGrad();
    expect(md.gradients()[first].data.every((v) => v === 0)).toBe(true);
    md.dispose();
  });

  it('cell-by-cell mode gives the wavefront results (batch below 4: grouped panels; large M: Strassen)', () => {
    for (const [B, R, C, H] of [[1, 7, 5, 8], [3, 6, 6, 128]]) {
      const I = 3;
      const mk = (cellByCell: boolean) => new MDLSTM(rt, { inputSize: I, hiddenSize: H, directions: [0, 3], merge: 'sum', cellByCell, seed: 3 });
      const a = mk(false), b = mk(true);
      const x = { shape: [B, R, C, I], data: randomArray(B * R * C * I, 5) };
      const dOutput = { shape: [B, R, C, H], data: randomArray(B * R * C * H, 6) };
      const fa = a.forward(x), fb = b.forward(x);
      expect(maxRelError(fa.output.data, fb.output.data)).toBeLessThan(1e-5);
      const ga = a.backward({ dOutput }), gb = b.backward({ dOutput });
      expect(maxRelError(ga.dx!.data, gb.dx!.data)).toBeLessThan(1e-4);
      expect(maxRelError(a.gradients().weight_hh_d0.data, b.gradients().weight_hh_d0.data)).toBeLessThan(1e-4);
      a.dispose();
      b.dispose();
    }
  });

  it('bad input: clear errors before any kernel, state unchanged', () => {
    const md = new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [0, 1], merge: 'concat', seed: 1 });
    const shape = [1, 2, 3, 2];
    const x = { shape, data: randomArray(12, 1) };
    const dOutput = { shape: [1, 2, 3, 6], data: randomArray(36, 2) };
    expect(() => md.backward({ dOutput })).toThrow(/needs a preceding forward/);
    expect(() => md.forward({ shape: [2, 3, 2], data: randomArray(12, 1) })).toThrow(/x must have rank 4/);
    expect(() => md.forward({ shape: [1, 0, 3, 2], data: new Float32Array(0) })).toThrow(/every dimension >= 1/);
    expect(() => md.forward({ shape: [1, 2, 3, 4], data: randomArray(24, 1) })).toThrow(/inputSize 2/);
    expect(() => md.forward({ shape, data: randomArray(11, 1) })).toThrow(/has 11 values/);
    const f = md.forward(x);
    const before = md.stateDict();
    const nan = Float32Array.from(x.data);
    nan[5] = NaN;
    expect(() => md.forward({ shape, data: nan })).toThrow(/x contains a non-finite value \(NaN\) at flat index 5/);
    expect(() => md.backward({ dOutput: { shape: [1, 2, 3, 3], data: randomArray(18, 2) } })).toThrow(/dOutput must have shape \[1, 2, 3, 6\]/);
    const badD = Float32Array.from(dOutput.data);
    badD[0] = Infinity;
    expect(() => md.backward({ dOutput: { shape: dOutput.shape, data: badD } })).toThrow(/dOutput contains a non-finite value/);
    expect(() => md.backward({ dOutput, dCell: { shape: [1, 2, 3, 5], data: randomArray(30, 3) } })).toThrow(/dCell must have shape/);
    expect(() => md.backward({} as never)).toThrow(/dOutput is required/);
    // Nothing above changed the parameters, the gradients or the last forward's context.
    expect(md.gradients().weight_ih_d0.data.every((v) => v === 0)).toBe(true);
    expect(md.stateDict()).toEqual(before);
    const again = md.forward(x);
    expect(again.output.data).toEqual(f.output.data);
    expect(() => md.backward({ dOutput })).not.toThrow();
    expect(() => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [0, 0] })).toThrow(/distinct/);
    expect(() => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [4] })).toThrow(/0, 1, 2 or 3/);
    expect(() => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, merge: 'mean' as never })).toThrow(/merge must be 'concat' or 'sum'/);
    expect(() => md.loadStateDict({ ...before, extra: before.weight_ih_d0 })).toThrow(/unexpected tensor 'extra'/);
    md.dispose();
  });

  it('the tape op runs the same forward and backward as the host API', () => {
    const [B, R, C, I, H] = [2, 3, 4, 2, 3];
    const md = new MDLSTM(rt, { inputSize: I, hiddenSize: H, merge: 'sum', seed: 9 });
    const x = randomArray(B * R * C * I, 1), dOut = randomArray(B * R * C * H, 2), dCell = randomArray(B * R * C * H, 3);
    const host = md.forward({ shape: [B, R, C, I], data: x });
    const hostDx = md.backward({ dOutput: { shape: [B, R, C, H], data: dOut }, dCell: { shape: [B, R, C, H], data: dCell } }).dx!;
    const hostGrad = md.gradients().weight_hh_d2.data;
    md.zeroGrad();
    const tape = new Tape(rt, new Arena(rt.mem));
    const xv = tape.input(x, [B, R, C, I], true);
    const { output, cell } = mdlstm(tape, md, xv);
    expect(output.toArray()).toEqual(host.output.data);
    output.grad().set(dOut);
    cell.grad().set(dCell);
    tape.backward();
    expect(xv.gradToArray()).toEqual(hostDx.data);
    expect(md.gradients().weight_hh_d2.data).toEqual(hostGrad);
    md.dispose();
  });

  it('an inference forward keeps no backward context', () => {
    const md = new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, seed: 1 });
    md.forward({ shape: [1, 2, 2, 2], data: randomArray(8, 1) }, { training: false });
    expect(() => md.backward({ dOutput: { shape: [1, 2, 2, 12], data: randomArray(48, 1) } })).toThrow(/needs a preceding forward/);
    md.dispose();
  });
});
