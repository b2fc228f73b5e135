// The bad-input suite (issue 18), part 1: the recurrent layers, constructors, tape ops,
// optimizers, readers, Trainer and createRuntime. The harness (what every row asserts) is
// test/bad-input-harness.ts; part 2 (the wave's attention layers, MDLSTM, Seq2Seq, DMN, data
// readers and CLI commands) is test/bad-input-wave.test.ts.
//
// To cover a new layer, model, reader or command, append a Subject (or rows to an existing
// one): `make` builds it, `good` returns the numbers a correct call gives, `rows` lists
// [label, bad call, expected message].
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { GRU, LSTM, RNN, type RecurrentLayer } from '../src/layers/index.js';
import { Linear } from '../src/layers/linear.js';
import { Embedding } from '../src/layers/embedding.js';
import { Dropout } from '../src/layers/dropout.js';
import { crossEntropyLoss, mseLoss } from '../src/layers/losses.js';
import { activation, concatFeatures, meanOverTime, recurrent, selectFirstAxis, tanh } from '../src/layers/ops.js';
import { Adam, AdamW, SGD, clipGradNorm } from '../src/kernels/optim.js';
import { ParameterBlock, type HostTensor } from '../src/runtime/tensor.js';
import { Arena } from '../src/runtime/memory.js';
import { Tape, type Variable } from '../src/train/tape.js';
import { Trainer } from '../src/train/trainer.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { randomArray } from './helpers.js';
import { badInputSuite, host, withNaN, type Bad, type Subject } from './bad-input-harness.js';
import { BagClassifier, collate, countingTask } from './models-helpers.js';

const X = host([5, 2, 3]);

