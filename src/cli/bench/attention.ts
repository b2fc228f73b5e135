// `rnn-wasm bench attention [--score dot,general,concat,additive] [--tx 10,50] [--batch 32] [--size 256]
//  [--mode step,sequence] [--no-typescript] [--no-tfjs]`: global attention per score kind, with
// dq = dk = da = size, for
//   step:     one decoder step (s [B, dq]) against a source whose key-side products (W h, W_h h)
//             were computed earlier, as a decoder reuses them; backward stops at their gradient;
//   sequence: a whole teacher-forced sequence (s [B, Ty, dq], Ty = Tx) including the key side
//             and its backward: one training step's attention;
// each as forward and forward + backward (gradients of sum(context ⊙ dContext) for s, h and
// every parameter). Ours runs the device API (the tape's path: tensors already in wasm memory,
// an arena reset per call); beside it a plain TypeScript reference (src/reference/attention.ts)
// and TensorFlow.js's wasm backend (tf.matMul, tf.softmax, tf.tanh, tf.grads; one thread) in
// the same process, with the same weights and inputs. Agreement is checked before any ratio is
// printed. No mask (every position valid) on all sides.
// GFLOP/s count the products only (2 per multiply-add; the v·tanh sums count 2 per element,
// the tanh itself 0); forward + backward counts 3x the forward. So for concat/additive, whose
// time goes mostly to tanh, the % of the roofline is a floor on the work done.
import { pathToFileURL } from 'node:url';
import { Arena } from '../../runtime/memory.js';
import type { Runtime } from '../../runtime/runtime.js';
import { Tensor } from '../../runtime/tensor.js';
import type { BuildName } from '../../runtime/load.js';
import { Attention, type ScoreKind } from '../../layers/attention.js';
import { attentionReferenceBackward, attentionReferenceForward, type ReferenceSizes } from '../../reference/attention.js';
import { flagString } from '../args.js';
import { measure, randomFill, type BenchContext, type Measurement } from './harness.js';
import { maxRelDiff } from './cases.js';
import { percentOfPeak } from './roofline.js';
import { isPeerUnavailable, repoFile } from './peers.js';

type Mode = 'step' | 'sequence';
type Phase = 'forward' | 'forward+backward';
const SCORES: ScoreKind[] = ['dot', 'general', 'concat', 'additive'];

function listFlag<T extends string>(ctx: BenchContext, name: string, all: readonly T[], fallback: readonly T[] = all): T[] {
  const v = flagString(ctx.args, name, '');
  if (v === '') return [...fallback];
  const items = v.split(',') as T[];
  for (const it of items) if (!all.includes(it)) throw new Error(`--${name}: '${it}' is not one of ${all.join(', ')}`);
  return items;
}

