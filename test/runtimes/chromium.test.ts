// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) loading the
// packed package from a local static server: the README's browser snippets verbatim, each
// followed by the shared check, and the examples/web page training until its loss falls.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_SCRIPT, FIXTURE, ROOT, importSpecifier, installPackedPackage, expectReportPasses, logReport, readSnippet, type Report } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `\n!!!!!!!!\n[runtimes] SKIPPING the Chromium tests: ${CHROMIUM} not found. Install it (apt-get install -y chromium) ` +
      'or set CHROMIUM_PATH. CI (.ci/run) installs it, so this skip must not happen there.\n!!!!!!!!\n',
  );
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

/** Under this prefix the server answers .wasm as application/octet-stream, as misconfigured servers do. */
const PLAIN_TYPE = '/plain-type';

/** A static file server for `root` on 127.0.0.1; records the paths requested. */
function serve(root: string, requested: string[]): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requested.push(path);
    const plainType = path.startsWith(PLAIN_TYPE + '/');
    if (plainType) path = path.slice(PLAIN_TYPE.length);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    let file = normalize(join(root, path));
    if (!file.startsWith(root + sep) && file !== root) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const type = plainType && extname(file) === '.wasm' ? 'application/octet-stream' : TYPES[extname(file)];
    res.writeHead(200, { 'content-type': type ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

/** The snippet page with the shared check spliced into its module script, on the snippet's `rt`. */
function snippetPage(name: string, runtime: string): string {
  const snippet = readSnippet(name);
  const specifier = importSpecifier(snippet);
  const epilogue = `
  import * as __lib from '${specifier}';
  import { runCheck as __runCheck } from './check.js';
  const __fixture = new Uint8Array(await (await fetch('./fixture.safetensors')).arrayBuffer());
  window.__report = await __runCheck({ lib: __lib, rt, fixture: __fixture, runtime: '${runtime}' });
`;
  const at = snippet.lastIndexOf('</script>');
  const body = snippet.slice(0, at) + epilogue + snippet.slice(at);
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${name}</title></head>\n<body>\n${body}</body></html>\n`;
}

describe.skipIf(!haveChromium)('Chromium', () => {
  let context: BrowserContext;
  let server: Server;
  let origin = '';
  let appDir = '';
  let userDataDir = '';
  let remove = () => {};
  const requested: string[] = [];

  beforeAll(async () => {
    const installed = installPackedPackage();
    appDir = installed.appDir;
    remove = installed.remove;
    const packageDir = installed.packageDir;
    // The site: the README pages at the root (they import ./node_modules/rnn-wasm/...),
    // the example at /examples/web/ importing ../../dist/browser.js as from a repository checkout.
    cpSync(join(packageDir, 'dist'), join(appDir, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'examples/web'), join(appDir, 'examples/web'), { recursive: true });
    cpSync(CHECK_SCRIPT, join(appDir, 'check.js'));
    cpSync(FIXTURE, join(appDir, 'fixture.safetensors'));
    writeFileSync(join(appDir, 'importmap.html'), snippetPage('browser-importmap.html', 'chromium-importmap'));
    writeFileSync(join(appDir, 'inline.html'), snippetPage('browser-inline.html', 'chromium-inline'));
    ({ server, origin } = await serve(appDir, requested));
    userDataDir = mkdtempSync(join(tmpdir(), 'rnn-wasm-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    remove();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  interface WasmCalls { compileStreaming: number; compile: number }

  async function openAndCheck(path: string, label: string): Promise<{ report: Report; text: string; calls: WasmCalls }> {
    const page = await context.newPage();
    // Count how the page compiles wasm (streaming or from a buffer).
    await page.addInitScript(() => {
      const calls = { compileStreaming: 0, compile: 0 };
      (window as unknown as { __wasmCalls: typeof calls }).__wasmCalls = calls;
      const { compileStreaming, compile } = WebAssembly;
      WebAssembly.compileStreaming = (source) => (calls.compileStreaming++, compileStreaming(source));
      WebAssembly.compile = (bytes) => (calls.compile++, compile(bytes));
    });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    await page.goto(`${origin}/${path}`);
    await page
      .waitForFunction(() => (window as unknown as { __report?: unknown }).__report !== undefined, undefined, { timeout: 60_000 })
      .catch((err) => {
        throw new Error(`${path}: no report (${err.message}); page errors: ${errors.join(' | ') || 'none'}`);
      });
    const report = (await page.evaluate(() => (window as unknown as { __report: unknown }).__report)) as Report;
    const text = await page.evaluate(() => document.body.textContent ?? '');
    const calls = (await page.evaluate(() => (window as unknown as { __wasmCalls: unknown }).__wasmCalls)) as WasmCalls;
    logReport(label, report);
    expect(errors).toEqual([]);
    await page.close();
    return { report, text, calls };
  }

  it('import map + dist/browser.js: fetches relaxed.wasm and passes the check', async () => {
    const { report, text, calls } = await openAndCheck('importmap.html', 'chromium (import map)');
    expect(report.build).toBe('relaxed');
    expect(text).toContain('rnn-wasm: relaxed build');
    await expectReportPasses(report);
    expect(requested).toContain('/node_modules/rnn-wasm/dist/wasm/relaxed.wasm');
    expect(calls).toEqual({ compileStreaming: 1, compile: 0 });
  });

  it('a server that sends .wasm without Content-Type application/wasm still works (compiled from a buffer)', async () => {
    const { report, calls } = await openAndCheck(`${PLAIN_TYPE.slice(1)}/importmap.html`, 'chromium (import map, wrong wasm type)');
    await expectReportPasses(report);
    expect(requested).toContain(`${PLAIN_TYPE}/node_modules/rnn-wasm/dist/wasm/relaxed.wasm`);
    expect(calls).toEqual({ compileStreaming: 0, compile: 1 });
  });

  it('the inlined single-file build needs no .wasm request and passes the check', async () => {
    const before = requested.length;
    const { report, text, calls } = await openAndCheck('inline.html', 'chromium (inline)');
    expect(calls).toEqual({ compileStreaming: 0, compile: 1 });
    expect(report.build).toBe('relaxed');
    expect(text).toContain('rnn-wasm: relaxed build');
    await expectReportPasses(report);
    expect(requested.slice(before).filter((p) => p.endsWith('.wasm'))).toEqual([]);
  });

  it('bundled by Vite: the "browser" condition, relaxed.wasm emitted as an asset and fetched', async () => {
    // The README's bundler advice is "import it as in Node": the Node snippet verbatim as the app.
    const { build } = await import('vite');
    const srcDir = join(appDir, 'vite-src');
    mkdirSync(srcDir);
    cpSync(CHECK_SCRIPT, join(srcDir, 'check.js'));
    const snippet = readSnippet('node.mjs');
    const epilogue = `
import * as __lib from '${importSpecifier(snippet)}';
import { runCheck as __runCheck } from './check.js';
document.body.append(\`rnn-wasm: \${rt.features.build} build\`);
const __fixture = new Uint8Array(await (await fetch('/fixture.safetensors')).arrayBuffer());
window.__report = await __runCheck({ lib: __lib, rt, fixture: __fixture, runtime: 'chromium-vite' });
`;
    writeFileSync(join(srcDir, 'main.js'), snippet + epilogue);
    writeFileSync(join(srcDir, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<body>\n<script type="module" src="./main.js"></script>\n</body>\n');
    await build({
      root: srcDir,
      base: './',
      configFile: false,
      logLevel: 'warn',
      build: { outDir: join(appDir, 'vite'), emptyOutDir: true, target: 'esnext' },
    });
    const before = requested.length;
    const { report, text } = await openAndCheck('vite/index.html', 'chromium (Vite bundle)');
    expect(report.build).toBe('relaxed');
    expect(text).toContain('rnn-wasm: relaxed build');
    await expectReportPasses(report);
    expect(requested.slice(before).filter((p) => p.endsWith('.wasm'))).toEqual([expect.stringMatching(/^\/vite\/assets\/relaxed-[\w-]+\.wasm$/)]);
  });

  it('examples/web trains in the page: the loss falls; screenshot in test-output/', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.setViewportSize({ width: 1000, height: 460 });
    await page.goto(`${origin}/examples/web/`);
    type ExampleState = { done: boolean; error: string | null; losses: number[]; heldOutLoss: number; build: string; model: string; step: number };
    await page.waitForFunction(
      () => {
        const s = (window as unknown as { rnnWasmExample?: ExampleState }).rnnWasmExample;
        return s !== undefined && (s.done || s.error !== null);
      },
      undefined,
      { timeout: 90_000 },
    );
    const state = (await page.evaluate(() => (window as unknown as { rnnWasmExample: ExampleState }).rnnWasmExample)) as ExampleState;
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    const shot = join(ROOT, 'test-output/web-example.png');
    await page.screenshot({ path: shot });
    await page.close();
    expect(state.error).toBeNull();
    expect(errors).toEqual([]);
    const first = state.losses[0], last = state.losses[state.losses.length - 1];
    console.log(
      `[runtimes] examples/web (${state.build} build, ${state.model}): loss ${first.toExponential(2)} -> ${last.toExponential(2)} ` +
        `over ${state.step} steps, held-out ${state.heldOutLoss.toExponential(2)}; screenshot ${shot}`,
    );
    expect(state.build).toBe('relaxed');
    expect(state.model).toMatch(/^LSTM/);
    expect(state.step).toBe(state.losses.length);
    expect(state.losses.every(Number.isFinite)).toBe(true);
    expect(last).toBeLessThan(first * 0.1);
    expect(state.heldOutLoss).toBeLessThan(first * 0.1);
  });
});
