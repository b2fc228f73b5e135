// Datasets and batching: tokenizers, vocabulary, padding, mini-batches, splits, the labelled
// sentences format, synthetic tasks and a small built-in text corpus.
export { tokenizeWords, tokenizeChars } from './tokenize.js';
export { Vocabulary, PAD, UNK, PAD_ID, UNK_ID, type VocabularyOptions, type VocabularyJson } from './vocab.js';
export { padBatch, miniBatches, stratifiedSplit, type PaddedBatch, type PadOptions, type MiniBatchOptions, type Split, type Layout } from './batch.js';
export { parseLabelledSentences, loadLabelledSentences, type LabelledSentence, type ParseLabelledOptions } from './sentiment.js';
export {
  syntheticSentiment,
  syntheticSentimentLabel,
  syntheticScenes,
  sceneCaption,
  syntheticRepeatTagging,
  charLanguageModelBatch,
  POSITIVE_WORDS,
  NEGATIVE_WORDS,
  NEUTRAL_WORDS,
  NEGATORS,
  SCENE_COLOURS,
  SCENE_SHAPES,
  SCENE_COUNTS,
  SCENE_SIZES,
  SCENE_FEATURE_SIZE,
  type SyntheticSentimentOptions,
  type Scene,
  type SceneDataset,
  type RepeatTaggingOptions,
  type TaggingDataset,
  type LanguageModelBatch,
} from './synthetic.js';
export { NURSERY_RHYMES, generateStoryText, builtinCorpus } from './corpus.js';
