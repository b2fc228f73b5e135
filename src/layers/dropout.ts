// Inverted dropout: in training mode each element is kept with probability
// 1-p and scaled by 1/(1-p), so eval mode is the identity (torch.nn.Dropout).
// x, mask, y: [n] (any shape)
import { checkFinite } from '../runtime/check.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Tape, Variable } from '../train/tape.js';
import type { InitRandom } from './linear.js';
import { axpy, dropoutMask, elementwiseMul } from '../kernels/elementwise.js';

export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1). */
  p: number;
  /**
   * 'js' (default): one rng.uniform() per element; 'wasm': the mask is drawn in wasm (one
   * 32-bit xoshiro128** draw per element, seeded by four draws of rng per call): the same
   * distribution, another sequence, several times cheaper for large inputs.
   */
  masks?: 'js' | 'wasm';
}

export class Dropout {
  readonly p: number;
  private readonly wasmMasks: boolean;

  /** rng: the model's seeded generator (its state is checkpointed with the model). */
  constructor(readonly rt: Runtime, options: DropoutOptions, readonly rng: InitRandom) {
    const p = checkFinite('Dropout p', options.p);
    if (p < 0 || p >= 1) throw new RangeError(`Dropout p must be in [0, 1), got ${p}`);
    if (options.masks !== undefined && options.masks !== 'js' && options.masks !== 'wasm') throw new RangeError(`Dropout masks must be 'js' or 'wasm', got ${String(options.masks)}`);
    this.p = p;
    this.wasmMasks = options.masks === 'wasm';
  }

  /** Dropout has no parameters. */
  static parameterSpecs(): [] {
    return [];
  }

  forward(tape: Tape, x: Variable): Variable {
    tape.checkOp('Dropout.forward', { layer: this.rt, x });
    if (!tape.training || this.p === 0) return x;
    const n = x.size;
    const mask = tape.tensor(x.shape);
    if (this.wasmMasks) {
      const word = () => Math.floor(this.rng.uniform() * 2 ** 32);
      const seeds: [number, number, number, number] = [word(), word(), word(), word() || 1];
      dropoutMask(this.rt, { n, p: this.p, seeds, out: mask.ptr });
    } else {
      const m = mask.view();
      const keep = 1 / (1 - this.p);
      for (let i = 0; i < n; i++) m[i] = this.rng.uniform() < this.p ? 0 : keep;
    }
    const y = tape.variable(x.shape);
    elementwiseMul(this.rt, { a: x.ptr, b: mask.ptr, y: y.ptr, n });
    tape.record('Dropout', () => {
      if (!y.hasGrad || !x.requiresGrad) return;
      // dx += dy * mask, through a scratch product (the mask needs no gradient).
      const masked = tape.tensor(x.shape);
      elementwiseMul(this.rt, { a: y.grad().ptr, b: mask.ptr, y: masked.ptr, n });
      axpy(this.rt, { alpha: 1, x: masked.ptr, y: x.grad().ptr, n });
    });
    return y;
  }
}
