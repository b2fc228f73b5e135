// `import wasm from 'rnn-wasm/wasm/simd.wasm'` (or relaxed.wasm): what Cloudflare Workers and
// bundlers with a wasm loader give back, a compiled module to pass as createRuntime({ module }).
declare const module: WebAssembly.Module;
export default module;
