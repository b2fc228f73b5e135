// `rnn-wasm bench lstm|gru|rnn [--input I --hidden H --seq T --batch B --layers L --bidirectional]`:
// inference forward and one training step (forward + BPTT + an SGD update over the whole
// parameter block) through the public host API, per build, with GFLOP/s of the matrix
// products (nominal: Strassen's saved multiply-adds still count), their share of the build's
// register-only roofline, and the arena high-water mark. Without shape flags it runs the two standard
// shapes: small (I 32, H 64, T 32, B 1) and throughput (I 128, H 256, T 64, B 16).
import { RecurrentCell, RecurrentLayer } from '../../layers/index.js';
import { recurrentKind } from '../../kernels/cell-kinds.js';
import { Arena } from '../../runtime/memory.js';
import { Tensor } from '../../runtime/tensor.js';
import type { Runtime } from '../../runtime/runtime.js';
import { axpy } from '../../kernels/elementwise.js';
import { flagBool, flagInt } from '../args.js';
import { measure, type BenchContext, randomFill } from './harness.js';
import { percentOfPeak } from './roofline.js';

interface Shape { name: string; input: number; hidden: number; seq: number; batch: number; layers: number; bidirectional: boolean }

const STANDARD: Shape[] = [
  { name: 'small', input: 32, hidden: 64, seq: 32, batch: 1, layers: 1, bidirectional: false },
  { name: 'throughput', input: 128, hidden: 256, seq: 64, batch: 16, layers: 1, bidirectional: false },
];

const SHAPE_FLAGS = ['input', 'hidden', 'seq', 'batch', 'layers', 'bidirectional'];

/** The layer of the cell kind `cell` names (CELL_KINDS: lstm, gru, rnn), torch's defaults. */
function makeLayer(rt: Runtime, cell: string, s: Shape): RecurrentLayer {
  const o = { inputSize: s.input, hiddenSize: s.hidden, numLayers: s.layers, bidirectional: s.bidirectional, seed: 1 };
  return new RecurrentLayer(rt, recurrentKind(cell).kind, o);
}

/** Multiply-adds of the matrix products of one forward, times 2. */
export function recurrentForwardFlops(gates: number, s: Shape): number {
  const D = s.bidirectional ? 2 : 1;
  let flops = 0;
  for (let k = 0; k < s.layers; k++) {
    const inSize = k === 0 ? s.input : D * s.hidden;
    flops += D * 2 * s.seq * s.batch * gates * s.hidden * (inSize + s.hidden);
  }
  return flops;
}

/**
 * `--step`: one cell step over a batch (LSTMCell / GRUCell / RNNCell forwardDevice, and a
 * training step: forward + backward), the per-step cost of a decoder at the seq2seq shape
 * (B 32, H 256, I 256 unless given).
 */
