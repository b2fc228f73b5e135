// Size, measured as a user pays for it (DESIGN.md, "Size"): what a page downloads is one wasm
// build plus the JavaScript a bundler keeps for what the page imports. Two tiny pages are
// bundled with rollup from the package's browser entry (package.json exports '.' → browser),
// minified with the same minifier as the build, and gzipped; the larger wasm build is added
// (a page fetches one of the two). Figures are printed on every run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT } from './runtimes/harness.js';

interface Page {
  name: string;
  source: string;
  budgetBytes: number;
  /** Class names that must not reach this page's bundle (tree-shaking works). */
  absent: string[];
}

const PAGES: Page[] = [
  {
    name: 'LSTM only',
    source: [
      "import { createRuntime, LSTM } from 'rnn-wasm';",
      'const rt = await createRuntime();',
      'const lstm = new LSTM(rt, { inputSize: 4, hiddenSize: 8 });',
      'console.log(lstm.forward({ shape: [3, 1, 4], data: new Float32Array(12) }).output);',
    ].join('\n'),
    budgetBytes: 45_000,
    absent: ['SequenceClassifier', 'SequenceTagger', 'Trainer', 'Adam'],
  },
  {
    name: 'everything',
    source: "import * as rnn from 'rnn-wasm';\nglobalThis.rnn = rnn;",
    budgetBytes: 110_000,
    absent: [],
  },
];

const WASM_BUILDS = ['dist/wasm/simd.wasm', 'dist/wasm/relaxed.wasm'];

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
const gzip = (bytes: Uint8Array | string) => gzipSync(bytes, { level: 9 }).length;

function readBuilt(file: string): Buffer {
  const path = join(ROOT, file);
  if (!existsSync(path)) throw new Error(`${file} is missing: run \`npm run build\` before the size test`);
  return readFileSync(path);
}

/** The file a bundler targeting browsers resolves `rnn-wasm` to. */
function browserEntry(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const entry = pkg.exports?.['.']?.browser;
  if (typeof entry !== 'string') throw new Error("package.json exports['.'].browser is missing");
  return join(ROOT, entry);
}

async function bundlePage(source: string): Promise<string> {
  const { rollup } = await import('rollup');
  const { minify } = await import('oxc-minify');
  const entryId = '\0page.js';
  const library = browserEntry();
  readBuilt(library.slice(ROOT.length + 1));
  const bundle = await rollup({
    input: entryId,
    logLevel: 'silent',
    plugins: [
      {
        name: 'page',
        resolveId: (id) => (id === entryId ? id : id === 'rnn-wasm' ? library : null),
        load: (id) => (id === entryId ? source : null),
      },
    ],
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  const result = await minify('page.js', output[0].code, {});
  if (result.errors.length > 0) throw new Error(`minifying the page: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.code;
}

describe('size budget: what a page downloads', () => {
  const wasm = WASM_BUILDS.map((file) => ({ file, gzip: gzip(readBuilt(file)) }));
  const largestWasm = Math.max(...wasm.map((w) => w.gzip));

  it('package.json declares the package free of side effects, so bundlers can drop unused models', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.sideEffects).toBe(false);
  });

  for (const page of PAGES) {
    it(`a page importing ${page.name}: one wasm build + its JS, gzipped <= ${kb(page.budgetBytes)}`, async () => {
      const js = await bundlePage(page.source);
      const total = gzip(js) + largestWasm;
      const lines = [
        ...wasm.map((w) => `  ${w.file.padEnd(24)} ${kb(w.gzip).padStart(9)} gzip`),
        `  ${`JS kept for '${page.name}'`.padEnd(24)} ${kb(gzip(js)).padStart(9)} gzip (${kb(js.length)} minified)`,
        `  ${'total'.padEnd(24)} ${kb(total).padStart(9)} gzip of ${kb(page.budgetBytes)}`,
      ];
      console.log(`[size: ${page.name}]\n${lines.join('\n')}`);
      for (const name of page.absent) expect(js.includes(`class ${name}`), `${name} should be tree-shaken out of this page`).toBe(false);
      expect(total, `over budget by ${kb(total - page.budgetBytes)}`).toBeLessThanOrEqual(page.budgetBytes);
    });
  }
});
