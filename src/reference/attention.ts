/**
 * Plain TypeScript attention (no mask), the baseline of `rnn-wasm bench attention`: the
 * forward and backward of kernels/attention.ts written as loops over Float32Arrays.
 *   s: [B, Ty, dq]  h: [B, Tx, dk]  -> e, a: [B, Ty, Tx]  c: [B, Ty, dk]
 * Parameters by DESIGN.md's names: general W [dq, dk]; concat W [da, dq+dk], b, v;
 * additive W_s [da, dq], W_h [da, dk], b, v.
 */
export type ReferenceScore = 'dot' | 'general' | 'concat' | 'additive';

export interface ReferenceSizes { B: number; Ty: number; Tx: number; dq: number; dk: number; da: number }

export interface ReferenceForward {
  e: Float32Array;
  a: Float32Array;
  c: Float32Array;
  /** general: W h_j [B*Tx, dq]; concat/additive: W_k h_j [B*Tx, da] */
  keys: Float32Array;
  /** concat/additive: W_q s + b [B*Ty, da] */
  query: Float32Array;
}

/** The query and key halves of the score layer as (matrix, row stride, column offset). */
function halves(score: ReferenceScore, z: ReferenceSizes, p: Record<string, Float32Array>) {
  if (score === 'concat') return { wq: p.W, ldq: z.dq + z.dk, oq: 0, wk: p.W, ldk: z.dq + z.dk, ok: z.dq };
  return { wq: p.W_s, ldq: z.dq, oq: 0, wk: p.W_h, ldk: z.dk, ok: 0 };
}

/** precomputedKeys: the key side of an earlier call on the same h (a decoder step reuses it). */
export function attentionReferenceForward(
  score: ReferenceScore, z: ReferenceSizes, p: Record<string, Float32Array>, s: Float32Array, h: Float32Array, precomputedKeys?: Float32Array,
): ReferenceForward {
  const { B, Ty, Tx, dq, dk, da } = z;
  const e = new Float32Array(B * Ty * Tx), a = new Float32Array(B * Ty * Tx), c = new Float32Array(B * Ty * dk);
  let keys = precomputedKeys ?? new Float32Array(0), query = new Float32Array(0);
  if (precomputedKeys && score !== 'dot' && score !== 'general') {
    const w = halves(score, z, p);
    query = new Float32Array(B * Ty * da);
    for (let r = 0; r < B * Ty; r++) for (let u = 0; u < da; u++) {
      let acc = p.b[u];
      for (let k = 0; k < dq; k++) acc += w.wq[u * w.ldq + w.oq + k] * s[r * dq + k];
      query[r * da + u] = acc;
    }
  } else if (precomputedKeys) {
    // general: nothing else to precompute
  } else if (score === 'general') {
    keys = new Float32Array(B * Tx * dq);
    for (let r = 0; r < B * Tx; r++) for (let i = 0; i < dq; i++) {
      let acc = 0;
      for (let k = 0; k < dk; k++) acc += p.W[i * dk + k] * h[r * dk + k];
      keys[r * dq + i] = acc;
    }
  } else if (score !== 'dot') {
    const w = halves(score, z, p);
    keys = new Float32Array(B * Tx * da);
    query = new Float32Array(B * Ty * da);
    for (let r = 0; r < B * Tx; r++) for (let u = 0; u < da; u++) {
      let acc = 0;
      for (let k = 0; k < dk; k++) acc += w.wk[u * w.ldk + w.ok + k] * h[r * dk + k];
      keys[r * da + u] = acc;
    }
    for (let r = 0; r < B * Ty; r++) for (let u = 0; u < da; u++) {
      let acc = p.b[u];
      for (let k = 0; k < dq; k++) acc += w.wq[u * w.ldq + w.oq + k] * s[r * dq + k];
      query[r * da + u] = acc;
    }
  }
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ty; i++) {
      const row = (b * Ty + i) * Tx;
      for (let j = 0; j < Tx; j++) {
        let v = 0;
        if (score === 'dot') for (let k = 0; k < dk; k++) v += s[(b * Ty + i) * dq + k] * h[(b * Tx + j) * dk + k];
        else if (score === 'general') for (let k = 0; k < dq; k++) v += s[(b * Ty + i) * dq + k] * keys[(b * Tx + j) * dq + k];
        else for (let u = 0; u < da; u++) v += p.v[u] * Math.tanh(query[(b * Ty + i) * da + u] + keys[(b * Tx + j) * da + u]);
        e[row + j] = v;
      }
      let m = -Infinity, sum = 0;
      for (let j = 0; j < Tx; j++) m = Math.max(m, e[row + j]);
      for (let j = 0; j < Tx; j++) sum += (a[row + j] = Math.exp(e[row + j] - m));
      for (let j = 0; j < Tx; j++) a[row + j] /= sum;
      for (let j = 0; j < Tx; j++) {
        const w = a[row + j];
        for (let k = 0; k < dk; k++) c[(b * Ty + i) * dk + k] += w * h[(b * Tx + j) * dk + k];
      }
    }
  }
  return { e, a, c, keys, query };
}

