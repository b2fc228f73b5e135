import { describe, expect, it } from 'vitest';
import { main as customModel } from '../examples/custom-model.js';
import { main as fourModels } from '../examples/four-models.js';

describe('examples', () => {
  it('examples/custom-model.ts: a hand-written model learns digit-sum parity', async () => {
    const lines: string[] = [];
    const accuracy = await customModel((l) => lines.push(l), 12);
    expect(lines.length).toBe(12);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it('examples/four-models.ts: all four recipes run and report metrics', async () => {
    const lines: string[] = [];
    const m = await fourModels((l) => lines.push(l), true);
    expect(Object.keys(m)).toEqual(['sentiment', 'tagger', 'caption', 'charlm']);
    expect(m.tagger.accuracy).toBeGreaterThan(m.tagger.unidirectionalAccuracy as number);
    expect(lines.some((l) => l.startsWith('--- charlm'))).toBe(true);
  });
});
