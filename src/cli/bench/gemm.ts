// `rnn-wasm bench gemm [--sizes 256,512,1024]`: square GEMM (M = N = K = s) for
// each build and transpose variant, against the build's roofline and a plain
// TypeScript triple loop.
import { gemm } from '../../kernels/gemm.js';
import { gemmReference } from '../../reference/gemm.js';
import type { BuildName } from '../../runtime/load.js';
import { flagIntList } from '../args.js';
import { measure, type BenchContext, type Measurement } from './harness.js';
import { percentOfPeak, rooflineMeasurement } from './roofline.js';

const VARIANTS = [
  { op: 'A*B', transA: false, transB: false },
  { op: 'A*Bt', transA: false, transB: true },
  { op: 'At*B', transA: true, transB: false },
  { op: 'At*Bt', transA: true, transB: true },
] as const;

/** Same inputs for every build and for the TypeScript baseline. */
function randomMatrix(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

export async function run(ctx: BenchContext): Promise<void> {
  const sizes = flagIntList(ctx.args, 'sizes', [256, 512, 1024]);
  for (const build of ctx.builds) ctx.emit(await rooflineMeasurement(ctx, build));
  const summary: string[] = [];
  for (const s of sizes) {
    const flops = 2 * s * s * s;
    const a = randomMatrix(s * s, 1), b = randomMatrix(s * s, 2);
    // The baseline: TypeScript triple loop, A*B. It takes seconds at 1024, so
    // it gets fewer repeats there (reported in `repeats`).
    const c = new Float32Array(s * s);
    const tsRepeat = s >= 1024 ? Math.min(ctx.repeat, 3) : s >= 512 ? Math.min(ctx.repeat, 5) : ctx.repeat;
    const t = measure(() => gemmReference(false, false, s, s, s, 1, a, s, b, s, 0, c, s), {
      repeat: tsRepeat,
      warmup: 0,
      minBatchMs: 0,
    });
    const tsGflops = flops / (t.medianMs * 1e6);
    ctx.emit({
      what: 'gemm',
      shape: { m: s, n: s, k: s, op: 'A*B' },
      build: 'typescript',
      medianMs: t.medianMs,
      minMs: t.minMs,
      maxMs: t.maxMs,
      gflops: tsGflops,
      repeats: t.repeats,
    });
    const plain = new Map<BuildName, number>();
    const rows: Measurement[] = [];
    for (const build of ctx.builds) {
      const rt = await ctx.runtime(build);
      const pa = rt.mem.alloc(s * s * 4), pb = rt.mem.alloc(s * s * 4), pc = rt.mem.alloc(s * s * 4);
      rt.mem.f32(pa, s * s).set(a);
      rt.mem.f32(pb, s * s).set(b);
      for (const v of VARIANTS) {
        const args = { transA: v.transA, transB: v.transB, m: s, n: s, k: s, a: pa, b: pb, c: pc };
        const t = measure(() => gemm(rt, args), { repeat: ctx.repeat, warmup: 2 });
        const gflops = flops / (t.medianMs * 1e6);
        if (v.op === 'A*B') plain.set(build, gflops);
        const row: Measurement = {
          what: 'gemm',
          shape: { m: s, n: s, k: s, op: v.op },
          build,
          medianMs: t.medianMs,
          minMs: t.minMs,
          maxMs: t.maxMs,
          gflops,
          percentOfPeak: await percentOfPeak(ctx, build, gflops),
          repeats: t.repeats,
          /** GFLOP/s of this variant over A*B of the same build and size. */
          vsPlain: gflops / (plain.get(build) as number),
          speedupVsTypescript: gflops / tsGflops,
        };
        rows.push(row);
        ctx.emit(row);
      }
      rt.mem.free(pa);
      rt.mem.free(pb);
      rt.mem.free(pc);
    }
    for (const row of rows) {
      summary.push(
        `${s}^3 ${row.build} ${row.shape.op}: ${(row.gflops as number).toFixed(1)} GFLOP/s, ` +
          `${(row.percentOfPeak as number).toFixed(0)}% of peak, ${((row.vsPlain as number) * 100).toFixed(0)}% of A*B, ` +
          `${(row.speedupVsTypescript as number).toFixed(0)}x TypeScript`,
      );
    }
    summary.push(`${s}^3 typescript A*B: ${tsGflops.toFixed(2)} GFLOP/s (median of ${t.repeats})`);
  }
  if (!ctx.json) {
    ctx.flush();
    console.log('\n' + summary.join('\n'));
  }
}
