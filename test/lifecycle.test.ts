// Issue 18, findings 1-4: object lifetimes, runtimes and memory limits. Each case first
// reproduces what used to corrupt another model silently (a disposed layer computing with
// its successor's weights, a second dispose freeing a live block, a block of another
// runtime, a doubled backward, an out-of-memory error that named nothing and leaked), then
// asserts the clear error and that nothing else changed.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { LSTM, GRU } from '../src/layers/index.js';
import { Linear } from '../src/layers/linear.js';
import { tanh, recurrent } from '../src/layers/ops.js';
import { Adam, SGD } from '../src/kernels/optim.js';
import { Model } from '../src/train/model.js';
import { Tape } from '../src/train/tape.js';
import { Tensor, ParameterBlock, type HostTensor } from '../src/runtime/tensor.js';
import { Arena, MemoryError } from '../src/runtime/memory.js';
import { randomArray } from './helpers.js';

function host(shape: number[], seed: number): HostTensor {
  return { shape, data: randomArray(shape.reduce((a, b) => a * b, 1), seed) };
}

const X = host([4, 2, 3], 1);
const small = (seed: number) => ({ inputSize: 3, hiddenSize: 5, seed });
const outputOf = (layer: LSTM) => layer.forward(X, { training: false }).output.data;

class TinyModel extends Model {
  constructor(rt: Runtime) {
    super(rt, [{ prefix: 'fc.', specs: Linear.parameterSpecs({ inFeatures: 3, outFeatures: 2 }) }]);
  }
}

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

describe('a disposed object throws on every later use', () => {
  it('forward, backward, stateDict, loadStateDict, zeroGrad of a disposed layer throw, and the next layer is untouched', () => {
    const l1 = new LSTM(rt, small(1));
    l1.forward(X);
    l1.dispose();
    const l2 = new LSTM(rt, small(2));
    const before = outputOf(l2);
    const zeros = Object.fromEntries(Object.entries(l2.stateDict()).map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.length) }]));
    expect(() => l1.forward(X)).toThrow(/LSTM\.forward\(\): this LSTM was disposed/);
    expect(() => l1.backward({})).toThrow(/LSTM\.backward\(\): this LSTM was disposed/);
    expect(() => l1.stateDict()).toThrow(/was disposed/);
    expect(() => l1.loadStateDict(zeros)).toThrow(/LSTM\.loadStateDict\(\): this LSTM was disposed/);
    expect(() => l1.zeroGrad()).toThrow(/was disposed/);
    expect(() => l1.forwardDevice({ x: new Tensor(rt.mem, l2.block.valuesPtr, [1, 1, 3]), arena: rt.arena })).toThrow(/was disposed/);
    expect(outputOf(l2)).toEqual(before);
    l2.dispose();
  });

  it('a second dispose is a no-op: it never frees the block the next layer was given', () => {
    const l1 = new LSTM(rt, small(1));
    l1.dispose();
    const l2 = new LSTM(rt, small(2));
    const before = outputOf(l2);
    const live = rt.mem.liveBytes;
    expect(() => l1.dispose()).not.toThrow();
    expect(rt.mem.liveBytes).toBe(live);
    const l3 = new LSTM(rt, small(3));
    expect(l3.block.valuesPtr).not.toBe(l2.block.valuesPtr);
    expect(outputOf(l2)).toEqual(before);
    l2.dispose();
    l3.dispose();
  });

  it('an optimizer step over a disposed block throws and changes no other layer', () => {
    const block = new ParameterBlock(rt.mem, [{ name: 'w', shape: [40] }]);
    const adam = new Adam(rt, block, { lr: 0.1 });
    const sgd = new SGD(rt, block, { lr: 0.1, momentum: 0.9 });
    block.dispose();
    const other = new LSTM(rt, small(4));
    other.block.gradsView().fill(1);
    const before = outputOf(other);
    expect(() => adam.step()).toThrow(/Adam\.step: the parameters of ParameterBlock\(w\) were disposed/);
    expect(() => sgd.step()).toThrow(/SGD\.step: the parameters of .* were disposed/);
    expect(outputOf(other)).toEqual(before);
    adam.dispose();
    sgd.dispose();
    other.dispose();
  });

  it('a disposed optimizer throws on step; its second dispose is a no-op', () => {
    const block = new ParameterBlock(rt.mem, [{ name: 'w', shape: [40] }]);
    const adam = new Adam(rt, block);
    adam.dispose();
    const live = rt.mem.liveBytes;
    const other = new Adam(rt, block);
    expect(() => adam.dispose()).not.toThrow();
    expect(rt.mem.liveBytes).toBe(live + 2 * 64 * Math.ceil((40 * 4) / 64));
    expect(() => adam.step()).toThrow(/Adam\.step\(\): this Adam was disposed/);
    other.step();
    other.dispose();
    block.dispose();
  });

  it('a model: dispose twice is a no-op, stateDict and its layers throw afterwards', () => {
    const m = new TinyModel(rt);
    const live = rt.mem.liveBytes;
    m.dispose();
    const m2 = new TinyModel(rt);
    expect(() => m.dispose()).not.toThrow();
    expect(rt.mem.liveBytes).toBe(live);
    expect(() => m.stateDict()).toThrow(/the parameters of TinyModel were disposed/);
    expect(() => m.params.zeroGrad()).toThrow(/were disposed/);
    m2.dispose();
  });

  it('the free list refuses a block that is not a live allocation of the caller', () => {
    const owner = {}, thief = {};
    const p = rt.mem.alloc(128, owner);
    expect(() => rt.mem.free(p, thief)).toThrow(/belongs to an? .*not to the caller/);
    expect(() => rt.mem.free(p)).toThrow(/not to the caller/);
    rt.mem.free(p, owner);
    expect(() => rt.mem.free(p, owner)).toThrow(/not a live allocation/);
    const q = rt.mem.alloc(128, thief);
    expect(q).toBe(p);
    expect(() => rt.mem.free(p, owner)).toThrow(/not to the caller/);
    rt.mem.free(q, thief);
  });

  it('a disposed arena throws on use and a second dispose is a no-op', () => {
    const arena = new Arena(rt.mem, 1024, 'test activations');
    const live = rt.mem.liveBytes;
    arena.dispose();
    expect(rt.mem.liveBytes).toBe(live - 1024);
    expect(() => arena.dispose()).not.toThrow();
    expect(() => arena.alloc(4)).toThrow(/Arena \(test activations\)\.alloc\(\): .*was disposed/);
  });
});

