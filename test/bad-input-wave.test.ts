// The bad-input suite (issue 18), part 2: the wave's Attention, LocalAttention, HardAttention,
// EpisodeAttention, MDLSTM, the step cells, Seq2Seq, DMN, the bAbI and translation readers, the model files of
// `train translate` / `train babi`, and the wave's CLI commands. Same harness as part 1
// (test/bad-input-harness.ts): each row a clear Error naming the argument and the expected
// value, never a WebAssembly.RuntimeError; the good call bit-identical afterwards; wasm memory
// unchanged over 1,000 failing calls (250 for the Seq2Seq and DMN subjects, whose rows build
// whole models; 10 for asynchronous rows).
import type { Runtime } from '../src/runtime/runtime.js';
import { Attention } from '../src/layers/attention.js';
import { LocalAttention } from '../src/layers/local-attention.js';
import { HardAttention } from '../src/layers/hard-attention.js';
import { EpisodeAttention } from '../src/layers/episode.js';
import { MDLSTM } from '../src/layers/mdlstm.js';
import { AttentionGRUCell, GRUCell, LSTMCell } from '../src/layers/cells.js';
import { Seq2Seq, type Seq2SeqOptions } from '../src/models/seq2seq.js';
import { fitSeq2Seq, loadSeq2Seq, saveSeq2Seq } from '../src/models/seq2seq-tasks.js';
import { DMN, makeDMNBatch, type DMNBatch } from '../src/models/dmn.js';
import { loadBabiModel, saveBabiModel } from '../src/models/dmn-task.js';
import { babiVocabulary, encodeBabi, generateBabi, parseBabi, splitBabi, type EncodedBabi } from '../src/data/babi.js';
import { corpusBleu, parseSplit, parseTranslationPairs, trainingPairs } from '../src/data/translation.js';
import { Vocabulary } from '../src/data/vocab.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { parseArgs } from '../src/cli/args.js';
import { UsageError } from '../src/cli/options.js';
import { train as trainCommand } from '../src/cli/train.js';
import { trainTranslate, translateCommand } from '../src/cli/translate.js';
import { babiCommand, trainBabiCommand } from '../src/cli/babi.js';
import { vqaCommand } from '../src/cli/vqa.js';
import { demoCommand } from '../src/cli/demo.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { badInputSuite, host, withNaN, type Bad, type Subject } from './bad-input-harness.js';

type Rows<S> = [string, Bad<S>, RegExp][];
const f64 = (t: HostTensor) => ({ shape: t.shape, data: Float64Array.from(t.data) as unknown as Float32Array });
const short = (t: HostTensor) => ({ shape: t.shape, data: t.data.subarray(1) });
/** Values of a dict of host tensors, in order, for the good calls. */
const flat = (d: Record<string, HostTensor>) => Object.values(d).flatMap((t) => Array.from(t.data));
/** A layer made, disposed, then used: the use must say it was disposed. */
function afterDispose<L extends { dispose(): void }>(make: () => L, use: (l: L) => unknown): unknown {
  const l = make();
  l.dispose();
  return use(l);
}
/** A row on a second, fresh object (e.g. backward before any forward); disposed afterwards. */
function onFresh<L extends { dispose(): void }>(make: () => L, use: (l: L) => unknown): unknown {
  const l = make();
  try {
    return use(l);
  } finally {
    l.dispose();
  }
}

// ---------------------------------------------------------------- Attention

