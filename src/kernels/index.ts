// TypeScript entry points of the kernels: validate, then call wasm.
export * from './gemm.js';
export { biasAddRows, biasAddRowsBackward, elementwiseAdd, elementwiseMul, elementwiseMulBackward, axpy, scaleBuffer, fillBuffer, copyBuffer } from './elementwise.js';
export { sigmoidForward, sigmoidBackward, tanhForward, tanhBackward, reluForward, reluBackward } from './activations.js';
export { softmaxForward, softmaxBackward, logSoftmaxForward, logSoftmaxBackward, softmaxCrossEntropy, type SoftmaxCrossEntropyArgs } from './loss.js';
export { embeddingForward, embeddingBackward } from './embedding.js';
export { SGD, Adam, AdamW, sgdStep, adamStep, clipGradNorm, clipGradNormList, type SGDOptions, type AdamOptions, type FlatParameters, type FlatTensor } from './optim.js';
export { attentionKeysForward, attentionKeysBackward, attentionScoresForward, attentionScoresBackward, attentionSoftmaxForward, attentionSoftmaxBackward, attentionContextForward, attentionContextBackward, localPositionForward, localPositionBackward, localWindowForward, localWindowBackward, type ScoreKind as AttentionScoreKind } from './attention.js';
export { episodeGateForward, episodeGateBackward, episodeGruForward, episodeGruBackward, episodeGateRows, type EpisodeCell, type EpisodeGate } from './episode.js';
