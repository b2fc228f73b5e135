// The four models (one per input/output cardinality) and their training recipes.
export { SequenceClassifier, type SequenceClassifierOptions, type ClassificationBatch, type Pooling } from './classifier.js';
export { SequenceTagger, type SequenceTaggerOptions, type TaggingBatch } from './tagger.js';
export { SequenceGenerator, type SequenceGeneratorOptions, type GenerationBatch, type GenerateOptions } from './generator.js';
export { CharLanguageModel, streamChunks, type CharLanguageModelOptions, type StreamChunk } from './charlm.js';
export { argmaxRow, sampleRow, type CellName } from './common.js';
export {
  trainSentiment, trainTagger, trainCaptioner, trainCharLM, readLabelledData,
  type TaskOptions, type TaskResult, type SentimentOptions, type TaggerOptions, type CaptionOptions, type CharLMOptions,
} from './tasks.js';
