// Layers: one export line per layer module.
export { RNN, type RNNOptions } from './rnn.js';
export { LSTM, type LSTMOptions } from './lstm.js';
export { GRU, type GRUOptions } from './gru.js';
export {
  RecurrentLayer, recurrentParameterSpecs, type CellKind, type RecurrentOptions, type RecurrentForwardOptions,
  type RecurrentForwardResult, type RecurrentBackwardArgs, type RecurrentBackwardResult, type DeviceForwardArgs,
  type DeviceForwardResult, type DeviceBackwardArgs, type DeviceBackwardResult,
} from './recurrent.js';
export { Attention, attentionParameterSpecs, type AttentionOptions, type AttentionForwardOptions, type AttentionResult, type AttentionBackwardArgs, type AttentionBackwardResult, type AttentionMemory, type AttentionStep, type AttentionMask, type ScoreKind } from './attention.js';
export { LocalAttention, type LocalAttentionOptions, type LocalAttentionForwardOptions, type LocalAttentionResult, type LocalMode } from './local-attention.js';
export { attention, attentionMemory, type AttentionTapeMemory, type AttentionTapeOutputs } from './attention-tape.js';
export { HardAttention, type HardAttentionOptions, type HardAttentionForwardOptions, type HardAttentionResult, type HardAttentionBackwardArgs } from './hard-attention.js';
export { EpisodeAttention, GRUCellStep, episodeAttention, maskLengths, episodeParameterSpecs, type EpisodeAttentionOptions, type EpisodeForwardOptions, type EpisodeForwardResult, type EpisodeBackwardArgs, type EpisodeBackwardResult, type EpisodeContext } from './episode.js';