describe('objects of another runtime are refused', () => {
  let rt2: Runtime;
  beforeAll(async () => {
    rt2 = await createRuntime();
  });

  it('a layer refuses a ParameterBlock of another runtime and leaves its owner untouched', () => {
    const owner = new LSTM(rt2, small(5));
    const before = owner.forward(X, { training: false }).output.data;
    expect(() => new LSTM(rt, { ...small(6), block: owner.block })).toThrow(/belongs to another runtime/);
    expect(() => new Linear(rt, { inFeatures: 3, outFeatures: 5 }, { block: owner.block })).toThrow(/belongs to another runtime/);
    expect(owner.forward(X, { training: false }).output.data).toEqual(before);
    owner.dispose();
  });

  it('a Linear of one runtime on a Tape of another throws instead of returning zeros', () => {
    const fc = new Linear(rt2, { inFeatures: 3, outFeatures: 2 });
    fc.resetParameters({ uniform: () => 0.75, normal: () => 0 });
    const tape = new Tape(rt, new Arena(rt.mem));
    const x = tape.input(X.data, [8, 3]);
    expect(() => fc.forward(tape, x)).toThrow(/Linear\.forward: the layer belongs to another runtime/);
    fc.block.dispose();
    tape.arena.dispose();
  });

  it('tape ops refuse variables of another runtime, and recurrent() a layer of another runtime', () => {
    const tape1 = new Tape(rt, new Arena(rt.mem));
    const tape2 = new Tape(rt2, new Arena(rt2.mem));
    const v2 = tape2.input(X.data, [4, 2, 3]);
    expect(() => tanh(tape1, v2)).toThrow(/tanh: x belongs to another runtime/);
    const lstm2 = new LSTM(rt2, small(7));
    const x1 = tape1.input(X.data, [4, 2, 3]);
    expect(() => recurrent(tape1, lstm2, x1)).toThrow(/another runtime/);
    expect(() => lstm2.forwardDevice({ x: x1.value, arena: tape1.arena })).toThrow(/LSTM\.forwardDevice: x belongs to another runtime/);
    expect(() => lstm2.forwardDevice({ x: v2.value, arena: tape1.arena })).toThrow(/arena belongs to another runtime/);
    expect(() => new Tape(rt, tape2.arena)).toThrow(/new Tape: arena belongs to another runtime/);
    lstm2.dispose();
    tape1.arena.dispose();
    tape2.arena.dispose();
  });
});

