// `rnn-wasm train <task>`: trains one of the four models from scratch with a
// progress bar on stderr, prints per-epoch lines and what the model learned,
// and with --json prints the final metrics as one JSON line on stdout.
import { RECURRENT_NAMES, recurrentNameList } from '../kernels/cell-kinds.js';
import { createRuntime } from '../runtime/runtime.js';
import type { TaskOptions, TaskResult } from '../models/tasks.js';
import { checkInputPath, flagBool, flagInt, flagString, type ParsedArgs } from './args.js';
import { TRAIN_COMMON, TRAIN_TASK_OPTIONS, UsageError, checkOptions, closestName, formatOptions, type OptionSpec } from './options.js';

/** A clear message for a --data path that is not there, before any model is built: sentiment takes a comma list of files or directories, the others one text file. */
function checkDataPath(task: string, spec: string): void {
  if (task !== 'sentiment') return checkInputPath('data', spec, `one text file (train ${task})`);
  const parts = spec.split(',').filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(`--data needs a path: 'sentence<TAB>label' files or directories, comma-separated`);
  for (const part of parts) checkInputPath('data', part, `'sentence<TAB>label' files or a directory of them`, true);
}

const TASKS = ['sentiment', 'tagger', 'caption', 'charlm', 'segment'] as const;
type TaskName = (typeof TASKS)[number];

export const TRAIN_USAGE = `usage: rnn-wasm train <task> [options]
  tasks:
    sentiment   many-to-one SequenceClassifier (bi-GRU + max pooling); --data 'sentence<TAB>label' file(s) or a directory
    tagger      many-to-many SequenceTagger (bidirectional) vs the same model one-directional, on tags needing both sides
    caption     one-to-many SequenceGenerator: captions from scene feature vectors, greedy and temperature sampling
    charlm      character-level language model (truncated BPTT); --data any text file, default a built-in corpus
    segment     per-pixel labels of contour images: a four-direction MDLSTM vs a row-by-row bi-LSTM of the same size
    babi        DMN / DMN+ question answering on a bAbI file (train babi --help)
    vqa         visual DMN+ on a built-in grid of coloured shapes, its attention as SVG (train vqa --help)
    translate   Seq2Seq French -> English with attention (rnn-wasm train translate --help)
  options:
    --data PATH          real data instead of the built-in synthetic set
    --epochs N           passes over the training data
    --seed N             seed of split, initialisation, shuffling, dropout (same seed, same losses bit for bit)
    --batch N  --hidden N  --lr X  --cell gru|lstm|rnn
    --temperature X      charlm: sampling temperature of the shown text (default 0.7)
    --checkpoint PATH    save every --every N steps (default 50) and at the end; resume from it when present
    --help               with a task: that task's options
    --json               print the final metrics as one JSON line on stdout
    --quiet              no progress bar or epoch lines
`;

function flagNumber(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true) throw new UsageError(`--${name} needs a value: a positive number`);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${v}'`);
  return n;
}

/** `train <task> --help`: the task's summary and every option it accepts. */
function taskUsage(task: string): string {
  return `usage: rnn-wasm train ${task} [options]\n  ${TRAIN_TASK_OPTIONS[task]?.summary ?? ''}\n  options:\n${formatOptions(taskOptions(task))}\n`;
}

/** TRAIN_COMMON without what the task does not read, then the task's own options. */
function taskOptions(task: string): OptionSpec[] {
  const spec = TRAIN_TASK_OPTIONS[task];
  return [...TRAIN_COMMON.filter((o) => !spec?.without?.includes(o.name)), ...(spec?.options ?? [])];
}

export async function train(args: ParsedArgs): Promise<number> {
  if (args.positional[1] === 'translate') return (await import('./translate.js')).trainTranslate(args);
  const task = args.positional[1] as TaskName | undefined;
  if ((task as string) === 'babi') return (await import('./babi.js')).trainBabiCommand(args);
  if ((task as string) === 'vqa') return (await import('./vqa.js')).trainVqaCommand(args);
  if (task !== undefined && !TASKS.includes(task)) {
    const guess = closestName(task, TASKS);
    console.error(`rnn-wasm: unknown task '${task}'${guess ? `; did you mean '${guess}'?` : ''}\n${TRAIN_USAGE}`);
    return 2;
  }
  if (!task) {
    if (args.flags.size > 0 && !args.flags.has('help')) throw new UsageError(`train needs a task: ${TASKS.join(', ')}\n${TRAIN_USAGE}`);
    console.log(TRAIN_USAGE);
    return 0;
  }
  if (args.flags.has('help')) {
    console.log(taskUsage(task));
    return 0;
  }
  if (TRAIN_TASK_OPTIONS[task]) checkOptions(args, taskOptions(task), `train ${task}`);
  if (args.positional.length > 2) throw new UsageError(`train ${task}: unexpected argument '${args.positional[2]}' (options start with --; see rnn-wasm train ${task} --help)`);
  if (args.flags.has('data')) checkDataPath(task, flagString(args, 'data', ''));
  const json = flagBool(args, 'json');
  const quiet = flagBool(args, 'quiet');
  const log = quiet ? undefined : (line: string) => console.error(line);
  const seedText = args.flags.get('seed');
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got '${seedText}'`);
  const cell = args.flags.get('cell');
  if (cell !== undefined && (typeof cell !== 'string' || !(RECURRENT_NAMES as readonly string[]).includes(cell))) throw new UsageError(`--cell must be ${recurrentNameList()}, got '${cell}'`);
  const checkpointPath = args.flags.has('checkpoint') ? flagString(args, 'checkpoint', '') : undefined;
  const temperatureText = args.flags.get('temperature');
  const temperature = temperatureText === undefined ? undefined : Number(temperatureText);
  if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature))) throw new UsageError(`--temperature must be a number >= 0, got '${temperatureText}'`);
  const options: TaskOptions & { data?: string; temperature?: number } = {
    seed,
    epochs: args.flags.has('epochs') ? flagInt(args, 'epochs', 1) : undefined,
    batchSize: args.flags.has('batch') ? flagInt(args, 'batch', 1) : undefined,
    hiddenSize: args.flags.has('hidden') ? flagInt(args, 'hidden', 1) : undefined,
    lr: flagNumber(args, 'lr'),
    cell: cell as TaskOptions['cell'],
    data: args.flags.has('data') ? flagString(args, 'data', '') : undefined,
    progress: quiet ? false : 'auto',
    log,
    checkpoint: checkpointPath ? { path: checkpointPath, every: flagInt(args, 'every', 50) } : undefined,
    resume: checkpointPath !== undefined,
    temperature,
  };
  const rt = await createRuntime();
  const tasks = await import('../models/tasks.js');
  log?.(`rnn-wasm train ${task} (${rt.features.build} build, seed ${seed})`);
  let result: TaskResult<unknown>;
  if (task === 'sentiment') result = await tasks.trainSentiment(rt, options);
  else if (task === 'tagger') result = await tasks.trainTagger(rt, options);
  else if (task === 'caption') result = await tasks.trainCaptioner(rt, options);
  else if (task === 'segment') result = await (await import('../models/segment.js')).trainSegment(rt, options);
  else result = await tasks.trainCharLM(rt, options);
  if (log) {
    log('what it learned:');
    for (const line of result.examples) log(`  ${line}`);
    log(Object.entries(result.metrics).map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`).join(', '));
  }
  if (json) console.log(JSON.stringify({ ...result.metrics, build: rt.features.build, seed }));
  return 0;
}
