// The training recipe of the seq2seq toy tasks (copy / reverse / sort digit strings), shared by
// the default suite (test/seq2seq-toy.test.ts, short strings) and the opt-in full-length runs
// (test/long/seq2seq-toy.long.ts, `npm run test:long`): a small GRU encoder-decoder, Adam with a
// cosine-decayed learning rate (without the decay the exact match swings by +-20 points between
// evaluations at a constant rate), gradient clipping at 5, batches of 32.
import { appendFileSync, mkdirSync } from 'node:fs';
import type { Runtime } from '../src/runtime/runtime.js';
import { Seq2Seq, type AttentionKind, type Seq2SeqOptions } from '../src/models/seq2seq.js';
import { fitSeq2Seq, evaluateSeq2Seq } from '../src/models/seq2seq-tasks.js';
import { toySplit, type ToySplitOptions } from '../src/data/toy-sequences.js';
import { cosineSchedule } from '../src/train/schedule.js';

export interface ToyRun {
  task: ToySplitOptions['task'];
  maxLength: number;
  steps: number;
  attention?: AttentionKind;
  hiddenSize?: number;
  lr?: number;
  seed?: number;
  /** Score on evaluation strings of these lengths only (default: the training range). */
  evaluationMinLength?: number;
  evaluationCount?: number;
  model?: Partial<Seq2SeqOptions>;
  /** 'cosine' (default) or 'constant' learning rate. */
  schedule?: 'cosine' | 'constant';
  /** Training pairs (default 20000). */
  trainCount?: number;
}

export interface ToyResult {
  exactMatch: number;
  /** CPU seconds of the training steps (this process; validation not counted). */
  cpuSeconds: number;
  steps: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function trainToy(rt: Runtime, run: ToyRun): ToyResult {
  const seed = run.seed ?? 1;
  const split = toySplit({ task: run.task, trainCount: run.trainCount ?? 20000, evaluationCount: run.evaluationCount ?? 400, maxLength: run.maxLength, evaluationMinLength: run.evaluationMinLength, seed });
  const v = split.vocabulary;
  const model = new Seq2Seq(rt, { sourceVocabSize: v.size, targetVocabSize: v.size, hiddenSize: run.hiddenSize ?? 32, embeddingDim: 16, attention: run.attention ?? 'luong-dot', seed, ...run.model });
  try {
    const lr = run.lr ?? 1e-2;
    const fit = fitSeq2Seq(model, split.train, { batchSize: 32, lr, schedule: run.schedule === 'constant' ? undefined : cosineSchedule(lr, run.steps, lr / 50), clipNorm: 5, steps: run.steps, seed, clock: cpuMs });
    const { exactMatch } = evaluateSeq2Seq(model, split.evaluation, v, { maxLength: run.maxLength + 2 });
    return { exactMatch, cpuSeconds: fit.trainSeconds, steps: fit.steps };
  } finally {
    model.dispose();
  }
}

/** trainToy, then one JSON line of its figures appended to results/seq2seq-toy/runs.jsonl (the opt-in long runs). */
export function trainToyAndRecord(rt: Runtime, name: string, run: ToyRun): number {
  const result = trainToy(rt, run);
  const line = { name, ...run, evaluationLengths: `${run.evaluationMinLength ?? 1}..${run.maxLength}`, ...result, cpuSeconds: +result.cpuSeconds.toFixed(1), node: process.version, date: new Date().toISOString() };
  mkdirSync('results/seq2seq-toy', { recursive: true });
  appendFileSync('results/seq2seq-toy/runs.jsonl', JSON.stringify(line) + '\n');
  return result.exactMatch;
}
