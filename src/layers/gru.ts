// torch.nn.GRU: gates r, z, n; h' = (1-z)n + z h.
//   resetAfter true (default, torch/cuDNN): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   resetAfter false (Cho 2014, the lecture): n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
// x: [T,B,I] (or [B,T,I] batchFirst)  weight_ih_l{k}: [3H, I or D*H]  weight_hh_l{k}: [3H, H]
import type { Runtime } from '../runtime/runtime.js';
import type { HostTensor, ParameterSpec } from '../runtime/tensor.js';
import { kindFor, type SequenceCellKind } from '../kernels/cell-kinds.js';
import {
  RecurrentLayer, recurrentParameterSpecs, type RecurrentBackwardResult, type RecurrentForwardResult, type RecurrentOptions,
  type StatelessBackwardArgs, type StatelessForwardOptions,
} from './recurrent.js';

export interface GRUOptions extends RecurrentOptions {
  /** Default true (torch.nn.GRU). */
  resetAfter?: boolean;
}

export class GRU extends RecurrentLayer {
  readonly resetAfter: boolean;

  static parameterSpecs(options: GRUOptions): ParameterSpec[] {
    return recurrentParameterSpecs(3, options);
  }

  constructor(rt: Runtime, options: GRUOptions) {
    super(rt, kindFor('gru', options) as SequenceCellKind, options);
    this.resetAfter = this.kind.variant!.value as boolean;
  }

  /** As RecurrentLayer.forward, typed without c0 (a GRU has no cell state). */
  override forward(x: HostTensor, options: StatelessForwardOptions = {}): Omit<RecurrentForwardResult, 'cN'> {
    return super.forward(x, options);
  }

  /** As RecurrentLayer.backward, typed without dCN. */
  override backward(args: StatelessBackwardArgs = {}): Omit<RecurrentBackwardResult, 'dC0'> {
    return super.backward(args);
  }
}
