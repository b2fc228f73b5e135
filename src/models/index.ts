// The four models (one per input/output cardinality) and their training recipes.
export { SequenceClassifier, type SequenceClassifierOptions, type ClassificationBatch, type Pooling } from './classifier.js';
export { SequenceTagger, type SequenceTaggerOptions, type TaggingBatch } from './tagger.js';
export { SequenceGenerator, type SequenceGeneratorOptions, type GenerationBatch, type GenerateOptions } from './generator.js';
export { CharLanguageModel, streamChunks, type CharLanguageModelOptions, type StreamChunk } from './charlm.js';
export { argmaxRow, sampleRow, type CellName } from './common.js';
// The training recipes (src/models/tasks.ts: data, model, Trainer, metrics) back `rnn-wasm train`
// and the examples; they stay out of the library bundle to keep it small.
export { TokenStackModel, tokenStack, recurrentDeclaration, type TokenStack, type TokenStackOptions } from './common.js';
export { DMN, makeDMNBatch, resolveDMNOptions, gatherFacts, positionalEncoding, timeFirstToFacts, gateSupervisionLoss, type DMNOptions, type DMNBatch, type DMNForward, type DMNInput, type DMNMemoryUpdate } from './dmn.js';
export { loadSeq2Seq, saveSeq2Seq } from './seq2seq-tasks.js';
export { Seq2Seq, ATTENTION_KINDS, type Seq2SeqOptions, type Seq2SeqBatch, type DecodeOptions, type DecodeResult, type AttentionKind } from './seq2seq.js';
export { makeVisualBatch, snakeOrder, snakePositions, type VisualExample, type VisualGrid } from './dmn-visual.js';
export { AnswerDecoder, packAnswerWords, type AnswerWords, type DMNAnswerModule } from './dmn-answer.js';
export { trainVqa, answerVqa, encodeVqa, type VqaTrainOptions, type VqaTrainResult, type AnsweredVqa } from './vqa-task.js';
export { saveVqaModel, loadVqaModel, scoreVqa, type VqaTaskRecord } from './vqa-task.js';
