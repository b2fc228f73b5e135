import { beforeAll, describe, expect, it } from 'vitest';
import { BUILDS, randomArray, runtimeFor } from './helpers.js';
import { gradError, numericalGradient, testRandom, toF64 } from './models-helpers.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { Tape } from '../src/train/tape.js';
import { Model } from '../src/train/model.js';
import { Linear } from '../src/layers/linear.js';
import { Embedding } from '../src/layers/embedding.js';
import { crossEntropyLoss } from '../src/layers/losses.js';
import { concatFeatures, maxOverTime, meanOverTime, recurrent, tanh } from '../src/layers/ops.js';
import { LSTM } from '../src/layers/lstm.js';
import { SequenceClassifier, type Pooling } from '../src/models/classifier.js';
import { SequenceGenerator } from '../src/models/generator.js';
import type { CellName } from '../src/models/common.js';
import type { CellKind } from '../src/layers/recurrent.js';
import { referenceForward } from './recurrent-reference.js';

const T = 4, B = 3, V = 11, D = 5, H = 6, C = 3;
const lengths = [4, 2, 3];
const ids = Int32Array.from({ length: T * B }, (_, i) => {
  const t = Math.floor(i / B), b = i % B;
  return t < lengths[b] ? 1 + ((i * 7) % (V - 1)) : 0;
});
const targets = [2, 0, 1];

/** Embedding -> Linear -> tanh -> [max; mean] over time -> Linear -> cross-entropy. */
class PoolingClassifier extends Model {
  readonly emb: Embedding;
  readonly proj: Linear;
  readonly fc: Linear;
  constructor(rt: Runtime) {
    const e = { numEmbeddings: V, embeddingDim: D, paddingIdx: 0 };
    const p = { inFeatures: D, outFeatures: H };
    const f = { inFeatures: 2 * H, outFeatures: C };
    super(rt, [
      { prefix: 'emb.', specs: Embedding.parameterSpecs(e) },
      { prefix: 'proj.', specs: Linear.parameterSpecs(p) },
      { prefix: 'fc.', specs: Linear.parameterSpecs(f) },
    ]);
    this.emb = new Embedding(rt, e, { block: this.params, prefix: 'emb.' });
    this.proj = new Linear(rt, p, { block: this.params, prefix: 'proj.' });
    this.fc = new Linear(rt, f, { block: this.params, prefix: 'fc.' });
    const rng = testRandom(7);
    this.emb.resetParameters(rng);
    this.proj.resetParameters(rng);
    this.fc.resetParameters(rng);
  }
  loss(): number {
    const tape = this.tape;
    const h = tanh(tape, this.proj.forward(tape, this.emb.forward(tape, ids, [T, B])));
    const pooled = concatFeatures(tape, [maxOverTime(tape, h, lengths), meanOverTime(tape, h, lengths)]);
    return crossEntropyLoss(tape, this.fc.forward(tape, pooled), targets);
  }
}

/** The same model in float64. */
function reference(p: Record<string, Float64Array>): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const hs: number[][] = [];
    for (let t = 0; t < lengths[b]; t++) {
      const id = ids[t * B + b];
      const h: number[] = [];
      for (let o = 0; o < H; o++) {
        let s = p['proj.bias'][o];
        for (let i = 0; i < D; i++) s += p['emb.weight'][id * D + i] * p['proj.weight'][o * D + i];
        h.push(Math.tanh(s));
      }
      hs.push(h);
    }
    const feat: number[] = [];
    for (let o = 0; o < H; o++) feat.push(Math.max(...hs.map((h) => h[o])));
    for (let o = 0; o < H; o++) feat.push(hs.reduce((s, h) => s + h[o], 0) / hs.length);
    const logits: number[] = [];
    for (let c = 0; c < C; c++) {
      let s = p['fc.bias'][c];
      for (let i = 0; i < 2 * H; i++) s += feat[i] * p['fc.weight'][c * 2 * H + i];
      logits.push(s);
    }
    const m = Math.max(...logits);
    total += Math.log(logits.reduce((s, l) => s + Math.exp(l - m), 0)) + m - logits[targets[b]];
  }
  return total / B;
}