/**
 * Gradients of sum(c ⊙ dC): ds, dh and every parameter's. keySide false stops at the keys'
 * gradient (returned as dKeys): a decoder step leaves the key-side product's backward to the
 * end of the sequence.
 */
export function attentionReferenceBackward(
  score: ReferenceScore, z: ReferenceSizes, p: Record<string, Float32Array>, s: Float32Array, h: Float32Array, f: ReferenceForward, dC: Float32Array,
  keySide = true,
): { ds: Float32Array; dh: Float32Array; dKeys: Float32Array; grads: Record<string, Float32Array> } {
  const { B, Ty, Tx, dq, dk, da } = z;
  const ds = new Float32Array(B * Ty * dq), dh = new Float32Array(B * Tx * dk);
  const grads: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(p)) grads[name] = new Float32Array(t.length);
  const de = new Float32Array(B * Ty * Tx);
  const dKeys = new Float32Array(f.keys.length), dQuery = new Float32Array(f.query.length);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ty; i++) {
      const row = (b * Ty + i) * Tx, cr = (b * Ty + i) * dk;
      let dot = 0;
      const da_ = new Float32Array(Tx);
      for (let j = 0; j < Tx; j++) {
        let acc = 0;
        for (let k = 0; k < dk; k++) {
          acc += dC[cr + k] * h[(b * Tx + j) * dk + k];
          dh[(b * Tx + j) * dk + k] += f.a[row + j] * dC[cr + k];
        }
        da_[j] = acc;
        dot += acc * f.a[row + j];
      }
      for (let j = 0; j < Tx; j++) de[row + j] = f.a[row + j] * (da_[j] - dot);
      for (let j = 0; j < Tx; j++) {
        const g = de[row + j];
        const sr = (b * Ty + i) * dq, hr = (b * Tx + j) * dk;
        if (score === 'dot') for (let k = 0; k < dk; k++) {
          ds[sr + k] += g * h[hr + k];
          dh[hr + k] += g * s[sr + k];
        } else if (score === 'general') for (let k = 0; k < dq; k++) {
          ds[sr + k] += g * f.keys[(b * Tx + j) * dq + k];
          dKeys[(b * Tx + j) * dq + k] += g * s[sr + k];
        } else for (let u = 0; u < da; u++) {
          const t = Math.tanh(f.query[(b * Ty + i) * da + u] + f.keys[(b * Tx + j) * da + u]);
          const dpre = g * p.v[u] * (1 - t * t);
          grads.v[u] += g * t;
          dQuery[(b * Ty + i) * da + u] += dpre;
          dKeys[(b * Tx + j) * da + u] += dpre;
        }
      }
    }
  }
  if (score === 'general') {
    if (keySide) for (let r = 0; r < B * Tx; r++) for (let i = 0; i < dq; i++) {
      const g = dKeys[r * dq + i];
      for (let k = 0; k < dk; k++) {
        grads.W[i * dk + k] += g * h[r * dk + k];
        dh[r * dk + k] += g * p.W[i * dk + k];
      }
    }
  } else if (score !== 'dot') {
    const w = halves(score, z, p);
    const gq = score === 'concat' ? grads.W : grads.W_s, gk = score === 'concat' ? grads.W : grads.W_h;
    if (keySide) for (let r = 0; r < B * Tx; r++) for (let u = 0; u < da; u++) {
      const g = dKeys[r * da + u];
      for (let k = 0; k < dk; k++) {
        gk[u * w.ldk + w.ok + k] += g * h[r * dk + k];
        dh[r * dk + k] += g * w.wk[u * w.ldk + w.ok + k];
      }
    }
    for (let r = 0; r < B * Ty; r++) for (let u = 0; u < da; u++) {
      const g = dQuery[r * da + u];
      grads.b[u] += g;
      for (let k = 0; k < dq; k++) {
        gq[u * w.ldq + w.oq + k] += g * s[r * dq + k];
        ds[r * dq + k] += g * w.wq[u * w.ldq + w.oq + k];
      }
    }
  }
  return { ds, dh, dKeys, grads };
}
