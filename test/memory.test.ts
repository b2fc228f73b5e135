import { describe, expect, it } from 'vitest';
import { biasAddRows, biasAddRowsBackward } from '../src/kernels/elementwise.js';
import { tanhBackward, tanhForward } from '../src/kernels/activations.js';
import { softmaxCrossEntropy } from '../src/kernels/loss.js';
import { embeddingBackward, embeddingForward } from '../src/kernels/embedding.js';
import { Adam, clipGradNorm } from '../src/kernels/optim.js';
import { ALIGN, Arena, LinearMemory } from '../src/runtime/memory.js';
import type { Runtime } from '../src/runtime/runtime.js';
import { ParameterBlock } from '../src/runtime/tensor.js';
import { BUILDS, randomArray, runtimeFor } from './helpers.js';
import { randomInts } from './kernel-helpers.js';

const VOCAB = 37, DIM = 13, N = 29;

/**
 * A small training loop over kernels: embed -> +bias -> tanh -> cross-entropy
 * (classes = DIM) -> backward -> clip -> Adam. Activations live in the arena,
 * parameters in a ParameterBlock, and every view is made fresh after a call
 * that may allocate. `midStep` runs between forward and backward.
 */
function train(rt: Runtime, steps: number, midStep: (step: number) => void): { values: Float32Array; losses: number[] } {
  const block = new ParameterBlock(rt.mem, [{ name: 'table', shape: [VOCAB, DIM] }, { name: 'bias', shape: [DIM] }]);
  block.value('table').set(randomArray(VOCAB * DIM, 1));
  block.value('bias').set(randomArray(DIM, 2));
  const opt = new Adam(rt, block, { lr: 0.05 });
  const table = block.value('table'), bias = block.value('bias');
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    rt.arena.reset();
    block.zeroGrad();
    const ids = rt.arena.alloc(N * 4), targets = rt.arena.alloc(N * 4);
    rt.mem.i32(ids, N).set(randomInts(N, 10 + s, VOCAB));
    rt.mem.i32(targets, N).set(randomInts(N, 20 + s, DIM));
    const h = rt.arena.alloc(N * DIM * 4), a = rt.arena.alloc(N * DIM * 4), g = rt.arena.alloc(N * DIM * 4);
    embeddingForward(rt, { table: table.ptr, vocabSize: VOCAB, dim: DIM, ids, n: N, out: h });
    biasAddRows(rt, { y: h, b: bias.ptr, rows: N, cols: DIM });
    tanhForward(rt, { x: h, y: a, n: N * DIM });
    midStep(s);
    losses.push(softmaxCrossEntropy(rt, { logits: a, targets, dlogits: g, rows: N, cols: DIM }));
    tanhBackward(rt, { y: a, dy: g, dx: g, n: N * DIM });
    biasAddRowsBackward(rt, { dy: g, db: block.grad('bias').ptr, rows: N, cols: DIM });
    embeddingBackward(rt, { dout: g, ids, n: N, dtable: block.grad('table').ptr, vocabSize: VOCAB, dim: DIM });
    clipGradNorm(rt, block, 0.5);
    opt.step();
  }
  return { values: block.valuesView().slice(), losses };
}

describe.each(BUILDS)('memory growth in the middle of work (%s build)', (build) => {
  it('a run interrupted by memory.grow gives results identical to an uninterrupted run', async () => {
    const reference = train(await runtimeFor(build), 4, () => {});

    const rt = await runtimeFor(build);
    let grew = 0;
    const held: number[] = [];
    const interrupted = train(rt, 4, (step) => {
      if (step % 2 !== 1) return;
      const staleView = rt.mem.f32(rt.arena.alloc(64), 16);
      const before = rt.mem.byteLength;
      // Larger than all of memory so far: forces memory.grow, which detaches old buffers.
      held.push(rt.mem.alloc(before + 1_000_000));
      expect(rt.mem.byteLength).toBeGreaterThan(before);
      expect(staleView.length).toBe(0); // the old view is detached
      grew++;
    });
    expect(grew).toBe(2);
    expect(interrupted.losses).toEqual(reference.losses);
    expect(interrupted.values).toEqual(reference.values);
    // The loop trained: the loss moved, parameters are finite.
    expect(reference.losses[3]).not.toBe(reference.losses[0]);
    expect(reference.values.every(Number.isFinite)).toBe(true);
    for (const p of held) rt.mem.free(p);
  });

  it('a steady training loop stops allocating after its first step (arena reuse)', async () => {
    const rt = await runtimeFor(build);
    const growths: number[] = [], bytes: number[] = [], live: number[] = [];
    train(rt, 6, () => {
      growths.push(rt.arena.growths);
      bytes.push(rt.mem.byteLength);
      live.push(rt.mem.liveBytes);
    });
    expect(growths[0]).toBeGreaterThan(0); // the first step grows the arena
    for (let s = 1; s < 6; s++) {
      expect(growths[s], `arena growths at step ${s}`).toBe(growths[0]);
      expect(bytes[s], `memory bytes at step ${s}`).toBe(bytes[1]);
      expect(live[s], `live bytes at step ${s}`).toBe(live[1]);
    }
  });
});