async function runStep(ctx: BenchContext, cell: string): Promise<void> {
  const I = flagInt(ctx.args, 'input', 256), H = flagInt(ctx.args, 'hidden', 256), B = flagInt(ctx.args, 'batch', 32);
  const shape = { cell, name: 'step', input: I, hidden: H, batch: B };
  const kind = recurrentKind(cell);
  const flops = 2 * B * kind.gates * H * (I + H);
  for (const build of ctx.builds) {
    const rt = await ctx.runtime(build);
    const o = { inputSize: I, hiddenSize: H, seed: 1 };
    const layer = new RecurrentCell(rt, kind.kind, o);
    const fixed = new Arena(rt.mem); // the inputs, kept over the calls
    const arena = new Arena(rt.mem); // each call's outputs and kept buffers, reset per call
    const put = (shp: number[], seed: number) => {
      const t = new Tensor(rt.mem, fixed.alloc(shp[0] * shp[1] * 4), shp);
      t.set(randomFill(new Float32Array(shp[0] * shp[1]), seed, 0.5));
      return t;
    };
    const inputs = { x: put([B, I], 1), h: put([B, H], 2), c: kind.hasCellState ? put([B, H], 3) : undefined };
    const dH = put([B, H], 4);
    const fwd = measure(() => {
      arena.reset();
      layer.forwardDevice({ ...inputs, arena });
    }, { repeat: ctx.repeat });
    ctx.emit({ what: `${cell} step forward`, shape, build, medianMs: fwd.medianMs, minMs: fwd.minMs, maxMs: fwd.maxMs, gflops: flops / (fwd.medianMs * 1e6) });
    const train = measure(() => {
      arena.reset();
      const r = layer.forwardDevice({ ...inputs, arena });
      layer.backwardDevice(r.step, { dH });
    }, { repeat: ctx.repeat });
    ctx.emit({ what: `${cell} step forward+backward`, shape, build, medianMs: train.medianMs, minMs: train.minMs, maxMs: train.maxMs, gflops: 3 * flops / (train.medianMs * 1e6) });
    arena.dispose();
    fixed.dispose();
    layer.dispose();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const cell = ctx.args.positional[1];
  if (flagBool(ctx.args, 'step')) return runStep(ctx, cell);
  const custom = SHAPE_FLAGS.some((f) => ctx.args.flags.has(f));
  const shapes: Shape[] = custom
    ? [{
        name: 'custom',
        input: flagInt(ctx.args, 'input', 128),
        hidden: flagInt(ctx.args, 'hidden', 256),
        seq: flagInt(ctx.args, 'seq', 64),
        batch: flagInt(ctx.args, 'batch', 16),
        layers: flagInt(ctx.args, 'layers', 1),
        bidirectional: flagBool(ctx.args, 'bidirectional'),
      }]
    : STANDARD;
  for (const s of shapes) {
    const D = s.bidirectional ? 2 : 1;
    const x = { shape: [s.seq, s.batch, s.input], data: randomFill(new Float32Array(s.seq * s.batch * s.input), 1, 0.5) };
    const dOutput = { shape: [s.seq, s.batch, D * s.hidden], data: randomFill(new Float32Array(s.seq * s.batch * D * s.hidden), 2, 0.5) };
    const shape = { cell, name: s.name, input: s.input, hidden: s.hidden, seq: s.seq, batch: s.batch, layers: s.layers, bidirectional: s.bidirectional };
    for (const build of ctx.builds) {
      const rt = await ctx.runtime(build);
      const layer = makeLayer(rt, cell, s);
      const flops = recurrentForwardFlops(layer.gateCount, s);
      const lr = 1e-6;
      const fwd = measure(() => layer.forward(x, { training: false }), { repeat: ctx.repeat });
      const fwdGflops = flops / (fwd.medianMs * 1e6);
      ctx.emit({
        what: `${cell} forward`, shape, build, medianMs: fwd.medianMs, minMs: fwd.minMs, maxMs: fwd.maxMs,
        gflops: fwdGflops, percentOfPeak: await percentOfPeak(ctx, build, fwdGflops), arenaBytes: layer.arenaHighWater,
      });
      // Training step: forward keeping activations, BPTT (about twice the forward's products),
      // then plain SGD over the whole block (one axpy) and zeroed gradients.
      // "no dx": the input needs no gradient (data fed straight in), as torch skips it then.
      for (const inputGrad of [true, false]) {
        const step = () => {
          layer.forward(x, { training: true });
          layer.backward({ dOutput, inputGrad });
          axpy(rt, { alpha: -lr, x: layer.block.gradsPtr, y: layer.block.valuesPtr, n: layer.block.count });
          layer.zeroGrad();
        };
        const train = measure(step, { repeat: ctx.repeat });
        const stepFlops = 3 * flops - (inputGrad ? 0 : 2 * s.seq * s.batch * layer.gateCount * s.hidden * s.input * D);
        const trainGflops = stepFlops / (train.medianMs * 1e6);
        ctx.emit({
          what: `${cell} train step${inputGrad ? '' : ' (no dx)'}`, shape, build, medianMs: train.medianMs, minMs: train.minMs, maxMs: train.maxMs,
          gflops: trainGflops, percentOfPeak: await percentOfPeak(ctx, build, trainGflops), arenaBytes: layer.arenaHighWater,
        });
      }
      layer.dispose();
    }
  }
}
