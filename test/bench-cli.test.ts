// Every `rnn-wasm bench` subcommand runs on a tiny shape and emits well-formed
// JSON (one Measurement per line). No speed figure is asserted here: speed is
// measured by the CLI, not tested. The peers (TF.js, devDependencies) must
// agree with our layer on the same weights before the CLI prints a ratio, and
// that agreement is checked.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.js';
import { benchContext, formatTable, type Measurement } from '../src/cli/bench/harness.js';
import { hostSpeedRemark } from '../src/cli/bench/roofline.js';

/** The registered subcommands, read from main.ts's BENCHES map so a new one cannot be left out. */
const mainSource = readFileSync(new URL('../src/cli/main.ts', import.meta.url), 'utf8');
const REGISTERED = [...mainSource.matchAll(/^\s+([\w-]+): \(\) => import\('\.\/bench\/([\w-]+)\.js'\),$/gm)].map((m) => ({
  name: m[1],
  file: m[2],
}));

const TINY_RECURRENT = ['--input', '3', '--hidden', '5', '--seq', '4', '--batch', '2'];
/** Tiny arguments per subcommand; a subcommand added to BENCHES must get an entry here. */
const TINY: Record<string, string[]> = {
  gemm: ['--sizes', '7'],
  roofline: [],
  lstm: TINY_RECURRENT,
  gru: TINY_RECURRENT,
  rnn: TINY_RECURRENT,
  activations: ['--sizes', '7'],
  coldstart: ['--runs', '1'],
  memory: [...TINY_RECURRENT, '--steps', '2'],
  compare: ['--compare', 'all', ...TINY_RECURRENT, '--no-memory', '--no-coldstart'],
  mdlstm: ['--rows', '3', '--cols', '2', '--input', '3', '--hidden', '5', '--batch', '2'],
  attention: ['--tx', '3', '--batch', '2', '--size', '5'],
};

const distBuilt = existsSync(new URL('../dist/index.js', import.meta.url));

type BenchOutput = { rows: Measurement[]; notes: string; text: string };
const runs = new Map<string, Promise<BenchOutput>>();

/** Runs a subcommand once per suite (the structural and the peer checks share the run). */
function runBench(name: string, file: string, extra: string[]): Promise<BenchOutput> {
  const key = [name, file, ...extra].join(' ');
  if (!runs.has(key)) runs.set(key, runBenchNow(name, file, extra));
  return runs.get(key)!;
}

async function runBenchNow(name: string, file: string, extra: string[]): Promise<BenchOutput> {
  let text = '';
  let notes = '';
  const ctx = benchContext(parseArgs(['bench', name, ...extra, '--json', '--repeat', '1']), {
    write: (t) => void (text += t),
    writeNote: (t) => void (notes += t),
  });
  const mod = (await import(`../src/cli/bench/${file}.ts`)) as { run(c: typeof ctx): Promise<void> };
  await mod.run(ctx);
  ctx.flush();
  const lines = text.split('\n').filter((l) => l.length > 0);
  const rows = lines.map((l) => JSON.parse(l) as Measurement);
  return { rows, notes, text };
}

function checkMeasurement(m: Measurement): void {
  const where = JSON.stringify(m);
  expect(typeof m.what, where).toBe('string');
  expect(m.what.length, where).toBeGreaterThan(0);
  expect(typeof m.shape, where).toBe('object');
  expect(typeof m.build, where).toBe('string');
  for (const k of ['medianMs', 'minMs', 'maxMs'] as const) {
    expect(Number.isFinite(m[k]) && m[k] >= 0, `${k} in ${where}`).toBe(true);
  }
  expect(m.minMs <= m.medianMs && m.medianMs <= m.maxMs, `min <= median <= max in ${where}`).toBe(true);
  if (m.gflops !== undefined) expect(Number.isFinite(m.gflops) && m.gflops > 0, `gflops in ${where}`).toBe(true);
  if (m.percentOfPeak !== undefined) expect(Number.isFinite(m.percentOfPeak) && m.percentOfPeak > 0, `percentOfPeak in ${where}`).toBe(true);
  if (m.arenaBytes !== undefined) expect(Number.isInteger(m.arenaBytes) && m.arenaBytes >= 0, `arenaBytes in ${where}`).toBe(true);
}

