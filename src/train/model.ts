// The Model base class: every layer of a model keeps its parameters in the
// model's ONE ParameterBlock (values and gradients contiguous), so a single
// optimizer call and a single clipping call cover the whole model. Names are
// torch-style dotted paths ('embedding.weight', 'rnn.weight_ih_l0', 'fc.bias'),
// so stateDict() round-trips through safetensors and PyTorch.
import { ShapeError, checkAllFinite } from '../runtime/check.js';
import { Arena } from '../runtime/memory.js';
import { markDisposed } from '../runtime/lifecycle.js';
import type { Runtime } from '../runtime/runtime.js';
import { ParameterBlock, type HostTensor, type ParameterSpec } from '../runtime/tensor.js';
import { Rng } from './rng.js';
import { Tape } from './tape.js';

/** A model's layers, each with its dotted prefix and parameter specs (the older, two-step form: plan, then bind). */
export interface LayerPlan {
  prefix: string;
  specs: ParameterSpec[];
}

/**
 * One sub-layer of a model, declared once under its name: the parameter specs
 * (names relative to the layer, e.g. 'weight') and how to make the layer over
 * the model's block once that exists. Linear.declare, Embedding.declare and
 * models/common.ts's recurrentDeclaration make these.
 */
export interface LayerDeclaration<L = unknown> {
  readonly specs: ParameterSpec[];
  /** Makes the layer over model.params under `prefix` ('fc.') and initialises it from model.rng. */
  create(model: Model, prefix: string): L;
}

/** The layers made from a record of declarations, under the same keys. */
export type DeclaredLayers<D> = { [K in keyof D]: D[K] extends LayerDeclaration<infer L> ? L : never };

function isPlan(layers: LayerPlan[] | Record<string, LayerDeclaration>): layers is LayerPlan[] {
  return Array.isArray(layers);
}

/**
 * Layers is the record of the model's declared sub-layers (model.layers). A
 * model declares each one once, by name: `super(rt, { embedding:
 * Embedding.declare(e), fc: Linear.declare(f) }, seed)` puts 'embedding.weight',
 * 'fc.weight', 'fc.bias' in the block in that order, makes the layers over it
 * in that order (each initialised from the model's generator) and keeps them
 * in this.layers. The older form, a LayerPlan[] followed by binding each layer
 * by hand, still works (model.layers is then empty).
 */
export abstract class Model<Layers extends object = object> {
  /** Every parameter of every layer; gradients in the block's second half. */
  readonly params: ParameterBlock;
  /**
   * The tape forward passes record on. Its arena (the model's own, so models
   * sharing a runtime never rewind each other's activations) holds the step's
   * activations and grows to the step's high-water mark once.
   */
  readonly tape: Tape;
  /** Seeded generator for initialisation and dropout masks; checkpoints save its state. */
  readonly rng: Rng;
  /** The declared sub-layers by name (empty for a model built from a LayerPlan[]). */
  readonly layers: Layers;

  constructor(readonly rt: Runtime, layers: LayerPlan[] | { [K in keyof Layers]: LayerDeclaration<Layers[K]> }, seed: number = 0) {
    const declared = layers as LayerPlan[] | Record<string, LayerDeclaration>;
    const plan = isPlan(declared) ? declared : Object.entries(declared).map(([name, d]) => ({ prefix: name + '.', specs: d.specs }));
    const specs: ParameterSpec[] = [];
    for (const { prefix, specs: layerSpecs } of plan) {
      for (const s of layerSpecs) specs.push({ name: prefix + s.name, shape: [...s.shape] });
    }
    // First, so a bad seed (a model file's options) fails before any memory is taken.
    const rng = new Rng(seed);
    this.params = new ParameterBlock(rt.mem, specs, this.constructor.name);
    try {
      this.tape = new Tape(rt, new Arena(rt.mem, 0, `${this.constructor.name} activations`));
    } catch (e) {
      this.params.dispose();
      throw e;
    }
    this.rng = rng;
    const made: Record<string, unknown> = {};
    if (!isPlan(declared)) for (const [name, d] of Object.entries(declared)) made[name] = d.create(this as Model, name + '.');
    this.layers = made as Layers;
  }

  /**
   * State carried between training steps that is not a parameter (e.g. the
   * hidden state of a stream trained with truncated BPTT). Checkpoints save it
   * so a resumed run continues exactly. Default: none.
   */
  carriedState(): Record<string, HostTensor> {
    return {};
  }

  loadCarriedState(_state: Record<string, HostTensor>): void {}

  /** Forgets carried state (start of an epoch over a stream). */
  resetCarriedState(): void {}

  /** Training mode: forward passes record backward entries and dropout is active. */
  train(): this {
    this.tape.training = true;
    return this;
  }

  /** Evaluation mode: nothing recorded, dropout off. */
  eval(): this {
    this.tape.training = false;
    return this;
  }

  get training(): boolean {
    return this.tape.training;
  }

  /** Runs fn in evaluation mode (nothing recorded, dropout off), then restores the mode, also when fn throws. */
  withEval<T>(fn: () => T): T {
    const wasTraining = this.training;
    this.eval();
    try {
      return fn();
    } finally {
      if (wasTraining) this.train();
    }
  }

  /** Number of trainable values (padding between tensors excluded). */
  get parameterCount(): number {
    let n = 0;
    for (const name of this.params.names) n += this.params.value(name).size;
    return n;
  }

  zeroGrad(): void {
    this.params.zeroGrad();
  }

  /** Copies of every parameter under its dotted name. */
  stateDict(): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const name of this.params.names) out[name] = this.params.value(name).toHost();
    return out;
  }

  /**
   * Loads parameters by name. Every name must be present with its exact shape
   * and finite values; unknown names are an error too (strict, like torch).
   * Nothing is written unless the whole dict validates.
   */
  loadStateDict(dict: Record<string, { shape: number[]; data: ArrayLike<number> }>): void {
    this.checkStateDict(dict);
    for (const name of this.params.names) this.params.value(name).set(dict[name].data);
  }

  /** Throws unless loadStateDict would accept `dict`; changes nothing. */
  checkStateDict(dict: Record<string, { shape: number[]; data: ArrayLike<number> }>): void {
    const known = new Set(this.params.names);
    for (const key of Object.keys(dict)) {
      if (!known.has(key)) throw new Error(`loadStateDict: unexpected parameter '${key}'; expected: ${this.params.names.join(', ')}`);
    }
    for (const name of this.params.names) {
      const t = dict[name];
      if (!t) throw new Error(`loadStateDict: missing parameter '${name}'`);
      const shape = this.params.shapes.get(name)!;
      if (!Array.isArray(t.shape) || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new ShapeError(`loadStateDict: '${name}' must have shape [${shape.join(', ')}], got [${String(t.shape)}]`);
      }
      const size = shape.reduce((a, b) => a * b, 1);
      if (!t.data || t.data.length !== size) throw new ShapeError(`loadStateDict: '${name}' needs ${size} values, got ${t.data?.length}`);
      checkAllFinite(`loadStateDict '${name}'`, t.data);
    }
  }

  /** Returns the parameter memory to the runtime. */
  dispose(): void {
    if (!markDisposed(this)) return;
    this.tape.reset();
    this.tape.arena.dispose();
    this.params.dispose();
  }
}
