// Attention on the tape (src/train/tape.ts) for models such as seq2seq: the key-side products
// of a source batch are computed once (attentionMemory) and every decoder step or teacher-forced
// sequence attends to them (attention). Backward entries replay in reverse: each attention call
// adds into s's, h's and the memory's key gradient; the memory's own entry (recorded first, so
// replayed last) pushes the key gradient summed over all calls into W / W_h and h, once.
import { Variable, type Tape } from '../train/tape.js';
import { checkMask, uploadFloats, type Attention, type AttentionMask, type AttentionMemory } from './attention.js';
import type { LocalAttention, LocalAttentionForwardOptions } from './local-attention.js';
import type { HardAttention } from './hard-attention.js';

/** One source batch prepared for attention on a tape. */
export interface AttentionTapeMemory {
  layer: Attention;
  /** [B, Tx, dk] */
  h: Variable;
  /** [B, Tx, n] key-side products (null for dot). */
  keys: Variable | null;
  device: AttentionMemory;
}

export interface AttentionTapeOutputs {
  /** [B, Tx] or [B, Ty, Tx] */
  scores: Variable;
  weights: Variable;
  /** [B, dk] or [B, Ty, dk] */
  context: Variable;
}

/**
 * Prepares h [B, Tx, dk] (and its mask: B*Tx values of 0/1, any pattern, each row at least one
 * 1) for any number of attention calls in this step.
 */
export function attentionMemory(tape: Tape, layer: Attention, h: Variable, options: { mask?: AttentionMask } = {}): AttentionTapeMemory {
  tape.checkOp('attentionMemory', { layer: layer?.rt, h });
  if (h.shape.length !== 3) throw new RangeError(`attentionMemory: h must be [B, Tx, ${layer.keySize}], got [${h.shape.join(', ')}]`);
  const [B, Tx] = h.shape;
  const maskF = options.mask === undefined ? null : checkMask('mask', options.mask, B, Tx, false);
  const mask = maskF ? uploadFloats(tape.rt, tape.arena, maskF) : 0;
  const device = layer.memoryDevice({ h: h.value, mask, arena: tape.arena });
  const keys = device.keys ? new Variable(tape, device.keys, true) : null;
  tape.record('attentionMemory', () => {
    if (!keys || !keys.hasGrad) return;
    const dh = h.requiresGrad ? h.grad().ptr : 0;
    layer.memoryBackwardDevice(device, { dKeys: keys.grad().ptr, dh });
  });
  return { layer, h, keys, device };
}

/**
 * Attends from s ([B, dq]: one decoder step, or [B, Ty, dq]: a whole sequence) to a memory
 * (or directly to h [B, Tx, dk], which then builds one for this call).
 */
export function attention(
  tape: Tape, layer: Attention, s: Variable, source: AttentionTapeMemory | Variable, options: { mask?: AttentionMask } = {},
): AttentionTapeOutputs {
  tape.checkOp('attention', { layer: layer?.rt, s });
  let memory: AttentionTapeMemory;
  if (source instanceof Variable) memory = attentionMemory(tape, layer, source, options);
  else {
    if (options.mask !== undefined) throw new Error('attention: pass the mask to attentionMemory (it belongs to the source)');
    if (source.layer !== layer) throw new Error('attention: the memory was prepared by another Attention layer');
    memory = source;
  }
  const step = layer.forwardDevice({ s: s.value, memory: memory.device, arena: tape.arena, training: tape.training });
  const scores = new Variable(tape, step.scores, false);
  const weights = new Variable(tape, step.weights, true);
  const context = new Variable(tape, step.context, true);
  tape.record('attention', () => {
    if (!context.hasGrad && !weights.hasGrad) return;
    // Every gradient buffer first: an allocation may grow memory.
    const ds = s.requiresGrad ? s.grad().ptr : 0;
    const dh = memory.h.requiresGrad ? memory.h.grad().ptr : 0;
    const dKeys = memory.keys ? memory.keys.grad().ptr : 0;
    const dContext = context.hasGrad ? context.grad().ptr : 0;
    const dWeights = weights.hasGrad ? weights.grad().ptr : 0;
    layer.backwardDevice(step, { dContext, dWeights, ds, dh, dKeys, arena: tape.arena });
  });
  return { scores, weights, context };
}

