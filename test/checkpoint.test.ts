import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import ts from 'typescript';
import {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  type Checkpoint,
} from '../src/train/checkpoint.js';
import { writeSafetensors, SafetensorsError } from '../src/io/safetensors.js';
import { Rng } from '../src/train/rng.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(step: number, n = 37): Checkpoint {
  const rng = new Rng(step);
  const w = rng.fillNormal(new Float32Array(n));
  const m = rng.fillUniform(new Float32Array(n));
  for (let i = 0; i < 5; i++) rng.normal();
  return {
    tensors: {
      'model.weight': { shape: [n], data: w },
      'optim.m.model.weight': { shape: [n], data: m },
      'data.order': { shape: [3], data: new Int32Array([2, 0, 1]) },
    },
    state: { step, epoch: 1, lr: 0.01, rng: rng.state() as unknown as Checkpoint['state'][string], note: 'héllo', nested: { a: [1, null, true] } },
  };
}

function expectSameCheckpoint(got: Checkpoint, want: Checkpoint): void {
  expect(got.state).toEqual(want.state);
  expect(Object.keys(got.tensors)).toEqual(Object.keys(want.tensors));
  for (const [name, t] of Object.entries(want.tensors)) {
    expect(got.tensors[name].shape).toEqual(t.shape);
    expect(got.tensors[name].data).toEqual(t.data);
  }
}