describe('rnn-wasm bench subcommands (tiny shapes, --json)', () => {
  it('finds the registered subcommands, each with a tiny shape here', () => {
    const names = REGISTERED.map((r) => r.name);
    for (const expected of ['gemm', 'roofline', 'activations', 'coldstart', 'memory', 'compare']) expect(names).toContain(expected);
    for (const name of names) expect(TINY[name], `add tiny arguments for 'bench ${name}' to TINY`).toBeDefined();
  });

  it('needs the built package for the child-process benches (npm run build)', () => {
    expect(distBuilt, 'dist/index.js is missing: run npm run build before this suite').toBe(true);
  });

  for (const { name, file } of REGISTERED) {
    it(`bench ${name} emits one well-formed Measurement per line`, async () => {
      const { rows, text } = await runBench(name, file, TINY[name] ?? []);
      expect(rows.length, `no output from bench ${name}`).toBeGreaterThan(0);
      expect(text.endsWith('\n')).toBe(true);
      for (const m of rows) checkMeasurement(m);
      // The recurrent benches say how far each figure is from the build's roofline (issue 3).
      if (['lstm', 'gru', 'rnn'].includes(name)) for (const m of rows) expect(m.percentOfPeak, JSON.stringify(m)).toBeGreaterThan(0);
    });
  }
});

