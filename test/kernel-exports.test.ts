// The TypeScript type of the wasm exports (src/runtime/exports.generated.ts) is generated from
// the AssemblyScript sources: it must be current, and it must match the built modules'
// exports name for name and arity for arity, so that a kernel call with a wrong argument
// count fails the type check rather than running with a missing pointer.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';

const root = join(__dirname, '..');
const generatedPath = join(root, 'src/runtime/exports.generated.ts');

/** name -> parameter count of every method of the generated interface. */
function declaredArities(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ {2}(\w+)\(([^)]*)\): \w+;$/gm)) out.set(m[1], m[2].trim() === '' ? 0 : m[2].split(',').length);
  return out;
}

describe('generated kernel exports', () => {
  it('are current (npm run build:wasm regenerates them)', () => {
    const fresh = execFileSync(process.execPath, [join(root, 'scripts/gen-kernel-exports.mjs'), '--print'], { encoding: 'utf8' });
    expect(readFileSync(generatedPath, 'utf8')).toBe(fresh);
  });

  it.each(BUILDS)('match the %s module: every export, its arity, nothing else', async (build) => {
    const declared = declaredArities(readFileSync(generatedPath, 'utf8'));
    expect(declared.size).toBeGreaterThan(50);
    expect(declared.get('lstm_forward')).toBe(22);
    const rt = await runtimeFor(build);
    const actual = new Map<string, number>();
    for (const [name, value] of Object.entries(rt.instance.exports)) {
      if (typeof value === 'function') actual.set(name, value.length);
    }
    expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...declared].sort()));
  });
});
