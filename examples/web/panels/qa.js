// Panel adapter (runs in the worker): a Dynamic Memory Network (DMN+) trained on the built-in
// bAbI-style generator (src/data/babi.ts), task 1: "where is <person>?" after a few moves.
// The adapter contract is in ../worker.js; everything model-specific is in this file.
import { requireExports } from './pending.js';

const NEEDED = ['DMN', 'Trainer', 'Rng', 'generateBabi', 'parseBabi', 'babiVocabulary', 'babiWords', 'makeDMNBatch', 'answerToken'];

const TASK = 1;
const PASSES = 3;
// Small enough to train in seconds in a page.
const MODEL = { variant: 'dmn+', embeddingDim: 40, hiddenSize: 40, passes: PASSES, dropout: 0.1, seed: 1 };
const TRAINING = { stories: 500, batchSize: 50, lr: 3e-3, steps: 1200, evaluateEvery: 20 };
const VALIDATION_STORIES = 60;
/** Training stops early once validation accuracy reaches this. */
export const TARGET_ACCURACY = 0.95;

const capitalised = (w) => w.charAt(0).toUpperCase() + w.slice(1);

/** The names of a generated text: words written with a capital inside a sentence ("Where is Mary?"). */
function namesOf(text) {
  return new Set([...text.matchAll(/(?<=[a-z,] )[A-Z][a-z]+/g)].map((m) => m[0].toLowerCase()));
}

/**
 * The answer task 1's rule gives (where a person went last), so the page can say whether the
 * model got an edited story right; undefined for other questions or an unknown person.
 */
export function whereIs(facts, question) {
  if (question.length !== 3 || question[0] !== 'where' || question[1] !== 'is') return undefined;
  const moves = facts.filter((f) => f[0] === question[2] && f.length >= 3);
  return moves.length > 0 ? moves[moves.length - 1][moves[moves.length - 1].length - 1] : undefined;
}

export async function createPanel({ lib, rt }) {
  requireExports(lib, NEEDED, 'The question-answering panel');
  const { DMN, Trainer, Rng, generateBabi, parseBabi, babiVocabulary, babiWords, makeDMNBatch, answerToken } = lib;
  // Training and validation stories come from different seeds.
  const trainText = generateBabi({ task: TASK, stories: TRAINING.stories, seed: 1 });
  const train = parseBabi(trainText, { source: 'generated training stories' });
  const names = namesOf(trainText);
  /** A fact or question as a person would write it: "mary moved to the bathroom" -> "Mary moved to the bathroom." */
  const sentence = (words, end) => capitalised(words.map((w) => (names.has(w) ? capitalised(w) : w)).join(' ')) + end;
  const validation = parseBabi(generateBabi({ task: TASK, stories: VALIDATION_STORIES, seed: 2 }), { source: 'generated validation stories' });
  const vocab = babiVocabulary(train);
  const encode = (e) => ({
    facts: e.facts.map((f) => vocab.encode(f)),
    question: vocab.encode(e.question),
    answer: vocab.id(answerToken(e)),
    supporting: e.supporting,
  });
  const trainEncoded = train.map(encode);
  const validationBatches = [];
  for (let i = 0; i < validation.length; i += 100) validationBatches.push(makeDMNBatch(validation.slice(i, i + 100).map(encode), PASSES));
  const sampleRng = new Rng(5);
  const known = new Map(); // story + question -> answer, for the stories this panel handed out
  const keyOf = (story, question) => JSON.stringify([story.map((l) => babiWords(l)), babiWords(question)]);
  let model = null;
  let trainer = null;

  return {
    info: {
      task: `bAbI-style task ${TASK} (single supporting fact), generated in the page`,
      model: `DMN+ (fusion input, attention GRU, ${PASSES} passes), hidden ${MODEL.hiddenSize}`,
      target: `accuracy ≥ ${TARGET_ACCURACY * 100}% on ${validation.length} questions of fresh stories`,
      words: vocab.toJSON().tokens.slice(vocab.specialCount).sort(),
    },

    startTraining() {
      trainer?.dispose();
      model?.dispose();
      model = new DMN(rt, { vocabSize: vocab.size, ...MODEL });
      trainer = new Trainer(model, { lr: TRAINING.lr, clipNorm: 5, progress: false });
      const rng = new Rng(3);
      let order = [];
      return {
        total: TRAINING.steps,
        evaluateEvery: TRAINING.evaluateEvery,
        step() {
          if (order.length < TRAINING.batchSize) order = Array.from(rng.permutation(trainEncoded.length));
          const batch = order.splice(0, TRAINING.batchSize).map((i) => trainEncoded[i]);
          return trainer.trainStep(makeDMNBatch(batch, PASSES)).loss;
        },
        evaluate() {
          const { accuracy, questions } = model.evaluate(validationBatches);
          return { accuracy, summary: `accuracy ${(accuracy * 100).toFixed(1)}% on ${questions} questions of fresh stories` };
        },
        reached: (metrics) => metrics.accuracy >= TARGET_ACCURACY,
      };
    },

    /** A fresh story and one of its questions. */
    sample() {
      const examples = parseBabi(generateBabi({ task: TASK, stories: 1, questionsPerStory: 2, seed: sampleRng.int(1 << 30) }));
      const e = examples[examples.length - 1];
      const story = e.facts.map((f) => sentence(f, '.'));
      const question = sentence(e.question, '?');
      known.set(keyOf(story, question), answerToken(e));
      return { story, question };
    },

    /** Answers a question about a story (one fact per line); returns the answer and the gates of every pass. */
    predict({ story, question }) {
      if (!model) throw new Error('no model yet: train it first');
      const facts = (story ?? []).map((line) => babiWords(line)).filter((f) => f.length > 0);
      const q = babiWords(question ?? '');
      if (facts.length === 0) throw new Error('the story needs at least one fact (one sentence per line)');
      if (q.length === 0) throw new Error('type a question, e.g. "Where is Mary?"');
      const unknown = [...new Set([...facts.flat(), ...q].filter((w) => !vocab.has(w)))];
      const batch = makeDMNBatch([{ facts: facts.map((f) => vocab.encode(f)), question: vocab.encode(q), answer: 0, supporting: [] }], PASSES);
      const { answers, gates } = model.predict(batch);
      const notes = [];
      if (unknown.length > 0) notes.push(`unknown to the model (read as <unk>): ${unknown.join(', ')}`);
      return {
        question: sentence(q, '?'),
        answer: vocab.token(answers[0]),
        expected: known.get(keyOf(story, question)) ?? whereIs(facts, q),
        facts: facts.map((f) => sentence(f, '.')),
        gates: gates.map((g) => Array.from(g.subarray(0, facts.length))),
        note: notes.join(' · '),
      };
    },
  };
}
