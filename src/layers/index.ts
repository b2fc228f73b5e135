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
export { MDLSTM, mdlstmParameterSpecs, type MDLSTMOptions, type MDLSTMForwardResult, type MDLSTMBackwardArgs, type MdlstmMerge, type MdlstmDirection } from './mdlstm.js';
export { Attention, attentionParameterSpecs, type AttentionOptions, type AttentionForwardOptions, type AttentionResult, type AttentionBackwardArgs, type AttentionBackwardResult, type AttentionMemory, type AttentionStep, type AttentionMask, type ScoreKind } from './attention.js';
export { LocalAttention, type LocalAttentionOptions, type LocalAttentionForwardOptions, type LocalAttentionResult, type LocalMode } from './local-attention.js';
export { attention, attentionMemory, localAttention, hardAttention, type AttentionTapeMemory, type AttentionTapeOutputs, type HardAttentionTapeOutputs } from './attention-tape.js';
export { HardAttention, type HardAttentionOptions, type HardAttentionForwardOptions, type HardAttentionResult, type HardAttentionBackwardArgs } from './hard-attention.js';
export { EpisodeAttention, episodeAttention, maskLengths, episodeParameterSpecs, type EpisodeAttentionOptions, type EpisodeForwardOptions, type EpisodeForwardResult, type EpisodeBackwardArgs, type EpisodeBackwardResult, type EpisodeContext } from './episode.js';
