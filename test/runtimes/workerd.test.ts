// Cloudflare's workerd (through miniflare) with modules laid out as Wrangler deploys them:
// 'rnn-wasm' resolved through the package's "workerd" export condition, the .wasm file a
// CompiledWasm module (a WebAssembly.Module, since Workers forbid compiling bytes).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_SCRIPT, FIXTURE, installPackedPackage, expectReportPasses, logReport, readSnippet, type Report } from './harness.js';

describe('Cloudflare workerd', () => {
  let mf: Miniflare | undefined;
  let remove = () => {};

  beforeAll(async () => {
    const installed = installPackedPackage();
    const { appDir, packageDir } = installed;
    remove = installed.remove;
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    const entry = pkg.exports['.'].workerd as string;
    const wasmExport = pkg.exports['./wasm/relaxed.wasm'] as string | { default: string };
    const wasmFile = typeof wasmExport === 'string' ? wasmExport : wasmExport.default;
    // The test's entry point: the README snippet is its own module (./app.js, verbatim);
    // /check runs the shared check with the module imported the same way.
    const main = `import app from './app.js';
import * as lib from 'rnn-wasm';
import wasm from 'rnn-wasm/wasm/relaxed.wasm';
import fixture from './fixture.safetensors';
import { runCheck } from './check.js';

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/check') {
      const rt = await lib.createRuntime({ module: wasm });
      return Response.json(await runCheck({ lib, rt, fixture: new Uint8Array(fixture), runtime: 'workerd' }));
    }
    if (pathname === '/without-module') {
      try {
        await lib.createRuntime();
        return new Response('no error');
      } catch (err) {
        return new Response(err.message, { status: 500 });
      }
    }
    return app.fetch(request, env, ctx);
  },
};
`;
    mf = new Miniflare({
      modulesRoot: appDir,
      modules: [
        { type: 'ESModule', path: join(appDir, 'main.js'), contents: main },
        { type: 'ESModule', path: join(appDir, 'app.js'), contents: readSnippet('worker.js') },
        { type: 'ESModule', path: join(appDir, 'check.js'), contents: readFileSync(CHECK_SCRIPT, 'utf8') },
        { type: 'Data', path: join(appDir, 'fixture.safetensors'), contents: readFileSync(FIXTURE) },
        { type: 'ESModule', path: join(appDir, 'rnn-wasm'), contents: readFileSync(join(packageDir, entry), 'utf8') },
        { type: 'CompiledWasm', path: join(appDir, 'rnn-wasm/wasm/relaxed.wasm'), contents: readFileSync(join(packageDir, wasmFile)) },
      ],
      compatibilityDate: '2025-01-01',
    });
    await mf.ready;
  });

  afterAll(async () => {
    await mf?.dispose();
    remove();
  });

  it('the README Worker answers with the relaxed build', async () => {
    const res = await mf!.dispatchFetch('http://localhost/');
    expect(await res.text()).toBe('rnn-wasm: relaxed build');
  });

  it('runs the check on the imported WebAssembly.Module', async () => {
    const res = await mf!.dispatchFetch('http://localhost/check');
    const report = (await res.json()) as Report;
    logReport('workerd', report);
    expect(report.build).toBe('relaxed');
    await expectReportPasses(report);
  });

  it('createRuntime() without { module } explains what Workers need', async () => {
    const res = await mf!.dispatchFetch('http://localhost/without-module');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('Cloudflare Workers do not allow compiling WebAssembly from bytes');
    expect(text).toContain("import wasm from 'rnn-wasm/wasm/relaxed.wasm'");
  });
});
