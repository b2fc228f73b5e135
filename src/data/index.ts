// Datasets and batching: tokenizers, vocabulary, padding, mini-batches, splits and the labelled
// sentences format.
export { tokenizeWords, tokenizeChars } from './tokenize.js';
export { Vocabulary, PAD, UNK, PAD_ID, UNK_ID, type VocabularyOptions, type VocabularyJson } from './vocab.js';
export { padBatch, miniBatches, stratifiedSplit, type PaddedBatch, type PadOptions, type MiniBatchOptions, type Split, type Layout } from './batch.js';
export { parseLabelledSentences, loadLabelledSentences, type LabelledSentence, type ParseLabelledOptions } from './sentiment.js';
// The synthetic tasks (synthetic.ts) and the built-in corpus (corpus.ts) back `rnn-wasm train`, the
// examples and the tests; like the training recipes they stay out of the library bundle to keep it
// small: import them from their modules.
export { parseBabi, loadBabi, babiWords, babiProperNames, babiVocabulary, encodeBabi, splitBabi, answerToken, generateBabi, GENERATED_TASKS, type BabiExample, type BabiParseOptions, type EncodedBabi, type GeneratedTask, type GenerateOptions as BabiGenerateOptions } from './babi.js';
export { generateDateExamples, dateVocabularies, writeFrenchDate, randomDateExample, DATE_FORMS, type DateExample, type DateForm } from './dates.js';
export { generateVqa, vqaSplit, vqaVocabulary, vqaKey, vqaFeatureCount, VQA_SHAPES, VQA_COLOURS, type VqaExample, type VqaObject, type VqaKind, type VqaGenerateOptions } from './vqa.js';
export { vqaTestSet, vqaTestSeed, VQA_FEATURE_LAYOUT } from './vqa.js';