/** A recurrent layer in eval mode plus a training forward for the backward rows. */
function recurrentSubject(name: string, make: (rt: Runtime) => RecurrentLayer, H: number, gru: boolean): Subject<RecurrentLayer> {
  const stateShape = [1, 2, H];
  return {
    name,
    make,
    good: (l) => {
      const a = l.forward(X, { training: false }).output.data;
      const stateDict = Object.values(l.stateDict()).flatMap((t) => Array.from(t.data));
      return [...a, ...stateDict];
    },
    dispose: (l) => l.dispose(),
    rows: [
      ['x of rank 2', (l) => l.forward({ shape: [10, 3], data: new Float32Array(30) }), /x must have shape \[T, B, inputSize\] with every dimension >= 1, got \[10, 3\]/],
      ['x with the wrong inputSize', (l) => l.forward(host([5, 2, 4])), /x must have shape \[T, B, inputSize\] with inputSize 3, got \[5, 2, 4\]/],
      ['x with a zero dimension', (l) => l.forward({ shape: [0, 2, 3], data: new Float32Array(0) }), /every dimension >= 1, got \[0, 2, 3\]/],
      ['x with short data', (l) => l.forward({ shape: [5, 2, 3], data: new Float32Array(29) }), /x has 29 values but shape \[5, 2, 3\] needs 30/],
      ['x as Float64Array', (l) => l.forward({ shape: [5, 2, 3], data: new Float64Array(30) as unknown as Float32Array }), /x must be \{ shape: number\[\], data: Float32Array \}/],
      ['x holding NaN', (l) => l.forward(withNaN(X, 7)), /x contains a non-finite value \(NaN\) at flat index 7/],
      ['x holding Infinity', (l) => l.forward(withNaN(X, 29, Infinity)), /x contains a non-finite value \(Infinity\) at flat index 29/],
      ['h0 of the wrong shape', (l) => l.forward(X, { h0: host([1, 3, H]) }), new RegExp(`h0 must have shape \\[1, 2, ${H}\\], got \\[1, 3, ${H}\\]`)],
      ['h0 holding NaN', (l) => l.forward(X, { h0: withNaN(host(stateShape), 0) }), /h0 contains a non-finite value \(NaN\) at flat index 0/],
      ...(gru
        ? [['c0 on a cell without one', (l: RecurrentLayer) => l.forward(X, { c0: host(stateShape) }), /c0 is only accepted by LSTM/] as [string, Bad<RecurrentLayer>, RegExp]]
        : [['c0 of the wrong shape', (l: RecurrentLayer) => l.forward(X, { c0: host([2, 2, H]) }), new RegExp(`c0 must have shape \\[1, 2, ${H}\\]`)] as [string, Bad<RecurrentLayer>, RegExp]]),
      ['lengths of the wrong count', (l) => l.forward(X, { lengths: Int32Array.from([5]) }), /lengths must have 2 values \(the batch size\), got 1/],
      ['lengths 0', (l) => l.forward(X, { lengths: Int32Array.from([5, 0]) }), /lengths\[1\] must be in 1\.\.5 \(the sequence length\), got 0/],
      ['lengths past T', (l) => l.forward(X, { lengths: Int32Array.from([6, 1]) }), /lengths\[0\] must be in 1\.\.5/],
      ['lengths as a plain array', (l) => l.forward(X, { lengths: [5, 5] as unknown as Int32Array }), /lengths must be an Int32Array of 2 values, got \[5, 5\]/],
      ['training not a boolean', (l) => l.forward(X, { training: 'yes' as unknown as boolean }), /training must be a boolean, got string/],
      ['options not an object', (l) => l.forward(X, null as never), /forward options must be an object/],
      ['backward after an eval forward', (l) => l.backward({}), /backward\(\) needs a preceding forward\(\) in training mode/],
      ['backward twice', (l) => { l.forward(X, { training: true }); l.backward({}); l.backward({}); }, /backward\(\) was already called after the last forward/],
      ['dOutput of the wrong shape', (l) => { l.forward(X, { training: true }); l.backward({ dOutput: host([5, 2, H + 1]) }); }, new RegExp(`dOutput must have shape \\[5, 2, ${H}\\]`)],
      ['dHN holding NaN', (l) => { l.forward(X, { training: true }); l.backward({ dHN: withNaN(host(stateShape), 3) }); }, /dHN contains a non-finite value \(NaN\) at flat index 3/],
      ['loadStateDict missing a tensor', (l) => l.loadStateDict({}), /state dict is missing 'weight_ih_l0'/],
      ['loadStateDict with an unknown name', (l) => l.loadStateDict({ ...l.stateDict(), extra: host([1]) }), /unexpected tensor 'extra' in state dict; expected exactly: weight_ih_l0/],
      ['loadStateDict with a wrong shape', (l) => l.loadStateDict({ ...l.stateDict(), bias_ih_l0: host([7]) }), /state dict 'bias_ih_l0' must have shape/],
      ['loadStateDict holding NaN', (l) => { const d = l.stateDict(); d.weight_hh_l0.data[2] = NaN; l.loadStateDict(d); }, /state dict 'weight_hh_l0' contains a non-finite value \(NaN\) at flat index 2/],
      ['loadStateDict with Int32Array data', (l) => { const d = l.stateDict(); l.loadStateDict({ ...d, bias_hh_l0: { shape: d.bias_hh_l0.shape, data: new Int32Array(d.bias_hh_l0.data.length) } }); }, /must be float32 data, got Int32Array/],
      ['loadStateDict of null', (l) => l.loadStateDict(null as never), /loadStateDict expects an object/],
      ['a device tensor of another runtime', (l, rt) => l.forwardDevice({ x: { shape: [5, 2, 3], ptr: 0, size: 30, bytes: 120, mem: {} } as never, arena: rt.arena }), /(LSTM|GRU|RNN)\.forwardDevice: x belongs to another runtime/],
    ],
  };
}