/**
 * Local attention on the tape: s [B, dq] (one decoder step) against a memory prepared by
 * attentionMemory(tape, loc.scorer, h) (without a mask: local attention takes its prefix mask,
 * and the monotonic step, per call).
 */
export function localAttention(
  tape: Tape, layer: LocalAttention, s: Variable, memory: AttentionTapeMemory, options: LocalAttentionForwardOptions = {},
): AttentionTapeOutputs & { position: Variable } {
  tape.checkOp('localAttention', { layer: layer?.rt, s, h: memory?.h });
  if (memory.layer !== layer.scorer) throw new Error('localAttention: prepare the memory with attentionMemory(tape, layer.scorer, h)');
  if (memory.device.mask !== 0) throw new Error('localAttention: pass the mask to localAttention, not to attentionMemory');
  const { B, Tx } = memory.device;
  const where = layer.locate(B, Tx, options);
  const step = layer.forwardDevice({ s: s.value, memory: memory.device, ...where, arena: tape.arena });
  const scores = new Variable(tape, step.scores, false);
  const weights = new Variable(tape, step.weights, true);
  const context = new Variable(tape, step.context, true);
  const position = new Variable(tape, step.position, false);
  tape.record('localAttention', () => {
    if (!context.hasGrad && !weights.hasGrad) return;
    const ds = s.requiresGrad ? s.grad().ptr : 0;
    const dh = memory.h.requiresGrad ? memory.h.grad().ptr : 0;
    const dKeys = memory.keys ? memory.keys.grad().ptr : 0;
    const dContext = context.hasGrad ? context.grad().ptr : 0;
    const dWeights = weights.hasGrad ? weights.grad().ptr : 0;
    layer.backwardDevice(step, { dContext, dWeights, ds, dh, dKeys, arena: tape.arena });
  });
  return { scores, weights, context, position };
}

export interface HardAttentionTapeOutputs {
  /** The attention distribution a (no gradient flows through it: the positions are sampled). */
  weights: Variable;
  /** h at the chosen positions: [B, dk] or [B, Ty, dk]. */
  context: Variable;
  /** The chosen position of every query ([B] or [B*Ty], row-major [B, Ty]). */
  positions: Int32Array;
  /**
   * The reward of each sequence ([B]) or of each query ([B*Ty]) for these choices, known once the model has used them;
   * must be set before tape.backward(), which applies REINFORCE with it.
   */
  setReward(reward: ArrayLike<number>): void;
}

/**
 * Hard attention on the tape: s ([B, dq] or [B, Ty, dq]) against a memory prepared by
 * attentionMemory(tape, layer.scorer, h, { mask }). Samples when training (tape.training and
 * the layer's train mode), takes the argmax otherwise. Backward: ordinary backprop of the
 * context's gradient into h at the chosen positions, REINFORCE (with the layer's baseline and
 * entropy bonus) for everything upstream of the scores.
 */
export function hardAttention(tape: Tape, layer: HardAttention, s: Variable, memory: AttentionTapeMemory): HardAttentionTapeOutputs {
  tape.checkOp('hardAttention', { layer: layer?.rt, s, h: memory?.h });
  if (memory.layer !== layer.scorer) throw new Error('hardAttention: prepare the memory with attentionMemory(tape, layer.scorer, h)');
  const sample = tape.training && layer.training;
  const step = layer.forwardDevice({ s: s.value, memory: memory.device, arena: tape.arena, sample });
  const weights = new Variable(tape, step.weights, false);
  const context = new Variable(tape, step.context, true);
  let reward: Float64Array | null = null;
  tape.record('hardAttention', () => {
    if (!reward) throw new Error('hardAttention: call setReward(reward) on its result before tape.backward()');
    const ds = s.requiresGrad ? s.grad().ptr : 0;
    const dh = memory.h.requiresGrad ? memory.h.grad().ptr : 0;
    const dKeys = memory.keys ? memory.keys.grad().ptr : 0;
    const dContext = context.hasGrad ? context.grad().ptr : 0;
    layer.backwardDevice(step, { reward, dContext, ds, dh, dKeys, arena: tape.arena });
  });
  return {
    weights, context, positions: step.positions.slice(),
    setReward(r: ArrayLike<number>) {
      layer.checkReward(r, step.B, step.Ty);
      reward = Float64Array.from(r);
    },
  };
}