describe('LinearMemory', () => {
  const make = () => new LinearMemory(new WebAssembly.Memory({ initial: 1 }), 1000);

  it('returns aligned, zeroed blocks above the heap base and grows on demand', () => {
    const mem = make();
    const a = mem.alloc(10);
    expect(a % ALIGN).toBe(0);
    expect(a).toBeGreaterThanOrEqual(1000);
    mem.f32(a, 2).set([1, 2]);
    mem.free(a);
    const b = mem.alloc(8);
    expect(b).toBe(a);
    expect(Array.from(mem.f32(b, 2))).toEqual([0, 0]); // zeroed again
    const big = mem.alloc(200_000);
    expect(mem.byteLength).toBeGreaterThanOrEqual(big + 200_000);
    expect(mem.sizeOf(big)).toBe(Math.ceil(200_000 / ALIGN) * ALIGN);
  });

  it('coalesces freed neighbours and gives the top back', () => {
    const mem = make();
    const a = mem.alloc(64), b = mem.alloc(128), c = mem.alloc(64), d = mem.alloc(64);
    mem.free(a);
    mem.free(c);
    mem.free(b); // joins a, b and c into one 256-byte span
    const e = mem.alloc(256);
    expect(e).toBe(a);
    mem.free(e);
    mem.free(d); // everything free: the next allocation starts at the bottom again
    expect(mem.alloc(1024)).toBe(a);
    expect(mem.liveBytes).toBe(1024);
    expect(mem.peakBytes).toBeGreaterThanOrEqual(320);
  });

  it('rejects double frees and out-of-range or misaligned ranges', () => {
    const mem = make();
    const a = mem.alloc(64);
    mem.free(a);
    expect(() => mem.free(a)).toThrow(/not a live allocation/);
    expect(() => mem.checkRange('x', mem.byteLength - 4, 8)).toThrow(/x: byte range .* outside wasm memory/);
    expect(() => mem.checkRange('x', 1030, 4)).toThrow(/4-byte aligned/);
    expect(() => mem.checkRange('x', -4, 4)).toThrow(/outside/);
    expect(() => mem.alloc(-1)).toThrow(/bytes must be an integer >= 0/);
    expect(() => mem.checkRange('x', a, 64)).not.toThrow();
    // Below heap_base (1000 here) lie the kernels' constants and scratch: a pointer there,
    // even one inside memory, would let a kernel overwrite them.
    expect(() => mem.checkRange('x', 0, 64)).toThrow(/x: byte range \[0, 64\) lies outside wasm memory's heap \[1000, 65536\)/);
    expect(() => mem.checkRange('x', 996, 8)).toThrow(/outside wasm memory's heap/);
    expect(() => mem.checkRange('x', 1000, 8)).not.toThrow();
  });
});

describe('Arena', () => {
  it('after the first step, reset plus the same allocations reuse memory without growing', () => {
    const mem = new LinearMemory(new WebAssembly.Memory({ initial: 1 }), 1000);
    const arena = new Arena(mem);
    const step = () => {
      arena.reset();
      return [arena.alloc(1000), arena.alloc(30_000), arena.alloc(5)];
    };
    const first = step();
    expect(arena.growths).toBe(3);
    const second = step();
    const bytes = mem.byteLength, live = mem.liveBytes;
    for (let i = 0; i < 5; i++) expect(step()).toEqual(second);
    expect(arena.growths).toBe(3);
    expect(mem.byteLength).toBe(bytes);
    expect(mem.liveBytes).toBe(live);
    expect(arena.highWater).toBe(arena.reservedBytes);
    expect(new Set(second).size).toBe(3);
    expect(first.length).toBe(3);
  });

  it('allocZeroed clears reused memory; dispose returns everything', () => {
    const mem = new LinearMemory(new WebAssembly.Memory({ initial: 1 }), 1000);
    const arena = new Arena(mem, 4096);
    const p = arena.alloc(64);
    mem.f32(p, 16).fill(3);
    arena.reset();
    const q = arena.allocZeroed(64);
    expect(q).toBe(p);
    expect(Array.from(mem.f32(q, 16)).every((v) => v === 0)).toBe(true);
    arena.dispose();
    expect(mem.liveBytes).toBe(0);
  });
});