const S2 = host([2, 3], 2), H = host([2, 5, 4], 3), MASK = Uint8Array.from([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
const makeAttention = (rt: Runtime) => new Attention(rt, { score: 'general', querySize: 3, keySize: 4, seed: 1 });

const attention: Subject<Attention> = {
  name: 'Attention',
  make: makeAttention,
  good: (a) => {
    a.zeroGrad();
    const r = a.forward(S2, H, { mask: MASK });
    const g = a.backward({ dContext: host([2, 4], 4), dWeights: host([2, 5], 5) });
    return [...r.context.data, ...r.weights.data, ...g.ds.data, ...g.dh.data, ...flat(a.gradients()), ...flat(a.stateDict())];
  },
  dispose: (a) => a.dispose(),
  rows: [
    ['score cosine', (_a, rt) => new Attention(rt, { score: 'cosine' as never, querySize: 3, keySize: 4 }), /score must be 'dot', 'general', 'concat', 'additive'; got/],
    ['querySize 0', (_a, rt) => new Attention(rt, { score: 'general', querySize: 0, keySize: 4 }), /querySize must be an integer >= 1, got 0/],
    ['keySize 2.5', (_a, rt) => new Attention(rt, { score: 'general', querySize: 3, keySize: 2.5 }), /keySize must be an integer >= 1, got 2\.5/],
    ['dot with querySize != keySize', (_a, rt) => new Attention(rt, { score: 'dot', querySize: 3, keySize: 4 }), /dot scores need querySize == keySize, got querySize 3 and keySize 4/],
    ['concat without attentionSize', (_a, rt) => new Attention(rt, { score: 'concat', querySize: 3, keySize: 4 }), /attentionSize must be an integer >= 1, got undefined/],
    ['options null', (_a, rt) => new Attention(rt, null as never), /options must be an object \{ score, querySize, keySize/],
    ['seed NaN', (_a, rt) => new Attention(rt, { score: 'general', querySize: 3, keySize: 4, seed: NaN }), /seed must be a finite number, got NaN/],
    ['seed 1.5', (_a, rt) => new Attention(rt, { score: 'general', querySize: 3, keySize: 4, seed: 1.5 }), /seed must be a safe integer, got 1\.5/],
    ['general of 100000 x 100000 (out of memory)', (_a, rt) => new Attention(rt, { score: 'general', querySize: 100000, keySize: 100000 }), /needs .*GiB.*limited to/],
    ['h of rank 2', (a) => a.forward(S2, host([2, 4])), /h must have shape \[B, Tx, 4\] \(keySize 4\), got \[2, 4\]/],
    ['h with the wrong keySize', (a) => a.forward(S2, host([2, 5, 3])), /h must have shape \[B, Tx, 4\] \(keySize 4\), got \[2, 5, 3\]/],
    ['h with a zero dimension', (a) => a.forward(S2, { shape: [2, 0, 4], data: new Float32Array(0) }), /h must have shape \[B, Tx, 4\].*got \[2, 0, 4\]/],
    ['h with short data', (a) => a.forward(S2, short(H)), /h has 39 values but shape \[2, 5, 4\] needs 40/],
    ['h as Float64Array', (a) => a.forward(S2, f64(H)), /h must be \{ shape: number\[\], data: Float32Array \}/],
    ['h holding Infinity', (a) => a.forward(S2, withNaN(H, 39, Infinity)), /h contains a non-finite value \(Infinity\) at flat index 39/],
    ['s of another batch', (a) => a.forward(host([3, 3]), H), /s must have shape \[2, 3\] or \[2, Ty, 3\] \(querySize 3, batch of h 2\), got \[3, 3\]/],
    ['s of rank 4', (a) => a.forward(host([2, 1, 1, 3]), H), /s must have shape \[2, 3\] or \[2, Ty, 3\]/],
    ['s holding NaN', (a) => a.forward(withNaN(S2, 4), H), /s contains a non-finite value \(NaN\) at flat index 4/],
    ['mask of the wrong length', (a) => a.forward(S2, H, { mask: new Uint8Array(9).fill(1) }), /mask must have B\*Tx = 2\*5 = 10 values, got 9/],
    ['mask value 2', (a) => a.forward(S2, H, { mask: Uint8Array.from([1, 2, 1, 1, 1, 1, 1, 1, 1, 1]) }), /mask\[0, 1\] must be 0 or 1, got 2/],
    ['mask row without a valid position', (a) => a.forward(S2, H, { mask: Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]) }), /mask row 1 has no valid position/],
    ['mask a string', (a) => a.forward(S2, H, { mask: '1111111111' as never }), /mask must be a Uint8Array or Int32Array of 2\*5 = 10 values/],
    ['forward options null', (a) => a.forward(S2, H, null as never), /forward options must be an object/],
    ['backward before any forward', (_a, rt) => onFresh(() => makeAttention(rt), (l) => l.backward({})), /Attention\.backward\(\) needs a preceding forward\(\)/],
    ['backward twice after one forward', (a) => { a.forward(S2, H); a.backward({ dContext: host([2, 4]) }); a.backward({ dContext: host([2, 4]) }); }, /backward\(\) was already called after the last forward/],
    ['dContext of the wrong shape', (a) => { a.forward(S2, H); a.backward({ dContext: host([2, 3]) }); }, /dContext must have shape \[2, 4\], got \[2, 3\]/],
    ['dWeights holding NaN', (a) => { a.forward(S2, H); a.backward({ dWeights: withNaN(host([2, 5]), 3) }); }, /dWeights contains a non-finite value \(NaN\) at flat index 3/],
    ['loadStateDict missing W', (a) => a.loadStateDict({}), /state dict is missing 'W'/],
    ['loadStateDict with a wrong shape', (a) => a.loadStateDict({ W: host([4, 3]) }), /'W' must have shape \[3, 4\]/],
    ['loadStateDict holding NaN', (a) => a.loadStateDict({ W: withNaN(host([3, 4]), 5) }), /'W' contains a non-finite value \(NaN\) at flat index 5/],
    ['forward after dispose', (_a, rt) => afterDispose(() => makeAttention(rt), (l) => l.forward(S2, H)), /Attention\.forward\(\): this Attention was disposed/],
  ],
};

// ---------------------------------------------------------------- LocalAttention

const STEP = Int32Array.from([0, 3]);
const makeLocal = (rt: Runtime) => new LocalAttention(rt, { mode: 'monotonic', score: 'general', querySize: 3, keySize: 4, window: 1, seed: 2 });
const PREFIX_MASK = Uint8Array.from([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);

const localAttention: Subject<LocalAttention> = {
  name: 'LocalAttention',
  make: makeLocal,
  good: (l) => {
    l.zeroGrad();
    const r = l.forward(S2, H, { step: STEP, mask: PREFIX_MASK });
    const g = l.backward({ dContext: host([2, 4], 4) });
    return [...r.context.data, ...r.weights.data, ...r.position.data, ...g.ds.data, ...g.dh.data, ...flat(l.gradients())];
  },
  dispose: (l) => l.dispose(),
  rows: [
    ['mode fixed', (_l, rt) => new LocalAttention(rt, { mode: 'fixed' as never, score: 'dot', querySize: 4, keySize: 4, window: 1 }), /mode must be 'monotonic' or 'predictive', got/],
    ['window 0', (_l, rt) => new LocalAttention(rt, { mode: 'monotonic', score: 'dot', querySize: 4, keySize: 4, window: 0 }), /window must be an integer >= 1, got 0/],
    ['predictive without predictSize', (_l, rt) => new LocalAttention(rt, { mode: 'predictive', score: 'dot', querySize: 4, keySize: 4, window: 2 }), /predictSize must be an integer >= 1, got undefined/],
    ['score additive', (_l, rt) => new LocalAttention(rt, { mode: 'monotonic', score: 'additive' as never, querySize: 4, keySize: 4, window: 2, attentionSize: 3 }), /score must be 'dot', 'general', 'concat'; got/],
    ['options null', (_l, rt) => new LocalAttention(rt, null as never), /options must be an object \{ mode, score/],
    ['step missing (monotonic)', (l) => l.forward(S2, H), /step must be an Int32Array of 2 decoder steps \(monotonic mode\), got undefined/],
    ['step of the wrong count', (l) => l.forward(S2, H, { step: Int32Array.from([0]) }), /step must have 2 values \(the batch size\), got 1/],
    ['step -1', (l) => l.forward(S2, H, { step: [0, -1] }), /step\[1\] must be an integer >= 0, got -1/],
    ['step 1.5', (l) => l.forward(S2, H, { step: [1.5, 0] }), /step\[0\] must be an integer >= 0, got 1\.5/],
    ['step NaN', (l) => l.forward(S2, H, { step: [NaN, 0] }), /step\[0\] must be an integer >= 0, got NaN/],
    ['step on a predictive layer', (_l, rt) => onFresh(() => new LocalAttention(rt, { mode: 'predictive', score: 'dot', querySize: 4, keySize: 4, window: 1, predictSize: 3, seed: 1 }), (p) => p.forward(host([2, 4]), H, { step: STEP })), /step is only used by monotonic local attention/],
    ['mask not a prefix', (l) => l.forward(S2, H, { step: STEP, mask: Uint8Array.from([1, 0, 1, 0, 0, 1, 1, 1, 1, 1]) }), /mask row 0 must be a prefix \(1…1 0…0\): position 2 is 1 after a 0/],
    ['s of rank 3 (local attends one step)', (l) => l.forward(host([2, 1, 3]), H, { step: STEP }), /s must have shape \[2, 3\], got \[2, 1, 3\]/],
    ['h of the wrong keySize', (l) => l.forward(S2, host([2, 5, 5]), { step: STEP }), /h must have shape \[B, Tx, 4\] \(keySize 4\), got \[2, 5, 5\]/],
    ['h holding NaN', (l) => l.forward(S2, withNaN(H, 0), { step: STEP }), /h contains a non-finite value \(NaN\) at flat index 0/],
    ['s as Float64Array', (l) => l.forward(f64(S2), H, { step: STEP }), /s must be \{ shape: number\[\], data: Float32Array \}/],
    ['backward before any forward', (_l, rt) => onFresh(() => makeLocal(rt), (x) => x.backward({})), /LocalAttention\.backward\(\) needs a preceding forward\(\)/],
    ['backward twice after one forward', (l) => { l.forward(S2, H, { step: STEP }); l.backward({ dContext: host([2, 4]) }); l.backward({ dContext: host([2, 4]) }); }, /backward\(\) was already called after the last forward/],
    ['dWeights of the wrong shape', (l) => { l.forward(S2, H, { step: STEP }); l.backward({ dWeights: host([2, 4]) }); }, /dWeights must have shape \[2, 5\], got \[2, 4\]/],
    ['forward after dispose', (_l, rt) => afterDispose(() => makeLocal(rt), (x) => x.forward(S2, H, { step: STEP })), /LocalAttention\.forward\(\): this LocalAttention was disposed/],
  ],
};

// ---------------------------------------------------------------- HardAttention

const makeHard = (rt: Runtime) => new HardAttention(rt, { score: 'general', querySize: 3, keySize: 4, seed: 3 }).eval();

const hardAttention: Subject<HardAttention> = {
  name: 'HardAttention',
  make: makeHard,
  // Eval mode (argmax): deterministic. The baseline must not move on a refused backward.
  good: (l) => {
    const r = l.forward(S2, H, { mask: MASK });
    return [...r.positions, ...r.context.data, ...r.weights.data, l.baseline, l.baselineUpdates, ...flat(l.gradients())];
  },
  dispose: (l) => l.dispose(),
  rows: [
    ['baseline ema', (_l, rt) => new HardAttention(rt, { score: 'dot', querySize: 4, keySize: 4, baseline: 'ema' as never }), /baseline must be 'moving-average', 'leave-one-out' or 'none', got/],
    ['baselineDecay 1', (_l, rt) => new HardAttention(rt, { score: 'dot', querySize: 4, keySize: 4, baselineDecay: 1 }), /baselineDecay must be in \[0, 1\), got 1/],
    ['entropyBonus -1', (_l, rt) => new HardAttention(rt, { score: 'dot', querySize: 4, keySize: 4, entropyBonus: -1 }), /entropyBonus must be >= 0, got -1/],
    ['entropyBonus NaN', (_l, rt) => new HardAttention(rt, { score: 'dot', querySize: 4, keySize: 4, entropyBonus: NaN }), /entropyBonus must be a finite number, got NaN/],
    ['options null', (_l, rt) => new HardAttention(rt, null as never), /options must be an object \{ score, querySize, keySize/],
    ['training "yes"', (l) => l.forward(S2, H, { training: 'yes' as never }), /training must be a boolean, got string/],
    ['mask row without a valid position', (l) => l.forward(S2, H, { mask: new Uint8Array(10) }), /mask row 0 has no valid position/],
    ['s of the wrong querySize', (l) => l.forward(host([2, 4]), H), /s must have shape \[2, 3\] or \[2, Ty, 3\]/],
    ['backward without a reward', (l) => { l.forward(S2, H); l.backward({} as never); }, /reward must be an array of 2 values \(one per sequence\), got undefined/],
    ['reward of the wrong count', (l) => { l.forward(S2, H); l.backward({ reward: [1] }); }, /reward must have 2 values \(one per sequence\), got 1/],
    ['reward NaN', (l) => { l.forward(S2, H); l.backward({ reward: [1, NaN] }); }, /reward\[1\] must be finite, got NaN/],
    ['dContext of the wrong shape', (l) => { l.forward(S2, H); l.backward({ reward: [1, 2], dContext: host([2, 5]) }); }, /dContext must have shape \[2, 4\], got \[2, 5\]/],
    ['backward before any forward', (_l, rt) => onFresh(() => makeHard(rt), (x) => x.backward({ reward: [1, 1] })), /HardAttention\.backward\(\) needs a preceding forward\(\)/],
    ['backward twice after one forward', (_l, rt) => onFresh(() => makeHard(rt), (x) => { x.forward(S2, H); x.backward({ reward: [1, 2] }); x.backward({ reward: [1, 2] }); }), /HardAttention\.backward\(\) was already called after the last forward/],
    ['forward after dispose', (_l, rt) => afterDispose(() => makeHard(rt), (x) => x.forward(S2, H)), /HardAttention\.forward\(\): this HardAttention was disposed/],
  ],
};

// ---------------------------------------------------------------- EpisodeAttention

const ES = host([2, 3, 4], 6), EQ = host([2, 4], 7), EM = host([2, 4], 8), EMASK = Uint8Array.from([1, 1, 0, 1, 1, 1]);
const makeEpisode = (rt: Runtime) => new EpisodeAttention(rt, { factSize: 4, hiddenSize: 4, gateSize: 3, cell: 'attention-gru', seed: 4 });
const episodeOptions = { factSize: 4, hiddenSize: 4, gateSize: 3, cell: 'attention-gru' as const };

const episode: Subject<EpisodeAttention> = {
  name: 'EpisodeAttention',
  make: makeEpisode,
  good: (e) => {
    e.zeroGrad();
    const r = e.forward(ES, EQ, EM, { mask: EMASK, training: true });
    const g = e.backward({ dEpisode: host([2, 4], 9), dG: host([2, 3], 10) });
    return [...r.episode.data, ...r.g.data, ...g.ds.data, ...g.dq.data, ...g.dm.data, ...flat(e.gradients())];
  },
  dispose: (e) => e.dispose(),
  rows: [
    ['cell lstm', (_e, rt) => new EpisodeAttention(rt, { ...episodeOptions, cell: 'lstm' as never }), /EpisodeAttention cell must be 'gated-gru' or 'attention-gru', got lstm/],
    ['gate relu', (_e, rt) => new EpisodeAttention(rt, { ...episodeOptions, gate: 'relu' as never }), /EpisodeAttention gate must be 'softmax' or 'sigmoid', got relu/],
    ['factSize 0', (_e, rt) => new EpisodeAttention(rt, { ...episodeOptions, factSize: 0 }), /EpisodeAttention factSize must be an integer >= 1, got 0/],
    ['gateSize -3', (_e, rt) => new EpisodeAttention(rt, { ...episodeOptions, gateSize: -3 }), /EpisodeAttention gateSize must be an integer >= 1, got -3/],
    ['options null', (_e, rt) => new EpisodeAttention(rt, null as never), /EpisodeAttention options must be an object/],
    ['factSize 100000 x gateSize 100000 (out of memory)', (_e, rt) => new EpisodeAttention(rt, { ...episodeOptions, factSize: 100000, gateSize: 100000 }), /needs .*GiB.*limited to/],
    ['s of rank 2', (e) => e.forward(host([2, 4]), EQ, EM), /s must have shape \[B, M, 4\], got \[2, 4\]/],
    ['s with the wrong factSize', (e) => e.forward(host([2, 3, 5]), EQ, EM), /s must have shape \[2, 3, 4\], got \[2, 3, 5\]/],
    ['s with zero facts', (e) => e.forward({ shape: [2, 0, 4], data: new Float32Array(0) }, EQ, EM), /s facts must be an integer >= 1, got 0/],
    ['s with short data', (e) => e.forward(short(ES), EQ, EM), /s has 23 values but shape \[2, 3, 4\] needs 24/],
    ['q of another batch', (e) => e.forward(ES, host([3, 4]), EM), /q must have shape \[2, 4\], got \[3, 4\]/],
    ['m holding NaN', (e) => e.forward(ES, EQ, withNaN(EM, 6)), /m contains a non-finite value \(NaN\) at flat index 6/],
    ['q as Float64Array', (e) => e.forward(ES, f64(EQ), EM), /q must be \{ shape: number\[\], data: Float32Array \}/],
    ['mask as Float32Array', (e) => e.forward(ES, EQ, EM, { mask: new Float32Array(6).fill(1) as never }), /mask must be a Uint8Array or Int32Array of 6 values/],
    ['mask of the wrong length', (e) => e.forward(ES, EQ, EM, { mask: new Uint8Array(5).fill(1) }), /mask must have B\*M = 2\*3 = 6 values, got 5/],
    ['mask not a prefix', (e) => e.forward(ES, EQ, EM, { mask: Uint8Array.from([0, 1, 1, 1, 1, 1]) }), /mask row 0 must be a prefix/],
    ['mask value 2', (e) => e.forward(ES, EQ, EM, { mask: Uint8Array.from([1, 1, 1, 1, 2, 1]) }), /mask\[4\] must be 0 or 1, got 2/],
    ['training "yes"', (e) => e.forward(ES, EQ, EM, { training: 'yes' as never }), /training must be a boolean/],
    ['backward before any forward', (_e, rt) => onFresh(() => makeEpisode(rt), (x) => x.backward({})), /backward\(\) needs a preceding forward\(\) in training mode/],
    ['backward after an eval forward', (e) => { e.forward(ES, EQ, EM, { training: false }); e.backward({}); }, /backward\(\) needs a preceding forward\(\) in training mode/],
    ['backward twice after one forward', (e) => { e.forward(ES, EQ, EM, { training: true }); e.backward({ dEpisode: host([2, 4]) }); e.backward({ dEpisode: host([2, 4]) }); }, /backward\(\) was already called after the last forward/],
    ['dG of the wrong shape', (e) => { e.forward(ES, EQ, EM, { training: true }); e.backward({ dG: host([2, 4]) }); }, /dG must have shape \[2, 3\], got \[2, 4\]/],
    ['dEpisode holding Infinity', (e) => { e.forward(ES, EQ, EM, { training: true }); e.backward({ dEpisode: withNaN(host([2, 4]), 1, -Infinity) }); }, /dEpisode contains a non-finite value \(-Infinity\) at flat index 1/],
    ['loadStateDict with a wrong shape', (e) => e.loadStateDict({ ...e.stateDict(), W1: host([3, 4]) }), /'W1' must have shape \[3, 16\]/],
    ['forward after dispose', (_e, rt) => afterDispose(() => makeEpisode(rt), (x) => x.forward(ES, EQ, EM)), /EpisodeAttention\.forward\(\): this EpisodeAttention was disposed/],
  ],
};

// ---------------------------------------------------------------- MDLSTM

const MX = host([1, 3, 4, 2], 11);
const makeMdlstm = (rt: Runtime) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [0, 3], merge: 'sum', seed: 5 });

const mdlstm: Subject<MDLSTM> = {
  name: 'MDLSTM',
  make: makeMdlstm,
  good: (l) => {
    l.zeroGrad();
    const r = l.forward(MX, { training: true });
    const g = l.backward({ dOutput: host([1, 3, 4, 3], 12), dCell: host([1, 3, 4, 3], 13) });
    return [...r.output.data, ...r.cell.data, ...g.dx!.data, ...flat(l.gradients())];
  },
  dispose: (l) => l.dispose(),
  rows: [
    ['directions [0, 0]', (_l, rt) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [0, 0] }), /directions must be distinct, got \[0, 0\]/],
    ['directions [4]', (_l, rt) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [4] }), /directions must hold 0, 1, 2 or 3, got \[4\]/],
    ['directions []', (_l, rt) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, directions: [] }), /directions must be a non-empty array of distinct values/],
    ['merge max', (_l, rt) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, merge: 'max' as never }), /merge must be 'concat' or 'sum', got/],
    ['bias "yes"', (_l, rt) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 3, bias: 'yes' as never }), /bias must be a boolean, got string/],
    ['inputSize 0', (_l, rt) => new MDLSTM(rt, { inputSize: 0, hiddenSize: 3 }), /inputSize must be an integer >= 1, got 0/],
    ['options null', (_l, rt) => new MDLSTM(rt, null as never), /MDLSTM options must be an object with inputSize and hiddenSize/],
    ['hiddenSize 30000 (out of memory)', (_l, rt) => new MDLSTM(rt, { inputSize: 2, hiddenSize: 30000 }), /needs .*GiB.*limited to/],
    ['x of rank 3', (l) => l.forward(host([3, 4, 2])), /x must have rank 4, shape \[batch, rows, cols, 2\], got \[3, 4, 2\]/],
    ['x with an empty grid', (l) => l.forward({ shape: [1, 0, 4, 2], data: new Float32Array(0) }), /every dimension >= 1 \(no empty grid\), got \[1, 0, 4, 2\]/],
    ['x with the wrong inputSize', (l) => l.forward(host([1, 3, 4, 3])), /x must have shape \[batch, rows, cols, 2\] \(inputSize 2\), got \[1, 3, 4, 3\]/],
    ['x with short data', (l) => l.forward(short(MX)), /x has 23 values but shape \[1, 3, 4, 2\] needs 24/],
    ['x holding NaN', (l) => l.forward(withNaN(MX, 9)), /x contains a non-finite value \(NaN\) at flat index 9/],
    ['x as Float64Array', (l) => l.forward(f64(MX)), /x must be \{ shape: number\[\], data: Float32Array \}/],
    ['training 1', (l) => l.forward(MX, { training: 1 as never }), /training must be a boolean, got number/],
    ['backward without dOutput', (l) => { l.forward(MX, { training: true }); l.backward({} as never); }, /backward: dOutput is required \(shape \[1, 3, 4, 3\]\)/],
    ['dOutput of the wrong shape', (l) => { l.forward(MX, { training: true }); l.backward({ dOutput: host([1, 3, 4, 6]) }); }, /dOutput must have shape \[1, 3, 4, 3\], got \[1, 3, 4, 6\]/],
    ['dCell holding NaN', (l) => { l.forward(MX, { training: true }); l.backward({ dOutput: host([1, 3, 4, 3]), dCell: withNaN(host([1, 3, 4, 3]), 2) }); }, /dCell contains a non-finite value \(NaN\) at flat index 2/],
    ['inputGrad "no"', (l) => { l.forward(MX, { training: true }); l.backward({ dOutput: host([1, 3, 4, 3]), inputGrad: 'no' as never }); }, /inputGrad must be a boolean/],
    ['backward after an eval forward', (l) => { l.forward(MX, { training: false }); l.backward({ dOutput: host([1, 3, 4, 3]) }); }, /backward\(\) needs a preceding forward\(\) in training mode/],
    ['backward twice after one forward', (l) => { l.forward(MX, { training: true }); l.backward({ dOutput: host([1, 3, 4, 3]) }); l.backward({ dOutput: host([1, 3, 4, 3]) }); }, /backward\(\) was already called after the last forward/],
    ['loadStateDict missing a tensor', (l) => l.loadStateDict({}), /state dict is missing 'weight_ih_d0'/],
    ['forward after dispose', (_l, rt) => afterDispose(() => makeMdlstm(rt), (x) => x.forward(MX)), /MDLSTM\.forward\(\): this MDLSTM was disposed/],
  ],
};

