import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, runtimeFor } from './helpers.js';
import { BagClassifier, countingTask, shuffledBatches, type TokenBatch } from './models-helpers.js';
import { Model } from '../src/train/model.js';
import { Embedding } from '../src/layers/embedding.js';
import { Linear } from '../src/layers/linear.js';
import { LSTM } from '../src/layers/lstm.js';
import type { RecurrentLayer } from '../src/layers/recurrent.js';
import { crossEntropyLoss } from '../src/layers/losses.js';
import { recurrent, selectFirstAxis } from '../src/layers/ops.js';
import { recurrentDeclaration } from '../src/models/common.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Trainer, type TrainerOptions } from '../src/train/trainer.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { CharLanguageModel, streamChunks, type StreamChunk } from '../src/models/charlm.js';

const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(BUILDS)('checkpoint and resume (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });
  const data = countingTask(100, 5);
  const epochs = 3;
  const batches = shuffledBatches(data, 8); // 13 batches per epoch, the last one short

  for (const optimizer of ['adam', 'sgd'] as const) {
    it(`${optimizer}: resuming mid-epoch continues exactly as the uninterrupted run, bit for bit`, async () => {
      const options = (path?: string): TrainerOptions => ({
        optimizer, lr: optimizer === 'sgd' ? 0.1 : 0.01, momentum: 0.9, seed: 9, clipNorm: 2, progress: false,
        schedule: (s) => (optimizer === 'sgd' ? 0.1 : 0.01) * Math.pow(0.97, s),
        checkpoint: path ? { path, every: 7 } : undefined,
      });
      // Uninterrupted.
      const full = new BagClassifier(rt, 11);
      const fullTrainer = new Trainer(full, options());
      const fullLosses: number[] = [];
      await fullTrainer.fit({ epochs, batches, onStep: (r) => fullLosses.push(r.loss) });
      expect(fullLosses.length).toBe(39);

      // Interrupted after 23 steps (mid second epoch); the last checkpoint is at step 21.
      const path = join(dir, `${build}-${optimizer}.safetensors`);
      const first = new BagClassifier(rt, 11);
      const firstTrainer = new Trainer(first, options(path));
      const firstLosses: number[] = [];
      await firstTrainer.fit({ epochs, batches, maxSteps: 23, onStep: (r) => firstLosses.push(r.loss) });
      expect(firstLosses).toEqual(fullLosses.slice(0, 23));

      // A fresh process would build the model with any seed; resume overwrites everything.
      const resumed = new BagClassifier(rt, 999);
      const resumedTrainer = new Trainer(resumed, options(path));
      await resumedTrainer.resume(path);
      expect(resumedTrainer.step).toBe(21);
      expect(resumedTrainer.epoch).toBe(1);
      expect(resumedTrainer.batchInEpoch).toBe(8);
      const restLosses: number[] = [];
      const history = await resumedTrainer.fit({ epochs, batches, onStep: (r) => restLosses.push(r.loss) });
      expect(restLosses).toEqual(fullLosses.slice(21));
      expect(resumed.params.valuesView().slice()).toEqual(full.params.valuesView().slice());
      expect(history.map((h) => h.loss)).toEqual(fullTrainer.history.map((h) => h.loss));
      for (const m of [full, first, resumed]) m.dispose();
      for (const t of [fullTrainer, firstTrainer, resumedTrainer]) t.optimizer.dispose();
    });
  }

  it('a save interrupted halfway leaves the previous checkpoint intact and loadable', async () => {
    const path = join(dir, `${build}-interrupted.safetensors`);
    const model = new BagClassifier(rt, 3);
    const trainer = new Trainer(model, { lr: 0.01, seed: 1, progress: false });
    const all = batches(0, trainer.rng);
    trainer.trainStep(all[0]);
    await trainer.save(path);
    const saved = model.params.valuesView().slice();
    trainer.trainStep(all[1]);
    trainer.trainStep(all[2]);
    let chunks = 0;
    await expect(
      saveCheckpoint(path, trainer.checkpoint(), {
        chunkBytes: 256,
        onProgress: () => {
          if (++chunks === 3) throw new Error('simulated crash mid-write');
        },
      }),
    ).rejects.toThrow(/simulated crash/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const ck = await loadCheckpoint(path);
    expect(ck.state.step).toBe(1);
    const again = new BagClassifier(rt, 77);
    const againTrainer = new Trainer(again, { lr: 0.01, seed: 1, progress: false });
    await againTrainer.resume(path);
    expect(again.params.valuesView().slice()).toEqual(saved);
    expect(againTrainer.step).toBe(1);
    // A checkpoint for another optimizer or model is refused with a clear error.
    const sgd = new Trainer(new BagClassifier(rt, 1), { optimizer: 'sgd', lr: 0.1, momentum: 0.9, progress: false });
    const sgdModel = sgd.model.params.valuesView().slice();
    await expect(sgd.resume(path)).rejects.toThrow(/optimizer is "adam", this trainer uses 'sgd'/);
    expect(sgd.model.params.valuesView().slice()).toEqual(sgdModel); // nothing changed
    for (const m of [model, again]) m.dispose();
  });

  it('truncated BPTT over a stream: the carried LSTM state is checkpointed, so a resumed run matches bit for bit', async () => {
    const stream = Int32Array.from({ length: 800 }, (_, i) => (i * 7 + (i >> 3)) % 11);
    const chunks = streamChunks(stream, 4, 16); // 12 chunks per epoch
    const make = (seed: number) => new CharLanguageModel(rt, { vocabSize: 11, hiddenSize: 16, embeddingDim: 8, seed });
    const opts = (path?: string) => ({ lr: 0.01, clipNorm: 1, seed: 2, progress: false as const, checkpoint: path ? { path, every: 5 } : undefined });
    const fit = { epochs: 2, batches: () => chunks };
    const full = make(3);
    const fullTrainer = new Trainer<StreamChunk>(full, opts());
    const fullLosses: number[] = [];
    await fullTrainer.fit({ ...fit, onStep: (r) => fullLosses.push(r.loss) });
    const path = join(dir, `${build}-charlm.safetensors`);
    const first = make(3);
    await new Trainer<StreamChunk>(first, opts(path)).fit({ ...fit, maxSteps: 17 });
    const ck = await loadCheckpoint(path);
    expect(ck.state.step).toBe(15);
    expect(ck.tensors['carry.h'].shape).toEqual([1, 4, 16]);
    expect(ck.tensors['carry.c'].shape).toEqual([1, 4, 16]);
    const resumed = make(99);
    const resumedTrainer = new Trainer<StreamChunk>(resumed, opts(path));
    await resumedTrainer.resume(path);
    const rest: number[] = [];
    await resumedTrainer.fit({ ...fit, onStep: (r) => rest.push(r.loss) });
    expect(rest).toEqual(fullLosses.slice(15));
    // Without the carried state the continuation differs: the check above is not vacuous.
    const noCarry = make(99);
    const noCarryTrainer = new Trainer<StreamChunk>(noCarry, opts());
    noCarryTrainer.restore({ ...ck, tensors: Object.fromEntries(Object.entries(ck.tensors).filter(([k]) => !k.startsWith('carry.'))) });
    expect(noCarryTrainer.trainStep(chunks[3]).loss).not.toBe(fullLosses[15]);
    for (const m of [full, first, resumed, noCarry]) m.dispose();
  });
});

