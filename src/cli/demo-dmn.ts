// The DMN part of `rnn-wasm demo`: trains a DMN+ on the built-in bAbI-style generator for a
// few seconds, then answers fresh stories (generated with another seed, never trained on) and
// draws every fact's gate in every pass: the lecture's picture of episodic memory.
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { GENERATED_TASKS, generateBabi, parseBabi, splitBabi, type GeneratedTask } from '../data/babi.js';
import { answerStories, evaluateBabi, gateChart, trainBabi, type AnsweredStory } from '../models/dmn-task.js';

export interface DmnDemoOptions {
  /** Print one JSON object instead of the chart (default false). */
  json?: boolean;
  /** Training budget in seconds (default 20). */
  seconds?: number;
  /**
   * Or a budget of training steps instead (one that does not depend on the machine's load),
   * rounded up to whole passes over the stories: trainBabi's budget is epochs.
   */
  steps?: number;
  /** Where text goes (default console.log). */
  write?: (line: string) => void;
  /** Generator task: 2 (default: two supporting facts, where the passes hop from fact to fact), 1, 6 or 8. */
  task?: GeneratedTask;
  /** Stories to answer (default 3). */
  stories?: number;
  seed?: number;
  rt?: Runtime;
  /** Called after every training step (the demo's progress bar). */
  onStep?: (info: { step: number; seconds: number; loss: number }) => void;
}

export interface DmnDemoResult {
  task: number;
  taskName: string;
  trainSeconds: number;
  steps: number;
  questionsPerSecond: number;
  /** Accuracy on the validation tenth of the generated training set. */
  validationAccuracy: number;
  /** Accuracy on freshly generated stories (another seed). */
  freshAccuracy: number;
  freshQuestions: number;
  stories: AnsweredStory[];
}

export async function runDmnDemo(options: DmnDemoOptions = {}): Promise<DmnDemoResult> {
  const write = options.write ?? ((line: string) => console.log(line));
  const task = options.task ?? 2;
  if (!(task in GENERATED_TASKS)) throw new RangeError(`demo task must be one of ${Object.keys(GENERATED_TASKS).join(', ')}, got ${task}`);
  const seed = options.seed ?? 0;
  const { steps } = options;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`demo steps must be a whole number >= 1, got ${steps}`);
  const rt = options.rt ?? (await createRuntime());
  const examples = parseBabi(generateBabi({ task, stories: 800, seed }));
  const batchSize = 32;
  const trainQuestions = splitBabi(examples).train.length;
  const budget: { seconds?: number; epochs?: number } = steps === undefined ? { seconds: options.seconds ?? 20 } : { epochs: Math.ceil(steps / Math.ceil(trainQuestions / batchSize)) };
  if (!options.json) write(`DMN+ on generated bAbI task ${task} (${GENERATED_TASKS[task]}): training for up to ${budget.seconds === undefined ? `${budget.epochs} epochs` : `${budget.seconds} s`} on ${trainQuestions} questions...`);
  const result = trainBabi(rt, {
    examples, variant: 'dmn+', embeddingDim: 32, hiddenSize: 32, batchSize, lr: 3e-3, dropout: 0, seed,
    ...budget, targetAccuracy: 0.995, validateEvery: 25,
    // Task 2 needs two hops: supervising the gates by the supporting facts gets it there in seconds.
    gateSupervision: task === 2 ? 1 : 0,
    log: options.json ? undefined : (line) => write(`  ${line}`),
    onStep: options.onStep,
  });
  const fresh = parseBabi(generateBabi({ task, stories: 40, seed: seed + 1_000_003 }));
  const freshEval = evaluateBabi(result.model, result.vocab, fresh);
  // One question per story, from different stories.
  const picked = [];
  const n = options.stories ?? 3;
  for (let i = 4; i < fresh.length && picked.length < n; i += 5) picked.push(fresh[i]);
  const stories = answerStories(result.model, result.vocab, picked);
  const out: DmnDemoResult = {
    task, taskName: GENERATED_TASKS[task], trainSeconds: result.metrics.seconds, steps: result.metrics.steps,
    questionsPerSecond: result.metrics.questionsPerSecond, validationAccuracy: result.metrics.accuracy,
    freshAccuracy: freshEval.accuracy, freshQuestions: freshEval.questions, stories,
  };
  if (options.json) write(JSON.stringify(out));
  else {
    write(`trained ${out.steps} steps in ${out.trainSeconds.toFixed(1)} s (${Math.round(out.questionsPerSecond)} questions/s); accuracy on ${out.freshQuestions} fresh questions: ${(out.freshAccuracy * 100).toFixed(1)}%`);
    write('gates per pass (█ = attention on the fact; * = supporting fact):');
    for (const s of stories) write(['', ...gateChart(s)].join('\n'));
  }
  result.model.dispose();
  return out;
}
