// The wasm module's exports: one line per kernel family. Kernels take byte
// pointers and sizes only and never allocate; TypeScript owns the layout of
// linear memory above heap_base().
export { heap_base, build_is_relaxed, math_eval_f32 } from "./memory";
export * from "./gemm";
export * from "./elementwise";
export * from "./activations";
export * from "./loss";
export * from "./embedding";
export * from "./optim";
export * from "./roofline";
export * from "./rnn";
export * from "./lstm";
export * from "./gru";
export * from "./attention";
export * from "./episode";
