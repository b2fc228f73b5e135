// The harness of the bad-input suite (issue 18), shared by test/bad-input.test.ts and
// test/bad-input-wave.test.ts. A Subject makes one object and a good call whose result is
// compared bit for bit; each row is a bad call on it. For every row:
//   - it throws an Error whose message matches the row's pattern (the argument and the
//     expected value), never a WebAssembly.RuntimeError;
//   - repeated (1,000 times for synchronous rows, 10 for asynchronous ones) it leaves wasm
//     memory as it was (bytes of the memory and live bytes of the allocator);
//   - the good call afterwards gives bit-identical results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { randomArray } from './helpers.js';

export type Bad<S> = (s: S, rt: Runtime) => unknown;
export interface Subject<S> {
  name: string;
  make(rt: Runtime): S;
  /** A correct call; its numbers must not change across the bad calls. */
  good(s: S, rt: Runtime): ArrayLike<number>;
  dispose?(s: S): void;
  /** Repetitions of each synchronous failing call (default 1,000; fewer for subjects whose calls each build a model). */
  repeat?: number;
  rows: [label: string, bad: Bad<S>, message: RegExp][];
}

export const host = (shape: number[], seed = 1): HostTensor => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed) });
export const withNaN = (t: HostTensor, at: number, v = NaN): HostTensor => {
  const data = t.data.slice();
  data[at] = v;
  return { shape: t.shape, data };
};

/** Runs a bad call; returns what it threw (awaiting a promise's rejection) and whether it was asynchronous. */
async function failure(call: () => unknown): Promise<{ error: unknown; async: boolean }> {
  let async = false;
  try {
    const r = call();
    async = r instanceof Promise;
    if (async) await r;
  } catch (e) {
    return { error: e, async };
  }
  return { error: undefined, async };
}

/** One describe per subject, one test per row; prints the row count at the end. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function badInputSuite(tag: string, subjects: Subject<any>[]): void {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await createRuntime();
  });
  const rowCount = subjects.reduce((n, s) => n + s.rows.length, 0);
  afterAll(() => console.log(`[${tag}] ${rowCount} rows over ${subjects.length} subjects`));

  describe.each(subjects.map((s) => [s.name, s] as const))('bad input: %s', (_name, subject) => {
    it.each(subject.rows.map((r) => [r[0], r] as const))('%s', async (_label, [, bad, message]) => {
      const s = subject.make(rt);
      try {
        const before = Array.from(subject.good(s, rt));
        const { error: e, async: isAsync } = await failure(() => bad(s, rt));
        expect(e, 'the bad call did not throw').toBeInstanceOf(Error);
        expect(e).not.toBeInstanceOf(WebAssembly.RuntimeError);
        expect((e as Error).message).toMatch(message);
        // Nothing changed, and 1,000 more failures take no memory.
        expect(Array.from(subject.good(s, rt))).toEqual(before);
        const bytes = rt.mem.byteLength, live = rt.mem.liveBytes;
        for (let i = 0; i < (isAsync ? 10 : subject.repeat ?? 1000); i++) await failure(() => bad(s, rt));
        // At most equal: the FinalizationRegistry may return blocks of objects dropped earlier meanwhile.
        expect(rt.mem.liveBytes - live, 'live bytes after the repeated failures').toBeLessThanOrEqual(0);
        expect(rt.mem.byteLength, 'wasm memory after the repeated failures').toBe(bytes);
        expect(Array.from(subject.good(s, rt))).toEqual(before);
      } finally {
        subject.dispose?.(s);
      }
    });
  });
}
