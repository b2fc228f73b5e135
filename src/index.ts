// Public API of rnn-wasm. One line per module.
export { createRuntime, Runtime, type RuntimeOptions, type RuntimeFeatures } from './runtime/runtime.js';
export { supportsSimd, supportsRelaxedSimd } from './runtime/load.js';
export { Tensor, ParameterBlock, type HostTensor } from './runtime/tensor.js';
export { LinearMemory, Arena } from './runtime/memory.js';
export * from './kernels/index.js';
export * from './io/index.js';
export * from './data/index.js';
export * from './train/rng.js';
export * from './train/checkpoint.js';
export * from './train/progress.js';
export * from './train/schedule.js';
export * from './layers/index.js';
