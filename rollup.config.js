// Bundles the compiled TypeScript (build/ts, from `tsc -p tsconfig.build.json`) into dist/:
//   index.js              ESM for Node, Deno and the default condition (reads dist/wasm/ from disk)
//   index.cjs             the same as CommonJS, for require('rnn-wasm')
//   browser.js            ESM for browsers, bundlers and Workers: fetches ./wasm/*.wasm beside
//                         itself (streaming compile); no node: imports at all
//   rnn-wasm.inline.js    browser.js with both wasm builds embedded as base64, one file to drop
//                         next to a page that has no bundler
//   cli.js                the rnn-wasm command
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minify } from 'oxc-minify';

const LOAD_MODULE = /[\\/]runtime[\\/]load\.js$/;
const INLINED_DECLARATION = 'const INLINED_WASM = undefined;';

/**
 * Browsers have no node: modules. The library reaches them only through dynamic import()
 * on Node-only paths (reading the wasm from disk, checkpoint files), so the browser
 * bundles get a stub with the same export names (read from the real module at build
 * time) whose functions throw an Error naming what is missing; bundlers would otherwise
 * stop at the node: specifier.
 */
function noNodeBuiltins() {
  return {
    name: 'rnn-wasm-no-node-builtins',
    resolveId(id) {
      return id.startsWith('node:') ? `\0stub:${id}` : null;
    },
    async load(id) {
      if (!id.startsWith('\0stub:')) return null;
      const specifier = id.slice('\0stub:'.length);
      const names = Object.keys(await import(specifier)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      const lines = names.map((n) => `export const ${n} = unavailable(${JSON.stringify(n)});`);
      return [
        `function unavailable(name) {`,
        `  return () => { throw new Error(${JSON.stringify(specifier)} + '.' + name + ' is not available in the browser build of rnn-wasm (it is for Node and Deno)'); };`,
        `}`,
        ...lines,
        `export default {};`,
      ].join('\n');
    },
  };
}

/** Embeds dist/wasm/{simd,relaxed}.wasm into load.js for the single-file browser build. */
function inlineWasm() {
  return {
    name: 'rnn-wasm-inline-wasm',
    transform(code, id) {
      if (!LOAD_MODULE.test(id)) return null;
      if (!code.includes(INLINED_DECLARATION)) {
        this.error(`inline build: '${INLINED_DECLARATION}' not found in ${id}; keep it in sync with src/runtime/load.ts`);
      }
      const base64 = (build) => readFileSync(new URL(`./dist/wasm/${build}.wasm`, import.meta.url)).toString('base64');
      const literal = JSON.stringify({ simd: base64('simd'), relaxed: base64('relaxed') });
      return { code: code.replace(INLINED_DECLARATION, `const INLINED_WASM = ${literal};`), map: null };
    },
  };
}

/**
 * The shipped bundles are minified with oxc-minify (a pinned devDependency): the size budget
 * (test/size.test.ts) counts what a page downloads, and the API docs live on in
 * dist/types/*.d.ts. Class names are kept because error messages quote them.
 */
function minifyBundle() {
  return {
    name: 'rnn-wasm-minify',
    async renderChunk(code, chunk, options) {
      const keepNames = { function: false, class: true };
      const result = await minify(chunk.fileName, code, {
        compress: { keepNames },
        mangle: { keepNames, reserved: options.format === 'cjs' ? ['exports', 'module'] : [] },
        sourcemap: Boolean(options.sourcemap),
      });
      if (result.errors.length > 0) this.error(`minifying ${chunk.fileName}: ${result.errors.map((e) => e.message).join('; ')}`);
      return { code: result.code, map: result.map ?? null };
    },
  };
}

/**
 * Declarations beside the bundles: a CommonJS copy of dist/types (*.d.cts, relative imports
 * pointing at .cjs), so that `require('rnn-wasm')` under module node16/nodenext type-checks
 * (ESM-only types give TS1471 there), and types/wasm.d.ts for `import wasm from
 * 'rnn-wasm/wasm/simd.wasm'`.
 */
function extraDeclarations() {
  const cjsCopy = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) cjsCopy(path);
      else if (entry.name.endsWith('.d.ts')) {
        const text = readFileSync(path, 'utf8').replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]*)\.js\2/g, '$1$2$3.cjs$2');
        writeFileSync(path.replace(/\.d\.ts$/, '.d.cts'), text);
      }
    }
  };
  return {
    name: 'rnn-wasm-extra-declarations',
    writeBundle() {
      cjsCopy('dist/types');
      mkdirSync('dist/wasm', { recursive: true });
      copyFileSync('types/wasm.d.ts', 'dist/wasm/wasm.d.ts');
    },
  };
}

const library = 'build/ts/index.js';

export default [
  {
    input: library,
    // Source maps (to build/ts, the compiled TypeScript with its comments, sources included)
    // turn a minified stack frame back into a readable file and line.
    output: [
      { file: 'dist/index.js', format: 'es', sourcemap: true },
      { file: 'dist/index.cjs', format: 'cjs', exports: 'named', sourcemap: true },
    ],
    external: [/^node:/],
    plugins: [minifyBundle(), extraDeclarations()],
  },
  {
    input: library,
    output: { file: 'dist/browser.js', format: 'es', inlineDynamicImports: true, sourcemap: true },
    plugins: [noNodeBuiltins(), minifyBundle()],
  },
  {
    input: library,
    output: { file: 'dist/rnn-wasm.inline.js', format: 'es', inlineDynamicImports: true },
    plugins: [noNodeBuiltins(), inlineWasm(), minifyBundle()],
  },
  {
    input: 'build/ts/cli/main.js',
    // One file: the bench subcommands are lazy import()s, inlined rather than split into chunks.
    output: { file: 'dist/cli.js', format: 'es', banner: '#!/usr/bin/env node', inlineDynamicImports: true, sourcemap: true },
    external: [/^node:/],
  },
];
