// Float64 references of global and local attention (golden/FORMAT.md sections 4 and 7), written
// from the formulas with plain loops: the oracle of the finite-difference tests.
export type Score = 'dot' | 'general' | 'concat' | 'additive';

export interface RefAttention {
  score: Score;
  B: number; Ty: number; Tx: number; dq: number; dk: number; da: number;
  params: Record<string, Float64Array>;
  /** [B, Ty, dq], [B, Tx, dk] */
  s: Float64Array;
  h: Float64Array;
  /** [B, Tx] 0/1 */
  mask: ArrayLike<number>;
}

/** e for query row (b, i) against every j. */
export function refScores(p: RefAttention, b: number, i: number, sRow?: Float64Array): Float64Array {
  const { dq, dk, da, Tx, Ty } = p;
  const s = sRow ?? p.s.subarray((b * Ty + i) * dq, (b * Ty + i + 1) * dq);
  const e = new Float64Array(Tx);
  for (let j = 0; j < Tx; j++) {
    const h = p.h.subarray((b * Tx + j) * dk, (b * Tx + j + 1) * dk);
    let v = 0;
    if (p.score === 'dot') for (let k = 0; k < dk; k++) v += s[k] * h[k];
    else if (p.score === 'general') {
      const W = p.params.W;
      for (let a = 0; a < dq; a++) for (let k = 0; k < dk; k++) v += s[a] * W[a * dk + k] * h[k];
    } else {
      for (let a = 0; a < da; a++) {
        let pre = p.params.b[a];
        if (p.score === 'concat') {
          const W = p.params.W, n = dq + dk;
          for (let k = 0; k < dq; k++) pre += W[a * n + k] * s[k];
          for (let k = 0; k < dk; k++) pre += W[a * n + dq + k] * h[k];
        } else {
          for (let k = 0; k < dq; k++) pre += p.params.W_s[a * dq + k] * s[k];
          for (let k = 0; k < dk; k++) pre += p.params.W_h[a * dk + k] * h[k];
        }
        v += p.params.v[a] * Math.tanh(pre);
      }
    }
    e[j] = v;
  }
  return e;
}

/** Softmax of e over positions where valid(j). */
export function refSoftmax(e: Float64Array, valid: (j: number) => boolean): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < e.length; j++) if (valid(j)) m = Math.max(m, e[j]);
  const a = new Float64Array(e.length);
  let sum = 0;
  for (let j = 0; j < e.length; j++) if (valid(j)) sum += (a[j] = Math.exp(e[j] - m));
  for (let j = 0; j < e.length; j++) a[j] /= sum;
  return a;
}

export function refContext(p: { h: Float64Array; Tx: number; dk: number }, b: number, a: Float64Array): Float64Array {
  const c = new Float64Array(p.dk);
  for (let j = 0; j < p.Tx; j++) for (let k = 0; k < p.dk; k++) c[k] += a[j] * p.h[(b * p.Tx + j) * p.dk + k];
  return c;
}

/** scores, weights [B, Ty, Tx] and context [B, Ty, dk]. */
export function refAttentionForward(p: RefAttention) {
  const { B, Ty, Tx, dk } = p;
  const scores = new Float64Array(B * Ty * Tx), weights = new Float64Array(B * Ty * Tx), context = new Float64Array(B * Ty * dk);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ty; i++) {
      const e = refScores(p, b, i);
      const a = refSoftmax(e, (j) => p.mask[b * Tx + j] === 1);
      scores.set(e, (b * Ty + i) * Tx);
      weights.set(a, (b * Ty + i) * Tx);
      context.set(refContext(p, b, a), (b * Ty + i) * dk);
    }
  }
  return { scores, weights, context };
}

export function refAttentionLoss(p: RefAttention, dContext: ArrayLike<number>, dWeights: ArrayLike<number>): number {
  const f = refAttentionForward(p);
  let L = 0;
  for (let i = 0; i < f.context.length; i++) L += f.context[i] * dContext[i];
  for (let i = 0; i < f.weights.length; i++) L += f.weights[i] * dWeights[i];
  return L;
}

export interface RefLocal extends Omit<RefAttention, 'Ty' | 'score'> {
  score: 'dot' | 'general' | 'concat';
  mode: 'monotonic' | 'predictive';
  D: number;
  dp: number;
  step?: ArrayLike<number>;
}

/** weights [B, Tx], context [B, dk], position [B]. */
export function refLocalForward(p: RefLocal) {
  const { B, Tx, dk, dq, D } = p;
  const weights = new Float64Array(B * Tx), context = new Float64Array(B * dk), position = new Float64Array(B);
  const full: RefAttention = { ...p, Ty: 1 };
  for (let b = 0; b < B; b++) {
    let S = 0;
    for (let j = 0; j < Tx; j++) S += p.mask[b * Tx + j];
    const s = p.s.subarray(b * dq, (b + 1) * dq);
    let pos: number;
    if (p.mode === 'monotonic') pos = Math.min(p.step![b], S - 1);
    else {
      let z = 0;
      for (let k = 0; k < p.dp; k++) {
        let u = 0;
        for (let c = 0; c < dq; c++) u += p.params.W_p[k * dq + c] * s[c];
        z += p.params.v_p[k] * Math.tanh(u);
      }
      pos = S / (1 + Math.exp(-z));
    }
    position[b] = pos;
    const e = refScores(full, b, 0);
    const align = refSoftmax(e, (j) => j < S && Math.abs(j - pos) <= D);
    const sigma = D / 2;
    for (let j = 0; j < Tx; j++) {
      const g = p.mode === 'predictive' ? Math.exp(-((j - pos) ** 2) / (2 * sigma * sigma)) : 1;
      weights[b * Tx + j] = align[j] * g;
    }
    context.set(refContext(p, b, weights.subarray(b * Tx, (b + 1) * Tx)), b * dk);
  }
  return { weights, context, position };
}

export function refLocalLoss(p: RefLocal, dContext: ArrayLike<number>, dWeights: ArrayLike<number>): number {
  const f = refLocalForward(p);
  let L = 0;
  for (let i = 0; i < f.context.length; i++) L += f.context[i] * dContext[i];
  for (let i = 0; i < f.weights.length; i++) L += f.weights[i] * dWeights[i];
  return L;
}