/**
 * Two stacked LSTM layers with dropout between them. Declared by recurrentDeclaration, the masks come from
 * the model's generator (passed as dropoutRng, saved by checkpoints) and a resumed run matches
 * the uninterrupted one; with the layer's private generator (the default) it cannot.
 */
class StackedDropoutModel extends Model<{ emb: Embedding; lstm: RecurrentLayer; out: Linear }> {
  constructor(rt: Runtime, seed: number, masksFromModel: boolean) {
    const r = { inputSize: 6, hiddenSize: 10, numLayers: 2, dropout: 0.4 };
    super(rt, {
      emb: Embedding.declare({ numEmbeddings: 8, embeddingDim: 6, paddingIdx: 0 }),
      // recurrentDeclaration is how the library's models declare theirs (it passes the model's generator).
      lstm: masksFromModel
        ? recurrentDeclaration('lstm', r)
        : { specs: LSTM.parameterSpecs(r), create: (model, prefix) => new LSTM(rt, { ...r, block: model.params, prefix, seed }) },
      out: Linear.declare({ inFeatures: 10, outFeatures: 2 }),
    }, seed);
  }
  loss(batch: TokenBatch): number {
    const B = batch.lengths.length, T = batch.ids.length / B;
    const { emb, lstm, out } = this.layers;
    const x = emb.forward(this.tape, batch.ids, [T, B]);
    const { hN } = recurrent(this.tape, lstm, x, { lengths: Int32Array.from(batch.lengths) });
    return crossEntropyLoss(this.tape, out.forward(this.tape, selectFirstAxis(this.tape, hN, 1)), Int32Array.from(batch.labels));
  }
}

describe('checkpoint and resume with dropout between stacked recurrent layers', () => {
  const batches = shuffledBatches(countingTask(60, 7), 6); // 10 batches per epoch
  const options = (path?: string): TrainerOptions => ({
    lr: 0.01, seed: 4, progress: false, checkpoint: path ? { path, every: 4 } : undefined,
  });
  async function interruptedRun(rt: Runtime, masksFromModel: boolean, label: string) {
    const full = new StackedDropoutModel(rt, 5, masksFromModel);
    const fullLosses: number[] = [];
    await new Trainer(full, options()).fit({ epochs: 2, batches, onStep: (r) => fullLosses.push(r.loss) });
    const path = join(dir, `stacked-dropout-${label}.safetensors`);
    const first = new StackedDropoutModel(rt, 5, masksFromModel);
    await new Trainer(first, options(path)).fit({ epochs: 2, batches, maxSteps: 14 });
    const resumed = new StackedDropoutModel(rt, 5, masksFromModel);
    const trainer = new Trainer(resumed, options(path));
    await trainer.resume(path);
    expect(trainer.step).toBe(12);
    const rest: number[] = [];
    await trainer.fit({ epochs: 2, batches, onStep: (r) => rest.push(r.loss) });
    for (const m of [full, first, resumed]) m.dispose();
    return { expected: fullLosses.slice(12), rest };
  }

  it('masks drawn from the model generator (dropoutRng): the resumed run matches bit for bit', async () => {
    const rt = await runtimeFor('simd');
    const { expected, rest } = await interruptedRun(rt, true, 'model');
    expect(expected.length).toBe(8);
    expect(rest).toEqual(expected);
  });

  it('masks from the layer\'s private generator (not checkpointed): the resumed run drifts, so the check above is not vacuous', async () => {
    const rt = await runtimeFor('simd');
    const { expected, rest } = await interruptedRun(rt, false, 'private');
    expect(rest).not.toEqual(expected);
  });
});
