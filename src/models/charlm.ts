// Character-level language model (Karpathy's char-rnn), trained with
// truncated BPTT: B parallel tracks of one long stream are cut into chunks of
// T steps; each chunk starts from the previous chunk's final state (carried as
// a constant, so gradients stop at the chunk boundary) and its loss is the
// next character at every step.
// ids: [T, B] -> Embedding [T,B,E] -> LSTM(h0, c0 carried) [T,B,H] -> Linear -> logits [T,B,V]
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import type { HostTensor } from '../runtime/tensor.js';
import { crossEntropyLoss } from '../layers/losses.js';
import { recurrent } from '../layers/ops.js';
import type { Rng } from '../train/rng.js';
import type { Variable } from '../train/tape.js';
import { sampleRow, tokenStack, type CellName, TokenStackModel } from './common.js';

export interface CharLanguageModelOptions {
  vocabSize: number;
  /** Default 32. */
  embeddingDim?: number;
  /** Default 128. */
  hiddenSize?: number;
  /** Default 1. */
  numLayers?: number;
  /** Default 'lstm'. */
  cell?: CellName;
  seed?: number;
}

/** One chunk of B parallel tracks: inputs and targets (inputs shifted by one) [T, B]. */
export interface StreamChunk {
  inputs: Int32Array;
  targets: Int32Array;
  batch: number;
}

/**
 * Cuts a stream of ids into B contiguous tracks and those into chunks of T
 * steps, in order: chunk k holds steps [kT, kT+T) of every track, so the state
 * after chunk k is the right start for chunk k+1 (truncated BPTT).
 */
export function streamChunks(stream: Int32Array, batch: number, steps: number): StreamChunk[] {
  const B = checkSize('batch', batch, 1);
  const T = checkSize('steps', steps, 1);
  const track = Math.floor((stream.length - 1) / B);
  const count = Math.floor(track / T);
  if (count < 1) throw new RangeError(`a stream of ${stream.length} ids is too short for ${B} tracks of at least ${T + 1} ids`);
  const chunks: StreamChunk[] = [];
  for (let k = 0; k < count; k++) {
    const inputs = new Int32Array(T * B);
    const targets = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const at = b * track + k * T + t;
        inputs[t * B + b] = stream[at];
        targets[t * B + b] = stream[at + 1];
      }
    }
    chunks.push({ inputs, targets, batch: B });
  }
  return chunks;
}

interface State {
  h: Float32Array;
  c?: Float32Array;
  batch: number;
}

export class CharLanguageModel extends TokenStackModel<Required<CharLanguageModelOptions>> {
  /** Final state of the last training chunk (the next chunk's start), or null. */
  private carry: State | null = null;

  constructor(rt: Runtime, options: CharLanguageModelOptions) {
    const o: Required<CharLanguageModelOptions> = { embeddingDim: 32, hiddenSize: 128, numLayers: 1, cell: 'lstm', seed: 0, ...options };
    checkSize('vocabSize', o.vocabSize, 2);
    super(rt, o, tokenStack({ ...o, outFeatures: o.vocabSize }), o.seed);
  }

  private get stateShape(): (B: number) => number[] {
    return (B) => [this.options.numLayers, B, this.options.hiddenSize];
  }

  /** Logits [T, B, V] from a given start state; returns the final state too. */
  private run(ids: Int32Array, B: number, start: State | null): { logits: Variable; end: { hN: Variable; cN?: Variable } } {
    if (!(ids instanceof Int32Array) || ids.length === 0 || ids.length % B !== 0) throw new ShapeError(`ids must be an Int32Array [T, ${B}]`);
    const T = ids.length / B;
    const tape = this.tape;
    const shape = this.stateShape(B);
    const usable = start !== null && start.batch === B;
    // The carried state is a constant input: gradients stop at the chunk boundary.
    const h0 = usable ? tape.input(start.h, shape) : undefined;
    const c0 = usable && start.c ? tape.input(start.c, shape) : undefined;
    const x = this.embedding.forward(tape, ids, [T, B]);
    const r = recurrent(tape, this.rnn, x, { h0, c0 });
    return { logits: this.fc.forward(tape, r.output), end: { hN: r.hN, cN: r.cN } };
  }

