// The wasm module's exports: one line per kernel family. Kernels take byte
// pointers and sizes only and never allocate; TypeScript owns the layout of
// linear memory above heap_base().
export { heap_base, build_is_relaxed } from "./memory";
export * from "./gemm";
