// TypeScript entry points of the kernels: validate, then call wasm.
export * from './gemm.js';
