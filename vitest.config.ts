import { defineConfig } from 'vitest/config';

// Node 20 runs relaxed SIMD only behind this V8 flag; later Nodes run it by default and
// may not know the flag, so it is passed on Node 20 alone.
const relaxedSimdFlag = process.versions.node.split('.')[0] === '20' ? ['--experimental-wasm-relaxed-simd'] : [];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    execArgv: relaxedSimdFlag,
  },
});
