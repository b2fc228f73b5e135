// The torch-style parameter bookkeeping the layers share: a layer's specs (torch state_dict
// names and shapes) bound to a ParameterBlock under a prefix, with stateDict / loadStateDict /
// gradients / zeroGrad by those names; ParameterLayer is that surface for a layer class.
import { checkAllFinite, checkFinite, checkShape, ShapeError, shapeSize } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import type { HostTensor, ParameterBlock, ParameterSpec } from '../runtime/tensor.js';
import { bindParameters, type ParameterBinding } from './linear.js';

/**
 * A layer's initialisation seed: the given one, checked (call it before allocating anything, so a
 * bad seed leaks nothing), or a random one.
 */
export function layerSeed(seed: number | undefined): number {
  if (seed === undefined) return Math.floor(Math.random() * 2 ** 31);
  checkFinite('seed', seed);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  return seed;
}

export class NamedParameters {
  readonly block: ParameterBlock;
  readonly prefix: string;
  /** Whether the block is this layer's own (else a model's, shared under prefix). */
  readonly owned: boolean;

  constructor(rt: Runtime, readonly specs: readonly ParameterSpec[], binding: ParameterBinding = {}) {
    const bound = bindParameters(rt, [...specs], binding);
    this.block = bound.block;
    this.prefix = bound.prefix;
    this.owned = bound.owned;
  }

  /** torch names (without the prefix), in state_dict order. */
  names(): string[] {
    return this.specs.map((s) => s.name);
  }

  /** Every parameter U(-bound, bound), in state_dict order (torch's recurrent initialisation). */
  initUniform(bound: number, rng: { uniform(): number }): void {
    for (const s of this.specs) {
      const v = this.block.value(this.prefix + s.name).view();
      for (let i = 0; i < v.length; i++) v[i] = (rng.uniform() * 2 - 1) * bound;
    }
  }

  /** Copies of every parameter by torch name. */
  stateDict(): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const s of this.specs) out[s.name] = this.block.value(this.prefix + s.name).toHost();
    return out;
  }

  /**
   * Loads torch state_dict tensors (names without a prefix). Every expected tensor must be
   * present with its exact shape, and nothing else (a `__metadata__` entry is ignored).
   * Checks everything before writing anything.
   */
  loadStateDict(dict: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    if (dict === null || typeof dict !== 'object') throw new TypeError('loadStateDict expects an object of name -> { shape, data }');
    const expected = new Map(this.specs.map((s) => [s.name, s.shape]));
    for (const name of Object.keys(dict)) {
      if (name === '__metadata__') continue;
      if (!expected.has(name)) {
        throw new Error(`unexpected tensor '${name}' in state dict; expected exactly: ${[...expected.keys()].join(', ')}`);
      }
    }
    for (const [name, shape] of expected) {
      const t = dict[name];
      if (t === undefined) throw new Error(`state dict is missing '${name}' (shape [${shape.join(', ')}])`);
      if (!t || !Array.isArray(t.shape) || !t.data) throw new TypeError(`state dict entry '${name}' must be { shape, data }`);
      checkShape(`state dict '${name}'`, t.shape, shape);
      if (t.data.length !== shapeSize(shape)) {
        throw new ShapeError(`state dict '${name}' has ${t.data.length} values, expected ${shapeSize(shape)} for shape [${shape.join(', ')}]`);
      }
      if (t.data instanceof Int32Array) throw new TypeError(`state dict '${name}' must be float32 data, got Int32Array`);
      checkAllFinite(`state dict '${name}'`, t.data);
    }
    for (const name of expected.keys()) this.block.value(this.prefix + name).set(dict[name].data);
  }

  /** Copies of the accumulated gradients by torch name. */
  gradients(): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const s of this.specs) out[s.name] = this.block.grad(this.prefix + s.name).toHost();
    return out;
  }

  /** Zeroes these gradients (only these tensors when the block is shared). */
  zeroGrad(): void {
    if (this.owned) {
      this.block.zeroGrad();
      return;
    }
    for (const s of this.specs) this.block.grad(this.prefix + s.name).view().fill(0);
  }

  /** Byte pointer of a parameter's value (name without the prefix). */
  valuePtr(name: string): number {
    return this.block.value(this.prefix + name).ptr;
  }

  /** Byte pointer of a parameter's gradient. */
  gradPtr(name: string): number {
    return this.block.grad(this.prefix + name).ptr;
  }

  dispose(): void {
    if (this.owned) this.block.dispose();
  }
}

/**
 * The torch.nn.Module surface of a layer whose parameters are one NamedParameters: names,
 * state dicts and gradients by torch name. zeroGrad() also forgets that the host backward ran.
 */
export abstract class ParameterLayer {
  readonly block: ParameterBlock;
  readonly prefix: string;
  protected readonly named: NamedParameters;
  /** The host backward() ran since the last forward() and zeroGrad(). */
  protected backwardDone = false;

  protected constructor(rt: Runtime, specs: readonly ParameterSpec[], binding: ParameterBinding) {
    this.named = new NamedParameters(rt, specs, binding);
    this.block = this.named.block;
    this.prefix = this.named.prefix;
  }

  /** torch state_dict names (without the block prefix), in order. */
  parameterNames(): string[] {
    return this.named.names();
  }

  /** Copies of every parameter by torch name (torch's state_dict). */
  stateDict(): Record<string, HostTensor> {
    return this.named.stateDict();
  }

  /** Exactly the expected names with their shapes (a `__metadata__` entry is ignored); nothing is written unless all validate. */
  loadStateDict(dict: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    this.named.loadStateDict(dict);
  }

  /** Copies of the gradients accumulated over every backward since zeroGrad(). */
  gradients(): Record<string, HostTensor> {
    return this.named.gradients();
  }

  zeroGrad(): void {
    this.named.zeroGrad();
    this.backwardDone = false;
  }
}
