// Truncated BPTT over a stream: the example trains a small LSTM on 100k characters in
// chunks and its loss must fall well below the uniform guess.
import { describe, expect, it } from 'vitest';
import { main } from '../examples/tbptt-stream.js';
import { syntheticWordStream, trainTbpttStream } from '../src/models/tbptt.js';
import { BUILDS, runtimeFor } from './helpers.js';

describe('truncated BPTT on a stream', () => {
  it('examples/tbptt-stream.ts: the loss falls over 100k characters', async () => {
    const lines: string[] = [];
    const losses = await main((l) => lines.push(l));
    console.log(lines.join('\n'));
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-20));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(first).toBeGreaterThan(2);
    expect(last).toBeLessThan(0.7 * first);
    expect(last).toBeLessThan(1.6);
  }, 60_000);

  it.each(BUILDS)('is deterministic for a seed and rejects bad streams (%s build)', async (build) => {
    const rt = await runtimeFor(build);
    const { stream, alphabet } = syntheticWordStream(3000, 2);
    const opts = { stream, vocab: alphabet.length, hiddenSize: 8, unroll: 8, batch: 4, seed: 3 };
    expect(trainTbpttStream(rt, opts).losses).toEqual(trainTbpttStream(rt, opts).losses);
    expect(() => trainTbpttStream(rt, { ...opts, stream: Int32Array.from([0, 1, 99]) })).toThrow(/stream\[2\] = 99/);
    expect(() => trainTbpttStream(rt, { ...opts, stream: stream.slice(0, 20) })).toThrow(/too short/);
  });
});