/** The model's parameters as float64 copies, by name (references perturb them in place). */
function float64Params(model: Model): Record<string, Float64Array> {
  const p: Record<string, Float64Array> = {};
  for (const name of model.params.names) p[name] = toF64(model.params.value(name).view());
  return p;
}

/**
 * The loss against its float64 reference, then every parameter's gradient against central
 * differences of the reference; the embedding's padding row (paddingRowSize values at the
 * start of paddingParam) gets no gradient.
 */
function expectGradientsMatch(
  model: Model, p: Record<string, Float64Array>, ref: () => number, loss: number,
  padding: { param: string; rowSize: number }, tol: number,
): void {
  expect(Math.abs(loss - ref())).toBeLessThan(1e-5);
  for (const name of model.params.names) {
    const num = numericalGradient(ref, p[name], 1e-5);
    if (name === padding.param) num.fill(0, 0, padding.rowSize);
    expect(gradError(model.params.grad(name).view(), num), name).toBeLessThan(tol);
  }
}

describe.each(BUILDS)('tape (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it('a model of several layers in one parameter block passes an end-to-end finite-difference check', () => {
    const model = new PoolingClassifier(rt);
    expect(model.params.names).toEqual(['emb.weight', 'proj.weight', 'proj.bias', 'fc.weight', 'fc.bias']);
    model.tape.reset();
    model.zeroGrad();
    const loss = model.loss();
    expect(model.tape.entryNames).toEqual(['Embedding', 'Linear', 'tanh', 'maxOverTime', 'meanOverTime', 'concatFeatures', 'Linear', 'crossEntropyLoss']);
    model.tape.backward();
    const p = float64Params(model);
    expectGradientsMatch(model, p, () => reference(p), loss, { param: 'emb.weight', rowSize: D }, 2e-3);
    model.dispose();
  });

  it('replays in reverse, records nothing in eval mode, and rejects stale variables and double backward', () => {
    const tape = new Tape(rt);
    const order: string[] = [];
    tape.reset();
    tape.record('a', () => order.push('a'));
    tape.record('b', () => order.push('b'));
    tape.record('c', () => order.push('c'));
    tape.backward();
    expect(order).toEqual(['c', 'b', 'a']);
    expect(() => tape.backward()).toThrow(/tape is empty/);
    const v = tape.input([1, 2, 3], [3]);
    tape.reset();
    expect(() => v.ptr).toThrow(/used after tape.reset\(\)/);
    tape.training = false;
    tape.record('d', () => order.push('d'));
    expect(tape.length).toBe(0);
    expect(() => tape.backward()).toThrow(/eval mode/);
    expect(() => tape.input([1, 2], [3])).toThrow(/needs 3 values/);
  });

  it('gradients accumulate when a variable feeds two ops', () => {
    const tape = new Tape(rt);
    tape.reset();
    const x = tape.input(randomArray(2 * 3 * 4, 1), [2, 3, 4], true);
    const y = concatFeatures(tape, [tanh(tape, x), tanh(tape, x)]);
    y.grad().set(new Float32Array(y.size).fill(1));
    tape.backward();
    const xv = x.toArray();
    const dx = x.gradToArray();
    for (let i = 0; i < xv.length; i++) expect(dx[i]).toBeCloseTo(2 * (1 - Math.tanh(xv[i]) ** 2), 5);
  });

  it('a recurrent layer fed data (no gradient wanted) skips dx but gets the same weight gradients', () => {
    const dims = { inputSize: 5, hiddenSize: 4 };
    const xData = randomArray(3 * 2 * 5, 11), dOut = randomArray(3 * 2 * 4, 12);
    const run = (xNeedsGrad: boolean) => {
      const layer = new LSTM(rt, { ...dims, seed: 3 });
      const asked: (boolean | undefined)[] = [];
      const backwardDevice = layer.backwardDevice.bind(layer);
      layer.backwardDevice = (args) => (asked.push(args.inputGrad), backwardDevice(args));
      const tape = new Tape(rt);
      tape.reset();
      const x = tape.input(xData, [3, 2, 5], xNeedsGrad);
      const { output } = recurrent(tape, layer, x);
      output.grad().set(dOut);
      tape.backward();
      const grads = layer.gradients();
      const dx = xNeedsGrad ? x.gradToArray() : null;
      expect(asked).toEqual([xNeedsGrad]);
      layer.dispose();
      return { grads, dx };
    };
    const data = run(false), variable = run(true);
    for (const name of Object.keys(variable.grads)) expect(data.grads[name].data, name).toEqual(variable.grads[name].data);
    // dx against the host API's backward of the same layer
    const layer = new LSTM(rt, { ...dims, seed: 3 });
    layer.forward({ shape: [3, 2, 5], data: xData }, { training: true });
    const host = layer.backward({ dOutput: { shape: [3, 2, 4], data: dOut } });
    expect(variable.dx).toEqual(host.dx!.data);
    expect(Math.max(...host.dx!.data.map(Math.abs))).toBeGreaterThan(0);
    layer.dispose();
  });

  it('pooling checks lengths before touching memory', () => {
    const tape = new Tape(rt);
    tape.reset();
    const x = tape.input(new Float32Array(2 * 3 * 4), [2, 3, 4], true);
    expect(() => meanOverTime(tape, x, [1, 2])).toThrow(/3 entries/);
    expect(() => maxOverTime(tape, x, [1, 3, 1])).toThrow(/lengths\[1\] = 3 must be an integer in \[1, 2\]/);
    expect(() => concatFeatures(tape, [x, tape.input(new Float32Array(4), [1, 4])])).toThrow(/leading dims differ/);
  });
});

