// Node as users run it (20 here; 22+ also passes): the packed package imported by name, the README snippets verbatim.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_URL, FIXTURE, REPORT_TAG, ROOT, checkEpilogue, importSpecifier, installPackedPackage, expectReportPasses, logReport, parseReport, readSnippet, run } from './harness.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);
/** Node 20 runs relaxed SIMD behind this flag; Node 22+ runs it by default and refuses the flag. */
const relaxedFlag = nodeMajor === 20 ? ['--experimental-wasm-relaxed-simd'] : [];
const readFixture = `(await import('node:fs')).readFileSync(${JSON.stringify(FIXTURE)})`;

describe('Node', () => {
  let appDir = '';
  let remove = () => {};
  beforeAll(() => {
    ({ appDir, remove } = installPackedPackage());
  });
  afterAll(() => remove());

  async function runEsm(label: string, flags: string[]) {
    const snippet = readSnippet('node.mjs');
    const file = join(appDir, `${label}.mjs`);
    writeFileSync(file, `${snippet}\n${checkEpilogue(importSpecifier(snippet), label, readFixture)}\n`);
    const r = await run(process.execPath, [...flags, file], { cwd: appDir });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const report = parseReport(r.stdout);
    logReport(label, report);
    expect(r.stdout).toContain(`rnn-wasm: ${report.build} build`);
    await expectReportPasses(report);
    return report;
  }

  it('ESM snippet on plain Node picks the build the runtime supports (SIMD on Node 20)', async () => {
    const report = await runEsm(`node${nodeMajor}`, []);
    expect(report.build).toBe(nodeMajor >= 22 ? 'relaxed' : 'simd');
  });

  it('ESM snippet with relaxed SIMD on (Node 20: --experimental-wasm-relaxed-simd) runs the relaxed build', async () => {
    const report = await runEsm(`node${nodeMajor}-relaxed`, relaxedFlag);
    expect(report.build).toBe('relaxed');
    expect(report.relaxedSimd).toBe(true);
  });

  it('CommonJS snippet: require("rnn-wasm") loads and runs the same check', async () => {
    const snippet = readSnippet('node.cjs');
    const file = join(appDir, 'app.cjs');
    const epilogue = [
      `require('rnn-wasm').createRuntime().then(async (rt) => {`,
      `  const { runCheck } = await import('${CHECK_URL}');`,
      `  const fixture = require('node:fs').readFileSync(${JSON.stringify(FIXTURE)});`,
      `  console.log('${REPORT_TAG}' + JSON.stringify(await runCheck({ lib: require('rnn-wasm'), rt, fixture, runtime: 'node-cjs' })));`,
      `});`,
    ].join('\n');
    writeFileSync(file, `${snippet}\n${epilogue}\n`);
    const r = await run(process.execPath, [file], { cwd: appDir });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    logReport('node-cjs', report);
    expect(r.stdout).toContain(`rnn-wasm: ${report.build} build`);
    await expectReportPasses(report);
  });

  it('the package exports the two wasm builds by name', async () => {
    const file = join(appDir, 'wasm-exports.mjs');
    writeFileSync(
      file,
      `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
for (const name of ['simd', 'relaxed']) {
  const path = require.resolve('rnn-wasm/wasm/' + name + '.wasm');
  console.log(name, WebAssembly.validate(readFileSync(path)) || name === 'relaxed', path.endsWith('dist/wasm/' + name + '.wasm'));
}
`,
    );
    const r = await run(process.execPath, [...relaxedFlag, file], { cwd: appDir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['simd true true', 'relaxed true true']);
  });

  it.each(['nodenext', 'bundler'])('TypeScript (moduleResolution %s) finds the types of rnn-wasm and rnn-wasm/inline', async (resolution) => {
    const dir = join(appDir, `ts-${resolution}`);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'app.ts'),
      `import { createRuntime, LSTM, type Runtime } from 'rnn-wasm';
import { createRuntime as createInline } from 'rnn-wasm/inline';
const rt: Runtime = await createRuntime({ relaxedSimd: false });
const build: 'simd' | 'relaxed' = (await createInline()).features.build;
const lstm = new LSTM(rt, { inputSize: 3, hiddenSize: 4 });
// @ts-expect-error: the options are typed
createRuntime({ relaxedSimd: 'yes' });
export { build, lstm };
`,
    );
    const module = resolution === 'bundler' ? 'esnext' : 'nodenext';
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module, moduleResolution: resolution, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['es2022', 'dom'] }, files: ['app.ts'] }),
    );
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const r = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('rnn-wasm/inline carries both builds inside the module (no file access needed)', async () => {
    const file = join(appDir, 'inline.mjs');
    writeFileSync(
      file,
      `import { createRuntime } from 'rnn-wasm/inline';
const relaxed = await createRuntime();
const simd = await createRuntime({ relaxedSimd: false });
console.log(relaxed.features.build, simd.features.build, typeof relaxed.exports.gemm_f32);
`,
    );
    // Node's permission model allows reading the script, the package.json files and the
    // bundle only, so the wasm must come from inside the module.
    const pkg = join(appDir, 'node_modules/rnn-wasm');
    const readable = [file, join(appDir, 'package.json'), join(pkg, 'package.json'), join(pkg, 'dist/rnn-wasm.inline.js'), join(pkg, 'dist/index.js')];
    const flags = [...relaxedFlag, ...(nodeMajor >= 23 ? ['--permission'] : ['--experimental-permission']), ...readable.map((p) => `--allow-fs-read=${p}`)];
    const r = await run(process.execPath, [...flags, file], { cwd: appDir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('relaxed simd function');
    // The same restriction stops the file-reading build, with an Error that says why.
    writeFileSync(file, `import { createRuntime } from 'rnn-wasm';\nawait createRuntime();\n`);
    const denied = await run(process.execPath, [...flags, file], { cwd: appDir });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Node's permission model denies it (add --allow-fs-read for it)");
  });
});