/** The constructors: each row builds with one bad option; the good call builds a small layer. */
const constructors: Subject<{ block: ParameterBlock }> = {
  name: 'layer constructors',
  make: (rt) => ({ block: new ParameterBlock(rt.mem, [{ name: 'weight_ih_l0', shape: [16, 2] }]) }),
  dispose: (s) => s.block.dispose(),
  good: (_s, rt) => {
    const l = new LSTM(rt, { inputSize: 2, hiddenSize: 3, seed: 1 });
    const out = l.forward(host([2, 1, 2]), { training: false }).output.data;
    l.dispose();
    return out;
  },
  rows: [
    ['LSTM inputSize 0', (_s, rt) => new LSTM(rt, { inputSize: 0, hiddenSize: 4 }), /inputSize must be an integer >= 1, got 0/],
    ['GRU hiddenSize -1', (_s, rt) => new GRU(rt, { inputSize: 3, hiddenSize: -1 }), /hiddenSize must be an integer >= 1, got -1/],
    ['RNN numLayers 1.5', (_s, rt) => new RNN(rt, { inputSize: 3, hiddenSize: 4, numLayers: 1.5 }), /numLayers must be an integer >= 1, got 1\.5/],
    ['LSTM dropout 1', (_s, rt) => new LSTM(rt, { inputSize: 3, hiddenSize: 4, dropout: 1 }), /dropout must be in \[0, 1\), got 1/],
    ['LSTM bidirectional "yes"', (_s, rt) => new LSTM(rt, { inputSize: 3, hiddenSize: 4, bidirectional: 'yes' as never }), /bidirectional must be a boolean, got string/],
    ['RNN nonlinearity sigmoid', (_s, rt) => new RNN(rt, { inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as never }), /nonlinearity must be 'tanh' or 'relu', got sigmoid/],
    ['GRU options null', (_s, rt) => new GRU(rt, null as never), /options must be an object with inputSize and hiddenSize/],
    ['LSTM hiddenSize 30000 (out of memory)', (_s, rt) => new LSTM(rt, { inputSize: 3, hiddenSize: 30000 }), /LSTM\(inputSize 3, hiddenSize 30000\) needs 26\.8 GiB of parameters and gradients .*limited to 4\.0 GiB/],
    ['Linear inFeatures 0', (_s, rt) => new Linear(rt, { inFeatures: 0, outFeatures: 2 }), /Linear inFeatures must be an integer >= 1, got 0/],
    ['Linear of 100000 x 100000 (out of memory)', (_s, rt) => new Linear(rt, { inFeatures: 100000, outFeatures: 100000 }), /Linear\(100000 -> 100000\) needs .* GiB of parameters and gradients/],
    ['Embedding paddingIdx out of range', (_s, rt) => new Embedding(rt, { numEmbeddings: 5, embeddingDim: 2, paddingIdx: 5 }), /Embedding paddingIdx must be an integer in \[0, 5\), got 5/],
    ['Dropout p 1', (_s, rt) => new Dropout(rt, { p: 1 }, { uniform: Math.random, normal: Math.random }), /Dropout p must be in \[0, 1\), got 1/],
    ['a block of the wrong shape', (s, rt) => new LSTM(rt, { inputSize: 3, hiddenSize: 4, block: s.block }), /parameter 'weight_ih_l0' must have shape \[16, 3\], got \[16, 2\]/],
    ['a block missing a tensor', (s, rt) => new GRU(rt, { inputSize: 2, hiddenSize: 4, block: s.block }), /parameter 'weight_ih_l0' must have shape \[12, 2\], got \[16, 2\]/],
  ],
};

interface TapeState { tape: Tape; other: Tape; fc: Linear; emb: Embedding; lstm: LSTM; x: Variable; logits: Variable; foreign: Variable; wide: Variable }

