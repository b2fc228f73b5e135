// TypeScript entry points of the kernels: validate, then call wasm.
export * from './gemm.js';
export { biasAddRows, biasAddRowsBackward, elementwiseAdd, elementwiseMul, elementwiseMulBackward, axpy, scaleBuffer, fillBuffer, copyBuffer } from './elementwise.js';
export { sigmoidForward, sigmoidBackward, tanhForward, tanhBackward, reluForward, reluBackward } from './activations.js';
export { softmaxForward, softmaxBackward, logSoftmaxForward, logSoftmaxBackward, softmaxCrossEntropy, type SoftmaxCrossEntropyArgs } from './loss.js';
export { embeddingForward, embeddingBackward } from './embedding.js';
export { SGD, Adam, AdamW, sgdStep, adamStep, clipGradNorm, clipGradNormList, type SGDOptions, type AdamOptions, type FlatParameters, type FlatTensor } from './optim.js';
export { cellForward, cellBackward, cellWorkFloats, type CellSizes, type CellForwardKernelArgs, type CellBackwardKernelArgs } from './cells.js';
export { CELL_KINDS, cellDescriptor, sequenceDescriptor, type CellDescriptor, type SequenceKernels, type StepKernels } from './cell-kinds.js';
export { mdlstmForward, mdlstmBackward, mdlstmBufferFloats, type MdlstmForwardArgs, type MdlstmBackwardArgs, type MdlstmKept, type MdlstmBackwardScratch, type MdlstmSizes } from './mdlstm.js';
export { attentionKeysForward, attentionKeysBackward, attentionScoresForward, attentionScoresBackward, attentionSoftmaxForward, attentionSoftmaxBackward, attentionContextForward, attentionContextBackward, localPositionForward, localPositionBackward, localWindowForward, localWindowBackward, type ScoreKind as AttentionScoreKind } from './attention.js';
export { episodeGateForward, episodeGateBackward, episodeGruForward, episodeGruBackward, episodeGateRows, type EpisodeCell, type EpisodeGate } from './episode.js';
export { sequenceForward, sequenceBackward, sequenceWorkFloats, swapAxes01, multiplyInto, type SequenceForwardArgs, type SequenceBackwardArgs, type SequenceSizes } from './recurrent.js';
