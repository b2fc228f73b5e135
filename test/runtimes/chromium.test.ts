// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) loading the
// packed package from a local static server: the README's browser snippets verbatim, each
// followed by the shared check, and the examples/web playground: each panel trains in its Web
// Worker to a stated threshold, answers a typed input and is screenshotted into test-output/.
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
  '.css': 'text/css; charset=utf-8',
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

  // ---------------------------------------------------------------- the playground (examples/web)
  // Each panel trains in its own Web Worker to the threshold its adapter states, answers a
  // typed input, and leaves a full-page screenshot in test-output/playground-<panel>.png.

  interface PanelState {
    status: string;
    build: string | null;
    step: number;
    total: number;
    elapsed: number;
    losses: number[];
    metrics: Record<string, number> | null;
    reason: string | null;
    error: string | null;
    pending: string | null;
    prediction: Record<string, unknown> | null;
    predictions: number;
    progressMessages: number;
  }
  type PlaygroundWindow = { playground: Record<string, PanelState> };

  async function openPanel(panel: string) {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    // Offline: the page and its workers fetch nothing but the static files of this origin.
    page.on('request', (request) => !request.url().startsWith(`${origin}/`) && !request.url().startsWith('blob:') && errors.push(`request outside the site: ${request.url()}`));
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${origin}/examples/web/#${panel}`);
    const panelState = async () => (await page.evaluate((name) => (window as unknown as PlaygroundWindow).playground[name], panel)) as PanelState;
    const waitFor = async (statuses: string[], timeout: number) => {
      await page.waitForFunction(
        ({ name, statuses }) => statuses.includes((window as unknown as PlaygroundWindow).playground[name].status),
        { name: panel, statuses: [...statuses, 'error', 'pending'] },
        { timeout },
      );
      const state = await panelState();
      expect(state.pending, `${panel} panel is pending`).toBeNull();
      expect(state.error, `${panel} panel failed`).toBeNull();
      return state;
    };
    const shoot = async () => {
      mkdirSync(join(ROOT, 'test-output'), { recursive: true });
      const shot = join(ROOT, `test-output/playground-${panel}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      return shot;
    };
    return { page, errors, panelState, waitFor, shoot };
  }

  /** Clicks Train and, while the worker trains, counts the page's animation frames (a blocked page draws none). */
  async function trainWatchingFrames(page: import('playwright-core').Page, panel: string) {
    await page.click(`#panel-${panel} [data-action="train"]`);
    return (await page.evaluate(
      () =>
        new Promise<{ frames: number; longestGapMs: number }>((resolve) => {
          let frames = 0, last = performance.now(), longestGapMs = 0;
          const end = last + 1000;
          const frame = (now: number) => {
            frames++;
            longestGapMs = Math.max(longestGapMs, now - last);
            last = now;
            if (now < end) requestAnimationFrame(frame);
            else resolve({ frames, longestGapMs });
          };
          requestAnimationFrame(frame);
        }),
    )) as { frames: number; longestGapMs: number };
  }

  function logPanel(panel: string, state: PanelState, frames: { frames: number; longestGapMs: number }, shot: string, extra: string) {
    const first = state.losses[0], last = state.losses[state.losses.length - 1];
    console.log(
      `[runtimes] playground ${panel} (${state.build} build): ${state.reason} after ${state.step} steps in ${state.elapsed.toFixed(1)} s; ` +
        `loss ${first.toFixed(3)} -> ${last.toFixed(3)}; ${state.metrics?.summary}; ${state.progressMessages} live updates; ` +
        `page drew ${frames.frames} frames in the first second of training (longest gap ${frames.longestGapMs.toFixed(0)} ms); ${extra}; screenshot ${shot}`,
    );
  }

  /** What every trained panel shows: a finished run whose loss fell, drawn live, with the page responsive throughout. */
  function expectTrained(state: PanelState, frames: { frames: number; longestGapMs: number }) {
    expect(state.status).toBe('done');
    expect(state.build).toBe('relaxed');
    expect(state.losses.length).toBe(state.step);
    expect(state.losses.every(Number.isFinite)).toBe(true);
    expect(state.losses[state.losses.length - 1]).toBeLessThan(state.losses[0] * 0.2);
    expect(state.progressMessages).toBeGreaterThan(3);
    expect(frames.frames).toBeGreaterThan(10);
    expect(frames.longestGapMs).toBeLessThan(500);
  }

  it('playground, translation: trains to >= 95% exact match on fresh dates, translates a typed date, attention on the right words; save and reload', async () => {
    const { page, errors, waitFor, panelState, shoot } = await openPanel('translate');
    await waitFor(['ready'], 30_000);
    const frames = await trainWatchingFrames(page, 'translate');
    const trained = await waitFor(['done'], 90_000);
    expectTrained(trained, frames);
    expect(trained.metrics!.exactMatch).toBeGreaterThanOrEqual(0.95);

    const before = (await panelState()).predictions;
    await page.fill('#panel-translate input[name="input"]', 'mardi 13 mars 2018');
    await page.click('#panel-translate form button[type="submit"]');
    await page.waitForFunction((n) => (window as unknown as PlaygroundWindow).playground.translate.predictions > n, before);
    const state = await panelState();
    const out = state.prediction as { output: string; sourceTokens: string[]; targetTokens: string[]; weights: number[][] };
    await page.waitForTimeout(200); // the last redraw
    const shot = await shoot();
    expect(out.output).toBe('2018-03-13');
    expect(await page.textContent('#panel-translate .result .answer')).toBe('2018-03-13');
    expect(out.sourceTokens).toEqual(['mardi', '13', 'mars', '2018']);
    expect(out.weights).toHaveLength(10);
    out.weights.forEach((row) => {
      expect(row).toHaveLength(4);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    });
    // The alignment a person reads off the heatmap: the year's digits look at "2018", the month's at "mars", the day's at "13".
    const argmax = out.weights.map((row) => row.indexOf(Math.max(...row)));
    const looksAt = (rows: number[]) => rows.map((i) => out.sourceTokens[argmax[i]]);
    expect(looksAt([0, 1, 2, 3])).toEqual(['2018', '2018', '2018', '2018']);
    expect(looksAt([5, 6])).toEqual(['mars', 'mars']);
    expect(looksAt([8, 9])).toEqual(['13', '13']);
    // The heatmap is the package's SVG, one cell per weight.
    expect(await page.locator('#panel-translate .heatmap svg rect').count()).toBeGreaterThanOrEqual(40);
    expect(errors).toEqual([]);

    // Save the model (the page downloads a .safetensors file) and load it into a fresh page
    // through the file input, as a user loads one saved by `rnn-wasm train translate --save`:
    // the same translation and the same attention, bit for bit.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#panel-translate [data-action="save"]')]);
    const saved = readFileSync((await download.path())!);
    const fresh = await openPanel('translate');
    await fresh.waitFor(['ready'], 30_000);
    await fresh.page.setInputFiles('#panel-translate input[data-action="load"]', { name: 'dates-seq2seq.safetensors', mimeType: 'application/octet-stream', buffer: saved });
    await fresh.page.waitForFunction(() => (window as unknown as PlaygroundWindow).playground.translate.predictions > 0);
    const loadedState = await fresh.panelState();
    expect(loadedState.reason).toBe('loaded');
    await fresh.page.fill('#panel-translate input[name="input"]', 'mardi 13 mars 2018');
    await fresh.page.click('#panel-translate form button[type="submit"]');
    await fresh.page.waitForFunction(() => (window as unknown as PlaygroundWindow).playground.translate.predictions > 1);
    const reloaded = (await fresh.panelState()).prediction as typeof out;
    expect(reloaded.output).toBe(out.output);
    expect(reloaded.weights).toEqual(out.weights);
    expect(fresh.errors).toEqual([]);
    await fresh.page.close();

    logPanel('translate', trained, frames, shot, `"mardi 13 mars 2018" -> "${out.output}", year digits attend to ${looksAt([0])[0]}; saved (${saved.length} bytes) and reloaded: same output and attention`);
    await page.close();
  });

  it('playground, question answering: the DMN trains to >= 95% on fresh stories, answers a typed story, its gates pick the supporting fact', async () => {
    const { page, errors, waitFor, panelState, shoot } = await openPanel('qa');
    await waitFor(['ready'], 30_000);
    const frames = await trainWatchingFrames(page, 'qa');
    const trained = await waitFor(['done'], 90_000);
    expectTrained(trained, frames);
    expect(trained.metrics!.accuracy).toBeGreaterThanOrEqual(0.95);

    const story = ['Mary went to the kitchen.', 'John moved to the garden.', 'Mary travelled to the office.', 'Daniel went back to the bedroom.', 'John journeyed to the hallway.'];
    const before = (await panelState()).predictions;
    await page.fill('#panel-qa textarea[name="story"]', story.join('\n'));
    await page.fill('#panel-qa input[name="question"]', 'Where is Mary?');
    await page.click('#panel-qa form button[type="submit"]');
    await page.waitForFunction((n) => (window as unknown as PlaygroundWindow).playground.qa.predictions > n, before);
    const out = (await panelState()).prediction as { answer: string; facts: string[]; gates: number[][] };
    await page.waitForTimeout(200);
    const shot = await shoot();
    expect(out.answer).toBe('office');
    expect(await page.textContent('#panel-qa .result .answer')).toBe('office');
    expect(out.facts).toEqual(story);
    expect(out.gates).toHaveLength(3);
    out.gates.forEach((pass) => expect(pass).toHaveLength(story.length));
    // Summed over the passes, the gates weigh the supporting fact (Mary's last move) most.
    const total = story.map((_, i) => out.gates.reduce((sum, pass) => sum + pass[i], 0));
    expect(total.indexOf(Math.max(...total))).toBe(2);
    expect(await page.locator('#panel-qa table.gates tbody tr').count()).toBe(story.length);
    expect(errors).toEqual([]);
    logPanel('qa', trained, frames, shot, `"Where is Mary?" -> "${out.answer}", gates on fact 3 per pass ${out.gates.map((p) => p[2].toFixed(2)).join('/')}`);
    await page.close();
  });

  it('playground, LSTM forecaster (examples/web as before): trains in its worker, the loss falls; screenshot in test-output/', async () => {
    const { page, errors, shoot } = await openPanel('forecast');
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
    await page.waitForTimeout(200);
    const shot = await shoot();
    await page.close();
    expect(state.error).toBeNull();
    expect(errors).toEqual([]);
    const first = state.losses[0], last = state.losses[state.losses.length - 1];
    console.log(
      `[runtimes] examples/web forecaster (${state.build} build, ${state.model}): loss ${first.toExponential(2)} -> ${last.toExponential(2)} ` +
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
