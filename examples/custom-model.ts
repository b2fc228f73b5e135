// Writing a model: declare each layer once by name, write only the forward pass and the
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
import { argmax } from '../src/layers/tensor-ops.js';
import type { RecurrentLayer } from '../src/layers/recurrent.js';
import { padBatch } from '../src/data/batch.js';

interface Batch {
  ids: Int32Array; // [T, B], digit d is token d + 1 (0 is padding)
  lengths: Int32Array;
  labels: Int32Array;
}

interface ParityLayers {
  embedding: Embedding;
  lstm: RecurrentLayer;
  head: Linear;
}

class ParityModel extends Model<ParityLayers> {
  constructor(rt: Runtime, seed: number) {
    const r = { inputSize: 8, hiddenSize: 32 };
    // Each layer once, under its name: one parameter block for all of them with torch-style
    // dotted names ('embedding.weight', 'lstm.weight_ih_l0', 'head.bias', ...), made and
    // initialised in this order from the model's generator.
    super(rt, {
      embedding: Embedding.declare({ numEmbeddings: 11, embeddingDim: 8, paddingIdx: 0 }),
      // A layer written by hand: its parameter specs, and how to make it over the block under its prefix.
      // dropoutRng: masks between stacked layers (dropout > 0) come from the model's generator,
      // which checkpoints save, so a resumed run continues exactly (this model has one layer).
      lstm: { specs: LSTM.parameterSpecs(r), create: (model, prefix) => new LSTM(rt, { ...r, block: model.params, prefix, seed, dropoutRng: model.rng }) },
      head: Linear.declare({ inFeatures: 32, outFeatures: 2 }),
    }, seed);
  }

  /** The forward pass: token ids -> final hidden state -> class logits [B, 2]. */
  logits(batch: Batch) {
    const T = batch.ids.length / batch.lengths.length;
    const { embedding, lstm, head } = this.layers;
    const x = embedding.forward(this.tape, batch.ids, [T, batch.lengths.length]);
    const { hN } = recurrent(this.tape, lstm, x, { lengths: batch.lengths });
    return head.forward(this.tape, selectFirstAxis(this.tape, hN, 0));
  }

  loss(batch: Batch): number {
    return crossEntropyLoss(this.tape, this.logits(batch), batch.labels);
  }

  accuracy(batch: Batch): number {
    const predicted = this.withEval(() => {
      this.tape.reset();
      return argmax(this.logits(batch));
    });
    return predicted.filter((c, b) => c === batch.labels[b]).length / batch.labels.length;
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
