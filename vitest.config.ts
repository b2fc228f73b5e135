import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Relaxed SIMD is behind a flag on Node 20; later Nodes ignore nothing by passing it.
    execArgv: ['--experimental-wasm-relaxed-simd'],
  },
});
