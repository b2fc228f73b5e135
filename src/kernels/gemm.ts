import { checkFinite, checkSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';

export interface GemmArgs {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  /** byte pointer; A is [m,k] (or [k,m] if transA), row stride lda elements */
  a: number;
  lda?: number;
  b: number;
  ldb?: number;
  beta?: number;
  c: number;
  ldc?: number;
}

/**
 * C = alpha * op(A) * op(B) + beta * C over wasm memory (row-major).
 * op(A): [m,k], op(B): [k,n], C: [m,n]. Strides default to tight packing.
 */
export function gemm(rt: Runtime, args: GemmArgs): void {
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  const m = checkSize('gemm m', args.m);
  const n = checkSize('gemm n', args.n);
  const k = checkSize('gemm k', args.k);
  const alpha = checkFinite('gemm alpha', args.alpha ?? 1);
  const beta = checkFinite('gemm beta', args.beta ?? 0);
  const aCols = transA ? m : k;
  const aRows = transA ? k : m;
  const bCols = transB ? k : n;
  const bRows = transB ? n : k;
  const lda = checkSize('gemm lda', args.lda ?? aCols);
  const ldb = checkSize('gemm ldb', args.ldb ?? bCols);
  const ldc = checkSize('gemm ldc', args.ldc ?? n);
  if (lda < aCols) throw new RangeError(`gemm lda must be >= ${aCols} (columns of A as stored), got ${lda}`);
  if (ldb < bCols) throw new RangeError(`gemm ldb must be >= ${bCols} (columns of B as stored), got ${ldb}`);
  if (ldc < n) throw new RangeError(`gemm ldc must be >= n = ${n}, got ${ldc}`);
  if (m === 0 || n === 0) return;
  const span = (rows: number, cols: number, ld: number) => (rows === 0 ? 0 : ((rows - 1) * ld + cols) * 4);
  rt.mem.checkRange('gemm A', args.a, span(aRows, aCols, lda));
  rt.mem.checkRange('gemm B', args.b, span(bRows, bCols, ldb));
  rt.mem.checkRange('gemm C', args.c, span(m, n, ldc));
  rt.exports.gemm_f32(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, args.a, lda, args.b, ldb, beta, args.c, ldc);
}