/** Layers and ops on a tape: the good call is a forward, a loss and a backward. */
const tapeOps: Subject<TapeState> = {
  name: 'tape, Linear, Embedding and ops',
  make: (rt) => {
    const tape = new Tape(rt, new Arena(rt.mem, 0, 'bad-input tape'));
    const fc = new Linear(rt, { inFeatures: 3, outFeatures: 4 });
    fc.resetParameters({ uniform: () => 0.3, normal: () => 0.1 });
    const emb = new Embedding(rt, { numEmbeddings: 6, embeddingDim: 3 });
    emb.resetParameters({ uniform: () => 0.2, normal: () => 0.4 });
    const lstm = new LSTM(rt, { inputSize: 3, hiddenSize: 4, seed: 2 });
    const other = new Tape(rt, new Arena(rt.mem, 0, 'another tape'));
    return { tape, other, fc, emb, lstm, x: null as never, logits: null as never, wide: null as never, foreign: other.input([1, 2], [2]) };
  },
  good: (s) => {
    s.tape.reset();
    s.fc.block.zeroGrad();
    const e = s.emb.forward(s.tape, [1, 2, 3, 4, 5, 0, 1, 2, 3, 4], [5, 2]);
    const { output } = recurrent(s.tape, s.lstm, e);
    s.x = s.tape.input(X.data, [5, 2, 3], true);
    s.logits = s.fc.forward(s.tape, tanh(s.tape, s.x));
    const loss = crossEntropyLoss(s.tape, s.logits, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]) + mseLoss(s.tape, meanOverTime(s.tape, output), new Float32Array(8));
    s.tape.backward();
    // Made here, outside the rows, so that the rows' own calls are all that is measured.
    s.wide = s.tape.input(new Float32Array(8), [2, 4]);
    return [loss, ...s.x.gradToArray(), ...s.fc.block.gradsView()];
  },
  dispose: (s) => {
    s.tape.arena.dispose();
    s.other.arena.dispose();
    s.lstm.dispose();
  },
  rows: [
    ['tape.input holding NaN', (s) => s.tape.input([1, NaN], [2]), /tape\.input data contains a non-finite value \(NaN\) at flat index 1/],
    ['tape.input of the wrong length', (s) => s.tape.input([1, 2, 3], [2, 2]), /input of shape \[2, 2\] needs 4 values, got 3/],
    ['tape.tensor with a negative size', (s) => s.tape.tensor([2, -1]), /tensor shape must hold non-negative integers, got \[2, -1\]/],
    ['Linear on the wrong feature count', (s) => s.fc.forward(s.tape, s.wide), /Linear input x must have shape \[\.\.\., 3\], got \[2, 4\]/],
    ['Embedding id out of range', (s) => s.emb.forward(s.tape, [0, 6], [2]), /Embedding ids\[1\] = 6 is outside the vocabulary \[0, 6\)/],
    ['Embedding id -1', (s) => s.emb.forward(s.tape, [-1], [1]), /Embedding ids\[0\] = -1 is outside the vocabulary/],
    ['Embedding id 1.5', (s) => s.emb.forward(s.tape, [1.5], [1]), /Embedding ids\[0\] = 1\.5 is outside the vocabulary/],
    ['Embedding ids short for the shape', (s) => s.emb.forward(s.tape, [1, 2, 3], [2, 2]), /Embedding ids: shape \[2, 2\] needs 4 ids, got 3/],
    ['crossEntropyLoss target out of range', (s) => crossEntropyLoss(s.tape, s.logits, [0, 1, 2, 3, 4, 0, 0, 0, 0, 0]), /crossEntropyLoss: target of row 4 is 4, outside the classes \[0, 4\)/],
    ['crossEntropyLoss target count', (s) => crossEntropyLoss(s.tape, s.logits, [0, 1]), /crossEntropyLoss: 10 rows of logits \[5, 2, 4\] need 10 targets, got 2/],
    ['crossEntropyLoss mask with NaN', (s) => crossEntropyLoss(s.tape, s.logits, new Array(10).fill(0), { mask: [NaN, 1, 1, 1, 1, 1, 1, 1, 1, 1] }), /crossEntropyLoss mask contains a non-finite value/],
    ['activation kind', (s) => activation(s.tape, 'gelu' as never, s.x), /activation must be 'tanh', 'sigmoid' or 'relu', got gelu/],
    ['meanOverTime lengths', (s) => meanOverTime(s.tape, s.x, [6, 1]), /meanOverTime: lengths\[0\] = 6 must be an integer in \[1, 5\]/],
    ['selectFirstAxis index', (s) => selectFirstAxis(s.tape, s.x, 5), /selectFirstAxis: index 5 must be an integer in \[0, 5\)/],
    ['concatFeatures of mismatched rows', (s) => concatFeatures(s.tape, [s.x, s.wide]), /concatFeatures: leading dims differ/],
    ['a variable of a finished step', (s) => { const old = s.x; s.tape.reset(); tanh(s.tape, old); }, /tanh: x is from step \d+, used after tape\.reset\(\)/],
    ['a variable of another tape', (s) => tanh(s.tape, s.foreign), /tanh: x belongs to another tape/],
    ['a recurrent layer of another runtime', (s) => recurrent(s.tape, { rt: { mem: {} }, constructor: LSTM } as never, s.x), /the layer belongs to another runtime than the tape/],
  ],
};

