// Shared by the runtime tests: the built package as a consumer would install it,
// the README snippets (the one source of the code users copy), the fixture and
// the report the check prints.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURE = join(ROOT, 'test/fixtures/rnn_002_lstm_L3_uni_bias_tf.safetensors');
export const CHECK_SCRIPT = join(ROOT, 'test/runtimes/check.js');
export const CHECK_URL = pathToFileURL(CHECK_SCRIPT).href;
export const REPORT_TAG = 'RNN_WASM_CHECK ';

const DIST_FILES = ['dist/index.js', 'dist/index.cjs', 'dist/browser.js', 'dist/rnn-wasm.inline.js', 'dist/wasm/simd.wasm', 'dist/wasm/relaxed.wasm'];

/** Throws a clear message when the package has not been built. */
export function requireDist(): void {
  const missing = DIST_FILES.filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length > 0) {
    throw new Error(`the runtime tests load the built package, but ${missing.join(', ')} is missing: run \`npm run build\` first`);
  }
}

/**
 * `npm pack`s the repository and unpacks it into <dir>/node_modules/rnn-wasm of a
 * fresh directory, so the tests see exactly the published files ("files", "exports").
 */
export function installPackedPackage(): { appDir: string; packageDir: string; remove: () => void } {
  requireDist();
  const appDir = mkdtempSync(join(tmpdir(), 'rnn-wasm-app-'));
  const packDir = join(appDir, '.pack');
  mkdirSync(packDir);
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tarball = join(packDir, JSON.parse(out)[0].filename);
  const packageDir = join(appDir, 'node_modules/rnn-wasm');
  mkdirSync(packageDir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { 'rnn-wasm': '*' } }));
  return { appDir, packageDir, remove: () => rmSync(appDir, { recursive: true, force: true }) };
}

/** A snippet from the README's runtimes section: the fenced block after `<!-- snippet: name -->`. */
export function readSnippet(name: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- runtimes:start -->');
  const end = readme.indexOf('<!-- runtimes:end -->');
  if (start < 0 || end < start) throw new Error('README.md lacks the <!-- runtimes:start --> ... <!-- runtimes:end --> section');
  const section = readme.slice(start, end);
  const marker = `<!-- snippet: ${name} -->`;
  const at = section.indexOf(marker);
  if (at < 0) throw new Error(`README.md runtimes section has no ${marker}`);
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(section.slice(at + marker.length));
  if (!match) throw new Error(`README.md: no fenced code block after ${marker}`);
  return match[1];
}

/** The module specifier the snippet imports the package by (its first `from '...'`). */
export function importSpecifier(snippet: string): string {
  const match = /from '([^']+)'/.exec(snippet);
  if (!match) throw new Error(`snippet has no import: ${snippet}`);
  return match[1];
}

/** Code appended to an ESM snippet: runs the check on the snippet's `rt` and prints the report. */
export function checkEpilogue(specifier: string, runtime: string, readFixture: string): string {
  return [
    `import * as __lib from '${specifier}';`,
    `import { runCheck as __runCheck } from '${CHECK_URL}';`,
    `const __report = await __runCheck({ lib: __lib, rt, fixture: ${readFixture}, runtime: '${runtime}' });`,
    `console.log('${REPORT_TAG}' + JSON.stringify(__report));`,
  ].join('\n');
}

export interface Report {
  runtime: string;
  build: 'simd' | 'relaxed';
  relaxedSimd: boolean;
  model: string;
  forward: Record<string, number>;
  backward?: Record<string, number>;
  training: { losses: number[] };
  ok: boolean;
  failures: string[];
}

/**
 * Asserts what every runtime test asserts of its report: no failures, and the same
 * training losses (1e-4 relative) as the check run in this process from src/ with the
 * same build, so Deno, workerd and Chromium compute what Node computes.
 */
export async function expectReportPasses(report: Report): Promise<void> {
  const { expect } = await import('vitest');
  expect(report.failures).toEqual([]);
  expect(report.ok).toBe(true);
  const lib = await import('../../src/index.js');
  const { runCheck } = (await import(CHECK_URL)) as { runCheck: (args: object) => Promise<Report> };
  const rt = await lib.createRuntime({ relaxedSimd: report.build === 'relaxed' });
  const local = await runCheck({ lib, rt, fixture: readFileSync(FIXTURE), runtime: 'vitest' });
  expect(report.model, 'dist/ and src/ differ (LSTM exported in one only): run `npm run build`').toBe(local.model);
  expect(report.training.losses.length).toBe(local.training.losses.length);
  report.training.losses.forEach((loss, i) => {
    const ref = local.training.losses[i];
    expect(Math.abs(loss - ref) / Math.max(1, Math.abs(ref)), `training loss at step ${i}: ${loss} here, ${ref} in-process`).toBeLessThanOrEqual(1e-4);
  });
}

export function parseReport(stdout: string): Report {
  const line = stdout.split('\n').find((l) => l.startsWith(REPORT_TAG));
  if (!line) throw new Error(`no report in the output:\n${stdout}`);
  return JSON.parse(line.slice(REPORT_TAG.length)) as Report;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (async, so vitest's timeout still works). */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Prints what ran where, so the test log shows the build each runtime picked. */
export function logReport(label: string, report: Report): void {
  const worst = (errors: Record<string, number> | undefined) => (errors ? Math.max(...Object.values(errors)).toExponential(1) : 'n/a');
  const losses = report.training.losses;
  console.log(
    `[runtimes] ${label}: ${report.build} build, ${report.model}; max rel err forward ${worst(report.forward)}, ` +
      `backward ${worst(report.backward)}; training loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)} in ${losses.length} steps`,
  );
}
