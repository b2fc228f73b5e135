// `rnn-wasm bench gemm [--sizes 256,512,1024] [--shapes 1x256x64,16x256x64]`:
// GEMM (square M = N = K = s, or MxNxK shapes such as a recurrent step's
// batch x 4H x H) for each build and transpose variant, against the build's
// roofline and a plain TypeScript triple loop.
import { gemm } from '../../kernels/gemm.js';
import { gemmReference } from '../../reference/gemm.js';
import type { BuildName } from '../../runtime/load.js';
import { flagIntList, flagString } from '../args.js';
import { measure, type BenchContext, type Measurement, randomFill } from './harness.js';
import { measureRooflineCpu, measureWithCpu, percentOfPeak, rooflineMeasurement } from './roofline.js';

const VARIANTS = [
  { op: 'A*B', transA: false, transB: false },
  { op: 'A*Bt', transA: false, transB: true },
  { op: 'At*B', transA: true, transB: false },
  { op: 'At*Bt', transA: true, transB: true },
] as const;

/** Same inputs for every build and for the TypeScript baseline. */
export async function run(ctx: BenchContext): Promise<void> {
  const shapes = parseShapes(ctx);
  const summary: string[] = [];
  for (const build of ctx.builds) {
    const roof = await rooflineMeasurement(ctx, build);
    ctx.emit(roof);
    summary.push(`roofline ${build}: ${(roof.gflops as number).toFixed(1)} GFLOP/s; CPU time: ${(roof.cpuGflops as number).toFixed(1)} GFLOP/s`);
  }
  for (const [m, n, k] of shapes) {
    const flops = 2 * m * n * k;
    const name = m === n && n === k ? `${m}^3` : `${m}x${n}x${k}`;
    const a = randomFill(new Float32Array(m * k), 1, 0.5), b = randomFill(new Float32Array(k * n), 2, 0.5);
    // The baseline: TypeScript triple loop, A*B. It takes seconds at 1024, so
    // it gets fewer repeats there (reported in `repeats`).
    const c = new Float32Array(m * n);
    const slow = flops >= 2 * 1024 ** 3 ? 3 : flops >= 2 * 512 ** 3 ? 5 : 0;
    const tsRepeat = slow ? Math.min(ctx.repeat, slow) : ctx.repeat;
    const t = measure(() => gemmReference(false, false, m, n, k, 1, a, k, b, n, 0, c, n), {
      repeat: tsRepeat,
      warmup: slow ? 0 : 2,
      minBatchMs: slow ? 0 : 20,
    });
    const tsGflops = flops / (t.medianMs * 1e6);
    ctx.emit({
      what: 'gemm',
      shape: { m, n, k, op: 'A*B' },
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
      const pa = rt.mem.alloc(m * k * 4), pb = rt.mem.alloc(k * n * 4), pc = rt.mem.alloc(m * n * 4);
      rt.mem.f32(pa, m * k).set(a);
      rt.mem.f32(pb, k * n).set(b);
      for (const v of VARIANTS) {
        // Same buffers for every variant: A^T is read as [k,m], B^T as [n,k].
        const args = { transA: v.transA, transB: v.transB, m, n, k, a: pa, b: pb, c: pc };
        const t = measureWithCpu(() => gemm(rt, args), { repeat: ctx.repeat, warmup: 2 });
        const gflops = flops / (t.medianMs * 1e6);
        const cpuGflops = flops / (t.cpuMsPerCall * 1e6);
        if (v.op === 'A*B') plain.set(build, gflops);
        const row: Measurement = {
          what: 'gemm',
          shape: { m, n, k, op: v.op },
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
          /** From CPU time per call: steadier than the wall-clock median on a busy machine. */
          cpuGflops,
          cpuPercentOfPeak: (100 * cpuGflops) / (await measureRooflineCpu(ctx, build)),
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
        `${name} ${row.build} ${row.shape.op}: ${(row.gflops as number).toFixed(1)} GFLOP/s, ` +
          `${(row.percentOfPeak as number).toFixed(0)}% of peak, ${((row.vsPlain as number) * 100).toFixed(0)}% of A*B, ` +
          `${(row.speedupVsTypescript as number).toFixed(0)}x TypeScript; ` +
          `CPU time: ${(row.cpuGflops as number).toFixed(1)} GFLOP/s, ${(row.cpuPercentOfPeak as number).toFixed(0)}% of peak`,
      );
    }
    summary.push(`${name} typescript A*B: ${tsGflops.toFixed(2)} GFLOP/s (median of ${t.repeats})`);
  }
  if (!ctx.json) {
    ctx.flush();
    console.log('\n' + summary.join('\n'));
  }
}

/** --shapes MxNxK,... if given, else --sizes s,... as s x s x s. */
function parseShapes(ctx: BenchContext): [number, number, number][] {
  const list = flagString(ctx.args, 'shapes', '');
  if (list === '') return flagIntList(ctx.args, 'sizes', [256, 512, 1024]).map((s) => [s, s, s]);
  return list.split(',').map((item) => {
    const dims = item.split('x').map(Number);
    if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`--shapes: '${item}' is not MxNxK with positive integers (e.g. 1x256x64)`);
    }
    return dims as [number, number, number];
  });
}
