/**
 * Plain TypeScript references for src/kernels/embedding.ts (torch.nn.Embedding):
 * table [V, D], ids [n], out [n, D]. paddingIdx < 0 means none.
 */
import type { Floats } from './elementwise.js';

export function embeddingReference(table: ArrayLike<number>, ids: ArrayLike<number>, out: Floats, d: number): void {
  for (let i = 0; i < ids.length; i++) for (let j = 0; j < d; j++) out[i * d + j] = table[ids[i] * d + j];
}

export function embeddingBackwardReference(
  dout: ArrayLike<number>, ids: ArrayLike<number>, dtable: Floats, d: number, paddingIdx: number,
): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === paddingIdx) continue;
    for (let j = 0; j < d; j++) dtable[ids[i] * d + j] += dout[i * d + j];
  }
}
