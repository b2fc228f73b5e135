// Issue 18, finding 8: what the tarball holds and how consumers' TypeScript sees it.
// `npm pack --dry-run --json` lists the files; a throwaway consumer project (the package
// linked into its node_modules) is type-checked with the repository's tsc as CommonJS
// under module node16 and as ESM, importing the wasm file and misusing GRU.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files: string[] = [];
beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
});

describe('the tarball', () => {
  it('holds the MIT LICENSE, the bundles, their source maps, the types (ESM and CJS) and the wasm declaration', () => {
    for (const f of ['LICENSE', 'package.json', 'README.md', 'dist/index.js', 'dist/index.cjs', 'dist/cli.js', 'dist/cli.js.map', 'dist/index.js.map',
      'dist/types/index.d.ts', 'dist/types/index.d.cts', 'dist/types/layers/gru.d.cts', 'dist/wasm/simd.wasm', 'dist/wasm/wasm.d.ts']) {
      expect(files, f).toContain(f);
    }
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license).toBe('MIT');
  });

  it('ships no internal declarations (CLI, bench, float64 references, the corpus string)', () => {
    const internal = files.filter((f) => /^dist\/types\/(cli|reference)\/|^dist\/types\/data\/corpus\./.test(f));
    expect(internal).toEqual([]);
  });

  it('has keywords', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.keywords).toEqual(expect.arrayContaining(['lstm', 'gru', 'webassembly']));
  });
});

describe("a consumer's TypeScript", () => {
  function project(name: string, pkgType: 'commonjs' | 'module', module: string, source: string, ext: string): { status: number | null; output: string } {
    const root = join(dir, name);
    mkdirSync(join(root, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(root, 'node_modules', 'rnn-wasm'), 'dir');
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name, type: pkgType }));
    writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module, moduleResolution: module, target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'], types: [] },
      files: [`main.${ext}`],
    }));
    writeFileSync(join(root, `main.${ext}`), source);
    const r = spawnSync(process.execPath, [TSC, '-p', root], { encoding: 'utf8' });
    return { status: r.status, output: r.stdout + r.stderr };
  }

  it('CommonJS under module node16 type-checks require("rnn-wasm") (no TS1471)', () => {
    const r = project('cjs', 'commonjs', 'node16', `import rnn = require('rnn-wasm');
async function main(): Promise<number> {
  const rt: rnn.Runtime = await rnn.createRuntime();
  const lstm = new rnn.LSTM(rt, { inputSize: 3, hiddenSize: 4 });
  return lstm.forward({ shape: [1, 1, 3], data: new Float32Array(3) }).output.data.length;
}
export = main;
`, 'ts');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('ESM: the wasm file has a type; c0 on a GRU and dCN on an RNN do not type-check', () => {
    const r = project('esm', 'module', 'nodenext', `import simd from 'rnn-wasm/wasm/simd.wasm';
import { createRuntime, GRU, RNN } from 'rnn-wasm';
const module: WebAssembly.Module = simd;
const rt = await createRuntime({ module, maxMemory: 1 << 26 });
const x = { shape: [1, 1, 3], data: new Float32Array(3) };
new GRU(rt, { inputSize: 3, hiddenSize: 4 }).forward(x);
new GRU(rt, { inputSize: 3, hiddenSize: 4 }).forward(x, { c0: { shape: [1, 1, 4], data: new Float32Array(4) } });
new RNN(rt, { inputSize: 3, hiddenSize: 4 }).backward({ dCN: { shape: [1, 1, 4], data: new Float32Array(4) } });
`, 'mts');
    // Exactly the two misuses fail: the wasm import and the good calls check.
    const errors = r.output.split('\n').filter((l) => /error TS/.test(l));
    expect(errors, r.output).toHaveLength(2);
    expect(errors[0]).toMatch(/main\.mts\(7,.*'c0' does not exist in type 'StatelessForwardOptions'/);
    expect(errors[1]).toMatch(/main\.mts\(8,.*'dCN' does not exist in type 'StatelessBackwardArgs'/);
  });
});
