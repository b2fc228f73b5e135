// Linear layer: y = x W^T + b over Tensor handles on a tape (torch.nn.Linear
// names, shapes and default initialisation).
// x: [..., in]  weight: [out, in]  bias: [out]  y: [..., out]
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import { ParameterBlock, type ParameterSpec, type Tensor } from '../runtime/tensor.js';
import { gemm } from '../kernels/gemm.js';
import { biasAddRows, biasAddRowsBackward } from '../kernels/elementwise.js';
import type { LayerDeclaration } from '../train/model.js';
import type { Tape, Variable } from '../train/tape.js';
import { checkSameRuntime } from '../runtime/lifecycle.js';

/** Where a layer's parameters live: a shared model block under a name prefix, or a block of its own. */
export interface ParameterBinding {
  /** An existing block holding `prefix + name` for every spec of the layer. */
  block?: ParameterBlock;
  /** Dotted prefix such as 'fc.' (torch state_dict style). */
  prefix?: string;
  /** Names the layer in errors about its own block (out of memory, disposed), e.g. 'LSTM(hiddenSize 64)'. */
  label?: string;
}

/** Uniform and normal draws for initialisation (src/train/rng.ts's Rng satisfies it). */
export interface InitRandom {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
}

/** Resolves a binding: checks the shared block holds every spec with the right shape, or makes a block. */
export function bindParameters(
  rt: Runtime,
  specs: ParameterSpec[],
  binding: ParameterBinding = {},
): { block: ParameterBlock; prefix: string; owned: boolean } {
  const prefix = binding.prefix ?? '';
  rt.mem.checkLive(binding.label ?? 'a layer');
  if (!binding.block) return { block: new ParameterBlock(rt.mem, specs, binding.label), prefix: '', owned: true };
  checkSameRuntime(rt, binding.label ?? 'a layer', { 'the parameter block passed': binding.block });
  binding.block.checkLive(binding.label ?? 'a layer');
  for (const s of specs) {
    const shape = binding.block.shapes.get(prefix + s.name);
    if (!shape) throw new Error(`parameter block has no '${prefix + s.name}'`);
    if (shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i])) {
      throw new ShapeError(`parameter '${prefix + s.name}' must have shape [${s.shape.join(', ')}], got [${shape.join(', ')}]`);
    }
  }
  return { block: binding.block, prefix, owned: false };
}

/** Prepends a dotted prefix to every spec name. */
export function prefixSpecs(prefix: string, specs: ParameterSpec[]): ParameterSpec[] {
  return specs.map((s) => ({ name: prefix + s.name, shape: [...s.shape] }));
}

/** Fills a tensor with U(-bound, bound). */
export function initUniform(t: Tensor, bound: number, rng: InitRandom): void {
  const v = t.view();
  for (let i = 0; i < v.length; i++) v[i] = (rng.uniform() * 2 - 1) * bound;
}

/** The feature count of the last axis and the number of rows before it. */
export function rowsOf(name: string, shape: number[], features: number): number {
  if (shape.length < 1 || shape[shape.length - 1] !== features) {
    throw new ShapeError(`${name} must have shape [..., ${features}], got [${shape.join(', ')}]`);
  }
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Default true. */
  bias?: boolean;
}

export class Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;
  readonly block: ParameterBlock;
  readonly prefix: string;

  static parameterSpecs(options: LinearOptions): ParameterSpec[] {
    const inF = checkSize('Linear inFeatures', options.inFeatures, 1);
    const outF = checkSize('Linear outFeatures', options.outFeatures, 1);
    const specs: ParameterSpec[] = [{ name: 'weight', shape: [outF, inF] }];
    if (options.bias ?? true) specs.push({ name: 'bias', shape: [outF] });
    return specs;
  }

  /** A model's sub-layer: `super(rt, { fc: Linear.declare(o) }, seed)` names it 'fc.' and initialises it from the model's generator. */
  static declare(options: LinearOptions): LayerDeclaration<Linear> {
    return {
      specs: Linear.parameterSpecs(options),
      create: (model, prefix) => {
        const layer = new Linear(model.rt, options, { block: model.params, prefix });
        layer.resetParameters(model.rng);
        return layer;
      },
    };
  }

  constructor(readonly rt: Runtime, options: LinearOptions, binding: ParameterBinding = {}) {
    const specs = Linear.parameterSpecs(options);
    this.inFeatures = options.inFeatures;
    this.outFeatures = options.outFeatures;
    this.hasBias = options.bias ?? true;
    ({ block: this.block, prefix: this.prefix } = bindParameters(rt, specs, { label: `Linear(${this.inFeatures} -> ${this.outFeatures})`, ...binding }));
  }

  get weight(): Tensor {
    return this.block.value(this.prefix + 'weight');
  }

  get bias(): Tensor | null {
    return this.hasBias ? this.block.value(this.prefix + 'bias') : null;
  }

  /** torch's default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)). */
  resetParameters(rng: InitRandom): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    initUniform(this.weight, bound, rng);
    if (this.hasBias) initUniform(this.bias!, bound, rng);
  }

  forward(tape: Tape, x: Variable): Variable {
    tape.checkOp('Linear.forward', { layer: this.rt, x });
    const rows = rowsOf('Linear input x', x.shape, this.inFeatures);
    const inF = this.inFeatures;
    const outF = this.outFeatures;
    const y = tape.variable([...x.shape.slice(0, -1), outF]);
    const w = this.weight;
    gemm(this.rt, { transB: true, m: rows, n: outF, k: inF, a: x.ptr, b: w.ptr, c: y.ptr });
    if (this.hasBias) biasAddRows(this.rt, { y: y.ptr, b: this.bias!.ptr, rows, cols: outF });
    tape.record('Linear', () => {
      if (!y.hasGrad) return;
      const dy = y.grad();
      // dW += dy^T x ; db += column sums of dy ; dx += dy W
      gemm(this.rt, { transA: true, m: outF, n: inF, k: rows, a: dy.ptr, b: x.ptr, beta: 1, c: this.block.grad(this.prefix + 'weight').ptr });
      if (this.hasBias) biasAddRowsBackward(this.rt, { dy: dy.ptr, db: this.block.grad(this.prefix + 'bias').ptr, rows, cols: outF });
      if (x.requiresGrad) gemm(this.rt, { m: rows, n: inF, k: outF, a: dy.ptr, b: w.ptr, beta: 1, c: x.grad().ptr });
    });
    return y;
  }
}
