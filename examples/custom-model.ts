// Writing a model: declare the layers, write only the forward pass and the
// loss; the tape records every layer call and Trainer replays it backward,
// clips, and steps Adam over the model's one parameter block.
// This model learns whether a sequence of digits sums to an even number
// (a parity task: it needs the whole sequence). test/models-examples.test.ts
// runs main(); any TypeScript runner can run this file directly.
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { Model } from '../src/train/model.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/train/rng.js';
import { Embedding } from '../src/layers/embedding.js';
import { Linear } from '../src/layers/linear.js';
import { LSTM } from '../src/layers/lstm.js';
import { crossEntropyLoss } from '../src/layers/losses.js';
import { recurrent, selectFirstAxis } from '../src/layers/ops.js';
import type { RecurrentLayer } from '../src/layers/recurrent.js';
import { padBatch } from '../src/data/batch.js';

interface Batch {
  ids: Int32Array; // [T, B], digit d is token d + 1 (0 is padding)
  lengths: Int32Array;
  labels: Int32Array;
}

class ParityModel extends Model {
  readonly embedding: Embedding;
  readonly lstm: RecurrentLayer;
  readonly head: Linear;

  constructor(rt: Runtime, seed: number) {
    const e = { numEmbeddings: 11, embeddingDim: 8, paddingIdx: 0 };
    const r = { inputSize: 8, hiddenSize: 32 };
    const h = { inFeatures: 32, outFeatures: 2 };
    // One parameter block for all layers, under torch-style dotted names.
    super(rt, [
      { prefix: 'embedding.', specs: Embedding.parameterSpecs(e) },
      { prefix: 'lstm.', specs: LSTM.parameterSpecs(r) },
      { prefix: 'head.', specs: Linear.parameterSpecs(h) },
    ], seed);
    this.embedding = new Embedding(rt, e, { block: this.params, prefix: 'embedding.' });
    this.embedding.resetParameters(this.rng);
    // dropoutRng: masks between stacked layers (dropout > 0) come from the model's generator,
    // which checkpoints save, so a resumed run continues exactly (this model has one layer).
    this.lstm = new LSTM(rt, { ...r, block: this.params, prefix: 'lstm.', seed, dropoutRng: this.rng });
    this.head = new Linear(rt, h, { block: this.params, prefix: 'head.' });
    this.head.resetParameters(this.rng);
  }

  /** The forward pass: token ids -> final hidden state -> class logits [B, 2]. */
  logits(batch: Batch) {
    const T = batch.ids.length / batch.lengths.length;
    const x = this.embedding.forward(this.tape, batch.ids, [T, batch.lengths.length]);
    const { hN } = recurrent(this.tape, this.lstm, x, { lengths: batch.lengths });
    return this.head.forward(this.tape, selectFirstAxis(this.tape, hN, 0));
  }

  loss(batch: Batch): number {
    return crossEntropyLoss(this.tape, this.logits(batch), batch.labels);
  }

  accuracy(batch: Batch): number {
    this.eval();
    this.tape.reset();
    const l = this.logits(batch).toArray();
    this.train();
    let ok = 0;
    batch.labels.forEach((y, b) => (ok += Number((l[2 * b + 1] > l[2 * b] ? 1 : 0) === y)));
    return ok / batch.labels.length;
  }
}

function makeData(n: number, rng: Rng): { seq: Int32Array; label: number }[] {
  return Array.from({ length: n }, () => {
    const digits = Array.from({ length: 2 + rng.int(7) }, () => rng.int(10));
    return { seq: Int32Array.from(digits, (d) => d + 1), label: digits.reduce((a, b) => a + b, 0) % 2 };
  });
}

function toBatch(items: { seq: Int32Array; label: number }[]): Batch {
  const p = padBatch(items.map((i) => i.seq));
  return { ids: p.ids, lengths: p.lengths, labels: Int32Array.from(items, (i) => i.label) };
}

export async function main(log: (line: string) => void = console.log, epochs = 12): Promise<number> {
  const rt = await createRuntime();
  const rng = new Rng(7);
  const train = makeData(2000, rng);
  const valid = toBatch(makeData(500, rng));
  const model = new ParityModel(rt, 1);
  const trainer = new Trainer<Batch>(model, { lr: 5e-3, clipNorm: 1, seed: 1 });
  await trainer.fit({
    epochs,
    batches: (_epoch, r) => {
      const order = r.permutation(train.length);
      const out: Batch[] = [];
      for (let i = 0; i < order.length; i += 32) out.push(toBatch(Array.from(order.subarray(i, i + 32), (k) => train[k])));
      return out;
    },
    validate: () => ({ accuracy: model.accuracy(valid) }),
    onEpoch: (s) => log(`epoch ${s.epoch + 1}: loss ${s.loss.toFixed(4)}, held-out accuracy ${s.validation!.accuracy.toFixed(3)}`),
  });
  return model.accuracy(valid);
}