const tempFiles = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('checkpoint', () => {
  it('round-trips tensors and state, and resumes the RNG sequence exactly', async () => {
    const path = join(dir, 'a.safetensors');
    const rng = new Rng(123);
    for (let i = 0; i < 10; i++) rng.normal();
    const ckpt = sample(5);
    ckpt.state.rng = rng.state() as unknown as Checkpoint['state'][string];
    await saveCheckpoint(path, ckpt);
    const back = await loadCheckpoint(path);
    expectSameCheckpoint(back, ckpt);
    const resumed = Rng.fromState(back.state.rng as never);
    expect([resumed.normal(), resumed.uniform(), resumed.int(97)]).toEqual([rng.normal(), rng.uniform(), rng.int(97)]);
    expect(tempFiles()).toEqual([]);
    // Overwrite with a newer one.
    await saveCheckpoint(path, sample(6));
    expectSameCheckpoint(await loadCheckpoint(path), sample(6));
  });

  it('rejects state that JSON cannot hold exactly, before touching the disk', async () => {
    const path = join(dir, 'bad.safetensors');
    const bad = (state: unknown) => ({ tensors: {}, state } as unknown as Checkpoint);
    await expect(saveCheckpoint(path, bad({ lr: NaN }))).rejects.toThrow(/checkpoint.state.lr is NaN/);
    await expect(saveCheckpoint(path, bad({ a: [1, Infinity] }))).rejects.toThrow(/checkpoint.state.a\[1\] is Infinity/);
    await expect(saveCheckpoint(path, bad({ f: () => 1 }))).rejects.toThrow(/checkpoint.state.f is function/);
    await expect(saveCheckpoint(path, bad({ t: new Float32Array(2) }))).rejects.toThrow(/checkpoint.state.t is a Float32Array/);
    await expect(saveCheckpoint(path, bad({ u: undefined }))).rejects.toThrow(/checkpoint.state.u is undefined/);
    await expect(saveCheckpoint(path, bad([1]))).rejects.toThrow(/plain object/);
    await expect(
      saveCheckpoint(path, { tensors: { w: { shape: [3], data: new Float32Array(2) } }, state: {} }),
    ).rejects.toThrow(/"w".*3 elements but data has 2/);
    expect(readdirSync(dir).filter((f) => f.startsWith('bad') || f.startsWith('.bad'))).toEqual([]);
  });

  it('refuses files that are not checkpoints, naming the path', async () => {
    const path = join(dir, 'plain.safetensors');
    writeFileSync(path, writeSafetensors({ w: { shape: [1], data: new Float32Array(1) } }, { format: 'other' }));
    await expect(loadCheckpoint(path)).rejects.toThrow(/plain.safetensors: not an rnn-wasm checkpoint/);
    writeFileSync(path, writeSafetensors({}, { format: 'rnn-wasm-checkpoint', version: '9', state: '{}' }));
    await expect(loadCheckpoint(path)).rejects.toThrow(/version "9" is not supported/);
    writeFileSync(path, writeSafetensors({}, { format: 'rnn-wasm-checkpoint', version: '1', state: '{oops' }));
    await expect(loadCheckpoint(path)).rejects.toThrow(SafetensorsError);
    const good = encodeCheckpoint(sample(1));
    writeFileSync(path, good.subarray(0, good.length - 3));
    await expect(loadCheckpoint(path)).rejects.toThrow(/plain.safetensors: .*truncated|plain.safetensors: .*trailing|plain.safetensors: .*cover only/);
    expectSameCheckpoint(decodeCheckpoint(good), sample(1));
  });

  it('a save that fails halfway leaves the previous checkpoint intact and no temporary file', async () => {
    const path = join(dir, 'fault.safetensors');
    const first = sample(1, 5000);
    await saveCheckpoint(path, first);
    const before = readFileSync(path);
    let chunks = 0;
    await expect(
      saveCheckpoint(path, sample(2, 5000), {
        chunkBytes: 1024,
        onProgress: (written, total) => {
          chunks++;
          if (written > total / 2) throw new Error('injected failure mid-write');
        },
      }),
    ).rejects.toThrow(/injected failure/);
    expect(chunks).toBeGreaterThan(5);
    expect(readFileSync(path).equals(before)).toBe(true);
    expectSameCheckpoint(await loadCheckpoint(path), first);
    expect(tempFiles()).toEqual([]);
  });

  it('a process killed (SIGKILL) during a save leaves the previous checkpoint loadable', async () => {
    // The child runs the real module, transpiled from src/ to plain JS (Node 20 runs no TypeScript).
    const build = join(dir, 'build');
    for (const file of ['train/checkpoint.ts', 'io/safetensors.ts']) {
      const source = readFileSync(join(ROOT, 'src', file), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      mkdirSync(join(build, dirname(file)), { recursive: true });
      writeFileSync(join(build, file.replace(/\.ts$/, '.js')), js);
    }
    writeFileSync(join(build, 'package.json'), '{"type":"module"}');
    const child = join(build, 'child.js');
    writeFileSync(
      child,
      `import { saveCheckpoint } from './train/checkpoint.js';
const [path, mode] = process.argv.slice(2);
const n = 1 << 20; // 4 MiB per tensor
for (let step = 1; ; step++) {
  const w = new Float32Array(n).fill(step);
  const ids = new Int32Array(7).fill(step);
  await saveCheckpoint(path, { tensors: { 'model.w': { shape: [n], data: w }, ids: { shape: [7], data: ids } }, state: { step } }, {
    chunkBytes: 65536,
    onProgress: async (written, total) => {
      if (mode === 'pause' && step === 2 && written > total / 2) {
        process.stdout.write('MIDWRITE\\n');
        await new Promise((r) => setTimeout(r, 60000));
      }
    },
  });
  process.stdout.write('SAVED ' + step + '\\n');
  if (mode === 'pause' && step > 2) break;
}
`,
    );

    /** Runs the child and SIGKILLs it `delayMs` after its output first satisfies `trigger`. */
    const run = (path: string, mode: string, trigger: (out: string) => boolean, delayMs = 0) =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [child, path, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        let armed = false;
        p.stdout.on('data', (d) => {
          out += d;
          if (!armed && trigger(out)) {
            armed = true;
            setTimeout(() => p.kill('SIGKILL'), delayMs);
          }
        });
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
      });

    const check = async (path: string) => {
      const ck = await loadCheckpoint(path);
      const step = ck.state.step as number;
      expect(step).toBeGreaterThanOrEqual(1);
      const w = ck.tensors['model.w'].data;
      // Every element carries the same step as the state: nothing from two different saves mixed.
      expect(w[0]).toBe(step);
      expect(w[w.length - 1]).toBe(step);
      expect(w.every((v) => v === step)).toBe(true);
      expect(Array.from(ck.tensors.ids.data)).toEqual(new Array(7).fill(step));
      return step;
    };

    // 1. Deterministic: killed while step 2 is half written -> step 1 intact, temp file left behind.
    const pausePath = join(dir, 'killed.safetensors');
    const out = await run(pausePath, 'pause', (o) => o.includes('MIDWRITE'));
    expect(out).toContain('SAVED 1');
    expect(out).not.toContain('SAVED 2');
    expect(tempFiles().some((f) => f.startsWith('.killed.safetensors.'))).toBe(true);
    expect(await check(pausePath)).toBe(1);
    // The next load (or save) removes the dead process's temporary file (issue 18, finding 9).
    expect(tempFiles().filter((f) => f.startsWith('.killed.safetensors.'))).toEqual([]);
    const live = join(dir, `.killed.safetensors.${process.pid}.inprogress.tmp`);
    writeFileSync(live, 'a save of this live process in progress');
    await saveCheckpoint(pausePath, { tensors: {}, state: { step: 1 } });
    expect(tempFiles()).toContain(`.killed.safetensors.${process.pid}.inprogress.tmp`);
    rmSync(live);

    // 2. Kills at arbitrary moments of a save loop: whatever is on disk is one complete checkpoint.
    const loopPath = join(dir, 'loop.safetensors');
    let checked = 0;
    for (const delay of [0, 5, 17, 40, 90]) {
      const o = await run(loopPath, 'loop', (out) => out.includes('SAVED 1'), delay);
      const saved = [...o.matchAll(/SAVED (\d+)/g)].map((m) => Number(m[1]));
      const step = await check(loopPath);
      // The file holds the last reported save or the one after it (renamed, not yet reported).
      expect(step === saved[saved.length - 1] || step === saved[saved.length - 1] + 1, `saved ${saved}, on disk ${step}`).toBe(true);
      checked++;
    }
    expect(checked).toBe(5);
  });
});
