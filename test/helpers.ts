import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { supportsRelaxedSimd } from '../src/runtime/load.js';
import type { BuildName } from '../src/runtime/load.js';
import { randomFill } from '../src/cli/bench/harness.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (npm run build), run as a user runs it. */
export const CLI_PATH = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Runs `node dist/cli.js ...args` in a child process (RNN_WASM_DEBUG cleared: errors in their short form). */
export function runCli(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, RNN_WASM_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The builds this process can run: relaxed joins when the runtime accepts it. */
export const BUILDS: BuildName[] = supportsRelaxedSimd() ? ['simd', 'relaxed'] : ['simd'];
if (!supportsRelaxedSimd()) {
  console.warn('[rnn-wasm tests] relaxed SIMD unavailable in this process: only the SIMD build is covered');
}

export function runtimeFor(build: BuildName): Promise<Runtime> {
  return createRuntime({ relaxedSimd: build === 'relaxed' });
}

/** Seeded uniform values in [-scale, scale), so failures reproduce (the benches' generator). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  return randomFill(new Float32Array(n), seed, scale);
}

/** Largest |got-ref| / max(1,|ref|); tests compare it to a tolerance and print it on failure. */
export function maxRelError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}