describe('backward twice after one forward', () => {
  it('throws without retainGraph, accumulates twice with it (host API)', () => {
    const gru = new GRU(rt, small(8));
    const dOut = host([4, 2, 5], 2);
    gru.forward(X);
    gru.backward({ dOutput: dOut });
    const once = gru.gradients().weight_hh_l0.data;
    expect(() => gru.backward({ dOutput: dOut })).toThrow(/backward\(\) was already called after the last forward.*retainGraph/);
    expect(gru.gradients().weight_hh_l0.data).toEqual(once);
    gru.zeroGrad();
    gru.forward(X);
    gru.backward({ dOutput: dOut, retainGraph: true });
    gru.backward({ dOutput: dOut });
    const twice = gru.gradients().weight_hh_l0.data;
    for (let i = 0; i < once.length; i++) expect(twice[i]).toBeCloseTo(2 * once[i], 5);
    expect(() => gru.backward({ dOutput: dOut })).toThrow(/already called/);
    gru.dispose();
  });

  it('throws on the device API too', () => {
    const lstm = new LSTM(rt, small(9));
    const arena = new Arena(rt.mem);
    const x = new Tensor(rt.mem, arena.alloc(X.data.length * 4), X.shape);
    x.set(X.data);
    lstm.forwardDevice({ x, arena, training: true });
    lstm.backwardDevice({ arena });
    expect(() => lstm.backwardDevice({ arena })).toThrow(/backwardDevice\(\) was already called/);
    lstm.dispose();
    arena.dispose();
  });
});

