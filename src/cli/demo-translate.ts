// `rnn-wasm demo` part: trains an attention Seq2Seq on the built-in French
// dates task (src/data/dates.ts) for ~`seconds` seconds, then translates a few
// fresh dates and prints each with its attention as a text heatmap.
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { Rng } from '../train/rng.js';
import { dateVocabularies, generateDateExamples } from '../data/dates.js';
import { Seq2Seq, type AttentionKind } from '../models/seq2seq.js';
import { encodePairs, evaluateSeq2Seq, fitSeq2Seq } from '../models/seq2seq-tasks.js';
import { attentionHeatmapText } from '../viz/attention-heatmap.js';

export interface TranslateDemoOptions {
  /** Training seconds (default 20). */
  seconds?: number;
  /** Stop after this many training steps instead (a budget that does not depend on the machine's load). */
  steps?: number;
  json?: boolean;
  /** Where text goes (default stdout). */
  write?: (text: string) => void;
  attention?: AttentionKind;
  seed?: number;
  rt?: Runtime;
  /** Called after every training step (the demo's progress bar). */
  onStep?: (info: { step: number; seconds: number; loss: number }) => void;
}

export interface TranslateDemoResult {
  attention: AttentionKind;
  steps: number;
  trainSeconds: number;
  exactMatch: number;
  examples: { source: string[]; target: string[]; expected: string; attention: number[][] }[];
}

export async function runTranslateDemo(options: TranslateDemoOptions = {}): Promise<TranslateDemoResult> {
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const attention = options.attention ?? 'bahdanau';
  const seed = options.seed ?? 0;
  const rt = options.rt ?? (await createRuntime());
  const { source, target } = dateVocabularies();
  const train = encodePairs(generateDateExamples(20000, new Rng(`dates-train-${seed}`)), source, target);
  const freshExamples = generateDateExamples(300, new Rng(`dates-test-${seed}`));
  const fresh = encodePairs(freshExamples, source, target);
  const model = new Seq2Seq(rt, { sourceVocabSize: source.size, targetVocabSize: target.size, hiddenSize: 64, embeddingDim: 32, attention, seed });
  try {
    if (!options.json) write(`training a ${attention}-attention GRU seq2seq on French dates -> ISO dates for ${options.steps === undefined ? `${options.seconds ?? 20} s` : `${options.steps} steps`}...\n`);
    const fit = fitSeq2Seq(model, train, { batchSize: 32, lr: 3e-3, seconds: options.steps === undefined ? options.seconds ?? 20 : undefined, steps: options.steps, seed,
      onStep: options.onStep && ((i) => options.onStep!({ step: i.step, seconds: i.trainSeconds, loss: i.loss })) });
    const { exactMatch } = evaluateSeq2Seq(model, fresh, target, { maxLength: 12 });
    const shown = freshExamples.slice(0, 4);
    const decoded = model.decode(shown.map((e) => source.encode(e.source)), { method: 'greedy', maxLength: 12 });
    const examples = shown.map((e, i) => ({
      source: e.source,
      target: decoded[i].tokens.map((t) => target.token(t)),
      expected: e.iso,
      attention: decoded[i].attention.map((row) => Array.from(row, (v) => Number(v.toFixed(3)))),
    }));
    const result: TranslateDemoResult = { attention, steps: fit.steps, trainSeconds: fit.trainSeconds, exactMatch, examples };
    if (options.json) write(`${JSON.stringify(result)}\n`);
    else {
      write(`${fit.steps} steps in ${fit.trainSeconds.toFixed(1)} s; exact match on 300 fresh dates: ${(100 * exactMatch).toFixed(1)}%\n\n`);
      for (const ex of examples) {
        write(`${ex.source.join(' ')}  ->  ${ex.target.join('')}   (expected ${ex.expected})\n`);
        write(`${attentionHeatmapText(ex.attention, ex.source, ex.target)}\n\n`);
      }
    }
    return result;
  } finally {
    model.dispose();
  }
}
