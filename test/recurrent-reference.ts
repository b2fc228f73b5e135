// Plain float64 TypeScript reference of the recurrent layers (the numerical side of the
// gradient checks): torch semantics, lengths, directions and stacking, no dropout.
import type { SequenceCellKind as CellKind } from '../src/layers/recurrent.js';

export interface RefConfig {
  cell: CellKind;
  I: number; H: number; L: number; D: number; bias: boolean; batchFirst: boolean;
  T: number; B: number;
}

export interface RefInputs {
  /** torch names -> values */
  params: Record<string, Float64Array>;
  /** [T,B,I] or [B,T,I] */
  x: Float64Array;
  h0: Float64Array;
  c0?: Float64Array;
  lengths?: Int32Array;
}

export interface RefOutputs {
  output: Float64Array;
  hN: Float64Array;
  cN?: Float64Array;
}

export const gateCount = (cell: CellKind) => (cell === 'lstm' ? 4 : cell.startsWith('gru') ? 3 : 1);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** y = W v (+ b): W [rows, cols] row-major, rows [r0, r0+n). */
function affine(W: Float64Array, cols: number, v: ArrayLike<number>, r0: number, n: number, b?: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = b ? b[r0 + r] : 0;
    const o = (r0 + r) * cols;
    for (let c = 0; c < cols; c++) s += W[o + c] * v[c];
    y[r] = s;
  }
  return y;
}

export function referenceForward(cfg: RefConfig, inp: RefInputs): RefOutputs {
  const { cell, I, H, L, D, T, B } = cfg;
  const G = gateCount(cell);
  const lengths = inp.lengths ?? new Int32Array(B).fill(T);
  // Time-first input rows.
  let layerIn: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = cfg.batchFirst ? b * T + t : t * B + b;
      layerIn[t * B + b] = inp.x.subarray(row * I, row * I + I);
    }
  }
  const hN = new Float64Array(L * D * B * H);
  const cN = cell === 'lstm' ? new Float64Array(L * D * B * H) : undefined;
  let out: Float64Array[] = [];
  for (let k = 0; k < L; k++) {
    const inSize = k === 0 ? I : D * H;
    out = Array.from({ length: T * B }, () => new Float64Array(D * H));
    for (let d = 0; d < D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      const Wih = inp.params[`weight_ih${sfx}`], Whh = inp.params[`weight_hh${sfx}`];
      const bih = cfg.bias ? inp.params[`bias_ih${sfx}`] : undefined;
      const bhh = cfg.bias ? inp.params[`bias_hh${sfx}`] : undefined;
      for (let b = 0; b < B; b++) {
        const so = ((k * D + d) * B + b) * H;
        let h = inp.h0.slice(so, so + H);
        let c = inp.c0 ? inp.c0.slice(so, so + H) : new Float64Array(H);
        const len = lengths[b];
        for (let s = 0; s < len; s++) {
          const t = d === 0 ? s : len - 1 - s;
          const xt = layerIn[t * B + b];
          const gi = affine(Wih, inSize, xt, 0, G * H, bih);
          const hNew = new Float64Array(H);
          if (cell === 'lstm') {
            const gh = affine(Whh, H, h, 0, G * H, bhh);
            const cNew = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              const ig = sigmoid(gi[j] + gh[j]), fg = sigmoid(gi[H + j] + gh[H + j]);
              const gg = Math.tanh(gi[2 * H + j] + gh[2 * H + j]), og = sigmoid(gi[3 * H + j] + gh[3 * H + j]);
              cNew[j] = fg * c[j] + ig * gg;
              hNew[j] = og * Math.tanh(cNew[j]);
            }
            c = cNew;
          } else if (cell === 'gru_after' || cell === 'gru_before') {
            const ghrz = affine(Whh, H, h, 0, 2 * H, bhh);
            const r = new Float64Array(H), z = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              r[j] = sigmoid(gi[j] + ghrz[j]);
              z[j] = sigmoid(gi[H + j] + ghrz[H + j]);
            }
            let hn: Float64Array;
            if (cell === 'gru_after') {
              hn = affine(Whh, H, h, 2 * H, H, bhh);
              for (let j = 0; j < H; j++) hn[j] *= r[j];
            } else {
              hn = affine(Whh, H, h.map((v, j) => v * r[j]), 2 * H, H, bhh);
            }
            for (let j = 0; j < H; j++) {
              const n = Math.tanh(gi[2 * H + j] + hn[j]);
              hNew[j] = (1 - z[j]) * n + z[j] * h[j];
            }
          } else {
            const gh = affine(Whh, H, h, 0, H, bhh);
            for (let j = 0; j < H; j++) {
              const pre = gi[j] + gh[j];
              hNew[j] = cell === 'rnn_relu' ? Math.max(0, pre) : Math.tanh(pre);
            }
          }
          h = hNew;
          out[t * B + b].set(h, d * H);
        }
        hN.set(h, so);
        if (cN) cN.set(c, so);
      }
    }
    layerIn = out;
  }
  const output = new Float64Array(T * B * D * H);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = cfg.batchFirst ? b * T + t : t * B + b;
      output.set(out[t * B + b], row * D * H);
    }
  }
  return { output, hN, ...(cN ? { cN } : {}) };
}

/** Σ output⊙dOut + Σ hN⊙dHN (+ Σ cN⊙dCN): the scalar whose gradient backward computes. */
export function referenceLoss(cfg: RefConfig, inp: RefInputs, dOut: ArrayLike<number>, dHN: ArrayLike<number>, dCN?: ArrayLike<number>): number {
  const r = referenceForward(cfg, inp);
  let s = 0;
  for (let i = 0; i < r.output.length; i++) s += r.output[i] * dOut[i];
  for (let i = 0; i < r.hN.length; i++) s += r.hN[i] * dHN[i];
  if (r.cN && dCN) for (let i = 0; i < r.cN.length; i++) s += r.cN[i] * dCN[i];
  return s;
}
