import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