describe('bench --compare: peers on the same weights', () => {
  it('TF.js cpu and wasm agree with our LSTM, GRU (reset-before) and RNN (outputs and weight gradients), and ratios are given for both builds', async () => {
    const { rows, notes } = await runBench('compare', 'compare', TINY.compare);
    expect(rows.some((r) => r.what === 'roofline')).toBe(true);
    for (const cell of ['lstm', 'gru', 'rnn']) {
      for (const phase of ['forward', 'train']) {
        const ours = rows.filter((r) => r.what === `${cell} ${phase}` && r.library === 'rnn-wasm');
        expect(ours.length, `${cell} ${phase} ours`).toBeGreaterThan(0);
        for (const o of ours) expect(o.percentOfPeak).toBeGreaterThan(0);
        for (const peer of ['tfjs-cpu', 'tfjs-wasm']) {
          const row = rows.find((r) => r.what === `${cell} ${phase}` && r.build === peer);
          expect(row, `${peer} ${cell} ${phase} (notes: ${notes})`).toBeDefined();
          expect(row!.maxAbsDiff as number, `${peer} ${cell} output vs ours`).toBeLessThan(1e-5);
          expect(row!.gradMaxRelDiff as number, `${peer} ${cell} gradients vs ours`).toBeLessThan(1e-4);
          const ratios = row!.oursFasterBy as Record<string, number>;
          expect(Object.keys(ratios).sort()).toEqual(ours.map((o) => o.build).sort());
          for (const r of Object.values(ratios)) expect(Number.isFinite(r) && r > 0).toBe(true);
        }
      }
    }
    // The issue names ONNX Runtime Web and brain.js: when missing, the CLI says how to install them.
    for (const missing of ['onnxruntime-web', 'brain.js']) expect(notes).toContain(missing);
  });

  it('the human table prints every row with its note', () => {
    const text = formatTable([
      { what: 'lstm forward', shape: { input: 3 }, build: 'tfjs-cpu', medianMs: 2, minMs: 1, maxMs: 3, note: 'ours 9.0x faster' },
      { what: 'roofline', shape: {}, build: 'simd', medianMs: 1, minMs: 1, maxMs: 1, gflops: 40, percentOfPeak: 100 },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^what\s+shape\s+build\s+median ms.*note$/);
    expect(lines[2]).toContain('ours 9.0x faster');
    expect(lines[3]).toContain('100%');
  });
});

describe('bench status line (terminals only)', () => {
  it('redraws one line per measured row and clears it before the table and notes', () => {
    const out: string[] = [];
    const log: string[] = [];
    const ctx = benchContext(parseArgs(['bench', 'lstm', '--build', 'simd']), {
      write: (t) => { out.push(t); log.push(`table:${t.split('\n')[0]}`); },
      writeNote: (t) => log.push(`note:${t}`),
      writeStatus: (t) => log.push(`status:${JSON.stringify(t)}`),
      statusColumns: 100,
    });
    const row = (what: string, medianMs: number): Measurement => ({ what, shape: { name: 'small' }, build: 'simd', medianMs, minMs: medianMs, maxMs: medianMs });
    ctx.emit(row('lstm forward', 0.0791));
    ctx.emit(row('lstm train step', 0.221));
    ctx.note('host was slow');
    ctx.flush();
    expect(log[0]).toBe('status:"\\r\\u001b[K1 measured, last: lstm forward simd 0.0791 ms, name=small"');
    expect(log[1]).toContain('2 measured, last: lstm train step simd 0.221 ms, name=small');
    expect(log[2]).toBe('status:"\\r\\u001b[K"');
    expect(log[3]).toBe('note:note: host was slow\n');
    expect(log[4]).toMatch(/^table:what\s+shape/);
    expect(log).toHaveLength(5); // nothing left to clear: the note already did
    expect(out.join('')).toContain('lstm train step');
  });

  it('stays off with --json (each row is already a line of output)', () => {
    const status: string[] = [];
    const ctx = benchContext(parseArgs(['bench', 'lstm', '--json', '--build', 'simd']), { write: () => {}, writeStatus: (t) => status.push(t) });
    ctx.emit({ what: 'x', shape: {}, build: 'simd', medianMs: 1, minMs: 1, maxMs: 1 });
    ctx.flush();
    expect(status).toEqual([]);
  });
});

describe('host speed remark after a bench run', () => {
  it('is silent when the roofline ran its median calls within 10% of its fastest, start and end', () => {
    expect(hostSpeedRemark('simd', { medianMs: 2.7, minMs: 2.6 }, { medianMs: 2.85, minMs: 2.62 })).toBeUndefined();
  });

  it('names the build and how slow the host ran when a median call took over 1/0.9 of the fastest', () => {
    const remark = hostSpeedRemark('simd', { medianMs: 2.6, minMs: 2.6 }, { medianMs: 4.0, minMs: 2.6 });
    expect(remark).toMatch(/simd build\) ran its median call at 100% of its fastest at the start of this run and 65% at the end/);
    expect(remark).not.toMatch(/% peak/);
  });

  it('warns that "% peak" reads high when the peak itself was taken in a slow phase', () => {
    const remark = hostSpeedRemark('relaxed', { medianMs: 4.0, minMs: 3.9 }, { medianMs: 2.7, minMs: 2.6 });
    expect(remark).toMatch(/65% of its fastest at the start/);
    expect(remark).toMatch(/beat the one at the start by 50%.*"% peak" figures divide by a peak taken in a slow phase/);
  });
});

describe('bench memory: one child per library', () => {
  it('reports peak RSS above the loaded-library baseline for ours and each peer', async () => {
    const { rows } = await runBench('memory', 'memory', TINY.memory);
    const libs = rows.map((r) => r.build);
    expect(libs).toEqual(expect.arrayContaining(['simd', 'tfjs-cpu', 'tfjs-wasm']));
    for (const r of rows) {
      expect(r.peakRssBytes as number).toBeGreaterThanOrEqual(r.baselineRssBytes as number);
      expect(r.baselineRssBytes as number).toBeGreaterThan(0);
    }
    for (const r of rows.filter((x) => x.library && String(x.library).startsWith('rnn-wasm'))) {
      expect(r.wasmMemoryBytes as number).toBeGreaterThan(0);
      expect(r.arenaBytes as number).toBeGreaterThan(0);
    }
  });
});
