// C: [M,N] = alpha * op(A) * op(B) + beta * C
// op(A): [M,K] (A stored [M,K] with row stride lda, or [K,M] when transA)
// op(B): [K,N] (B stored [K,N] with row stride ldb, or [N,K] when transB)
// Strides are in elements; pointers in bytes. Plain scalar placeholder: the
// SIMD micro-kernels replace it behind this same signature.
export function gemm_f32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc: f32 = 0;
      for (let p = 0; p < K; p++) {
        const a = transA ? load<f32>(A + (<usize>(p * lda + i) << 2)) : load<f32>(A + (<usize>(i * lda + p) << 2));
        const b = transB ? load<f32>(B + (<usize>(j * ldb + p) << 2)) : load<f32>(B + (<usize>(p * ldb + j) << 2));
        acc += a * b;
      }
      const cp = C + (<usize>(i * ldc + j) << 2);
      store<f32>(cp, beta == 0 ? alpha * acc : alpha * acc + beta * load<f32>(cp));
    }
  }
}
