// Embedding lookup on a tape (torch.nn.Embedding names, init and padding_idx).
// ids: [...] int32  weight: [V, D]  y: [..., D]
import { checkSize, ShapeError } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ParameterBlock, ParameterSpec, Tensor } from '../runtime/tensor.js';
import type { LayerDeclaration } from '../train/model.js';
import type { Tape, Variable } from '../train/tape.js';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.js';
import { bindParameters, type InitRandom, type ParameterBinding } from './linear.js';

export interface EmbeddingOptions {
  numEmbeddings: number;
  embeddingDim: number;
  /** Row that stays zero and receives no gradient (e.g. <pad> = 0); none by default. */
  paddingIdx?: number;
}

export class Embedding {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | undefined;
  readonly block: ParameterBlock;
  readonly prefix: string;

  static parameterSpecs(options: EmbeddingOptions): ParameterSpec[] {
    const v = checkSize('Embedding numEmbeddings', options.numEmbeddings, 1);
    const d = checkSize('Embedding embeddingDim', options.embeddingDim, 1);
    return [{ name: 'weight', shape: [v, d] }];
  }

  /** A model's sub-layer: `super(rt, { embedding: Embedding.declare(o) }, seed)` names it 'embedding.' and initialises it from the model's generator. */
  static declare(options: EmbeddingOptions): LayerDeclaration<Embedding> {
    return {
      specs: Embedding.parameterSpecs(options),
      create: (model, prefix) => {
        const layer = new Embedding(model.rt, options, { block: model.params, prefix });
        layer.resetParameters(model.rng);
        return layer;
      },
    };
  }

  constructor(readonly rt: Runtime, options: EmbeddingOptions, binding: ParameterBinding = {}) {
    const specs = Embedding.parameterSpecs(options);
    this.numEmbeddings = options.numEmbeddings;
    this.embeddingDim = options.embeddingDim;
    if (options.paddingIdx !== undefined) {
      const p = options.paddingIdx;
      if (!Number.isInteger(p) || p < 0 || p >= this.numEmbeddings) {
        throw new RangeError(`Embedding paddingIdx must be an integer in [0, ${this.numEmbeddings}), got ${p}`);
      }
    }
    this.paddingIdx = options.paddingIdx;
    ({ block: this.block, prefix: this.prefix } = bindParameters(rt, specs, { label: `Embedding(${this.numEmbeddings}, ${this.embeddingDim})`, ...binding }));
  }

  get weight(): Tensor {
    return this.block.value(this.prefix + 'weight');
  }

  /** torch's default: N(0, 1), the padding row zero. */
  resetParameters(rng: InitRandom): void {
    const w = this.weight.view();
    for (let i = 0; i < w.length; i++) w[i] = rng.normal();
    if (this.paddingIdx !== undefined) w.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
  }

  /** Looks up `ids` (row-major of `shape`); every id must lie in [0, numEmbeddings). */
  forward(tape: Tape, ids: ArrayLike<number>, shape: number[] = [ids.length]): Variable {
    tape.checkOp('Embedding.forward', { layer: this.rt });
    const n = shape.reduce((a, b) => a * b, 1);
    if (ids.length !== n) throw new ShapeError(`Embedding ids: shape [${shape.join(', ')}] needs ${n} ids, got ${ids.length}`);
    const v = this.numEmbeddings;
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= v) {
        throw new RangeError(`Embedding ids[${i}] = ${id} is outside the vocabulary [0, ${v})`);
      }
    }
    const d = this.embeddingDim;
    const idsPtr = tape.int32(ids);
    const y = tape.variable([...shape, d]);
    embeddingForward(this.rt, { table: this.weight.ptr, vocabSize: v, dim: d, ids: idsPtr, n, out: y.ptr });
    tape.record('Embedding', () => {
      if (!y.hasGrad) return;
      embeddingBackward(this.rt, {
        dout: y.grad().ptr, ids: idsPtr, n, dtable: this.block.grad(this.prefix + 'weight').ptr, vocabSize: v, dim: d, paddingIdx: this.paddingIdx,
      });
    });
    return y;
  }
}
