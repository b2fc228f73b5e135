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
  /**
   * Packing space, gemmWorkFloats(rt, m, n, k) floats (e.g. from an arena). Default: the
   * runtime's scratch (gemmScratch), free again when the call returns.
   */
  work?: number;
}

/**
 * The runtime's GEMM packing space, for kernel calls from TypeScript that have no work
 * buffer of their own: `floats` floats (at most gemm_work_max_floats, which the runtime
 * reserved in rt.scratch when it was made, so this never grows memory). Valid until the
 * next call; calls from TypeScript never nest, so one space serves them all.
 */
export function gemmScratch(rt: Runtime, floats?: number): number {
  rt.scratch.reset();
  return rt.scratch.alloc((floats ?? maxWorkFloats(rt)) * 4);
}

const maxWork = new WeakMap<Runtime, number>();
function maxWorkFloats(rt: Runtime): number {
  let floats = maxWork.get(rt);
  if (floats === undefined) maxWork.set(rt, (floats = rt.exports.gemm_work_max_floats()));
  return floats;
}

/** Floats of packing space one product needs (assembly/gemm.ts gemm_work_floats). */
export function gemmWorkFloats(rt: Runtime, m: number, n: number, k: number): number {
  return rt.exports.gemm_work_floats(m, n, k);
}

/** The work pointer of a product: args.work, checked, or the runtime's scratch. */
function gemmWork(rt: Runtime, fn: string, work: number | undefined, m: number, n: number, k: number): number {
  if (work === undefined) return gemmScratch(rt);
  rt.mem.checkRange(`${fn} work`, work, rt.exports.gemm_work_floats(m, n, k) * 4);
  return work;
}

/** Validated sizes, strides and byte spans of one product (shared by gemm and gemmBatched). */
function checkGemm(fn: string, args: GemmArgs) {
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  const m = checkSize(`${fn} m`, args.m);
  const n = checkSize(`${fn} n`, args.n);
  const k = checkSize(`${fn} k`, args.k);
  const alpha = checkFinite(`${fn} alpha`, args.alpha ?? 1);
  const beta = checkFinite(`${fn} beta`, args.beta ?? 0);
  const aCols = transA ? m : k;
  const aRows = transA ? k : m;
  const bCols = transB ? k : n;
  const bRows = transB ? n : k;
  const lda = checkSize(`${fn} lda`, args.lda ?? aCols);
  const ldb = checkSize(`${fn} ldb`, args.ldb ?? bCols);
  const ldc = checkSize(`${fn} ldc`, args.ldc ?? n);
  if (lda < aCols) throw new RangeError(`${fn} lda must be >= ${aCols} (columns of A as stored), got ${lda}`);
  if (ldb < bCols) throw new RangeError(`${fn} ldb must be >= ${bCols} (columns of B as stored), got ${ldb}`);
  if (ldc < n) throw new RangeError(`${fn} ldc must be >= n = ${n}, got ${ldc}`);
  const span = (rows: number, cols: number, ld: number) => (rows === 0 || cols === 0 ? 0 : ((rows - 1) * ld + cols) * 4);
  return {
    transA: transA ? 1 : 0, transB: transB ? 1 : 0, m, n, k, alpha, beta, lda, ldb, ldc,
    aBytes: span(aRows, aCols, lda), bBytes: span(bRows, bCols, ldb), cBytes: span(m, n, ldc),
    /** Elements of each operand as stored, rows times row stride: gemmBatched's default strides. */
    aSize: aRows * lda, bSize: bRows * ldb, cSize: m * ldc,
  };
}

/**
 * C = alpha * op(A) * op(B) + beta * C over wasm memory (row-major).
 * op(A): [m,k], op(B): [k,n], C: [m,n]. Strides default to tight packing.
 */
export function gemm(rt: Runtime, args: GemmArgs): void {
  const g = checkGemm('gemm', args);
  if (g.m === 0 || g.n === 0) return;
  rt.mem.checkRange('gemm A', args.a, g.aBytes);
  rt.mem.checkRange('gemm B', args.b, g.bBytes);
  rt.mem.checkRange('gemm C', args.c, g.cBytes);
  const work = gemmWork(rt, 'gemm', args.work, g.m, g.n, g.k);
  rt.exports.gemm_f32(g.transA, g.transB, g.m, g.n, g.k, g.alpha, args.a, g.lda, args.b, g.ldb, g.beta, args.c, g.ldc, work);
}

export interface GemmBatchedArgs extends GemmArgs {
  /** Number of products. */
  count: number;
  /** Elements from one A_i (B_i, C_i) to the next; 0 reuses one operand for all (not for C when count > 1). Default: rows times row stride (matrices stored back to back). */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

/**
 * count products C_i = alpha * op(A_i) * op(B_i) + beta * C_i with A_i = a + i*strideA
 * (elements), likewise B_i and C_i: per-sequence products such as attention's QKᵀ and ·V.
 * The C_i must not overlap one another. One wasm call: the kernel chooses its path once for
 * all products, and packs a shared B (strideB 0) once.
 */
export function gemmBatched(rt: Runtime, args: GemmBatchedArgs): void {
  const fn = 'gemmBatched';
  const g = checkGemm(fn, args);
  const count = checkSize(`${fn} count`, args.count);
  const strideA = checkSize(`${fn} strideA`, args.strideA ?? g.aSize);
  const strideB = checkSize(`${fn} strideB`, args.strideB ?? g.bSize);
  const strideC = checkSize(`${fn} strideC`, args.strideC ?? g.cSize);
  if (count === 0 || g.m === 0 || g.n === 0) return;
  if (count > 1 && strideC * 4 < g.cBytes) {
    throw new RangeError(`${fn} strideC must be >= ${g.cBytes / 4} (one C_i spans that many elements) so that the products do not overlap, got ${strideC}`);
  }
  const all = (bytes: number, stride: number) => (bytes === 0 ? 0 : (count - 1) * stride * 4 + bytes);
  rt.mem.checkRange(`${fn} A`, args.a, all(g.aBytes, strideA));
  rt.mem.checkRange(`${fn} B`, args.b, all(g.bBytes, strideB));
  rt.mem.checkRange(`${fn} C`, args.c, all(g.cBytes, strideC));
  const work = gemmWork(rt, fn, args.work, g.m, g.n, g.k);
  rt.exports.gemm_batched_f32(g.transA, g.transB, g.m, g.n, g.k, count, g.alpha, args.a, g.lda, strideA, args.b, g.ldb, strideB,
    g.beta, args.c, g.ldc, strideC, work);
}
