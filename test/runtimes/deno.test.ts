// Deno from the npm package `deno`: the README snippets importing by `npm:` specifier
// (resolved from a local node_modules, as after `npm install rnn-wasm`) and by local path.
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE, ROOT, checkEpilogue, importSpecifier, installPackedPackage, expectReportPasses, logReport, parseReport, readSnippet, run } from './harness.js';

const DENO = join(ROOT, 'node_modules/.bin/deno');
const readFixture = `await Deno.readFile(${JSON.stringify(FIXTURE)})`;

describe('Deno', () => {
  let appDir = '';
  let remove = () => {};
  afterAll(() => remove());
  beforeAll(() => {
    if (!existsSync(DENO)) throw new Error(`${DENO} is missing: the dev dependency \`deno\` did not install its binary (npm ci; npm rebuild deno)`);
    const installed = installPackedPackage();
    ({ appDir, remove } = installed);
    // npm: specifiers resolve from this node_modules, without a registry.
    writeFileSync(join(appDir, 'deno.json'), JSON.stringify({ nodeModulesDir: 'manual' }));
    // The local-path snippet imports ./vendor/rnn-wasm/dist/index.js.
    cpSync(installed.packageDir, join(appDir, 'vendor/rnn-wasm'), { recursive: true });
  });

  const env = { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };

  it.each(['deno-npm.js', 'deno-local.js'])('%s runs the relaxed build and passes the check', async (name) => {
    const snippet = readSnippet(name);
    const file = join(appDir, name);
    writeFileSync(file, `${snippet}\n${checkEpilogue(importSpecifier(snippet), name.replace('.js', ''), readFixture)}\n`);
    const r = await run(DENO, ['run', '--allow-read', '--no-prompt', file], { cwd: appDir, env });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    logReport(name, report);
    expect(r.stdout).toContain(`rnn-wasm: ${report.build} build`);
    // Deno's V8 ships relaxed SIMD.
    expect(report.build).toBe('relaxed');
    await expectReportPasses(report);
  });

  it('without --allow-read the error says which flag to add', async () => {
    const snippet = readSnippet('deno-npm.js');
    const file = join(appDir, 'no-permission.js');
    writeFileSync(file, snippet);
    const r = await run(DENO, ['run', '--no-prompt', file], { cwd: appDir, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('rnn-wasm could not read');
    expect(r.stderr).toContain('run deno with --allow-read');
    expect(r.stderr).toContain('relaxed.wasm');
  });
});
