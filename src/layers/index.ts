// Layers: one export line per layer module.
export { RNN, type RNNOptions } from './rnn.js';
export { LSTM, type LSTMOptions } from './lstm.js';
export { GRU, type GRUOptions } from './gru.js';
export {
  RecurrentLayer, recurrentParameterSpecs, type CellKind, type RecurrentOptions, type RecurrentForwardOptions,
  type RecurrentForwardResult, type RecurrentBackwardArgs, type RecurrentBackwardResult, type DeviceForwardArgs,
  type DeviceForwardResult, type DeviceBackwardArgs, type DeviceBackwardResult,
} from './recurrent.js';
export { MDLSTM, mdlstmParameterSpecs, type MDLSTMOptions, type MDLSTMForwardResult, type MDLSTMBackwardArgs, type MdlstmMerge, type MdlstmDirection } from './mdlstm.js';
