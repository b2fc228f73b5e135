// Issue 18, finding 5 and the NaN-in-training stop: await trainer.fit() gives the event
// loop a turn every ~16 ms and stops on an AbortSignal at a step boundary; a loss that
// diverges inside wasm stops the trainer naming the step and the first non-finite
// parameter, and no checkpoint is written with NaN weights.
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { Trainer } from '../src/train/trainer.js';
import { BagClassifier, collate, countingTask, shuffledBatches } from './models-helpers.js';

let rt: Runtime;
const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-trainer-loop-'));
beforeAll(async () => {
  rt = await createRuntime();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = countingTask(512, 1);

/** Steps that take about `ms` each, so that the time budget is crossed within a few steps. */
function slowBatches(ms: number) {
  const batches = shuffledBatches(data, 16);
  return (epoch: number, rng: Parameters<typeof batches>[1]) =>
    batches(epoch, rng).map((b) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
      return b;
    });
}

describe('fit and the event loop', () => {
  it('a 1 ms timer fires during fit (it used to fire 0 times)', async () => {
    const model = new BagClassifier(rt, 1);
    const trainer = new Trainer(model, { lr: 0.01, progress: false });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let stepsAtFirstTick = -1;
    const start = performance.now();
    await trainer.fit({
      epochs: 4,
      batches: shuffledBatches(data, 8),
      onStep: () => {
        // Burn ~1 ms per step so the epoch lasts well past several 16 ms budgets.
        const end = performance.now() + 1;
        while (performance.now() < end);
        if (ticks > 0 && stepsAtFirstTick < 0) stepsAtFirstTick = trainer.step;
      },
    });
    clearInterval(timer);
    const elapsed = performance.now() - start;
    expect(trainer.step).toBe(4 * 64);
    expect(elapsed).toBeGreaterThan(200);
    // At least one turn per 16 ms budget (loose: the machine is shared).
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 16 / 4));
    expect(stepsAtFirstTick).toBeGreaterThan(0);
    expect(stepsAtFirstTick).toBeLessThan(64);
    model.dispose();
    trainer.dispose();
  });

  it('yieldEveryMs: Infinity never yields; bad values throw', async () => {
    const model = new BagClassifier(rt, 1);
    const trainer = new Trainer(model, { lr: 0.01, progress: false });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await trainer.fit({ epochs: 1, batches: slowBatches(0), yieldEveryMs: Infinity, onStep: () => { const e = performance.now() + 0.5; while (performance.now() < e); } });
    clearInterval(timer);
    expect(ticks).toBe(0);
    await expect(trainer.fit({ epochs: 2, batches: shuffledBatches(data, 16), yieldEveryMs: -1 })).rejects.toThrow(/yieldEveryMs must be a number >= 0/);
    await expect(trainer.fit({ epochs: 2, batches: shuffledBatches(data, 16), signal: {} as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
    model.dispose();
    trainer.dispose();
  });

  it('an AbortSignal stops fit between steps; save + resume continues as an uninterrupted run would', async () => {
    const run = async (abortAt: number | null) => {
      const model = new BagClassifier(rt, 5);
      const trainer = new Trainer(model, { lr: 0.02, seed: 2, progress: false });
      const controller = new AbortController();
      const losses: number[] = [];
      const fit = trainer.fit({
        epochs: 2,
        batches: shuffledBatches(data, 16),
        signal: controller.signal,
        yieldEveryMs: 0,
        onStep: (r) => {
          losses.push(r.loss);
          if (r.step === abortAt) setImmediate(() => controller.abort());
        },
      });
      return { model, trainer, fit, losses };
    };
    const full = await run(null);
    await full.fit;
    const cut = await run(10);
    await expect(cut.fit).rejects.toMatchObject({ name: 'AbortError' });
    // Aborted at a step boundary, shortly after the abort was requested.
    expect(cut.trainer.step).toBeGreaterThanOrEqual(10);
    expect(cut.trainer.step).toBeLessThanOrEqual(12);
    const path = join(dir, 'aborted.ckpt');
    await cut.trainer.save(path);
    const resumed = new Trainer(new BagClassifier(rt, 99), { lr: 0.02, seed: 2, progress: false });
    await resumed.resume(path);
    const rest: number[] = [];
    await resumed.fit({ epochs: 2, batches: shuffledBatches(data, 16), onStep: (r) => rest.push(r.loss) });
    expect([...cut.losses, ...rest]).toEqual(full.losses);
    const reason = new Error('user pressed stop');
    const model = new BagClassifier(rt, 5);
    const trainer = new Trainer(model, { lr: 0.02, seed: 2, progress: false });
    const controller = new AbortController();
    controller.abort(reason);
    await expect(trainer.fit({ epochs: 1, batches: shuffledBatches(data, 16), signal: controller.signal })).rejects.toBe(reason);
    expect(trainer.step).toBe(0);
    for (const m of [full.model, cut.model, resumed.model, model]) m.dispose();
  });
});

describe('divergence inside wasm', () => {
  it('stops naming the step and the first non-finite parameter, and refuses to checkpoint NaN weights', async () => {
    const model = new BagClassifier(rt, 3);
    const path = join(dir, 'diverged.ckpt');
    const trainer = new Trainer(model, { lr: 0.01, progress: false, checkpoint: { path, every: 1000 } });
    trainer.trainStep(collate(data.slice(0, 16)));
    // A divergence: one weight becomes infinite (as an exploding update would make it).
    const name = model.params.names[1];
    model.params.value(name).view()[3] = Infinity;
    expect(() => trainer.trainStep(collate(data.slice(16, 32)))).toThrow(
      new RegExp(`loss is NaN at step 1 \\(the first non-finite parameter is '${name.replace('.', '\\.')}', Infinity at index 3\\)`),
    );
    await expect(trainer.save(path)).rejects.toThrow(new RegExp(`refusing to save a checkpoint .* parameter '${name.replace('.', '\\.')}' holds Infinity at index 3`));
    expect(existsSync(path)).toBe(false);
    model.dispose();
    expect(() => trainer.trainStep(collate(data.slice(0, 16)))).toThrow(/BagClassifier\.trainStep\(\): this BagClassifier was disposed/);
  });
});
