/**
 * Embedding lookup and its gradient (torch.nn.Embedding semantics) over wasm
 * memory. table / dtable: [vocabSize, dim] float32, ids: [n] Int32, out / dout: [n, dim].
 *
 *   embeddingForward(rt, { table, vocabSize, dim, ids, n, out })
 *       out[i, :] = table[ids[i], :]
 *   embeddingBackward(rt, { dout, ids, n, dtable, vocabSize, dim, paddingIdx? })
 *       dtable[ids[i], :] += dout[i, :], skipping ids equal to paddingIdx
 *       (torch: a negative paddingIdx counts from the end, vocabSize + paddingIdx).
 *
 * As in torch, the padding row is gathered like any other row; it stays zero
 * because it starts zero and never receives gradient. Every id is checked
 * against [0, vocabSize) before the kernel runs.
 */
import { checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkVector } from './elementwise.js';

function checkIds(rt: Runtime, name: string, ids: number, n: number, vocabSize: number): void {
  rt.mem.checkRange(`${name} ids`, ids, n * 4);
  const view = rt.mem.i32(ids, n);
  for (let i = 0; i < n; i++) {
    const id = view[i];
    if (id < 0 || id >= vocabSize) {
      throw new RangeError(`${name} ids[${i}] = ${id} is out of range: token ids must lie in [0, ${vocabSize})`);
    }
  }
}

/** Normalizes torch's paddingIdx (undefined: none -> -1; negative: from the end). */
export function normalizePaddingIdx(name: string, paddingIdx: number | undefined, vocabSize: number): number {
  if (paddingIdx === undefined || paddingIdx === null) return -1;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -vocabSize || paddingIdx >= vocabSize) {
    throw new RangeError(`${name} paddingIdx must be an integer in [${-vocabSize}, ${vocabSize}), got ${paddingIdx}`);
  }
  return paddingIdx < 0 ? vocabSize + paddingIdx : paddingIdx;
}

export interface EmbeddingForwardArgs {
  table: number;
  vocabSize: number;
  dim: number;
  ids: number;
  n: number;
  out: number;
}

export function embeddingForward(rt: Runtime, args: EmbeddingForwardArgs): void {
  const name = 'embeddingForward';
  const vocabSize = checkSize(`${name} vocabSize`, args.vocabSize, 1);
  const dim = checkSize(`${name} dim`, args.dim);
  const n = checkSize(`${name} n`, args.n);
  checkVector(rt, `${name} table`, args.table, vocabSize * dim);
  checkVector(rt, `${name} out`, args.out, n * dim);
  checkIds(rt, name, args.ids, n, vocabSize);
  rt.exports.embedding_forward(args.table, args.ids, args.out, n, dim);
}

export interface EmbeddingBackwardArgs {
  dout: number;
  ids: number;
  n: number;
  /** accumulated into */
  dtable: number;
  vocabSize: number;
  dim: number;
  paddingIdx?: number;
}

export function embeddingBackward(rt: Runtime, args: EmbeddingBackwardArgs): void {
  const name = 'embeddingBackward';
  const vocabSize = checkSize(`${name} vocabSize`, args.vocabSize, 1);
  const dim = checkSize(`${name} dim`, args.dim);
  const n = checkSize(`${name} n`, args.n);
  const paddingIdx = normalizePaddingIdx(name, args.paddingIdx, vocabSize);
  checkVector(rt, `${name} dout`, args.dout, n * dim);
  checkVector(rt, `${name} dtable`, args.dtable, vocabSize * dim);
  checkIds(rt, name, args.ids, n, vocabSize);
  rt.exports.embedding_backward(args.dout, args.ids, args.dtable, n, dim, paddingIdx);
}
