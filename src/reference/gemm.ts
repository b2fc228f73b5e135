/**
 * Plain TypeScript GEMM, the reference every wasm GEMM is tested against and
 * the baseline of `rnn-wasm bench gemm`. Same contract as kernels/gemm.ts but
 * over Float32Arrays with element offsets.
 */
export function gemmReference(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number,
  beta: number, c: Float32Array, ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i] : a[i * lda + p];
        const bv = transB ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      const ci = i * ldc + j;
      c[ci] = beta === 0 ? alpha * acc : alpha * acc + beta * c[ci];
    }
  }
}
