// Shared measurement and reporting for every `rnn-wasm bench` subcommand:
// warm-up, then the median of repeats of the whole call a user would make.
import { createRuntime, type Runtime } from '../../runtime/runtime.js';
import { supportsRelaxedSimd, type BuildName } from '../../runtime/load.js';
import { flagBool, flagInt, flagString, type ParsedArgs } from '../args.js';

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  repeats: number;
}

/**
 * Runs fn at least `warmup` times and, unless warmup is 0, for at least warmupMs (V8 first runs
 * wasm from its baseline compiler and swaps in optimized code for hot functions within the
 * first ~100-300 ms: 3 calls of a 0.1 ms forward would leave the first timed batches on baseline
 * code), then `repeat` timed batches; each batch runs enough calls to last >= minBatchMs.
 */
export function measure(fn: () => void, opts: { warmup?: number; warmupMs?: number; repeat?: number; minBatchMs?: number } = {}): Timing {
  const warmup = opts.warmup ?? 3;
  const repeat = opts.repeat ?? 11;
  const minBatchMs = opts.minBatchMs ?? 20;
  const warmupEnd = performance.now() + (warmup > 0 ? opts.warmupMs ?? 300 : 0);
  for (let i = 0; i < warmup || performance.now() < warmupEnd; i++) fn();
  // Calibrate calls per batch so tiny shapes are not dominated by timer resolution.
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= minBatchMs || calls >= 1 << 20) break;
    calls *= dt < minBatchMs / 8 ? 8 : 2;
  }
  const samples: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    samples.push((performance.now() - t0) / calls);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[samples.length >> 1], minMs: samples[0], maxMs: samples[samples.length - 1], repeats: repeat };
}

export interface Measurement {
  what: string;
  shape: Record<string, number | string | boolean>;
  build: BuildName | 'typescript' | string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  gflops?: number;
  /** GFLOP/s as a percentage of the measured register-only roofline of the same build. */
  percentOfPeak?: number;
  arenaBytes?: number;
  /** Short human remark shown in the table (ratios, agreement, skipped peers). */
  note?: string;
  [extra: string]: unknown;
}

export interface BenchContext {
  args: ParsedArgs;
  json: boolean;
  repeat: number;
  builds: BuildName[];
  runtime(build: BuildName): Promise<Runtime>;
  emit(m: Measurement): void;
  /** Prints the human table (no-op with --json). */
  flush(): void;
  /** A remark for the reader (missing peer, loaded machine...): stderr, so --json output stays parseable. */
  note(text: string): void;
}

export interface BenchContextOptions {
  /** Where JSON lines and the table go (default: stdout). Tests capture it. */
  write?: (text: string) => void;
  /** Where notes go (default: stderr). */
  writeNote?: (text: string) => void;
  /**
   * Where the one-line status of the human table goes while rows are measured (each row is
   * printed as it is done, redrawn in place; a bench can run for a minute). Default: stderr
   * when it is a terminal, else nowhere (logs and pipes get only the table).
   */
  writeStatus?: (text: string) => void;
  /** Width of the status line's terminal (default: stderr's columns, else 80). */
  statusColumns?: number;
}

export function benchContext(args: ParsedArgs, options: BenchContextOptions = {}): BenchContext {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const writeNote = options.writeNote ?? ((text: string) => void process.stderr.write(text));
  const writeStatus = options.writeStatus ?? (process.stderr.isTTY ? (text: string) => void process.stderr.write(text) : undefined);
  const statusColumns = options.statusColumns ?? process.stderr.columns ?? 80;
  // \r and erase-line: the status line is redrawn in place and cleared before anything else prints.
  let statusShown = false;
  const clearStatus = () => {
    if (statusShown) writeStatus?.('\r\x1b[K');
    statusShown = false;
  };
  const json = flagBool(args, 'json');
  const repeat = flagInt(args, 'repeat', 11);
  const which = flagString(args, 'build', 'all');
  const relaxedOk = supportsRelaxedSimd();
  let builds: BuildName[];
  if (which === 'all') builds = relaxedOk ? ['simd', 'relaxed'] : ['simd'];
  else if (which === 'simd') builds = ['simd'];
  else if (which === 'relaxed') {
    if (!relaxedOk) throw new Error('--build relaxed: this Node rejects relaxed SIMD; run node with --experimental-wasm-relaxed-simd (Node 20) or use Node 22+');
    builds = ['relaxed'];
  } else throw new Error(`--build must be simd, relaxed or all, got '${which}'`);
  if (!relaxedOk && which === 'all' && !json) {
    console.error('note: relaxed SIMD is unavailable in this process (Node 20: add --experimental-wasm-relaxed-simd); measuring the SIMD build only');
  }
  const runtimes = new Map<BuildName, Runtime>();
  const rows: Measurement[] = [];
  const ctx: BenchContext = {
    args,
    json,
    repeat,
    builds,
    async runtime(build) {
      let rt = runtimes.get(build);
      if (!rt) {
        rt = await createRuntime({ relaxedSimd: build === 'relaxed' });
        runtimes.set(build, rt);
      }
      return rt;
    },
    emit(m) {
      if (json) {
        write(JSON.stringify(m) + '\n');
        return;
      }
      rows.push(m);
      if (writeStatus) {
        const text = `${rows.length} measured, last: ${m.what} ${m.build} ${fmt(m.medianMs)} ms, ${shapeText(m.shape)}`;
        // One terminal line at most: a wrapped line would not be redrawn by \r.
        writeStatus(`\r\x1b[K${text.slice(0, statusColumns - 1)}`);
        statusShown = true;
      }
    },
    flush() {
      clearStatus();
      if (json || rows.length === 0) return;
      write(formatTable(rows));
      rows.length = 0;
    },
    note(text) {
      clearStatus();
      writeNote(`note: ${text}\n`);
    },
  };
  return ctx;
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
  return String(v ?? '');
}

/** A measurement's shape as `key=value` pairs, e.g. `input=32 hidden=64`. */
function shapeText(shape: Measurement['shape']): string {
  return Object.entries(shape).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The human table: one row per measurement; a note column appears when some row has one. */
export function formatTable(rows: Measurement[]): string {
  const withNotes = rows.some((r) => r.note !== undefined);
  const header = ['what', 'shape', 'build', 'median ms', 'min..max ms', 'GFLOP/s', '% peak', 'arena KiB', ...(withNotes ? ['note'] : [])];
  const body = rows.map((r) => [
    r.what,
    shapeText(r.shape),
    String(r.build),
    fmt(r.medianMs),
    `${fmt(r.minMs)}..${fmt(r.maxMs)}`,
    r.gflops === undefined ? '' : fmt(r.gflops),
    r.percentOfPeak === undefined ? '' : `${r.percentOfPeak.toFixed(0)}%`,
    r.arenaBytes === undefined ? '' : (r.arenaBytes / 1024).toFixed(0),
    ...(withNotes ? [r.note === undefined ? '' : String(r.note)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n';
}

/** Seeded uniform values in [-scale, scale) (mulberry32): benches see the same data every run. */
export function randomFill(out: Float32Array, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