// ---------------------------------------------------------------- step cells (used by the DMN and Seq2Seq)

const CX = host([2, 3], 14), CH = host([2, 4], 15), GATE = { shape: [2], data: Float32Array.from([0.25, 0.75]) };
interface CellState { lstm: LSTMCell; agru: AttentionGRUCell }

const cells: Subject<CellState> = {
  name: 'LSTMCell, GRUCell, AttentionGRUCell',
  make: (rt) => ({ lstm: new LSTMCell(rt, { inputSize: 3, hiddenSize: 4, seed: 6 }), agru: new AttentionGRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 7 }) }),
  good: ({ lstm, agru }) => {
    lstm.zeroGrad();
    agru.zeroGrad();
    const a = lstm.forward(CX, { h: CH, c: CH });
    const da = lstm.backward({ dH: host([2, 4], 16), dC: host([2, 4], 17) });
    const b = agru.forward(CX, { h: CH, gate: GATE });
    const db = agru.backward({ dH: host([2, 4], 18) });
    return [...a.h.data, ...a.c!.data, ...da.dx!.data, ...da.dh.data, ...b.h.data, ...db.dGate!.data, ...flat(lstm.gradients()), ...flat(agru.gradients())];
  },
  dispose: ({ lstm, agru }) => {
    lstm.dispose();
    agru.dispose();
  },
  rows: [
    ['LSTMCell hiddenSize 0', (_s, rt) => new LSTMCell(rt, { inputSize: 3, hiddenSize: 0 }), /hiddenSize must be an integer >= 1, got 0/],
    ['GRUCell resetAfter "yes"', (_s, rt) => new GRUCell(rt, { inputSize: 3, hiddenSize: 4, resetAfter: 'yes' as never }), /resetAfter must be true or false, got yes/],
    ['LSTMCell options null', (_s, rt) => new LSTMCell(rt, null as never), /options must be an object with inputSize and hiddenSize/],
    ['LSTMCell hiddenSize 40000 (out of memory)', (_s, rt) => new LSTMCell(rt, { inputSize: 40000, hiddenSize: 40000 }), /needs .*GiB.*limited to/],
    ['x of rank 3', ({ lstm }) => lstm.forward(host([1, 2, 3])), /x must have shape \[B, 3\] \(B >= 1\), got \[1, 2, 3\]/],
    ['x with the wrong inputSize', ({ lstm }) => lstm.forward(host([2, 4])), /x must have shape \[B, 3\] \(B >= 1\), got \[2, 4\]/],
    ['x holding NaN', ({ lstm }) => lstm.forward(withNaN(CX, 5)), /x contains a non-finite value \(NaN\) at flat index 5/],
    ['h of another batch', ({ lstm }) => lstm.forward(CX, { h: host([3, 4]) }), /h must have shape \[2, 4\], got \[3, 4\]/],
    ['c holding Infinity', ({ lstm }) => lstm.forward(CX, { c: withNaN(CH, 0, Infinity) }), /c contains a non-finite value \(Infinity\) at flat index 0/],
    ['gate on an LSTMCell', ({ lstm }) => lstm.forward(CX, { gate: GATE }), /gate is only accepted by AttentionGRUCell \(this is LSTMCell\)/],
    ['AttentionGRUCell without its gate', ({ agru }) => agru.forward(CX, { h: CH }), /AttentionGRUCell needs gate: \[B\], the attention weight of each row/],
    ['gate of the wrong count', ({ agru }) => agru.forward(CX, { gate: { shape: [3], data: new Float32Array(3) } }), /gate must have shape \[2\], got \[3\]/],
    ['c on an AttentionGRUCell', ({ agru }) => agru.forward(CX, { c: CH, gate: GATE }), /c is only accepted by LSTMCell \(this is AttentionGRUCell\)/],
    ['dC on an AttentionGRUCell', ({ agru }) => { agru.forward(CX, { gate: GATE }); agru.backward({ dC: CH }); }, /dC is only accepted by LSTMCell/],
    ['dH of the wrong shape', ({ lstm }) => { lstm.forward(CX); lstm.backward({ dH: host([2, 5]) }); }, /dH must have shape \[2, 4\], got \[2, 5\]/],
    ['backward twice after one forward', ({ lstm }) => { lstm.forward(CX); lstm.backward({ dH: CH }); lstm.backward({ dH: CH }); }, /LSTMCell\.backward\(\) was already called after the last forward/],
    ['backward before any forward', (_s, rt) => onFresh(() => new GRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 1 }), (c) => c.backward({})), /backward\(\) needs a preceding forward\(\)/],
    ['forward after dispose', (_s, rt) => afterDispose(() => new GRUCell(rt, { inputSize: 3, hiddenSize: 4, seed: 1 }), (c) => c.forward(CX)), /GRUCell\.forward\(\): this GRUCell was disposed/],
  ],
};

