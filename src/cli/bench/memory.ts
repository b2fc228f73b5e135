// `rnn-wasm bench memory [--cell lstm] [--shapes small,throughput] [--steps 5]`:
// peak memory of training steps, ours beside each peer. Every library runs in
// a fresh child process (bench/peers/memory.mjs), so one library's peak cannot
// hide another's: the child reports its resident set once the library is
// loaded and its peak (VmHWM) after --steps training steps, plus the wasm
// memory (ours; TF.js wasm's heap) or tensor bytes (TF.js cpu).
import { flagInt, flagString } from '../args.js';
import type { BenchContext } from './harness.js';
import { parseCells, recurrentData, shapeRecord, shapesFromArgs, type Cell, type RecurrentShape } from './cases.js';
import { lastJsonLine, nodeFlagsFor, repoFile, runNode } from './peers.js';

interface ChildReport {
  library: string;
  baselineRssBytes: number;
  peakRssBytes: number;
  stepMs: number;
  wasmMemoryBytes?: number;
  tensorBytes?: number;
  arenaBytes?: number;
}

const PEER_LIBS = ['tfjs-cpu', 'tfjs-wasm'];
const MiB = 1024 * 1024;

export async function run(ctx: BenchContext, opts?: { cells: Cell[]; shapes: RecurrentShape[] }): Promise<void> {
  const cells = opts?.cells ?? parseCells(flagString(ctx.args, 'cell', 'lstm'));
  const shapes = opts?.shapes ?? shapesFromArgs(ctx.args);
  const steps = flagInt(ctx.args, 'steps', 5);
  const script = repoFile('bench/peers/memory.mjs', 'memory figures run from a checkout of the rnn-wasm repository');
  // Ours is imported as the package ('rnn-wasm' -> dist/index.js): it must be built.
  if (ctx.builds.length > 0) repoFile('dist/index.js', 'run npm run build first');
  const libs = [...ctx.builds.map((b) => ({ lib: 'ours', build: b as string })), ...PEER_LIBS.map((p) => ({ lib: p, build: p }))];
  for (const cell of cells) {
    for (const s of shapes) {
      for (const { lib, build } of libs) {
        const data = recurrentData(cell, s);
        // The job: a JSON header line, then the float32 arrays as raw bytes.
        const arrays: [string, Float32Array][] = [...Object.entries(data.spec.weights), ['x', data.x], ['dOutput', data.dOutput]];
        const header = { lib, build, steps, spec: { ...data.spec, weights: undefined }, arrays: arrays.map(([k, v]) => [k, v.length]) };
        const job = Buffer.concat([
          Buffer.from(JSON.stringify(header) + '\n'),
          ...arrays.map(([, v]) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
        ]);
        let r: ChildReport;
        try {
          r = lastJsonLine<ChildReport>((await runNode([...nodeFlagsFor(build), script], job)).stdout);
        } catch (err) {
          if (lib !== 'ours' && /is not installed/.test(String(err))) {
            ctx.note(`${lib} memory skipped: ${String(err)}`);
            continue;
          }
          throw err;
        }
        const wasm = r.wasmMemoryBytes === undefined ? '' : `, wasm memory ${(r.wasmMemoryBytes / MiB).toFixed(1)} MiB`;
        const tensors = r.tensorBytes === undefined ? '' : `, tensors ${(r.tensorBytes / MiB).toFixed(1)} MiB`;
        ctx.emit({
          what: `${cell} train memory`, shape: { ...shapeRecord(s), steps }, build, library: r.library,
          medianMs: r.stepMs, minMs: r.stepMs, maxMs: r.stepMs,
          peakRssBytes: r.peakRssBytes, baselineRssBytes: r.baselineRssBytes, rssGrowthBytes: r.peakRssBytes - r.baselineRssBytes,
          wasmMemoryBytes: r.wasmMemoryBytes, tensorBytes: r.tensorBytes, arenaBytes: r.arenaBytes,
          note: `peak RSS ${(r.peakRssBytes / MiB).toFixed(0)} MiB (+${((r.peakRssBytes - r.baselineRssBytes) / MiB).toFixed(1)} over loaded library)${wasm}${tensors}`,
        });
      }
    }
  }
}
