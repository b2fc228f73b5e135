// Attention on the tape (src/train/tape.ts) for models such as seq2seq: the key-side products
// of a source batch are computed once (attentionMemory) and every decoder step or teacher-forced
// sequence attends to them (attention). Backward entries replay in reverse: each attention call
// adds into s's, h's and the memory's key gradient; the memory's own entry (recorded first, so
// replayed last) pushes the key gradient summed over all calls into W / W_h and h, once.
import { Variable, type Tape } from '../train/tape.js';
import { checkMask, uploadFloats, type Attention, type AttentionMask, type AttentionMemory } from './attention.js';

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
  let memory: AttentionTapeMemory;
  if (source instanceof Variable) memory = attentionMemory(tape, layer, source, options);
  else {
    if (options.mask !== undefined) throw new Error('attention: pass the mask to attentionMemory (it belongs to the source)');
    if (source.layer !== layer) throw new Error('attention: the memory was prepared by another Attention layer');
    memory = source;
  }
  const step = layer.forwardDevice({ s: s.value, memory: memory.device, arena: tape.arena });
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