// ---------------------------------------------------------------- Seq2Seq

const S2S: Seq2SeqOptions = { sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 6, embeddingDim: 5, attention: 'bahdanau', seed: 1 };
const SOURCES = [Int32Array.from([4, 5, 6]), Int32Array.from([5, 8])];
const TARGETS = [Int32Array.from([4, 5]), Int32Array.from([7, 6, 5])];
const s2sVocab = (n: number, tag: string) => new Vocabulary(['<pad>', '<unk>', '<sos>', '<eos>', ...Array.from({ length: n - 4 }, (_, i) => `${tag}${i}`)], 4);

interface S2SState { model: Seq2Seq; file: Uint8Array }

/** A saved model file with one metadata field replaced (a valid safetensors file that lies). */
function withMetadata(file: Uint8Array, edit: Record<string, string | undefined>): Uint8Array {
  const parsed = readSafetensors(file);
  const meta: Record<string, string> = { ...(parsed.__metadata__ as Record<string, string>) };
  for (const [k, v] of Object.entries(edit)) if (v === undefined) delete meta[k]; else meta[k] = v;
  const tensors = Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== '__metadata__')) as never;
  return writeSafetensors(tensors, meta);
}

const seq2seq: Subject<S2SState> = {
  name: 'Seq2Seq (constructor, loss/fit, decode, load)',
  make: (rt) => {
    const model = new Seq2Seq(rt, S2S);
    return { model, file: saveSeq2Seq(model, s2sVocab(9, 'f'), s2sVocab(8, 'e')) };
  },
  good: ({ model }) => {
    model.tape.reset();
    const loss = model.loss({ sources: SOURCES, targets: TARGETS });
    model.tape.reset();
    const greedy = model.decode(SOURCES, { maxLength: 4 });
    const beam = model.decode(SOURCES, { method: 'beam', beamSize: 2, maxLength: 3 });
    return [loss, ...[...greedy, ...beam].flatMap((r) => [...r.tokens, r.score, ...r.attention.flatMap((a) => Array.from(a))]), ...flat(model.stateDict())];
  },
  dispose: ({ model }) => model.dispose(),
  // Many rows build (and drop) a whole model per call: 250 repetitions, still any leak shows.
  repeat: 250,
  rows: ([
    ['sourceVocabSize 4 (the specials need 4)', (_s, rt) => new Seq2Seq(rt, { ...S2S, sourceVocabSize: 4 }), /sourceVocabSize must be an integer >= 5, got 4/],
    ['hiddenSize 0', (_s, rt) => new Seq2Seq(rt, { ...S2S, hiddenSize: 0 }), /hiddenSize must be an integer >= 1, got 0/],
    ['numLayers 1.5', (_s, rt) => new Seq2Seq(rt, { ...S2S, numLayers: 1.5 }), /numLayers must be an integer >= 1, got 1\.5/],
    ['attention luong', (_s, rt) => new Seq2Seq(rt, { ...S2S, attention: 'luong' as never }), /attention must be one of none, bahdanau, .*got luong/],
    ['decoder cell rnn', (_s, rt) => new Seq2Seq(rt, { ...S2S, cell: 'rnn' as never }), /cell \(the decoder's\) must be 'gru' or 'lstm', got rnn/],
    ['dropout 1', (_s, rt) => new Seq2Seq(rt, { ...S2S, dropout: 1 }), /dropout must be in \[0, 1\), got 1/],
    ['teacherForcing NaN', (_s, rt) => new Seq2Seq(rt, { ...S2S, teacherForcing: NaN }), /teacherForcing must be in \[0, 1\], got NaN/],
    ['tieEmbeddings with embeddingDim != hiddenSize', (_s, rt) => new Seq2Seq(rt, { ...S2S, tieEmbeddings: true }), /tieEmbeddings needs embeddingDim \(5\) == hiddenSize \(6\)/],
    ['luong-dot over a bidirectional encoder', (_s, rt) => new Seq2Seq(rt, { ...S2S, attention: 'luong-dot', bidirectional: true }), /attention 'luong-dot' scores s \. h_j/],
    ['inputFeeding with bahdanau', (_s, rt) => new Seq2Seq(rt, { ...S2S, inputFeeding: true }), /inputFeeding feeds Luong's attentional state; attention 'bahdanau' has none/],
    ['options null', (_s, rt) => new Seq2Seq(rt, null as never), /Seq2Seq options must be an object with sourceVocabSize and targetVocabSize/],
    ['hiddenSize 40000 (out of memory)', (_s, rt) => new Seq2Seq(rt, { ...S2S, hiddenSize: 40000 }), /needs .*GiB.*limited to/],
    ['loss: sources empty', ({ model }) => model.loss({ sources: [], targets: [] }), /sources must be a non-empty array of id sequences/],
    ['loss: an empty source', ({ model }) => model.loss({ sources: [SOURCES[0], []], targets: TARGETS }), /sources\[1\] is empty: every source needs at least one token/],
    ['loss: source id past the vocabulary', ({ model }) => model.loss({ sources: [SOURCES[0], [5, 9]], targets: TARGETS }), /sources\[1\]\[1\] = 9 is outside the source vocabulary \[0, 9\)/],
    ['loss: source id -1', ({ model }) => model.loss({ sources: [[-1], [5]], targets: TARGETS }), /sources\[0\]\[0\] = -1 is outside the source vocabulary/],
    ['loss: source id NaN', ({ model }) => model.loss({ sources: [[NaN], [5]], targets: TARGETS }), /sources\[0\]\[0\] = NaN is outside the source vocabulary/],
    ['loss: source id 1.5', ({ model }) => model.loss({ sources: [[1.5], [5]], targets: TARGETS }), /sources\[0\]\[0\] = 1\.5 is outside the source vocabulary/],
    ['loss: sources not an array', ({ model }) => model.loss({ sources: 'abc' as never, targets: TARGETS }), /sources must be a non-empty array of id sequences/],
    ['loss: targets missing', ({ model }) => model.loss({ sources: SOURCES }), /loss\(batch\) needs batch\.targets/],
    ['loss: batch null', ({ model }) => model.loss(null as never), /loss\(batch\) needs batch\.targets/],
    ['loss: targets of another count', ({ model }) => model.loss({ sources: SOURCES, targets: [TARGETS[0]] }), /targets must be an array of 2 id sequences \(one per source\), got 1/],
    ['loss: target id past the vocabulary', ({ model }) => model.loss({ sources: SOURCES, targets: [TARGETS[0], [8]] }), /targets\[1\]\[0\] = 8 is outside the target vocabulary \[0, 8\)/],
    ['fit: no limit', ({ model }) => fitSeq2Seq(model, [{ source: SOURCES[0], target: TARGETS[0] }]), /fitSeq2Seq: give seconds, epochs or steps/],
    ['fit: batchSize 0 (would loop forever)', ({ model }) => fitSeq2Seq(model, [{ source: SOURCES[0], target: TARGETS[0] }], { steps: 1, batchSize: 0 }), /fitSeq2Seq: batchSize must be an integer >= 1, got 0/],
    ['fit: no training pairs (would loop forever)', ({ model }) => fitSeq2Seq(model, [], { seconds: 1 }), /fitSeq2Seq: data must be a non-empty array of \{ source, target \} id pairs/],
    ['fit: lr NaN', ({ model }) => fitSeq2Seq(model, [{ source: SOURCES[0], target: TARGETS[0] }], { steps: 1, lr: NaN }), /lr must be a finite number, got NaN/],
    ['decode: method top-k', ({ model }) => model.decode(SOURCES, { method: 'top-k' as never }), /method must be 'greedy', 'sample' or 'beam', got top-k/],
    ['decode: maxLength 0', ({ model }) => model.decode(SOURCES, { maxLength: 0 }), /maxLength must be an integer >= 1, got 0/],
    ['decode: maxLength 1e9 (huge)', ({ model }) => model.decode(SOURCES, { maxLength: 1e9 }), /maxLength must be an integer in 1\.\.10000, got 1000000000/],
    ['decode: beamSize 0', ({ model }) => model.decode(SOURCES, { method: 'beam', beamSize: 0 }), /beamSize must be an integer >= 1, got 0/],
    ['decode: beamSize 1e6 (huge)', ({ model }) => model.decode(SOURCES, { method: 'beam', beamSize: 1e6 }), /beamSize must be an integer in 1\.\.1000, got 1000000/],
    ['decode: lengthPenalty NaN', ({ model }) => model.decode(SOURCES, { method: 'beam', lengthPenalty: NaN }), /lengthPenalty must be a finite number >= 0, got NaN/],
    ['decode: temperature -1', ({ model }) => model.decode(SOURCES, { method: 'sample', temperature: -1 }), /temperature must be a finite number >= 0, got -1/],
    ['decode: temperature Infinity', ({ model }) => model.decode(SOURCES, { method: 'sample', temperature: Infinity }), /temperature must be a finite number >= 0, got Infinity/],
    ['decode: source id past the vocabulary', ({ model }) => model.decode([[4, 100]]), /sources\[0\]\[1\] = 100 is outside the source vocabulary \[0, 9\)/],
    ['load: not a safetensors file', (_s, rt) => loadSeq2Seq(rt, new TextEncoder().encode('hello, this is not a model file at all')), /header length .* (is absurdly large|runs past the end)/],
    ['load: a safetensors file of another kind', (_s, rt) => loadSeq2Seq(rt, writeSafetensors({ w: { shape: [1], data: new Float32Array(1) } })), /not a Seq2Seq model file: its metadata format is absent, expected "rnn-wasm-seq2seq\/1"/],
    ['load: options missing', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { options: undefined })), /Seq2Seq model file: metadata 'options' is missing/],
    ['load: options null', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { options: 'null' })), /Seq2Seq model file: metadata 'options' must be a JSON object/],
    ['load: options not JSON', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { options: '{hidden' })), /Seq2Seq model file: metadata 'options' is not valid JSON/],
    ['load: hiddenSize mistyped', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { options: JSON.stringify({ ...S2S, hiddenSize: '6' }) })), /hiddenSize must be an integer >= 1, got string/],
    ['load: target vocabulary missing', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { target_vocab: undefined })), /Seq2Seq model file: metadata 'target_vocab' is missing/],
    ['load: vocabulary of another size', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { source_vocab: JSON.stringify(s2sVocab(7, 'f').toJSON()) })), /vocabulary sizes 7\/8 do not match the options 9\/8/],
    ['load: vocabulary without <pad>', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { source_vocab: JSON.stringify({ tokens: ['a', 'b'], specials: 2 }) })), /Vocabulary: the token table must start with "<pad>", "<unk>"/],
    ['load: weights of the wrong size (options lie)', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { options: JSON.stringify({ ...S2S, hiddenSize: 7 }) })), /must have shape/],
    ['load: huge hiddenSize in the options', (s, rt) => loadSeq2Seq(rt, withMetadata(s.file, { options: JSON.stringify({ ...S2S, hiddenSize: 100000 }) })), /needs .*GiB.*limited to/],
  ] as Rows<S2SState>),
};

