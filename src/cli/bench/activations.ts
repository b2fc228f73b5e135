// `rnn-wasm bench activations [--sizes 1000,65536,1048576]`: the elementwise
// activation kernels (forward and backward) through their TypeScript entry
// points, per build, beside a plain TypeScript loop. Memory-bound: the figure
// that matters is GB/s (bytes read + written per call); there is no GFLOP/s.
import {
  reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward,
} from '../../kernels/activations.js';
import type { Runtime } from '../../runtime/runtime.js';
import { flagIntList } from '../args.js';
import { measure, randomFill, type BenchContext } from './harness.js';

type Buffers = { x: number; y: number; dy: number; dx: number; n: number };

interface Op {
  name: string;
  /** float32 arrays touched per element (reads + writes), for GB/s. */
  arrays: number;
  wasm(rt: Runtime, b: Buffers): void;
  typescript(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

const OPS: Op[] = [
  {
    name: 'sigmoid forward', arrays: 2,
    wasm: (rt, b) => sigmoidForward(rt, b),
    typescript: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = sigmoid(x[i]); },
  },
  {
    name: 'sigmoid backward', arrays: 3,
    wasm: (rt, b) => sigmoidBackward(rt, b),
    typescript: (_x, y, dy, dx) => { for (let i = 0; i < y.length; i++) dx[i] = dy[i] * y[i] * (1 - y[i]); },
  },
  {
    name: 'tanh forward', arrays: 2,
    wasm: (rt, b) => tanhForward(rt, b),
    typescript: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]); },
  },
  {
    name: 'tanh backward', arrays: 3,
    wasm: (rt, b) => tanhBackward(rt, b),
    typescript: (_x, y, dy, dx) => { for (let i = 0; i < y.length; i++) dx[i] = dy[i] * (1 - y[i] * y[i]); },
  },
  {
    name: 'relu forward', arrays: 2,
    wasm: (rt, b) => reluForward(rt, b),
    typescript: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0; },
  },
  {
    name: 'relu backward', arrays: 3,
    wasm: (rt, b) => reluBackward(rt, b),
    typescript: (_x, y, dy, dx) => { for (let i = 0; i < y.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0; },
  },
];

export async function run(ctx: BenchContext): Promise<void> {
  const sizes = flagIntList(ctx.args, 'sizes', [1000, 65536, 1 << 20]);
  const gbPerS = (op: Op, n: number, ms: number) => (op.arrays * 4 * n) / (ms * 1e6);
  for (const n of sizes) {
    for (const build of ctx.builds) {
      const rt = await ctx.runtime(build);
      const bytes = n * 4;
      const b: Buffers = { x: rt.mem.alloc(bytes), y: rt.mem.alloc(bytes), dy: rt.mem.alloc(bytes), dx: rt.mem.alloc(bytes), n };
      randomFill(rt.mem.f32(b.x, n), 1, 4);
      randomFill(rt.mem.f32(b.dy, n), 2);
      sigmoidForward(rt, b); // a valid saved output for the backward passes
      try {
        for (const op of OPS) {
          const t = measure(() => op.wasm(rt, b), { repeat: ctx.repeat });
          const gb = gbPerS(op, n, t.medianMs);
          ctx.emit({
            what: `activations ${op.name}`, shape: { n }, build, ...t,
            gbPerS: gb, melemPerS: n / (t.medianMs * 1e3), note: `${gb.toFixed(1)} GB/s`,
          });
        }
      } finally {
        for (const p of [b.x, b.y, b.dy, b.dx]) rt.mem.free(p);
      }
    }
    const x = randomFill(new Float32Array(n), 1, 4);
    const dy = randomFill(new Float32Array(n), 2);
    const y = new Float32Array(n);
    const dx = new Float32Array(n);
    for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]);
    for (const op of OPS) {
      const t = measure(() => op.typescript(x, y, dy, dx), { repeat: ctx.repeat });
      const gb = gbPerS(op, n, t.medianMs);
      ctx.emit({
        what: `activations ${op.name}`, shape: { n }, build: 'typescript', ...t,
        gbPerS: gb, melemPerS: n / (t.medianMs * 1e3), note: `${gb.toFixed(1)} GB/s`,
      });
    }
  }
}
