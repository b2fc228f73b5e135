// The register-only compute peak of each wasm build (assembly/roofline.ts):
// the denominator of every bench's percentOfPeak. `rnn-wasm bench roofline`.
import type { BuildName } from '../../runtime/load.js';
import { measure, type BenchContext, type Measurement, type Timing } from './harness.js';

/**
 * measure() plus the process's CPU time per call over the whole measurement
 * (warm-up included). On a shared machine wall-clock medians swing with other
 * jobs; CPU time only counts the time this process actually ran, so
 * `cpuGflops` stays comparable between runs (it still suffers from cache and
 * frequency effects of neighbours).
 */
export function measureWithCpu(fn: () => void, opts: Parameters<typeof measure>[1] = {}): Timing & { cpuMsPerCall: number } {
  let calls = 0;
  const counted = () => {
    calls++;
    fn();
  };
  const before = process.cpuUsage();
  const timing = measure(counted, opts);
  const used = process.cpuUsage(before);
  return { ...timing, cpuMsPerCall: (used.user + used.system) / 1000 / calls };
}

/** Loop iterations per call: 2^21 * 64 flops, about 3 ms. */
const ITERS = 1 << 21;
/** 8 independent multiply-adds x 4 lanes x 2 flops (multiply and add) per iteration. */
const FLOPS_PER_ITER = 64;

// Measured once per build per process: every bench divides by the same peak.
const cache = new Map<BuildName, Measurement>();

/** The roofline of `build` as a bench row (measured on first use, then cached). */
export async function rooflineMeasurement(ctx: BenchContext, build: BuildName): Promise<Measurement> {
  const hit = cache.get(build);
  if (hit) return hit;
  const rt = await ctx.runtime(build);
  const roofline = rt.exports.roofline_f32x4;
  let sink = 0;
  const t = measureWithCpu(() => {
    sink += roofline(ITERS);
  }, { repeat: Math.max(ctx.repeat, 31) });
  if (!Number.isFinite(sink)) throw new Error(`roofline_f32x4 returned ${sink}`);
  // A peak is an upper bound: the fastest call, not the median. On a shared host a median
  // taken in a slow phase put later rows at more than 100% of "peak".
  const gflops = (ITERS * FLOPS_PER_ITER) / (t.minMs * 1e6);
  const row: Measurement = {
    what: 'roofline',
    shape: { iters: ITERS, madds: 8 },
    build,
    medianMs: t.medianMs,
    minMs: t.minMs,
    maxMs: t.maxMs,
    gflops,
    percentOfPeak: 100,
    repeats: t.repeats,
    cpuGflops: (ITERS * FLOPS_PER_ITER) / (t.cpuMsPerCall * 1e6),
  };
  cache.set(build, row);
  return row;
}

/** Register-only peak GFLOP/s of `build` (f32x4 multiply-adds; fused in the relaxed build). */
export async function measureRoofline(ctx: BenchContext, build: BuildName): Promise<number> {
  return (await rooflineMeasurement(ctx, build)).gflops as number;
}

/** Roofline GFLOP/s of `build` from CPU time (see measureWithCpu). */
export async function measureRooflineCpu(ctx: BenchContext, build: BuildName): Promise<number> {
  return (await rooflineMeasurement(ctx, build)).cpuGflops as number;
}

/** `gflops` as a percentage of the same build's roofline. */
export async function percentOfPeak(ctx: BenchContext, build: BuildName, gflops: number): Promise<number> {
  return (100 * gflops) / (await measureRoofline(ctx, build));
}

export async function run(ctx: BenchContext): Promise<void> {
  for (const build of ctx.builds) ctx.emit(await rooflineMeasurement(ctx, build));
}

/**
 * Says when the host ran this core slower than its best during a run, or undefined when it
 * did not. `start` is the roofline timed when the run began (its fastest call is the peak the
 * % figures divide by), `end` the same calls timed again after the last row. On a shared host
 * another tenant can slow a core by a third for seconds at a time; a run caught in such a phase
 * says so, and by how much, so its figures are not read as the machine's limit.
 */
export function hostSpeedRemark(build: BuildName, start: RooflineTiming, end: RooflineTiming): string | undefined {
  const fastest = Math.min(start.minMs, end.minMs);
  const pct = (ms: number) => Math.round((100 * fastest) / ms);
  const remarks: string[] = [];
  if (Math.min(pct(start.medianMs), pct(end.medianMs)) < 100 * HOST_SLOW_SHARE) {
    remarks.push(
      `the register-only roofline (${build} build) ran its median call at ${pct(start.medianMs)}% of its fastest at the start of this run ` +
        `and ${pct(end.medianMs)}% at the end: this core was shared or slowed (another process or tenant, or frequency scaling), so the figures above read slower than ` +
        `this machine's best (repeat the run, or compare the medians of several)`,
    );
  }
  if (end.minMs < start.minMs * HOST_SLOW_SHARE) {
    remarks.push(
      `its fastest call at the end beat the one at the start by ${Math.round(100 * (start.minMs / end.minMs - 1))}%, so the ` +
        `"% peak" figures divide by a peak taken in a slow phase and read high`,
    );
  }
  return remarks.length > 0 ? remarks.join('; ') : undefined;
}

type RooflineTiming = Pick<Timing, 'medianMs' | 'minMs'>;

/** Share of its fastest speed below which the roofline's median call marks a slow host. */
const HOST_SLOW_SHARE = 0.9;

/** Times the roofline of every build this run measured again and notes a slow host (see hostSpeedRemark). */
export async function checkHostSpeed(ctx: BenchContext): Promise<void> {
  for (const [build, row] of cache) {
    const roofline = (await ctx.runtime(build)).exports.roofline_f32x4;
    const end = measure(() => void roofline(ITERS), { warmup: 0, repeat: 31, minBatchMs: 0 });
    const remark = hostSpeedRemark(build, row, end);
    if (remark) ctx.note(remark);
  }
}