// ---------------------------------------------------------------- DMN

const babiText = generateBabi({ task: 1, stories: 3, seed: 5 });
const babiExamples = parseBabi(babiText).slice(0, 4);
const babiVocab = babiVocabulary(babiExamples);
const encoded: EncodedBabi[] = babiExamples.map((e) => encodeBabi(e, babiVocab));
const DMN_OPTIONS = { vocabSize: babiVocab.size, embeddingDim: 5, hiddenSize: 6, gateSize: 4, passes: 2, dropout: 0, seed: 2 };
const withBatch = (b: DMNBatch, edit: Partial<DMNBatch>): DMNBatch => ({ ...b, ...edit });
const setAt = (a: Int32Array, i: number, v: number) => {
  const c = a.slice();
  c[i] = v;
  return c;
};

interface DMNState { model: DMN; batch: DMNBatch; file: Uint8Array }

const dmn: Subject<DMNState> = {
  name: 'DMN (constructor, forward/loss, predict, load)',
  make: (rt) => {
    const model = new DMN(rt, DMN_OPTIONS);
    return { model, batch: makeDMNBatch(encoded, 2), file: saveBabiModel(model, babiVocab) };
  },
  good: ({ model, batch }) => {
    model.tape.reset();
    const loss = model.loss(batch);
    model.tape.reset();
    const { answers, gates } = model.predict(batch);
    return [loss, ...answers, ...gates.flatMap((g) => Array.from(g)), ...flat(model.stateDict())];
  },
  dispose: ({ model }) => model.dispose(),
  repeat: 250,
  rows: ([
    ['vocabSize 1', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, vocabSize: 1 }), /vocabSize must be an integer >= 2, got 1/],
    ['variant dmn++', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, variant: 'dmn++' as never }), /variant must be 'dmn\+' or 'dmn', got dmn\+\+/],
    ['input chars', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, input: 'chars' as never }), /input must be 'words', 'fusion' or 'visual', got chars/],
    ['passes 0', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, passes: 0 }), /passes must be an integer >= 1, got 0/],
    ['dropout -0.1', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, dropout: -0.1 }), /dropout must be in \[0, 1\), got -0\.1/],
    ['gateSupervision NaN', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, gateSupervision: NaN }), /gateSupervision must be a finite number >= 0, got NaN/],
    ['options null', (_s, rt) => new DMN(rt, null as never), /DMN options must be an object with vocabSize/],
    ['hiddenSize 8000 (out of memory)', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, hiddenSize: 8000 }), /needs .*GiB.*limited to/],
    ['hiddenSize 40000 (past the widest layer)', (_s, rt) => new DMN(rt, { ...DMN_OPTIONS, hiddenSize: 40000 }), /hiddenSize must be an integer in 1\.\.8192, got 40000/],
    ['makeDMNBatch of no examples', () => makeDMNBatch([]), /makeDMNBatch: needs at least one example/],
    ['makeDMNBatch of a story without facts', () => makeDMNBatch([{ ...encoded[0], facts: [] }]), /makeDMNBatch: example 0 has no facts/],
    ['makeDMNBatch of an empty question', () => makeDMNBatch([encoded[0], { ...encoded[1], question: new Int32Array(0) }]), /makeDMNBatch: example 1 has an empty question/],
    ['makeDMNBatch of an empty fact', () => makeDMNBatch([{ ...encoded[0], facts: [encoded[0].facts[0], new Int32Array(0)] }]), /makeDMNBatch: example 0 fact 1 is empty/],
    ['forward: answer past the vocabulary', ({ model, batch }) => model.loss(withBatch(batch, { answers: setAt(batch.answers, 2, babiVocab.size) })), new RegExp(`DMN batch answers\\[2\\] = ${babiVocab.size} is outside the vocabulary \\[0, ${babiVocab.size}\\)`)],
    ['forward: question id -1', ({ model, batch }) => model.loss(withBatch(batch, { questionIds: setAt(batch.questionIds, 0, -1) })), /DMN batch questionIds\[0\] = -1 is outside the vocabulary/],
    ['forward: sentence id past the vocabulary (fusion input)', ({ model, batch }) => model.loss(withBatch(batch, { sentenceIds: setAt(batch.sentenceIds, 1, 999) })), /DMN batch sentenceIds\[1\] = 999 must be an integer in 0\.\.\d+/],
    ['forward: a batch made for 3 passes', ({ model }) => model.loss(makeDMNBatch(encoded, 3)), /DMN batch was made for 3 passes, the model runs 2/],
    ['forward: factCounts 0', ({ model, batch }) => model.loss(withBatch(batch, { factCounts: setAt(batch.factCounts, 1, 0) })), /factCounts\[1\] = 0 must be an integer in 1\.\.\d+/],
    ['forward: question length past Tq', ({ model, batch }) => model.loss(withBatch(batch, { questionLengths: setAt(batch.questionLengths, 0, 99) })), /DMN batch questionLengths\[0\] = 99 must be an integer in 1\.\.\d+/],
    ['forward: answers of another count', ({ model, batch }) => model.loss(withBatch(batch, { answers: batch.answers.subarray(1) })), /DMN batch answers must have 4 values \(B\), got 3/],
    ['forward: batch null', ({ model }) => model.loss(null as never), /DMN batch must be a DMNBatch \(makeDMNBatch\)/],
    ['predict: question ids of a broken batch', ({ model, batch }) => model.predict(withBatch(batch, { questionIds: batch.questionIds.subarray(1) })), /DMN batch questionIds must have a multiple of B = 4 values \(an Int32Array\), got 11/],
    ['load: not a DMN file', (_s, rt) => loadBabiModel(rt, writeSafetensors({ w: { shape: [1], data: new Float32Array(1) } })), /not a DMN model file: its safetensors metadata lacks format "rnn-wasm-dmn"/],
    ['load: options not JSON', (s, rt) => loadBabiModel(rt, withMetadata(s.file, { options: '{passes' })), /DMN model file: metadata 'options' is not valid JSON/],
    ['load: vocabulary not JSON', (s, rt) => loadBabiModel(rt, withMetadata(s.file, { vocabulary: '[' })), /DMN model file: metadata 'vocabulary' is not valid JSON/],
    ['load: vocabulary without <pad>', (s, rt) => loadBabiModel(rt, withMetadata(s.file, { vocabulary: JSON.stringify({ tokens: ['x'], specials: 2 }) })), /DMN model file: metadata 'vocabulary': Vocabulary: the token table must start with "<pad>", "<unk>"/],
    ['load: options null', (s, rt) => loadBabiModel(rt, withMetadata(s.file, { options: 'null' })), /DMN model file: metadata 'options' must be a JSON object/],
    ['load: passes mistyped', (s, rt) => loadBabiModel(rt, withMetadata(s.file, { options: JSON.stringify({ ...DMN_OPTIONS, passes: 'two' }) })), /passes must be an integer >= 1, got string/],
    ['load: weights that do not fit the options', (s, rt) => loadBabiModel(rt, withMetadata(s.file, { options: JSON.stringify({ ...DMN_OPTIONS, hiddenSize: 7 }) })), /must have shape/],
    ['load: a weight missing', (s, rt) => {
      const parsed = readSafetensors(s.file);
      const { __metadata__: meta, ...tensors } = parsed;
      delete (tensors as Record<string, unknown>)['answer.bias'];
      return loadBabiModel(rt, writeSafetensors(tensors as never, meta as Record<string, string>));
    }, /loadStateDict: missing parameter 'answer\.bias'/],
  ] as Rows<DMNState>),
};

