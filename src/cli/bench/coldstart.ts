// `rnn-wasm bench coldstart`: a fresh Node process per run, from the first
// import of the library to the first result of the small LSTM (input 32,
// hidden 64, seq 32, batch 1), ours beside the TF.js peers; median of --runs.
import { flagInt, flagString } from '../args.js';
import type { BenchContext } from './harness.js';
import { lastJsonLine, median, nodeFlagsFor, repoFile, runNode } from './peers.js';

interface ColdStartRun {
  lib: string;
  build: string;
  importMs: number;
  initMs: number;
  firstResultMs: number;
  processMs: number;
}

const LIBS = ['ours', 'tfjs-cpu', 'tfjs-wasm'];

export async function run(ctx: BenchContext): Promise<void> {
  const runs = flagInt(ctx.args, 'runs', 5);
  const libs = flagString(ctx.args, 'libs', LIBS.join(',')).split(',');
  for (const lib of libs) if (!LIBS.includes(lib)) throw new Error(`--libs: '${lib}' is not one of ${LIBS.join(', ')}`);
  const script = repoFile('bench/peers/coldstart.mjs', 'cold starts run from a checkout of the rnn-wasm repository');
  // Ours is imported as the package ('rnn-wasm' -> dist/index.js): it must be built.
  if (libs.includes('ours')) repoFile('dist/index.js', 'run npm run build first');

  const targets = libs.flatMap((lib) => (lib === 'ours' ? ctx.builds.map((build) => ({ lib, build })) : [{ lib, build: lib }]));
  for (const { lib, build } of targets) {
    const samples: ColdStartRun[] = [];
    const walls: number[] = [];
    try {
      for (let r = 0; r < runs; r++) {
        const { wallMs, stdout } = await runNode([...nodeFlagsFor(build), script, lib, build]);
        samples.push(lastJsonLine<ColdStartRun>(stdout));
        walls.push(wallMs);
      }
    } catch (err) {
      // The adapter's message names the missing package and its install command.
      if (lib !== 'ours' && /is not installed/.test(String(err))) {
        ctx.note(`${lib} cold start skipped: ${String(err)}`);
        continue;
      }
      throw err;
    }
    const first = median(samples.map((s) => s.firstResultMs));
    const spawnToExit = median(walls);
    ctx.emit({
      what: 'coldstart lstm',
      shape: { input: 32, hidden: 64, seq: 32, batch: 1 },
      build,
      library: lib,
      medianMs: first.median,
      minMs: first.min,
      maxMs: first.max,
      runs,
      importMs: median(samples.map((s) => s.importMs)).median,
      initMs: median(samples.map((s) => s.initMs)).median,
      processMs: median(samples.map((s) => s.processMs)).median,
      spawnToExitMs: spawnToExit.median,
      note: `first import -> first result; import ${median(samples.map((s) => s.importMs)).median.toFixed(0)} ms, ready ${median(samples.map((s) => s.initMs)).median.toFixed(0)} ms; process start -> result ${median(samples.map((s) => s.processMs)).median.toFixed(0)} ms`,
    });
  }
}
