// torch.nn.LSTM: gates i, f, g, o; c' = σ(f)c + σ(i)tanh(g), h' = σ(o)tanh(c').
// x: [T,B,I] (or [B,T,I] batchFirst)  weight_ih_l{k}: [4H, I or D*H]  weight_hh_l{k}: [4H, H]
import type { Runtime } from '../runtime/runtime.js';
import type { ParameterSpec } from '../runtime/tensor.js';
import { RecurrentLayer, recurrentParameterSpecs, type RecurrentOptions } from './recurrent.js';

export type LSTMOptions = RecurrentOptions;

export class LSTM extends RecurrentLayer {
  /** torch state_dict names and shapes (without prefix), for building a model's shared block. */
  static parameterSpecs(options: LSTMOptions): ParameterSpec[] {
    return recurrentParameterSpecs(4, options);
  }

  constructor(rt: Runtime, options: LSTMOptions) {
    super(rt, 'lstm', options);
  }
}
