// `rnn-wasm bench --compare [lstm|gru|rnn|all]`: our recurrent layer and the
// peers' (TF.js cpu and wasm backends, one thread) on the same shapes, in the
// same process, with the same weights. Before any ratio is printed, each
// peer's output is compared with ours (max abs diff). Then peak memory of a
// training step per library (child processes, `bench memory`) and the cold
// start (`bench coldstart`), unless --no-memory / --no-coldstart.
//   rows: the roofline per build; per cell and shape, ours (per build) and
//   each peer: forward and training step (forward + backward + SGD).
import { availableParallelism, loadavg } from 'node:os';
import type { BuildName } from '../../runtime/load.js';
import { measure, type BenchContext, type Measurement, type Timing } from './harness.js';
import { forwardFlops, maxAbsDiff, maxRelDiff, parseCells, recurrentData, shapeRecord, shapesFromArgs, trainFlops, type Cell, type RecurrentShape } from './cases.js';
import { run as runColdStart } from './coldstart.js';
import { run as runMemory } from './memory.js';
import { SGD } from '../../kernels/optim.js';
import { GRU, LSTM, RNN } from '../../layers/index.js';
import { percentOfPeak, rooflineMeasurement } from './roofline.js';
import { isPeerUnavailable, loadPeers, type PeerModel, type RecurrentPeer } from './peers.js';

/** Which cells `--compare` asks for: its value, else the positional (`bench lstm --compare`), else lstm. */
export function compareCells(ctx: BenchContext): Cell[] {
  const flag = ctx.args.flags.get('compare');
  const value = typeof flag === 'string' ? flag : ctx.args.positional[1] === 'compare' ? ctx.args.positional[2] : ctx.args.positional[1];
  return parseCells(value ?? 'lstm');
}

type Phase = 'forward' | 'train';
const PHASES: Phase[] = ['forward', 'train'];

function gflopsOf(phase: Phase, cell: Cell, s: RecurrentShape, ms: number): number {
  return (phase === 'forward' ? forwardFlops(cell, s) : trainFlops(cell, s)) / (ms * 1e6);
}

function timeModel(ctx: BenchContext, model: PeerModel, phase: Phase): Timing {
  // A training step changes the weights; SGD with a small rate keeps them sane over the repeats.
  return measure(phase === 'forward' ? () => void model.forward() : () => model.trainStep(), { repeat: ctx.repeat, warmup: 2, minBatchMs: 50 });
}