  private static keep(end: { hN: Variable; cN?: Variable }, B: number): State {
    return { h: end.hN.toArray(), c: end.cN?.toArray(), batch: B };
  }

  /** Mean next-character cross-entropy of one chunk; carries the final state to the next call. */
  loss(chunk: StreamChunk): number {
    const B = checkSize('chunk.batch', chunk.batch, 1);
    if (!(chunk.targets instanceof Int32Array) || chunk.targets.length !== chunk.inputs?.length) throw new ShapeError('chunk.targets must be shaped like chunk.inputs');
    const { logits, end } = this.run(chunk.inputs, B, this.carry);
    const loss = crossEntropyLoss(this.tape, logits, chunk.targets);
    this.carry = CharLanguageModel.keep(end, B);
    return loss;
  }

  /** Mean loss (nats per character) over chunks in order, with its own carried state (eval mode). */
  evaluate(chunks: StreamChunk[]): { loss: number; bitsPerChar: number } {
    return this.withEval(() => {
      let state: State | null = null;
      let sum = 0, n = 0;
      for (const chunk of chunks) {
        this.tape.reset();
        const { logits, end } = this.run(chunk.inputs, chunk.batch, state);
        sum += crossEntropyLoss(this.tape, logits, chunk.targets, { reduction: 'sum' });
        n += chunk.targets.length;
        state = CharLanguageModel.keep(end, chunk.batch);
      }
      const loss = sum / Math.max(1, n);
      return { loss, bitsPerChar: loss / Math.LN2 };
    });
  }

  /**
   * Continues `prefix` (ids, at least one) by `length` sampled ids:
   * temperature 0 is greedy, 1 the model's distribution, lower is safer.
   */
  sample(prefix: ArrayLike<number>, length: number, options: { temperature?: number; rng?: Rng } = {}): number[] {
    if (prefix.length < 1) throw new RangeError('sample: prefix needs at least one id');
    checkSize('length', length);
    const temperature = options.temperature ?? 1;
    if (temperature > 0 && !options.rng) throw new Error('sample: temperature > 0 needs options.rng (a seeded Rng)');
    const V = this.options.vocabSize;
    return this.withEval(() => {
      this.tape.reset();
      let { logits, end } = this.run(Int32Array.from(prefix), 1, null);
      const out: number[] = [];
      for (let i = 0; i < length; i++) {
        const l = logits.toArray();
        const next = sampleRow(l, l.length / V - 1, V, temperature, options.rng!);
        out.push(next);
        // Each step's activations stay in the arena until the next reset; rewind every 256 steps.
        const state = CharLanguageModel.keep(end, 1);
        if (i % 256 === 255) this.tape.reset();
        ({ logits, end } = this.run(Int32Array.of(next), 1, state));
      }
      return out;
    });
  }

  carriedState(): Record<string, HostTensor> {
    if (!this.carry) return {};
    const shape = this.stateShape(this.carry.batch);
    const out: Record<string, HostTensor> = { h: { shape, data: this.carry.h.slice() } };
    if (this.carry.c) out.c = { shape, data: this.carry.c.slice() };
    return out;
  }

  loadCarriedState(state: Record<string, HostTensor>): void {
    const h = state.h;
    if (!h) {
      this.carry = null;
      return;
    }
    const [L, B, H] = h.shape;
    if (h.shape.length !== 3 || L !== this.options.numLayers || H !== this.options.hiddenSize || h.data.length !== L * B * H) {
      throw new ShapeError(`carried state h must be [${this.options.numLayers}, B, ${this.options.hiddenSize}], got [${h.shape.join(', ')}]`);
    }
    const isLstm = this.options.cell === 'lstm';
    if (isLstm !== (state.c !== undefined)) throw new Error(`carried state ${isLstm ? 'needs' : 'must not have'} a cell state c`);
    if (state.c && (state.c.data.length !== h.data.length)) throw new ShapeError('carried state c must be shaped like h');
    this.carry = { h: Float32Array.from(h.data), c: state.c ? Float32Array.from(state.c.data) : undefined, batch: B };
  }

  resetCarriedState(): void {
    this.carry = null;
  }
}