describe.each(BUILDS)('SequenceClassifier end to end (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each([
    { cell: 'gru' as CellName, bidirectional: true, numLayers: 1, pooling: 'maxmean' as Pooling },
    { cell: 'lstm' as CellName, bidirectional: false, numLayers: 2, pooling: 'last' as Pooling },
    { cell: 'rnn' as CellName, bidirectional: true, numLayers: 1, pooling: 'mean' as Pooling },
    { cell: 'gru' as CellName, bidirectional: true, numLayers: 2, pooling: 'last' as Pooling },
  ])('$cell bidirectional=$bidirectional layers=$numLayers pooling=$pooling: every parameter gradient vs float64', (cfg) => {
    const V2 = 7, E = 3, H2 = 4, T2 = 5, B2 = 3, C2 = 3;
    const lens = Int32Array.from([5, 2, 4]);
    const batchIds = Int32Array.from({ length: T2 * B2 }, (_, i) => (Math.floor(i / B2) < lens[i % B2] ? 1 + ((i * 5) % (V2 - 1)) : 0));
    const labels = Int32Array.from([2, 0, 1]);
    const model = new SequenceClassifier(rt, { vocabSize: V2, numClasses: C2, embeddingDim: E, hiddenSize: H2, seed: 5, ...cfg });
    model.tape.reset();
    model.zeroGrad();
    const loss = model.loss({ ids: batchIds, lengths: lens, labels });
    model.tape.backward();
    const D2 = cfg.bidirectional ? 2 : 1;
    const kind: CellKind = cfg.cell === 'gru' ? 'gru_after' : cfg.cell === 'lstm' ? 'lstm' : 'rnn_tanh';
    const p = float64Params(model);
    const rnnParams: Record<string, Float64Array> = {};
    for (const name of model.params.names) if (name.startsWith('rnn.')) rnnParams[name.slice(4)] = p[name];
    const ref = () => {
      const x = new Float64Array(T2 * B2 * E);
      for (let i = 0; i < T2 * B2; i++) for (let j = 0; j < E; j++) x[i * E + j] = p['embedding.weight'][batchIds[i] * E + j];
      const { output, hN } = referenceForward(
        { cell: kind, I: E, H: H2, L: cfg.numLayers, D: D2, bias: true, batchFirst: false, T: T2, B: B2 },
        { params: rnnParams, x, h0: new Float64Array(cfg.numLayers * D2 * B2 * H2), c0: kind === 'lstm' ? new Float64Array(cfg.numLayers * D2 * B2 * H2) : undefined, lengths: lens },
      );
      const F = D2 * H2;
      let total = 0;
      for (let b = 0; b < B2; b++) {
        const feat: number[] = [];
        const at = (t: number, f: number) => output[(t * B2 + b) * F + f];
        if (cfg.pooling === 'max' || cfg.pooling === 'maxmean') for (let f = 0; f < F; f++) feat.push(Math.max(...Array.from({ length: lens[b] }, (_, t) => at(t, f))));
        if (cfg.pooling === 'mean' || cfg.pooling === 'maxmean') for (let f = 0; f < F; f++) feat.push(Array.from({ length: lens[b] }, (_, t) => at(t, f)).reduce((a, c) => a + c, 0) / lens[b]);
        if (cfg.pooling === 'last') for (let d = 0; d < D2; d++) for (let h = 0; h < H2; h++) feat.push(hN[(((cfg.numLayers - 1) * D2 + d) * B2 + b) * H2 + h]);
        const logits = Array.from({ length: C2 }, (_, c) => feat.reduce((s2, v, i) => s2 + v * p['fc.weight'][c * feat.length + i], p['fc.bias'][c]));
        const m = Math.max(...logits);
        total += Math.log(logits.reduce((s2, l) => s2 + Math.exp(l - m), 0)) + m - logits[labels[b]];
      }
      return total / B2;
    };
    expectGradientsMatch(model, p, ref, loss, { param: 'embedding.weight', rowSize: E }, 3e-3);
    model.dispose();
  });
});