interface OptState { block: ParameterBlock; adam: Adam }

const optimizers: Subject<OptState> = {
  name: 'optimizers and clipping',
  make: (rt) => {
    const block = new ParameterBlock(rt.mem, [{ name: 'w', shape: [37] }]);
    block.valuesView().set(randomArray(37, 3));
    return { block, adam: new Adam(rt, block, { lr: 0.01 }) };
  },
  good: (s, rt) => {
    s.block.gradsView().set(randomArray(37, 4));
    const norm = clipGradNorm(rt, s.block, 1e6);
    return [norm, ...s.block.gradsView()];
  },
  dispose: (s) => {
    s.adam.dispose();
    s.block.dispose();
  },
  rows: [
    ['Adam lr -1', (s, rt) => new Adam(rt, s.block, { lr: -1 }), /Adam lr must be >= 0, got -1/],
    ['Adam betas [1, 0.9]', (s, rt) => new Adam(rt, s.block, { betas: [1, 0.9] }), /Adam betas\[0\] must lie in \[0, 1\), got 1/],
    ['AdamW eps NaN', (s, rt) => new AdamW(rt, s.block, { eps: NaN }), /AdamW eps/],
    ['Adam amsgrad', (s, rt) => new Adam(rt, s.block, { amsgrad: true }), /Adam: amsgrad is not supported/],
    ['SGD nesterov without momentum', (s, rt) => new SGD(rt, s.block, { lr: 0.1, nesterov: true }), /SGD: nesterov momentum requires a momentum > 0/],
    ['SGD options null', (s, rt) => new SGD(rt, s.block, null as never), /SGD options must be an object with lr/],
    ['clipGradNorm maxNorm -1', (s, rt) => clipGradNorm(rt, s.block, -1), /clipGradNorm maxNorm must be >= 0, got -1/],
    ['lr set to NaN', (s) => { s.adam.lr = NaN; }, /Adam lr/],
    ['params of another runtime', (s, rt) => new Adam(rt, { ...s.block, mem: {} } as never), /Adam: the ParameterBlock belongs to another runtime/],
  ],
};

interface ReaderState { file: Uint8Array; checkpoint: Uint8Array }

