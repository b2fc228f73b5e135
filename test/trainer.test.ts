import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';
import { BagClassifier, collate, countingTask, shuffledBatches } from './models-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Trainer } from '../src/train/trainer.js';

describe.each(BUILDS)('Trainer (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });
  const train = countingTask(256, 1);
  const valid = collate(countingTask(200, 2));

  it('fit learns a task, validates each epoch, and two runs with the same seed match bit for bit', async () => {
    const run = async () => {
      const model = new BagClassifier(rt, 42);
      const trainer = new Trainer(model, { lr: 0.02, seed: 3, clipNorm: 1, progress: false });
      const losses: number[] = [];
      const history = await trainer.fit({
        epochs: 6,
        batches: shuffledBatches(train, 16),
        validate: () => ({ accuracy: model.accuracy(valid) }),
        onStep: (r) => losses.push(r.loss),
      });
      const params = model.params.valuesView().slice();
      model.dispose();
      trainer.optimizer.dispose();
      return { losses, history, params };
    };
    const a = await run();
    const b = await run();
    expect(a.losses.length).toBe(6 * 16);
    expect(a.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.history[5].loss).toBeLessThan(a.history[0].loss * 0.7);
    expect(a.history[5].validation!.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(b.losses).toEqual(a.losses); // toEqual on numbers is exact (Object.is)
    expect(b.params).toEqual(a.params);
    // A different seed gives a different run.
    const model = new BagClassifier(rt, 43);
    const trainer = new Trainer(model, { lr: 0.02, seed: 3, progress: false });
    const other = trainer.trainStep(collate(train.slice(0, 16))).loss;
    expect(other).not.toBe(a.losses[0]);
    model.dispose();
  });

  it('explicit steps: schedule sets the learning rate, clipping reports the norm, bad options throw', () => {
    const model = new BagClassifier(rt, 1);
    const trainer = new Trainer(model, { optimizer: 'sgd', lr: 0.5, momentum: 0.9, clipNorm: 1e-3, schedule: (s) => 0.1 / (1 + s), progress: false });
    const r0 = trainer.trainStep(collate(train.slice(0, 8)));
    const r1 = trainer.trainStep(collate(train.slice(8, 16)));
    expect(r0.lr).toBe(0.1);
    expect(r1.lr).toBe(0.05);
    expect(r0.gradNorm).toBeGreaterThan(1e-3);
    expect(trainer.step).toBe(2);
    expect(() => new Trainer(model, { lr: NaN })).toThrow(/lr must be a finite number/);
    expect(() => new Trainer(model, { clipNorm: -1 })).toThrow(/clipNorm/);
    expect(() => new Trainer(model, { optimizer: 'rmsprop' as never })).toThrow(/optimizer must be/);
    model.dispose();
  });

  it('a steady loop allocates nothing: after the first steps the arena and wasm memory stay flat', () => {
    const model = new BagClassifier(rt, 5);
    const trainer = new Trainer(model, { lr: 0.01, clipNorm: 1, progress: false });
    const batch = collate(train.slice(0, 16));
    for (let i = 0; i < 3; i++) trainer.trainStep(batch);
    const growths = model.tape.arena.growths;
    const bytes = rt.mem.byteLength;
    const live = rt.mem.liveBytes;
    for (let i = 0; i < 200; i++) trainer.trainStep(batch);
    expect(model.tape.arena.growths).toBe(growths);
    expect(rt.mem.byteLength).toBe(bytes);
    expect(rt.mem.liveBytes).toBe(live);
    trainer.dispose();
    model.dispose();
  });
});
