import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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
