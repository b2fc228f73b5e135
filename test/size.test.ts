// Size budget: both wasm builds plus the ESM bundle, gzipped, at most 60 KB together
// (60 000 bytes, the stricter reading). Figures are printed on every run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT } from './runtimes/harness.js';

const BUDGET_BYTES = 60_000;
const FILES = ['dist/wasm/simd.wasm', 'dist/wasm/relaxed.wasm', 'dist/index.js'];
/** Reported, not budgeted: the other bundles users may pick. */
const REPORTED = ['dist/index.cjs', 'dist/browser.js', 'dist/rnn-wasm.inline.js'];

function sizes(file: string): { raw: number; gzip: number } {
  const path = join(ROOT, file);
  if (!existsSync(path)) throw new Error(`${file} is missing: run \`npm run build\` before the size test`);
  const bytes = readFileSync(path);
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;

/** Over budget: which source modules weigh most in the bundle (each gzipped alone, unminified). */
async function largestModules(): Promise<string[]> {
  const entry = join(ROOT, 'build/ts/index.js');
  if (!existsSync(entry)) return [];
  const { rollup } = await import('rollup');
  const bundle = await rollup({ input: entry, external: [/^node:/], logLevel: 'silent' });
  const { output } = await bundle.generate({ format: 'es' });
  const modules = Object.entries(output[0].modules)
    .map(([id, m]) => ({ id: id.slice(join(ROOT, 'build/ts/').length), gzip: m.code ? gzipSync(m.code).length : 0 }))
    .sort((a, b) => b.gzip - a.gzip);
  return ['  largest modules of the library (gzipped one by one, before minification):', ...modules.slice(0, 12).map((m) => `    src/${m.id.replace(/\.js$/, '.ts').padEnd(30)} ${kb(m.gzip).padStart(9)}`)];
}

describe('size budget', () => {
  it(`wasm builds + ESM bundle gzipped <= ${kb(BUDGET_BYTES)}`, async () => {
    let total = 0;
    const lines: string[] = [];
    for (const file of FILES) {
      const s = sizes(file);
      total += s.gzip;
      lines.push(`  ${file.padEnd(26)} ${kb(s.raw).padStart(9)} raw ${kb(s.gzip).padStart(9)} gzip`);
    }
    lines.push(`  ${'total (budgeted)'.padEnd(26)} ${''.padStart(13)} ${kb(total).padStart(9)} gzip of ${kb(BUDGET_BYTES)}`);
    for (const file of REPORTED) {
      if (!existsSync(join(ROOT, file))) continue;
      const s = sizes(file);
      lines.push(`  ${file.padEnd(26)} ${kb(s.raw).padStart(9)} raw ${kb(s.gzip).padStart(9)} gzip (not budgeted)`);
    }
    if (total > BUDGET_BYTES) lines.push(...(await largestModules()));
    console.log(`[size]\n${lines.join('\n')}`);
    expect(total, `over budget by ${kb(total - BUDGET_BYTES)}; the figures above say where the bytes are`).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
