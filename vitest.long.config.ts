import { defineConfig } from 'vitest/config';

// Opt-in long trainings (`npm run test:long`): test/long/*.long.ts, outside the default suite's
// test/**/*.test.ts. Same Node 20 relaxed-SIMD flag as vitest.config.ts.
const relaxedSimdFlag = process.versions.node.split('.')[0] === '20' ? ['--experimental-wasm-relaxed-simd'] : [];

export default defineConfig({
  test: {
    include: ['test/long/**/*.long.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    execArgv: relaxedSimdFlag,
  },
});
