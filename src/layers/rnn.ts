// torch.nn.RNN (Elman): h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh (default) or relu.
// x: [T,B,I] (or [B,T,I] batchFirst)  weight_ih_l{k}: [H, I or D*H]  weight_hh_l{k}: [H, H]
import type { Runtime } from '../runtime/runtime.js';
import type { HostTensor, ParameterSpec } from '../runtime/tensor.js';
import { kindFor, type SequenceCellKind } from '../kernels/cell-kinds.js';
import {
  RecurrentLayer, recurrentParameterSpecs, type RecurrentBackwardResult, type RecurrentForwardResult, type RecurrentOptions,
  type StatelessBackwardArgs, type StatelessForwardOptions,
} from './recurrent.js';

export interface RNNOptions extends RecurrentOptions {
  /** Default 'tanh'. */
  nonlinearity?: 'tanh' | 'relu';
}

export class RNN extends RecurrentLayer {
  readonly nonlinearity: 'tanh' | 'relu';

  static parameterSpecs(options: RNNOptions): ParameterSpec[] {
    return recurrentParameterSpecs(1, options);
  }

  constructor(rt: Runtime, options: RNNOptions) {
    super(rt, kindFor('rnn', options) as SequenceCellKind, options);
    this.nonlinearity = this.kind.variant!.value as 'tanh' | 'relu';
  }

  /** As RecurrentLayer.forward, typed without c0 (a RNN has no cell state). */
  override forward(x: HostTensor, options: StatelessForwardOptions = {}): Omit<RecurrentForwardResult, 'cN'> {
    return super.forward(x, options);
  }

  /** As RecurrentLayer.backward, typed without dCN. */
  override backward(args: StatelessBackwardArgs = {}): Omit<RecurrentBackwardResult, 'dC0'> {
    return super.backward(args);
  }
}