describe('out of memory: a clear error naming the layer and the sizes, and a full rollback', () => {
  it('LSTM(hiddenSize 30000) says what it needs and what the limit is, and takes nothing', () => {
    const live = rt.mem.liveBytes, bytes = rt.mem.byteLength;
    let error: unknown;
    try {
      new LSTM(rt, { inputSize: 3, hiddenSize: 30000 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MemoryError);
    expect((error as Error).message).toMatch(/^LSTM\(inputSize 3, hiddenSize 30000\) needs 26\.8 GiB of parameters and gradients .*; wasm memory is limited to 4\.0 GiB/);
    expect((error as MemoryError).requestedBytes).toBeGreaterThan(28e9);
    expect(rt.mem.liveBytes).toBe(live);
    expect(rt.mem.byteLength).toBe(bytes);
  });

  it('a constructor that fails half-way (hiddenSize 12000) leaks no first block', () => {
    const live = rt.mem.liveBytes, bytes = rt.mem.byteLength;
    expect(() => new LSTM(rt, { inputSize: 3, hiddenSize: 12000 })).toThrow(MemoryError);
    expect(rt.mem.liveBytes).toBe(live);
    expect(rt.mem.byteLength).toBe(bytes);
  });

  it('createRuntime({ maxMemory }) turns growth past it into the clear error; Adam state too', async () => {
    const limited = await createRuntime({ maxMemory: 32 * 1024 * 1024 });
    expect(limited.maxMemory).toBe(32 * 1024 * 1024);
    expect(() => new LSTM(limited, { inputSize: 3, hiddenSize: 2000 })).toThrow(/LSTM\(inputSize 3, hiddenSize 2000\) needs 122 MiB of parameters and gradients.*limited to 32\.0 MiB \(maxMemory\)/);
    const block = new ParameterBlock(limited.mem, [{ name: 'w', shape: [2_500_000] }], 'big');
    const live = limited.mem.liveBytes;
    expect(() => new Adam(limited, block)).toThrow(/Adam needs 19\.1 MiB of moment state/);
    expect(limited.mem.liveBytes).toBe(live);
    expect(limited.mem.byteLength).toBeLessThanOrEqual(32 * 1024 * 1024);
    await expect(createRuntime({ maxMemory: 1000 })).rejects.toThrow(/maxMemory must be at least/);
    await expect(createRuntime({ maxMemory: -1 })).rejects.toThrow(/maxMemory must be a number of bytes/);
    limited.dispose();
  });

  it('a forward too large for memory gives its arena back: nothing stays reserved', async () => {
    const limited = await createRuntime({ maxMemory: 48 * 1024 * 1024 });
    const lstm = new LSTM(limited, { inputSize: 4, hiddenSize: 256, seed: 1 });
    const live = limited.mem.liveBytes;
    const big = host([2000, 16, 4], 3);
    expect(() => lstm.forward(big)).toThrow(/LSTM\(inputSize 4, hiddenSize 256\) activations needs .* of activations/);
    expect(limited.mem.liveBytes).toBe(live);
    expect(lstm.arena.reservedBytes).toBe(0);
    // The layer still works, and its arena settles at the small step's size, as a fresh layer's does.
    const fresh = new LSTM(limited, { inputSize: 4, hiddenSize: 256, seed: 1 });
    for (const layer of [lstm, fresh]) for (let i = 0; i < 2; i++) layer.forward(host([5, 2, 4], 4));
    expect(lstm.forward(host([5, 2, 4], 4)).output.data).toEqual(fresh.forward(host([5, 2, 4], 4)).output.data);
    expect(lstm.arena.reservedBytes).toBe(fresh.arena.reservedBytes);
    expect(lstm.arena.reservedBytes).toBeLessThan(2 * 1024 * 1024);
    limited.dispose();
  });

  it('rt.dispose() releases the runtime: every later use throws, a second dispose is a no-op', async () => {
    const own = await createRuntime();
    const lstm = new LSTM(own, small(1));
    const adam = new Adam(own, lstm.block);
    own.dispose();
    expect(own.disposed).toBe(true);
    expect(() => own.dispose()).not.toThrow();
    expect(() => lstm.forward(X)).toThrow(/runtime was disposed/);
    expect(() => adam.step()).toThrow(/runtime was disposed/);
    expect(() => new LSTM(own, small(2))).toThrow(/runtime was disposed/);
    expect(() => own.exports).toThrow(/runtime was disposed/);
    expect(() => lstm.dispose()).not.toThrow();
    expect(() => adam.dispose()).not.toThrow();
  });
});

describe('tape.input checks finiteness', () => {
  it('refuses NaN and Infinity, naming the index', () => {
    const tape = new Tape(rt, new Arena(rt.mem));
    expect(() => tape.input(new Float32Array([1, NaN, 3]), [3])).toThrow(/tape\.input data contains a non-finite value \(NaN\) at flat index 1/);
    expect(() => tape.input([1, 2, -Infinity], [3])).toThrow(/non-finite value \(-Infinity\) at flat index 2/);
    tape.arena.dispose();
  });
});

describe('layers dropped without dispose', () => {
  it('give their parameters and activations back once garbage-collected (FinalizationRegistry)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath, pathToFileURL } = await import('node:url');
    const { dirname, join } = await import('node:path');
    const dist = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js')).href;
    const script = `
      import { createRuntime, LSTM } from ${JSON.stringify(dist)};
      const rt = await createRuntime();
      const base = rt.liveBytes;
      const kept = new LSTM(rt, { inputSize: 3, hiddenSize: 8 });
      const keptBytes = rt.liveBytes - base;
      for (let i = 0; i < 40; i++) new LSTM(rt, { inputSize: 3, hiddenSize: 64 }).forward({ shape: [4, 2, 3], data: new Float32Array(24) });
      const held = rt.liveBytes;
      for (let i = 0; i < 20 && rt.liveBytes > base + keptBytes; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); }
      kept.forward({ shape: [1, 1, 3], data: new Float32Array(3) });
      console.log(JSON.stringify({ base, keptBytes, held, after: rt.liveBytes }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const { base, keptBytes, held, after } = JSON.parse(r.stdout);
    expect(held - base).toBeGreaterThan(40 * 2 * 4 * 4 * 64 * 67); // 40 layers' parameters and gradients
    // Every dropped layer's blocks returned; the one still referenced kept its own (and its arena).
    expect(after - base).toBeLessThan(keptBytes + 64 * 1024);
    expect(after - base).toBeGreaterThanOrEqual(keptBytes);
  });
});

describe('step cells share the lifecycle checks', () => {
  it('a disposed LSTMCell throws on forward; its second dispose is a no-op; another runtime is refused', async () => {
    const { LSTMCell } = await import('../src/layers/cells.js');
    const cellLayer = new LSTMCell(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
    const x = host([2, 3], 5);
    expect(cellLayer.forward(x).h.shape).toEqual([2, 4]);
    cellLayer.dispose();
    const live = rt.mem.liveBytes;
    expect(() => cellLayer.dispose()).not.toThrow();
    expect(rt.mem.liveBytes).toBe(live);
    expect(() => cellLayer.forward(x)).toThrow(/LSTMCell\.forward\(\): this LSTMCell was disposed/);
    const rt2 = await createRuntime();
    const other = new LSTMCell(rt2, { inputSize: 3, hiddenSize: 4 });
    const tape = new Tape(rt, new Arena(rt.mem));
    const { cell } = await import('../src/layers/ops.js');
    expect(() => cell(tape, other, tape.input(x.data, [2, 3]))).toThrow(/the layer belongs to another runtime than the tape/);
    expect(() => other.forwardDevice({ x: tape.input(x.data, [2, 3]).value, arena: tape.arena })).toThrow(/LSTMCell\.forwardDevice: x belongs to another runtime/);
    tape.arena.dispose();
    rt2.dispose();
  });
});