export async function run(ctx: BenchContext): Promise<void> {
  const cells = compareCells(ctx);
  const shapes = shapesFromArgs(ctx.args);
  const [load1] = loadavg();
  ctx.note(`load average ${load1.toFixed(2)} on ${availableParallelism()} cores at the start${load1 > 0.5 ? ': other work is running, figures are from a loaded machine' : ''}`);

  // The roofline of each build, in the same output: every GFLOP/s below is also a % of it.
  for (const build of ctx.builds) {
    ctx.emit({ ...(await rooflineMeasurement(ctx, build)), note: 'register-only f32x4 multiply-adds: the compute limit' });
  }

  // Ours runs through the same adapter as in the child processes (bench/peers/ours.mjs), fed our own modules.
  const mod = await loadPeers();
  const api = { LSTM, GRU, RNN, SGD };
  let peers: RecurrentPeer[] = [];
  try {
    peers = mod.RECURRENT_PEERS;
    for (const s of await mod.skippedPeers()) ctx.note(`${s.name}: ${s.reason}${s.install ? `; install with: ${s.install}` : ''}`);
  } catch (err) {
    ctx.note(`no peers: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (cells.includes('gru')) ctx.note('gru: TF.js has only the reset-before GRU, so both sides run resetAfter: false');

  for (const cell of cells) {
    for (const s of shapes) {
      const data = recurrentData(cell, s);
      const shape = shapeRecord(s);
      const ours = new Map<string, number>(); // `${phase} ${build}` -> median ms
      let reference: Float32Array | undefined;
      let referenceGrads: Record<string, Float32Array> | undefined;
      for (const build of ctx.builds) {
        const rt = await ctx.runtime(build);
        const model = mod.ours(api, rt, data.spec, data.x, data.dOutput);
        try {
          const out = model.output();
          if (reference) {
            const d = maxAbsDiff(out, reference);
            if (!(d < 1e-4)) throw new Error(`${cell} ${s.name}: the ${build} build's output differs from the ${ctx.builds[0]} build's by ${d}`);
          } else reference = out;
          for (const phase of PHASES) {
            // The reference gradients (first build), taken after the forward rows so those
            // report the inference arena, before the training steps change the weights.
            if (phase === 'train' && !referenceGrads) referenceGrads = model.gradients();
            const t = timeModel(ctx, model, phase);
            ours.set(`${phase} ${build}`, t.medianMs);
            const gflops = gflopsOf(phase, cell, s, t.medianMs);
            ctx.emit({
              what: `${cell} ${phase}`, shape, build, library: 'rnn-wasm', ...t, gflops,
              percentOfPeak: await percentOfPeak(ctx, build, gflops),
              arenaBytes: model.memory().arenaBytes,
            });
          }
        } finally {
          model.dispose();
        }
      }

      for (const peer of peers) {
        let tf: unknown;
        let version: string;
        try {
          ({ tf, version } = await peer.activate());
        } catch (err) {
          if (!isPeerUnavailable(err)) throw err;
          ctx.note(`${peer.name} skipped: ${err.message}`);
          continue;
        }
        const model = peer.recurrent(tf, data.spec, data.x, data.dOutput);
        try {
          // Same weights, same math: check the output and the training gradients before timing,
          // so no ratio is printed for different work.
          const diff = maxAbsDiff(model.output(), reference!);
          const grads = model.gradients();
          const gradDiff = Math.max(...Object.keys(grads).map((k) => maxRelDiff(grads[k], referenceGrads![k])));
          const agrees = diff < 1e-4 && gradDiff < 1e-3;
          if (!agrees) {
            ctx.note(`${peer.name} ${cell} ${s.name}: differs from ours (output max|diff| ${diff.toExponential(2)}, gradients ${gradDiff.toExponential(2)}); ratios not printed`);
          }
          for (const phase of PHASES) {
            const t = timeModel(ctx, model, phase);
            const gflops = gflopsOf(phase, cell, s, t.medianMs);
            const oursFasterBy: Record<string, number> = {};
            for (const build of ctx.builds) oursFasterBy[build] = t.medianMs / ours.get(`${phase} ${build}`)!;
            const row: Measurement = {
              what: `${cell} ${phase}`, shape, build: peer.name, library: `${peer.library}@${version}`, ...t, gflops,
              // % of our best build's roofline: the same machine's limit.
              percentOfPeak: await percentOfPeak(ctx, bestBuild(ctx.builds), gflops),
              maxAbsDiff: diff,
              gradMaxRelDiff: gradDiff,
              ...(agrees ? { oursFasterBy } : {}),
              note: agrees
                ? `ours ${Object.entries(oursFasterBy).map(([b, r]) => `${r.toFixed(1)}x (${b})`).join(', ')} faster; max|diff| out ${diff.toExponential(1)}, grad ${gradDiff.toExponential(1)}`
                : `DISAGREES with ours: max|diff| out ${diff.toExponential(1)}, grad ${gradDiff.toExponential(1)}`,
            };
            ctx.emit(row);
          }
        } finally {
          model.dispose();
        }
      }
    }
  }

  if (!ctx.args.flags.has('no-memory')) {
    ctx.flush();
    await runMemory(ctx, { cells, shapes });
  }
  if (!ctx.args.flags.has('no-coldstart') && cells.includes('lstm')) {
    ctx.flush();
    await runColdStart(ctx);
  }
}

function bestBuild(builds: BuildName[]): BuildName {
  return builds.includes('relaxed') ? 'relaxed' : builds[0];
}
