// Layers: one export line per layer module.
export { RNN, type RNNOptions } from './rnn.js';
export { LSTM, type LSTMOptions } from './lstm.js';
export { GRU, type GRUOptions } from './gru.js';
export {
  RecurrentLayer, recurrentParameterSpecs, type CellKind, type SequenceCellKind, type RecurrentOptions, type RecurrentForwardOptions,
  type RecurrentForwardResult, type RecurrentBackwardArgs, type RecurrentBackwardResult, type DeviceForwardArgs,
  type DeviceForwardResult, type DeviceBackwardArgs, type DeviceBackwardResult, type RecurrentContext,
} from './recurrent.js';
export {
  RecurrentCell, RNNCell, LSTMCell, GRUCell, AttentionGRUCell, cellParameterSpecs, type CellOptions, type RNNCellOptions,
  type GRUCellOptions, type CellForwardOptions, type CellForwardResult, type CellBackwardArgs, type CellBackwardResult,
  type CellDeviceForwardArgs, type CellDeviceForwardResult, type CellDeviceBackwardArgs, type CellDeviceBackwardResult, type CellStep,
} from './cells.js';