const readers: Subject<ReaderState> = {
  name: 'safetensors and checkpoint readers',
  make: () => ({
    file: writeSafetensors({ w: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) } }),
    checkpoint: encodeCheckpoint({ tensors: { 'model.w': { shape: [2], data: Float32Array.from([7, 8]) } }, state: { step: 3 } }),
  }),
  good: (s) => [...readSafetensors(s.file).w.data, ...decodeCheckpoint(s.checkpoint).tensors['model.w'].data],
  rows: [
    ['safetensors of 3 bytes', () => readSafetensors(new Uint8Array(3)), /file is 3 bytes, shorter than the 8-byte/],
    ['safetensors truncated', (s) => readSafetensors(s.file.slice(0, s.file.length - 4)), /tensor "w": shape \[2, 3\] needs more bytes than the 20-byte payload area holds/],
    ['safetensors with a lying header length', (s) => { const b = s.file.slice(); b[0] = 0xff; b[1] = 0xff; b[2] = 0xff; readSafetensors(b); }, /header length 16777215 runs past the end of the file .*truncated file\?/],
    ['safetensors of binary garbage', () => readSafetensors(Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255)), /header length .* is absurdly large/],
    ['a safetensors file as a checkpoint', (s) => decodeCheckpoint(s.file), /not an rnn-wasm checkpoint/],
    ['a checkpoint with NaN state', () => encodeCheckpoint({ tensors: {}, state: { loss: NaN } }), /checkpoint\.state\.loss is NaN, which JSON cannot store/],
  ],
};

interface TrainerState { model: BagClassifier; trainer: Trainer<ReturnType<typeof collate>> }
const batch = collate(countingTask(16, 1));

const trainers: Subject<TrainerState> = {
  name: 'Trainer',
  make: (rt) => {
    const model = new BagClassifier(rt, 7);
    return { model, trainer: new Trainer(model, { lr: 0.01, progress: false }) };
  },
  good: (s) => [...s.model.params.valuesView()],
  dispose: (s) => {
    s.trainer.dispose();
    s.model.dispose();
  },
  rows: [
    ['lr NaN', (s) => new Trainer(s.model, { lr: NaN }), /lr must be a finite number, got NaN/],
    ['clipNorm -1', (s) => new Trainer(s.model, { clipNorm: -1 }), /clipNorm must be > 0, got -1/],
    ['optimizer rmsprop', (s) => new Trainer(s.model, { optimizer: 'rmsprop' as never }), /optimizer must be 'adam', 'adamw' or 'sgd', got rmsprop/],
    ['checkpoint every 0', (s) => new Trainer(s.model, { checkpoint: { path: 'x', every: 0 } }), /checkpoint\.every must be an integer >= 1, got 0/],
    ['fit epochs 0', (s) => s.trainer.fit({ epochs: 0, batches: () => [batch] }), /epochs must be an integer >= 1, got 0/],
    ['fit yieldEveryMs -1', (s) => s.trainer.fit({ epochs: 1, batches: () => [batch], yieldEveryMs: -1 }), /yieldEveryMs must be a number >= 0/],
    ['restore of a foreign checkpoint', (s) => s.trainer.restore({ tensors: { 'x.y': { shape: [1], data: new Float32Array(1) } }, state: {} }), /checkpoint: unexpected tensor 'x\.y'/],
  ],
};

const runtimes: Subject<null> = {
  name: 'createRuntime',
  make: () => null,
  good: () => [1],
  rows: [
    ['maxMemory -1', () => createRuntime({ maxMemory: -1 }), /maxMemory must be a number of bytes in 1\.\.4294967296/],
    ['maxMemory below the initial memory', () => createRuntime({ maxMemory: 4096 }), /maxMemory must be at least the kernels' initial memory/],
    ['module not a WebAssembly.Module', () => createRuntime({ module: {} as never }), /module must be a WebAssembly\.Module/],
    ['bytes of garbage', () => createRuntime({ bytes: new Uint8Array([1, 2, 3]) }), /not a valid WebAssembly module|do not validate/],
  ],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const SUBJECTS: Subject<any>[] = [
  recurrentSubject('LSTM', (rt) => new LSTM(rt, { inputSize: 3, hiddenSize: 4, seed: 1 }), 4, false),
  recurrentSubject('GRU', (rt) => new GRU(rt, { inputSize: 3, hiddenSize: 5, seed: 2 }), 5, true),
  recurrentSubject('RNN', (rt) => new RNN(rt, { inputSize: 3, hiddenSize: 3, seed: 3 }), 3, true),
  constructors,
  tapeOps,
  optimizers,
  readers,
  trainers,
  runtimes,
];

badInputSuite('bad-input', SUBJECTS);