describe.each(BUILDS)('SequenceGenerator end to end (%s build)', (build) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeFor(build);
  });

  it.each(['gru', 'lstm'] as const)('%s: gradients through the feature -> h0 path, the decoder and the masked loss vs float64', (cell) => {
    const F = 3, V3 = 6, E = 4, H3 = 5, T3 = 4, B3 = 2;
    const model = new SequenceGenerator(rt, { featureSize: F, vocabSize: V3, bosId: 1, eosId: 2, embeddingDim: E, hiddenSize: H3, cell, seed: 8 });
    const features = Float32Array.from([0.5, -1, 0.25, 1, 0.3, -0.7]);
    const lens = Int32Array.from([4, 2]);
    const inputs = Int32Array.from([1, 1, 3, 4, 5, 0, 4, 0]);
    const targets = Int32Array.from([3, 4, 5, 2, 4, 0, 2, 0]);
    model.tape.reset();
    model.zeroGrad();
    const loss = model.loss({ features, inputs, targets, lengths: lens });
    model.tape.backward();
    const p = float64Params(model);
    const rnnParams: Record<string, Float64Array> = {};
    for (const name of model.params.names) if (name.startsWith('rnn.')) rnnParams[name.slice(4)] = p[name];
    const kind: CellKind = cell === 'gru' ? 'gru_after' : 'lstm';
    const ref = () => {
      const h0 = new Float64Array(B3 * H3);
      for (let b = 0; b < B3; b++) for (let h = 0; h < H3; h++) {
        let s2 = p['init.bias'][h];
        for (let f = 0; f < F; f++) s2 += p['init.weight'][h * F + f] * features[b * F + f];
        h0[b * H3 + h] = Math.tanh(s2);
      }
      const x = new Float64Array(T3 * B3 * E);
      for (let i = 0; i < T3 * B3; i++) for (let j = 0; j < E; j++) x[i * E + j] = p['embedding.weight'][inputs[i] * E + j];
      const { output } = referenceForward(
        { cell: kind, I: E, H: H3, L: 1, D: 1, bias: true, batchFirst: false, T: T3, B: B3 },
        { params: rnnParams, x, h0, c0: kind === 'lstm' ? new Float64Array(B3 * H3) : undefined, lengths: lens },
      );
      let total = 0, n = 0;
      for (let t = 0; t < T3; t++) for (let b = 0; b < B3; b++) {
        if (t >= lens[b]) continue;
        const row = t * B3 + b;
        const logits = Array.from({ length: V3 }, (_, v) => {
          let s2 = p['fc.bias'][v];
          for (let h = 0; h < H3; h++) s2 += p['fc.weight'][v * H3 + h] * output[row * H3 + h];
          return s2;
        });
        const m = Math.max(...logits);
        total += Math.log(logits.reduce((a, l) => a + Math.exp(l - m), 0)) + m - logits[targets[row]];
        n++;
      }
      return total / n;
    };
    expectGradientsMatch(model, p, ref, loss, { param: 'embedding.weight', rowSize: E }, 3e-3);
    model.dispose();
  });
});
