import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../src/io/safetensors.js';


// The README's usage example is examples/quickstart.mjs, shown verbatim; it imports the
// package by name (Node resolves a package's own name through its exports map to dist/).
describe('README quickstart', () => {
  const example = readFileSync('examples/quickstart.mjs', 'utf8');

  it('is shown verbatim in the README', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(example.trim());
  });

  it('runs against the built package and its loss falls', () => {
    expect(existsSync('dist/index.js'), 'dist/index.js is missing: run `npm run build` first').toBe(true);
    const out = execFileSync(process.execPath, ['examples/quickstart.mjs'], { encoding: 'utf8' });
    const losses = [...out.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[4]).toBeLessThan(losses[0] / 100);
    expect(out).toMatch(/saved \d+ bytes: weight_ih_l0, weight_hh_l0/);
  });
});

// examples/from-pytorch.mjs, which the README's "From PyTorch and back" points to: PyTorch's
// weights load by their torch names and reproduce PyTorch's output; the tuned weights go back
// under the same names.
describe('examples/from-pytorch.mjs', () => {
  it('matches the output PyTorch computed, fine-tunes, and saves under the torch names', () => {
    const out = execFileSync(process.execPath, ['examples/from-pytorch.mjs'], { encoding: 'utf8' });
    expect(out).toContain('{"inputSize":5,"hiddenSize":12,"numLayers":3,"bidirectional":false,"bias":true}');
    const diff = Number(out.match(/max \|ours - PyTorch\| = (\S+)/)?.[1]);
    expect(diff).toBeLessThan(1e-5);
    const losses = [...out.matchAll(/fine-tune step \d+: loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(3);
    expect(losses[2]).toBeLessThan(losses[0] / 10);
    const saved = out.match(/saved 12 tensors \(model\.weight_ih_l0, \.\.\.\) to (.+)$/m)?.[1];
    expect(saved).toBeDefined();
    const names = Object.keys(readSafetensors(readFileSync(saved as string))).filter((n) => n !== '__metadata__');
    expect(names).toContain('model.weight_hh_l2');
    expect(names).toHaveLength(12);
  });
});

// The README's per-model examples: every fenced block after `<!-- example: NAME -->`, run as
// written (as an .mjs file inside the repository, so `from 'rnn-wasm'` resolves to the built
// package through its exports map), all at once. Each must exit 0 and print what the README
// says it prints; a dropped or renamed example fails the count.
const README = readFileSync('README.md', 'utf8');

/** [name, code] of each `<!-- example: name -->` block, in README order. */
function readmeExamples(): [string, string][] {
  const out: [string, string][] = [];
  for (const m of README.matchAll(/<!-- example: ([\w-]+) -->\s*```js\n([\s\S]*?)```/g)) out.push([m[1], m[2]]);
  return out;
}

const number = (out: string, re: RegExp): number => {
  const m = re.exec(out);
  expect(m, `output lacks ${re}:\n${out}`).not.toBeNull();
  return Number(m![1]);
};

/** What each example claims: its output checked against a bound (the README shows one run's figures). */
const CLAIMS: Record<string, (out: string) => void> = {
  classifier: (out) => expect(number(out, /accuracy on 1000 fresh sequences: (\d\.\d+)/)).toBeGreaterThanOrEqual(0.9),
  tagger: (out) => {
    const left = number(out, /left to right: tag accuracy on 500 fresh sequences (\d\.\d+)/);
    const both = number(out, /bidirectional: tag accuracy on 500 fresh sequences (\d\.\d+)/);
    expect(both).toBeGreaterThanOrEqual(0.95);
    expect(both - left).toBeGreaterThan(0.1); // the tag depends on the next digit: only the bidirectional model sees it
  },
  generator: (out) => {
    expect(number(out, /exact sequences for 200 fresh feature vectors: (\d(?:\.\d+)?)/)).toBeGreaterThanOrEqual(0.9);
    expect(out).toContain('(2, 7) -> 2 3 4 5 6 7');
  },
  seq2seq: (out) => {
    expect(number(out, /exact match on 100 fresh dates: (\d+)%/)).toBeGreaterThanOrEqual(80);
    const [source, iso] = /^(.+) -> (\d{4}-\d\d-\d\d)$/m.exec(out)!.slice(1);
    // the heatmap: one row per output character, the source words listed under it
    expect(out).toContain(source.split(' ').map((w, j) => `${j}:${w}`).join(' '));
    expect(out.split('\n').filter((l) => /^[0-9-] \|.*\|$/.test(l))).toHaveLength(iso.length);
  },
  dmn: (out) => {
    expect(number(out, /accuracy on 200 fresh questions: (\d\.\d+)/)).toBeGreaterThanOrEqual(0.9);
    const gateRows = out.split('\n').filter((l) => /^\d\.\d\d \d\.\d\d \d\.\d\d  [a-z ]+$/.test(l));
    expect(gateRows.length).toBeGreaterThan(1); // one row per fact: its gate in each of the three passes
    expect(out).toMatch(/^where is [a-z]+\? [a-z]+$/m);
  },
  mdlstm: (out) => {
    expect(number(out, /pixel accuracy on 100 fresh images: (\d\.\d+)/)).toBeGreaterThanOrEqual(0.95);
    expect(out.split('\n').filter((l) => /^[.#]{10} {3}[.+]{10}$/.test(l))).toHaveLength(10);
  },
};

describe('README model examples', () => {
  const examples = readmeExamples();
  const dir = join('.tmp', 'readme-examples');
  let tmp = '';
  afterAll(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('are one per model, each marked <!-- example: name --> before a js block', () => {
    expect(examples.map(([name]) => name)).toEqual(Object.keys(CLAIMS));
    for (const [name, code] of examples) {
      expect(code, name).toMatch(/from 'rnn-wasm';/);
      expect(code.split('\n').length, `${name} is meant to be short`).toBeLessThanOrEqual(30);
    }
  });

  it('every js block that imports rnn-wasm is an example, the quickstart, or a runtime snippet (all run by tests)', () => {
    const quickstart = readFileSync('examples/quickstart.mjs', 'utf8').trim();
    const runtimes = README.slice(README.indexOf('<!-- runtimes:start -->'), README.indexOf('<!-- runtimes:end -->'));
    const tested = new Set(examples.map(([, code]) => code));
    for (const m of README.matchAll(/(<!-- [^>]+ -->\s*)?```js\n([\s\S]*?)```/g)) {
      const code = m[2];
      if (!/from 'rnn-wasm'|require\('rnn-wasm'\)/.test(code)) continue;
      const ok = tested.has(code) || code.trim() === quickstart || (runtimes.includes(code) && /<!-- snippet: /.test(m[1] ?? ''));
      expect(ok, `an untested block in README.md:\n${code}`).toBe(true);
    }
  });

  it('run as written against the built package and print what they claim', async () => {
    expect(existsSync('dist/index.js'), 'dist/index.js is missing: run `npm run build` first').toBe(true);
    mkdirSync(dir, { recursive: true });
    tmp = mkdtempSync(join(dir, 'run-'));
    const run = promisify(execFile);
    const outputs = await Promise.all(examples.map(async ([name, code]) => {
      const file = join(tmp, `${name}.mjs`);
      writeFileSync(file, code);
      try {
        const { stdout } = await run(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
        return [name, stdout] as const;
      } catch (e) {
        throw new Error(`README example '${name}' failed: ${(e as { stderr?: string }).stderr ?? e}`);
      }
    }));
    for (const [name, out] of outputs) CLAIMS[name](out);
  }, 90_000);
});

describe('README links', () => {
  it('every #anchor names a heading and every relative link or image is a file of the repository', () => {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
    const anchors = new Set([...README.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
    for (const [, target] of README.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // http(s), mailto
      if (target.startsWith('#')) expect(anchors, `README links to a missing heading ${target}`).toContain(target.slice(1));
      else expect(existsSync(target.split('#')[0]), `README links to a missing file ${target}`).toBe(true);
    }
  });
});