// ---------------------------------------------------------------- readers

const babiReader: Subject<null> = {
  name: 'bAbI reader',
  make: () => null,
  good: () => parseBabi(babiText).flatMap((e) => [e.facts.length, e.question.length, ...e.supporting]),
  rows: [
    ['text not a string', () => parseBabi(new Uint8Array(3) as never), /parseBabi expects the file's text as a string, got object/],
    ['maxFacts 0', () => parseBabi(babiText, { maxFacts: 0 }), /maxFacts must be an integer >= 1, got 0/],
    ['a line without an ID', () => parseBabi('Mary went to the kitchen.\n', { source: 'qa1.txt' }), /qa1\.txt:1: not bAbI format: a line must start with a sentence ID and a space/],
    ['IDs that skip', () => parseBabi('1 Mary went to the kitchen.\n3 Where is Mary?\tkitchen\t1\n'), /input:2: sentence ID 3 follows 1; IDs count up from 1 within a story/],
    ['a question without an answer', () => parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\t\t1\n'), /input:2: a question line needs "question\?<TAB>answer<TAB>supporting IDs"/],
    ['a supporting ID that is no earlier statement', () => parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t7\n'), /input:2: supporting ID 7 is not an earlier statement of this story/],
    ['a supporting ID that is not a number', () => parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\tx\n'), /input:2: supporting ID x is not an earlier statement/],
    ['a question before any statement', () => parseBabi('1 Where is Mary?\tkitchen\t\n'), /input:1: a question with no statement before it in its story/],
    ['an empty statement', () => parseBabi('1 ...\n'), /input:1: empty statement/],
    ['no questions at all', () => parseBabi('1 Mary went to the kitchen.\n'), /input: no questions found: not a bAbI file/],
    ['an empty file', () => parseBabi(''), /no questions found/],
    ['binary garbage', () => parseBabi(String.fromCharCode(...Array.from({ length: 200 }, (_, i) => (i * 131 + 7) & 255))), /input:1: not bAbI format/],
    ['a huge ID', () => parseBabi('1 Mary went to the kitchen.\n99999999999999999999 Where is Mary?\tkitchen\t1\n'), /sentence ID 100000000000000000000 follows 1/],
    ['generateBabi task 3', () => generateBabi({ task: 3 as never }), /generateBabi task must be one of 1, 2, 6, 8, got 3/],
    ['generateBabi stories -1', () => generateBabi({ task: 1, stories: -1 }), /generateBabi stories must be an integer >= 1, got -1/],
    ['generateBabi stories 1e12 (huge)', () => generateBabi({ task: 1, stories: 1e12 }), /generateBabi writes at most 1000000 questions \(stories x questionsPerStory\), got 1000000000000 x 5/],
    ['splitBabi fraction 1', () => splitBabi([1, 2, 3], 1), /validation fraction must be in \(0, 1\), got 1/],
  ],
};

const ENG_FRA = 'I am cold.\tJ\'ai froid.\nHe is tall.\tIl est grand.\nShe is happy.\tElle est heureuse.\n';

const translationReader: Subject<null> = {
  name: 'translation-pair reader',
  make: () => null,
  good: () => parseTranslationPairs(ENG_FRA).flatMap((p) => [p.line, p.french.length, p.english.length]),
  rows: [
    ['text not a string', () => parseTranslationPairs(42 as never), /parseTranslationPairs: expected the text of eng-fra\.txt, got number/],
    ['a line without a TAB', () => parseTranslationPairs('I am cold.\n'), /eng-fra\.txt line 1: expected 'english<TAB>french' with exactly one TAB, found 0/],
    ['a line with two TABs', () => parseTranslationPairs(`${ENG_FRA}a\tb\tc\n`), /eng-fra\.txt line 4: expected 'english<TAB>french' with exactly one TAB, found 2/],
    ['binary garbage', () => parseTranslationPairs(String.fromCharCode(...Array.from({ length: 300 }, (_, i) => (i * 89 + 3) & 255))), /eng-fra\.txt line 1: expected 'english<TAB>french' with exactly one TAB/],
    ['split not JSON', () => parseSplit('{"train": [1, 2'), /split-train\.json is not valid JSON/],
    ['split without train', () => parseSplit('{"test": [1]}'), /split-train\.json must be an object \{"train": \[0-based line numbers\]\}/],
    ['split null', () => parseSplit('null'), /split-train\.json must be an object/],
    ['split line -1', () => parseSplit('{"train": [0, -1]}'), /split-train\.json train\[1\] = -1 is not a 0-based line number/],
    ['split line 1.5', () => parseSplit('{"train": [1.5]}'), /split-train\.json train\[0\] = 1\.5 is not a 0-based line number/],
    ['split line "3"', () => parseSplit('{"train": ["3"]}'), /split-train\.json train\[0\] = "3" is not a 0-based line number/],
    ['split line twice', () => parseSplit('{"train": [2, 2]}'), /split-train\.json train\[1\] = 2 appears twice/],
    ['split line past the end', () => trainingPairs(parseTranslationPairs(ENG_FRA), [0, 7], { sha256: null }), /split-train\.json train\[1\] = 7: line 7 of eng-fra\.txt is not a kept pair/],
    ['split of another corpus (sha256)', () => trainingPairs(parseTranslationPairs(ENG_FRA), [0, 1]), /training pairs sha256 [0-9a-f]{64} does not match/],
    ['corpusBleu of unequal counts', () => corpusBleu([['a']], []), /corpusBleu: 1 candidates but 0 references/],
  ],
};

// ---------------------------------------------------------------- CLI commands (in-process)

/**
 * Runs a CLI command function on argv as the binary would and throws what a user sees:
 * "exit 2: message" for a usage error, "exit 1: message" for another error, "exit N: stderr"
 * for a command that returns N != 0. Output is captured, not printed.
 */
async function cli(command: (args: ReturnType<typeof parseArgs>) => Promise<number>, argv: string[]): Promise<void> {
  const log = console.log, error = console.error;
  const lines: string[] = [];
  console.log = console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    const code = await command(parseArgs(argv));
    if (code !== 0) throw new Error(`exit ${code}: ${lines.join('\n')}`);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('exit ')) throw e;
    throw new Error(`exit ${e instanceof UsageError ? 2 : 1}: ${(e as Error).message}`);
  } finally {
    console.log = log;
    console.error = error;
  }
}
const NO_FILE = '/nonexistent/rnn-wasm-bad-input.txt';
const run = (command: Parameters<typeof cli>[0], argv: string[]) => () => cli(command, argv);

const commands: Subject<null> = {
  name: 'CLI commands of the wave',
  make: () => null,
  good: () => [1],
  rows: [
    ['train translate --atention', run(trainCommand, ['train', 'translate', '--atention', 'dot']), /^exit 2: train translate: unknown option --atention; did you mean --attention\?/],
    ['train translate without --data', run(trainCommand, ['train', 'translate', '--epochs', '1']), /^exit 2: train translate needs --data and --split/],
    ['train translate --attention luong', run(trainCommand, ['train', 'translate', '--data', NO_FILE, '--split', NO_FILE, '--attention', 'luong', '--epochs', '1']), /^exit 2: --attention must be one of none, bahdanau/],
    ['train translate --dropout 1', run(trainCommand, ['train', 'translate', '--data', NO_FILE, '--split', NO_FILE, '--dropout', '1', '--epochs', '1']), /^exit 2: --dropout must be in \[0, 1\), got '1'/],
    ['train translate --hidden 0', run(trainCommand, ['train', 'translate', '--data', NO_FILE, '--split', NO_FILE, '--hidden', '0', '--epochs', '1']), /^exit 2: --hidden must be a positive integer, got '0'/],
    ['train translate --data of no file', run(trainCommand, ['train', 'translate', '--data', NO_FILE, '--split', NO_FILE, '--epochs', '1']), /^exit 2: --data \/nonexistent\/rnn-wasm-bad-input\.txt: no such file or directory \(expected eng-fra\.txt/],
    ['train translate --bidirectional=3', run(trainCommand, ['train', 'translate', '--bidirectional=3']), /^exit 2: train translate: --bidirectional takes no value, got '3'/],
    ['translate without --model', run(translateCommand, ['translate']), /^exit 2: translate needs --model/],
    ['translate --beam 0', run(translateCommand, ['translate', '--model', NO_FILE, '--beam', '0']), /^exit 2: --beam must be a positive integer, got '0'/],
    ['translate --max-lenght', run(translateCommand, ['translate', '--model', NO_FILE, '--max-lenght', '5']), /^exit 2: translate: unknown option --max-lenght; did you mean --max-length\?/],
    ['translate --model of no file', run(translateCommand, ['translate', '--model', NO_FILE]), /^exit 2: --model \/nonexistent\/rnn-wasm-bad-input\.txt: no such file or directory \(expected a model saved by rnn-wasm train translate --save\)/],
    ['train babi --seed 1.5', run(trainCommand, ['train', 'babi', '--seed', '1.5']), /^exit 2: --seed must be an integer, got '1\.5'/],
    ['train babi --task 3 without --data', run(trainCommand, ['train', 'babi', '--task', '3']), /^exit 2: without --data, --task must be one the generator writes \(1, 2, 6, 8\), got 3/],
    ['train babi --memmory', run(trainCommand, ['train', 'babi', '--memmory', 'gru']), /^exit 2: train babi: unknown option --memmory; did you mean --memory\?/],
    ['train babi --max-facts 0', run(trainCommand, ['train', 'babi', '--max-facts', '0']), /^exit 2: --max-facts must be a positive integer, got '0'/],
    ['train babi --init-gain 0', run(trainCommand, ['train', 'babi', '--init-gain', '0']), /^exit 2: --init-gain must be a number > 0, got '0'/],
    ['train babi --embedding-std -1', run(trainCommand, ['train', 'babi', '--embedding-std', '-1']), /^exit 2: --embedding-std must be a number > 0, got '-1'/],
    ['train babi --rename of one word', run(trainCommand, ['train', 'babi', '--rename', 'apple']), /^exit 2: --rename takes groups of at least 2 comma-separated words, separated by ';' \(e\.g\. "football,apple,milk"\), got 'apple'/],
    ['train babi --rename a word never seen', run(trainCommand, ['train', 'babi', '--rename', 'zebra,apple', '--epochs', '1']), /^exit 1: .*renameWords: 'zebra' is not a word of the training questions/],
    ['train babi --rename-names and --rename of a name', run(trainCommand, ['train', 'babi', '--rename-names', '--rename', 'mary,john']), /^exit 2: --rename-names: --rename already names some of the proper names; use one of the two/],
    ['train babi --data of no file', run(trainCommand, ['train', 'babi', '--data', NO_FILE]), /^exit 2: --data .*rnn-wasm-bad-input\.txt: no such file or directory \(expected a bAbI v1\.2 training file or a directory of them\)/],
    ['babi without --test', run(babiCommand, ['babi', '--model', NO_FILE]), /^exit 2: usage: rnn-wasm babi --model FILE --test FILE/],
    ['babi --model of no file', run(babiCommand, ['babi', '--model', NO_FILE, '--test', NO_FILE]), /^exit 2: --model \/nonexistent\/rnn-wasm-bad-input\.txt: no such file or directory \(expected a model saved by rnn-wasm train babi --save\)/],
    ['babi --test of no file', run(babiCommand, ['babi', '--model', 'package.json', '--test', NO_FILE]), /^exit 2: --test \/nonexistent\/rnn-wasm-bad-input\.txt: no such file or directory \(expected a bAbI v1\.2 file/],
    ['babi --model a directory', run(babiCommand, ['babi', '--model', 'test', '--test', 'package.json']), /^exit 2: --model test: is a directory, expected a model saved by rnn-wasm train babi --save/],
    ['babi --show x before the files', run(babiCommand, ['babi', '--model', NO_FILE, '--test', NO_FILE, '--show', 'x']), /^exit 2: --show must be a positive integer, got 'x'/],
    ['babi --model not a model', run(babiCommand, ['babi', '--model', 'package.json', '--test', 'package.json']), /^exit 1: .*--model package\.json: .*header/],
    ['babi --tset', run(babiCommand, ['babi', '--model', NO_FILE, '--test', NO_FILE, '--tset', 'x']), /^exit 2: babi: unknown option --tset; did you mean --test\?/],
    ['vqa without --model', run(vqaCommand, ['vqa', '--questions', '5']), /^exit 2: usage: rnn-wasm vqa --model FILE/],
    ['vqa --qestions', run(vqaCommand, ['vqa', '--model', NO_FILE, '--qestions', '5']), /^exit 2: vqa: unknown option --qestions; did you mean --questions\?/],
    ['vqa --model of no file', run(vqaCommand, ['vqa', '--model', NO_FILE]), /^exit 2: --model \/nonexistent\/rnn-wasm-bad-input\.txt: no such file or directory \(expected a model saved by rnn-wasm train vqa --save\)/],
    ['vqa --questions 0', run(vqaCommand, ['vqa', '--model', NO_FILE, '--questions', '0']), /^exit 2: --questions must be a positive integer, got '0'/],
    ['vqa --questions 1e6 (huge)', run(vqaCommand, ['vqa', '--model', NO_FILE, '--questions', '1000000']), /^exit 2: --questions must be at most 100000, got 1000000/],
    ['vqa --seed -1', run(vqaCommand, ['vqa', '--model', NO_FILE, '--seed', '-1']), /^exit 2: --seed must be an integer >= 0, got '-1'/],
    ['vqa --seed 0.5', run(vqaCommand, ['vqa', '--model', NO_FILE, '--seed', '0.5']), /^exit 2: --seed must be an integer >= 0, got '0\.5'/],
    ['vqa --show 5 of 2 questions', run(vqaCommand, ['vqa', '--model', NO_FILE, '--questions', '2', '--show', '5']), /^exit 2: --show 5 is more than --questions 2/],
    ['vqa --kinds size', run(vqaCommand, ['vqa', '--model', NO_FILE, '--kinds', 'colour-of,size']), /^exit 2: --kinds must be a comma list of colour-of, shape-of, relation, got 'colour-of,size'/],
    ['vqa --noise -1', run(vqaCommand, ['vqa', '--model', NO_FILE, '--noise', '-1']), /^exit 2: --noise must be a number >= 0, got '-1'/],
    ['vqa --rows x', run(vqaCommand, ['vqa', '--model', NO_FILE, '--rows', 'x']), /^exit 2: --rows must be a positive integer, got 'x'/],
    ['vqa extra', run(vqaCommand, ['vqa', '--model', NO_FILE, 'extra']), /^exit 2: vqa: unexpected argument 'extra'/],
    ['train segment --epohcs', run(trainCommand, ['train', 'segment', '--epohcs', '2']), /^exit 2: train segment: unknown option --epohcs; did you mean --epochs\?/],
    ['train segment --cell lstm (not read by segment)', run(trainCommand, ['train', 'segment', '--cell', 'lstm']), /^exit 2: train segment: unknown option --cell/],
    ['train segment --hidden x', run(trainCommand, ['train', 'segment', '--hidden', 'x']), /^exit 2: --hidden must be a positive integer, got 'x'/],
    ['demo --secnds', run(demoCommand, ['demo', '--secnds', '3']), /^exit 2: demo: unknown option --secnds; did you mean --seconds\?/],
    ['demo --seconds 0', run(demoCommand, ['demo', '--seconds', '0']), /^exit 2: demo: --seconds must be a number of seconds in \(0, 3600\], got '0'/],
    ['demo --seconds 1e9 (huge)', run(demoCommand, ['demo', '--seconds', '1e9']), /^exit 2: demo: --seconds must be a number of seconds in \(0, 3600\]/],
    ['demo extra', run(demoCommand, ['demo', 'extra']), /^exit 2: demo: unexpected argument 'extra'/],
  ],
};

badInputSuite('bad-input-wave', [attention, localAttention, hardAttention, episode, mdlstm, cells, seq2seq, dmn, babiReader, translationReader, commands]);