function intList(ctx: BenchContext, name: string, fallback: number[]): number[] {
  const v = flagString(ctx.args, name, '');
  if (v === '') return fallback;
  return v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: '${x}' is not a positive integer`);
    return n;
  });
}

/** Nominal forward FLOPs (see the file comment). */
export function attentionForwardFlops(score: ScoreKind, z: ReferenceSizes, keySide: boolean): number {
  const { B, Ty, Tx, dq, dk, da } = z;
  let f = 2 * B * Ty * Tx * dk; // context
  if (score === 'dot') f += 2 * B * Ty * Tx * dk;
  else if (score === 'general') f += 2 * B * Ty * Tx * dq + (keySide ? 2 * B * Tx * dk * dq : 0);
  else f += 2 * B * Ty * Tx * da + 2 * B * Ty * dq * da + (keySide ? 2 * B * Tx * dk * da : 0);
  return f;
}

interface Problem {
  score: ScoreKind;
  mode: Mode;
  z: ReferenceSizes;
  params: Record<string, Float32Array>;
  s: Float32Array;
  h: Float32Array;
  dC: Float32Array;
}

interface Result { c: Float32Array; ds: Float32Array; dh: Float32Array; grads: Record<string, Float32Array> }

/** Names of the parameters a step's backward reaches (the key side waits for the sequence's end). */
function stepParams(score: ScoreKind): string[] {
  return score === 'concat' ? ['b', 'v'] : score === 'additive' ? ['W_s', 'b', 'v'] : [];
}

// ---- ours --------------------------------------------------------------------------------

function oursRunner(rt: Runtime, p: Problem) {
  const { z } = p;
  const att = new Attention(rt, { score: p.score, querySize: z.dq, keySize: z.dk, attentionSize: z.da, seed: 1 });
  att.loadStateDict(Object.fromEntries(Object.entries(p.params).map(([k, v]) => [k, { shape: att.stateDict()[k].shape, data: v }])));
  const keep = (data: Float32Array, shape: number[]) => {
    const t = new Tensor(rt.mem, rt.mem.alloc(data.length * 4), shape);
    t.set(data);
    return t;
  };
  const s = keep(p.s, p.mode === 'step' ? [z.B, z.dq] : [z.B, z.Ty, z.dq]);
  const h = keep(p.h, [z.B, z.Tx, z.dk]);
  const dC = keep(p.dC, [z.B * z.Ty * z.dk]);
  const memArena = new Arena(rt.mem);
  const arena = new Arena(rt.mem);
  // A decoder step reuses the memory of its source: computed once, outside the timed calls.
  const stepMemory = p.mode === 'step' ? att.memoryDevice({ h, arena: memArena }) : null;
  const forward = () => {
    arena.reset();
    const memory = stepMemory ?? att.memoryDevice({ h, arena });
    return { memory, step: att.forwardDevice({ s, memory, arena }) };
  };
  const train = () => {
    const { memory, step } = forward();
    const ds = arena.allocZeroed(s.bytes), dh = arena.allocZeroed(h.bytes);
    const dKeys = memory.keys ? arena.allocZeroed(memory.keys.bytes) : 0;
    att.backwardDevice(step, { dContext: dC.ptr, ds, dh, dKeys, arena });
    if (!stepMemory && dKeys) att.memoryBackwardDevice(memory, { dKeys, dh });
    return { step, ds, dh };
  };
  const result = (): Result => {
    att.zeroGrad();
    const r = train();
    const grads: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(att.gradients())) grads[k] = v.data;
    return { c: r.step.context.view().slice(), ds: rt.mem.f32(r.ds, s.size).slice(), dh: rt.mem.f32(r.dh, h.size).slice(), grads };
  };
  const arenaBytes = () => arena.highWater;
  const dispose = () => {
    arena.dispose();
    memArena.dispose();
    for (const t of [s, h, dC]) rt.mem.free(t.ptr);
    att.dispose();
  };
  return { forward: () => void forward(), train: () => void train(), result, arenaBytes, dispose };
}

// ---- plain TypeScript --------------------------------------------------------------------

function typescriptRunner(p: Problem) {
  const { z } = p;
  const keySide = p.mode === 'sequence';
  const pre = keySide ? undefined : attentionReferenceForward(p.score, z, p.params, p.s, p.h).keys;
  const forward = () => attentionReferenceForward(p.score, z, p.params, p.s, p.h, pre);
  const train = () => {
    const f = forward();
    return { f, b: attentionReferenceBackward(p.score, z, p.params, p.s, p.h, f, p.dC, keySide) };
  };
  const result = (): Result => {
    const { f, b } = train();
    return { c: f.c, ds: b.ds, dh: b.dh, grads: b.grads };
  };
  return { forward: () => void forward(), train: () => void train(), result };
}

// ---- TensorFlow.js (wasm backend) --------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
type TF = any;

async function loadTf(): Promise<{ tf: TF; version: string }> {
  const path = repoFile('bench/peers/tfjs.mjs', 'the TF.js comparison runs from a checkout of the rnn-wasm repository');
  const mod = (await import(pathToFileURL(path).href)) as { activate(backend: string): Promise<{ tf: TF; version: string }> };
  return mod.activate('wasm');
}

function tfRunner(tf: TF, p: Problem) {
  const { z, score } = p;
  const { B, Ty, Tx, dq, dk, da } = z;
  const s = tf.tensor3d(p.s, [B, Ty, dq]);
  const h = tf.tensor3d(p.h, [B, Tx, dk]);
  const dC = tf.tensor3d(p.dC, [B, Ty, dk]);
  const names = Object.keys(p.params);
  const params = names.map((n) => tf.tensor(p.params[n], n === 'b' || n === 'v' ? [da] : n === 'W' && score === 'general' ? [dq, dk] : n === 'W' ? [da, dq + dk] : n === 'W_s' ? [da, dq] : [da, dk]));
  const byName = (vals: TF[]) => Object.fromEntries(names.map((n, i) => [n, vals[i]]));
  const keysOf = (hh: TF, P: Record<string, TF>): TF => {
    if (score === 'dot') return null;
    const h2 = hh.reshape([B * Tx, dk]);
    if (score === 'general') return tf.matMul(h2, P.W, false, true).reshape([B, Tx, dq]);
    const wk = score === 'concat' ? P.W.slice([0, dq], [da, dk]) : P.W_h;
    return tf.matMul(h2, wk, false, true).reshape([B, Tx, da]);
  };
  const contextOf = (ss: TF, hh: TF, keys: TF, P: Record<string, TF>): TF => {
    let e: TF;
    if (score === 'dot') e = tf.matMul(ss, hh, false, true);
    else if (score === 'general') e = tf.matMul(ss, keys, false, true);
    else {
      const wq = score === 'concat' ? P.W.slice([0, 0], [da, dq]) : P.W_s;
      const q = tf.add(tf.matMul(ss.reshape([B * Ty, dq]), wq, false, true), P.b).reshape([B, Ty, 1, da]);
      const t = tf.tanh(tf.add(q, keys.reshape([B, 1, Tx, da])));
      e = tf.matMul(t.reshape([B * Ty * Tx, da]), P.v.reshape([da, 1])).reshape([B, Ty, Tx]);
    }
    return tf.matMul(tf.softmax(e), hh);
  };
  const stepMode = p.mode === 'step';
  // A decoder step's keys come from earlier: a constant input of the timed call (its gradient is
  // taken, as ours and the TypeScript reference take dKeys, but not pushed into W_k).
  const fixedKeys = stepMode && score !== 'dot' ? tf.keep(keysOf(h, byName(params))) : null;
  const stepNames = stepParams(score);
  const stepParamTensors = stepNames.map((n) => params[names.indexOf(n)]);
  const forwardTensor = () => (stepMode ? contextOf(s, h, fixedKeys, byName(params)) : contextOf(s, h, keysOf(h, byName(params)), byName(params)));
  const gradFn = stepMode
    ? tf.grads((ss: TF, hh: TF, ...rest: TF[]) => {
        const keys = score === 'dot' ? null : rest[0];
        const P = { ...byName(params), ...Object.fromEntries(stepNames.map((n, i) => [n, rest[(score === 'dot' ? 0 : 1) + i]])) };
        return contextOf(ss, hh, keys, P);
      })
    : tf.grads((ss: TF, hh: TF, ...rest: TF[]) => contextOf(ss, hh, keysOf(hh, byName(rest)), byName(rest)));
  const gradInputs = stepMode ? [s, h, ...(fixedKeys ? [fixedKeys] : []), ...stepParamTensors] : [s, h, ...params];
  const forward = () => tf.tidy(() => void forwardTensor().dataSync());
  const train = () => tf.tidy(() => {
    forwardTensor().dataSync();
    for (const g of gradFn(gradInputs, dC)) g.dataSync();
  });
  const result = (): Result => tf.tidy(() => {
    const c = forwardTensor().dataSync() as Float32Array;
    const g = gradFn(gradInputs, dC).map((t: TF) => t.dataSync() as Float32Array);
    const grads: Record<string, Float32Array> = {};
    const offset = stepMode ? 2 + (fixedKeys ? 1 : 0) : 2;
    (stepMode ? stepNames : names).forEach((n, i) => (grads[n] = g[offset + i]));
    return { c: Float32Array.from(c), ds: Float32Array.from(g[0]), dh: Float32Array.from(g[1]), grads };
  });
  const dispose = () => {
    for (const t of [s, h, dC, ...params]) t.dispose();
    fixedKeys?.dispose();
  };
  return { forward, train, result, dispose };
}

/** Largest relative difference over context, ds, dh and the gradients both sides report. */
function disagreement(a: Result, b: Result, paramNames: string[]): number {
  let worst = Math.max(maxRelDiff(a.c, b.c), maxRelDiff(a.ds, b.ds));
  // A step's dh holds only the context's and dot's shares on every side.
  worst = Math.max(worst, maxRelDiff(a.dh, b.dh));
  for (const n of paramNames) worst = Math.max(worst, maxRelDiff(a.grads[n], b.grads[n]));
  return worst;
}

export async function run(ctx: BenchContext): Promise<void> {
  const scores = listFlag(ctx, 'score', SCORES);
  const modes = listFlag<Mode>(ctx, 'mode', ['step', 'sequence']);
  const txs = intList(ctx, 'tx', [10, 50]);
  const [B] = intList(ctx, 'batch', [32]);
  const [size] = intList(ctx, 'size', [256]);
  const withTs = !ctx.args.flags.has('no-typescript');
  let tf: { tf: TF; version: string } | null = null;
  if (!ctx.args.flags.has('no-tfjs')) {
    try {
      tf = await loadTf();
    } catch (err) {
      if (!isPeerUnavailable(err) && !(err instanceof Error && /not found at/.test(err.message))) throw err;
      ctx.note(`tfjs-wasm skipped: ${(err as Error).message}`);
    }
  }
  const TOL = 1e-3;
  for (const score of scores) {
    for (const Tx of txs) {
      for (const mode of modes) {
        const Ty = mode === 'step' ? 1 : Tx;
        const z: ReferenceSizes = { B, Ty, Tx, dq: size, dk: size, da: size };
        const probe = new Attention(await ctx.runtime(ctx.builds[0]), { score, querySize: size, keySize: size, attentionSize: size, seed: 1 });
        const params = Object.fromEntries(Object.entries(probe.stateDict()).map(([k, v]) => [k, v.data]));
        probe.dispose();
        const p: Problem = {
          score, mode, z, params,
          s: randomFill(new Float32Array(B * Ty * size), 1, 0.5), h: randomFill(new Float32Array(B * Tx * size), 2, 0.5), dC: randomFill(new Float32Array(B * Ty * size), 3, 0.5),
        };
        const shape = { score, mode, B, Tx, Ty, d: size };
        const flops = attentionForwardFlops(score, z, mode === 'sequence');
        const checked = mode === 'step' ? stepParams(score) : Object.keys(params);
        const ours = new Map<string, number>(); // `${phase} ${build}` -> median ms
        const rowsOf = async (library: string, build: string, r: { forward(): void; train(): void }, extra: Partial<Measurement>, peer = false) => {
          for (const phase of ['forward', 'forward+backward'] as Phase[]) {
            // The TypeScript reference takes up to seconds per call at Tx 50: fewer, single-call samples.
            const slow = build === 'typescript';
            const t = measure(phase === 'forward' ? r.forward : r.train, slow ? { repeat: Math.min(ctx.repeat, 5), warmup: 1, warmupMs: 0, minBatchMs: 1 } : { repeat: ctx.repeat });
            const gflops = (phase === 'forward' ? flops : 3 * flops) / (t.medianMs * 1e6);
            const peakBuild: BuildName = build === 'simd' || build === 'relaxed' ? build : ctx.builds.includes('relaxed') ? 'relaxed' : 'simd';
            const row: Measurement = { what: `attention ${score} ${mode} ${phase}`, shape, build, library, medianMs: t.medianMs, minMs: t.minMs, maxMs: t.maxMs, gflops, percentOfPeak: await percentOfPeak(ctx, peakBuild, gflops), ...extra };
            if (peer) {
              const oursFasterBy: Record<string, number> = {};
              for (const b of ctx.builds) oursFasterBy[b] = t.medianMs / ours.get(`${phase} ${b}`)!;
              row.oursFasterBy = oursFasterBy;
              row.note = `ours ${Object.entries(oursFasterBy).map(([b, x]) => `${x.toFixed(1)}x (${b})`).join(', ')} faster; ${String(extra.note ?? '')}`;
            } else ours.set(`${phase} ${build}`, t.medianMs);
            ctx.emit(row);
          }
        };
        // Ours first (per build), its result the reference of the agreement checks.
        let oursResult: Result | null = null;
        for (const build of ctx.builds) {
          const rt = await ctx.runtime(build);
          const ours = oursRunner(rt, p);
          try {
            const r = ours.result();
            if (oursResult) {
              const d = disagreement(r, oursResult, checked);
              if (!(d < 1e-4)) throw new Error(`attention ${score} ${mode} Tx ${Tx}: the ${build} build differs from the ${ctx.builds[0]} build by ${d}`);
            } else oursResult = r;
            await rowsOf('rnn-wasm', build, ours, { arenaBytes: ours.arenaBytes() });
          } finally {
            ours.dispose();
          }
        }
        const peers: { name: string; make: () => { forward(): void; train(): void; result(): Result; dispose?(): void }; library: string }[] = [];
        if (withTs) peers.push({ name: 'typescript', make: () => typescriptRunner(p), library: 'plain TypeScript' });
        if (tf) peers.push({ name: 'tfjs-wasm', make: () => tfRunner(tf!.tf, p), library: `@tensorflow/tfjs-backend-wasm@${tf.version}` });
        for (const peer of peers) {
          const runner = peer.make();
          try {
            const d = disagreement(runner.result(), oursResult!, checked);
            if (!(d < TOL)) {
              ctx.note(`${peer.name} attention ${score} ${mode} Tx ${Tx}: differs from ours by ${d.toExponential(2)} (max relative, context and gradients); not timed`);
              continue;
            }
            await rowsOf(peer.library, peer.name, runner, { maxRelDiff: d, note: `agrees to ${d.toExponential(1)}` }, true);
          } finally {
            runner.dispose?.();
          }
        }
      }
    }
  }
}
