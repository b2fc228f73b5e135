// `rnn-wasm bench mdlstm [--rows R --cols C --input I --hidden H --batch B]`: the 2-D LSTM
// (four directions, concatenated) through the public host API: inference forward and one
// training step (forward, backward, an SGD update over the block), each in wavefront order
// (one product per anti-diagonal) and cell by cell (one product per cell), measured in the
// same process so that their ratio is what the wavefront batching buys. GFLOP/s count the
// matrix products (nominal, as in `bench lstm`); % peak against the build's roofline.
// Default shapes: grid 32 x 32, I 16, H 32, B 8 (the issue's), and the same with B 1, where a
// cell's product has a single row and the wavefront's many rows matter most.
import { MDLSTM } from '../../layers/mdlstm.js';
import { flagInt } from '../args.js';
import { measure, randomFill, type BenchContext } from './harness.js';
import { percentOfPeak } from './roofline.js';

/** Multiply-adds of one forward's products, times 2: per direction and cell [5H, I + 2H] times B. */
export function mdlstmForwardFlops(s: { rows: number; cols: number; input: number; hidden: number; batch: number; directions: number }): number {
  return s.directions * 2 * s.batch * s.rows * s.cols * 5 * s.hidden * (s.input + 2 * s.hidden);
}

/**
 * Median over alternating timed batches of (CPU time of b) / (CPU time of a): the two run
 * interleaved in one process, so a slow phase of a shared host slows both alike, and CPU
 * time leaves out the time this process did not run.
 */
export function pairedCpuRatio(a: () => void, b: () => void, repeat: number): number {
  const cpuMs = (fn: () => void, calls: number) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < calls; i++) fn();
    const u = process.cpuUsage(t0);
    return (u.user + u.system) / 1000 / calls;
  };
  const callsFor = (fn: () => void) => Math.max(1, Math.ceil(20 / Math.max(0.01, cpuMs(fn, 1))));
  const ca = callsFor(a), cb = callsFor(b);
  const ratios: number[] = [];
  for (let r = 0; r < repeat; r++) ratios.push(cpuMs(b, cb) / cpuMs(a, ca));
  ratios.sort((x, y) => x - y);
  return ratios[ratios.length >> 1];
}

export async function run(ctx: BenchContext): Promise<void> {
  const a = ctx.args;
  const custom = ['rows', 'cols', 'input', 'hidden', 'batch'].some((f) => a.flags.has(f));
  const base = { rows: 32, cols: 32, input: 16, hidden: 32, batch: 8, directions: 4 };
  const shapes = custom
    ? [{
        rows: flagInt(a, 'rows', base.rows), cols: flagInt(a, 'cols', base.cols), input: flagInt(a, 'input', base.input),
        hidden: flagInt(a, 'hidden', base.hidden), batch: flagInt(a, 'batch', base.batch), directions: 4,
      }]
    : [base, { ...base, batch: 1 }];
  for (const s of shapes) await runShape(ctx, s);
}

async function runShape(ctx: BenchContext, s: { rows: number; cols: number; input: number; hidden: number; batch: number; directions: number }): Promise<void> {
  const N = s.batch * s.rows * s.cols;
  const x = { shape: [s.batch, s.rows, s.cols, s.input], data: randomFill(new Float32Array(N * s.input), 1, 0.5) };
  const dOutput = { shape: [s.batch, s.rows, s.cols, 4 * s.hidden], data: randomFill(new Float32Array(N * 4 * s.hidden), 2, 0.5) };
  const flops = mdlstmForwardFlops(s);
  // Backward: dW_ih, dW_hh, dx and the per-diagonal dh products = twice the forward's.
  const stepFlops = 3 * flops;
  const shape = { rows: s.rows, cols: s.cols, input: s.input, hidden: s.hidden, batch: s.batch, directions: s.directions };
  for (const build of ctx.builds) {
    const rt = await ctx.runtime(build);
    const layers = [false, true].map((cellByCell) => new MDLSTM(rt, { inputSize: s.input, hiddenSize: s.hidden, directions: [0, 1, 2, 3], merge: 'concat', cellByCell, seed: 1 }));
    const mode = (cellByCell: boolean) => (cellByCell ? 'cell by cell' : 'wavefront');
    const forwardFns = layers.map((layer) => () => void layer.forward(x, { training: false }));
    const trainFns = layers.map((layer) => () => {
      layer.forward(x, { training: true });
      layer.backward({ dOutput });
      rt.exports.axpy_f32(layer.block.count, -1e-6, layer.block.gradsPtr, layer.block.valuesPtr);
      layer.zeroGrad();
    });
    for (const [what, fns, f] of [['forward', forwardFns, flops], ['train step', trainFns, stepFlops]] as const) {
      const timings = fns.map((fn) => measure(fn, { repeat: ctx.repeat }));
      const ratio = pairedCpuRatio(fns[0], fns[1], ctx.repeat);
      for (let m = 0; m < 2; m++) {
        const t = timings[m];
        const gflops = f / (t.medianMs * 1e6);
        ctx.emit({
          what: `mdlstm ${what} (${mode(m === 1)})`, shape, build, medianMs: t.medianMs, minMs: t.minMs, maxMs: t.maxMs,
          gflops, percentOfPeak: await percentOfPeak(ctx, build, gflops), arenaBytes: layers[m].arenaHighWater,
          ...(m === 0 ? { cellByCellOverWavefront: ratio, note: `cell by cell / wavefront CPU time ${ratio.toFixed(2)} (paired)` } : {}),
        });
      }
    }
    for (const layer of layers) layer.dispose();
  }
}
