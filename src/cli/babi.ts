// `rnn-wasm train babi` (DMN / DMN+ on a bAbI training file, validation on its last 10%) and
// `rnn-wasm babi --model FILE --test FILE` (accuracy of a saved model, and the gates of a few
// stories as a chart).
import { createRuntime } from '../runtime/runtime.js';
import { cpuMs, flagBool, flagChoice, flagInputPath, flagInt, flagNumber, flagOutputFile, flagString, loadNamedFile, type ParsedArgs } from './args.js';
import type { BabiExample } from '../data/babi.js';
import { COMMAND_OPTIONS, UsageError, checkOptions } from './options.js';

export const BABI_TRAIN_USAGE = `usage: rnn-wasm train babi --data FILE_OR_DIR [--task N] [--tenk] [options]
  --data PATH          a bAbI v1.2 training file, or a directory holding qa<N>_*_train.txt (or en/, en-10k/)
                       (default: the built-in generator of --task 1, 2, 6 or 8)
  --task N             which task's file to take from a directory
  --tenk               take the 10k file (a directory's en-10k/)
  --variant dmn+|dmn   DMN+ (fusion input, attention GRU, ReLU memory; default) or the lecture's DMN
                       (word GRU input, gated GRU, tied GRU memory)
  --input words|fusion  --merge sum|concat  --cell gated-gru|attention-gru  --gate softmax|sigmoid
  --answer softmax|gru  the answer module: a softmax over the vocabulary (default) or a GRU decoder of the
                       answer's words (list answers of tasks 8 and 19)
  --init xavier|torch  Glorot normal matrices (default) or each layer's torch default (U(±1/sqrt(fan_in)), N(0, 1))
  --init-gain X        xavier's gain (default 1.5: std = X·sqrt(2 / (fan_in + fan_out)))
  --embedding-std X    xavier's std of the embedding (default 1.5; torch's N(0, 1) has 1)
  --memory gru|relu  --passes N  --hidden N (80)  --embedding N (80)  --batch N (100)  --lr X (1e-3)
  --dropout X (0.1)  --l2 X  --max-facts N (40)  --supervise X (weight of gate supervision by supporting facts)
  --minutes M | --epochs N   how long to train (default 20 epochs)
  --clock wall|cpu     what --minutes and the reported times count: training steps only, validation excluded
                       (default wall; cpu = this process's CPU time, for a shared machine)
  --target X           stop when validation accuracy reaches X (e.g. 0.99)
  --validate-every N   validate every N steps (default: each epoch)
  --keep best|last     end with the best validation point's weights (default; early stopping) or the last step's
  --rename-answers     give each training story its own random renaming of the answer words the stories use
                       (places, colours): augmentation for small files such as qa3's 1k; only where those
                       names are interchangeable (not qa15's wolf/wolves, nor qa20's fixed motives)
  --rename-names       the same for the file's proper names (words never in lower case: Mary, John)
  --rename WORDS       the same for groups of words you name: "football,apple,milk;red,blue"
  --save FILE          write the weights, vocabulary and options (safetensors)
  --seed N  --json  --quiet
`;

export const BABI_USAGE = `usage: rnn-wasm babi --model FILE --test FILE [--json] [--show K]
  --model FILE   a model saved by \`rnn-wasm train babi --save FILE\`
  --test FILE    a bAbI file (e.g. the official qa1_single-supporting-fact_test.txt)
  --show K       print K stories with the answer and every fact's gate in each pass
`;

/** The training file for --data (file or directory), --task and --tenk. */
export async function resolveBabiFile(data: string, task: number | undefined, tenk: boolean): Promise<string> {
  const { stat, readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const info = await stat(data).catch(() => {
    throw new Error(`--data: ${data} does not exist`);
  });
  if (!info.isDirectory()) return data;
  if (task === undefined) throw new Error(`--data ${data} is a directory: say which task with --task N`);
  for (const dir of [join(data, tenk ? 'en-10k' : 'en'), data]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const hit = names.find((n) => new RegExp(`^qa${task}_.*_train\\.txt$`).test(n));
    if (hit) return join(dir, hit);
  }
  throw new Error(`--data ${data}: no qa${task}_*_train.txt${tenk ? ' in en-10k/' : ''}`);
}

/** --rename "a,b,c;x,y": groups of interchangeable words (lower-cased). */
function renameFlagGroups(args: ParsedArgs): string[][] {
  if (!args.flags.has('rename')) return [];
  const value = flagString(args, 'rename', '');
  const groups = value.split(';').map((g) => g.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== ''));
  const bad = groups.findIndex((g) => g.length < 2);
  if (bad >= 0) throw new UsageError(`--rename takes groups of at least 2 comma-separated words, separated by ';' (e.g. "football,apple,milk"), got '${value}'`);
  return groups;
}

export async function trainBabiCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help')) {
    console.log(BABI_TRAIN_USAGE);
    return 0;
  }
  checkOptions(args, COMMAND_OPTIONS['train babi'], 'train babi');
  const json = flagBool(args, 'json');
  const quiet = flagBool(args, 'quiet');
  const log = quiet ? undefined : (line: string) => console.error(line);
  const task = args.flags.has('task') ? flagInt(args, 'task', 1) : undefined;
  const maxFacts = flagInt(args, 'max-facts', 40);
  const seed = args.flags.has('seed') ? Number(args.flags.get('seed')) : 0;
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got '${args.flags.get('seed')}'`);
  // Every flag is read and checked before any file is read or kernel compiled: a bad value fails at once.
  const minutes = flagNumber(args, 'minutes');
  const clockName = flagString(args, 'clock', 'wall');
  if (clockName !== 'wall' && clockName !== 'cpu') throw new UsageError(`--clock must be wall or cpu, got '${clockName}'`);
  const training = {
    seed,
    variant: flagChoice(args, 'variant', ['dmn+', 'dmn'] as const),
    input: flagChoice(args, 'input', ['words', 'fusion'] as const),
    fusionMerge: flagChoice(args, 'merge', ['sum', 'concat'] as const),
    cell: flagChoice(args, 'cell', ['gated-gru', 'attention-gru'] as const),
    gate: flagChoice(args, 'gate', ['softmax', 'sigmoid'] as const),
    memoryUpdate: flagChoice(args, 'memory', ['gru', 'relu'] as const),
    answerModule: flagChoice(args, 'answer', ['softmax', 'gru'] as const),
    init: flagChoice(args, 'init', ['xavier', 'torch'] as const),
    initGain: flagNumber(args, 'init-gain', false),
    embeddingInitStd: flagNumber(args, 'embedding-std', false),
    passes: args.flags.has('passes') ? flagInt(args, 'passes', 3) : undefined,
    hiddenSize: args.flags.has('hidden') ? flagInt(args, 'hidden', 80) : undefined,
    embeddingDim: args.flags.has('embedding') ? flagInt(args, 'embedding', 80) : undefined,
    batchSize: args.flags.has('batch') ? flagInt(args, 'batch', 100) : undefined,
    lr: flagNumber(args, 'lr'), dropout: flagNumber(args, 'dropout'), l2: flagNumber(args, 'l2'), gateSupervision: flagNumber(args, 'supervise'),
    epochs: args.flags.has('epochs') ? flagInt(args, 'epochs', 20) : undefined,
    seconds: minutes === undefined ? undefined : minutes * 60,
    targetAccuracy: flagNumber(args, 'target'),
    validateEvery: args.flags.has('validate-every') ? flagInt(args, 'validate-every', 50) : undefined,
    keep: flagChoice(args, 'keep', ['best', 'last'] as const),
    renameAnswers: flagBool(args, 'rename-answers'),
    renameWords: renameFlagGroups(args),
  };
  const renameNames = flagBool(args, 'rename-names');
  const savePath = flagOutputFile(args, 'save');
  const { babiProperNames, parseBabi, generateBabi, GENERATED_TASKS } = await import('../data/babi.js');
  let text: string;
  let source: string;
  if (args.flags.has('data')) {
    source = await resolveBabiFile(flagInputPath(args, 'data', 'a bAbI v1.2 training file or a directory of them', { directory: true }), task, flagBool(args, 'tenk'));
    text = await (await import('node:fs/promises')).readFile(source, 'utf8');
  } else {
    const t = (task ?? 1) as keyof typeof GENERATED_TASKS;
    if (!(t in GENERATED_TASKS)) throw new UsageError(`without --data, --task must be one the generator writes (${Object.keys(GENERATED_TASKS).join(', ')}), got ${t}`);
    source = `built-in generator, task ${t} (${GENERATED_TASKS[t]})`;
    text = generateBabi({ task: t, stories: 1000, seed });
  }
  const examples: BabiExample[] = parseBabi(text, { maxFacts, source });
  if (renameNames) {
    const names = babiProperNames(text);
    if (names.length < 2) throw new UsageError(`--rename-names: ${source} has ${names.length} proper name(s) (${names.join(', ') || 'none'}); renaming needs at least 2`);
    if (training.renameWords.some((g) => g.some((w) => names.includes(w)))) throw new UsageError('--rename-names: --rename already names some of the proper names; use one of the two');
    training.renameWords.push(names);
    log?.(`renaming the proper names: ${names.join(', ')}`);
  }
  const clock = clockName === 'cpu' ? cpuMs : () => performance.now();
  const wall0 = performance.now(), cpu0 = cpuMs();
  const rt = await createRuntime();
  const { trainBabi, saveBabiModel } = await import('../models/dmn-task.js');
  log?.(`rnn-wasm train babi: ${source}, ${examples.length} questions (${rt.features.build} build)`);
  const result = trainBabi(rt, { examples, ...training, log, progress: !quiet && !!process.stderr.isTTY, clock });
  const wallSeconds = (performance.now() - wall0) / 1000, cpuSeconds = (cpuMs() - cpu0) / 1000;
  if (savePath !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(savePath, saveBabiModel(result.model, result.vocab));
    log?.(`saved ${savePath}`);
  }
  const m = result.metrics;
  log?.(`validation accuracy ${(m.accuracy * 100).toFixed(1)}% (best ${(m.bestAccuracy * 100).toFixed(1)}%, kept step ${m.keptStep}'s weights) on ${m.validationQuestions} questions after ${m.seconds.toFixed(1)} s of training (${clockName} clock), ${Math.round(m.questionsPerSecond)} questions/s; whole run ${wallSeconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU`);
  if (json) console.log(JSON.stringify({ source, ...m, clock: clockName, wallSeconds, cpuSeconds, build: rt.features.build, seed, model: result.model.config, training: { ...result.training, maxFacts }, history: result.history }));
  return 0;
}

export async function babiCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help') || !args.flags.has('model') || !args.flags.has('test')) {
    (args.flags.has('help') ? console.log : console.error)(BABI_USAGE);
    return args.flags.has('help') ? 0 : 2;
  }
  checkOptions(args, COMMAND_OPTIONS.babi, 'babi');
  const show = args.flags.has('show') ? flagInt(args, 'show', 3) : 0;
  const json = flagBool(args, 'json');
  const modelPath = flagInputPath(args, 'model', 'a model saved by rnn-wasm train babi --save');
  const testPath = flagInputPath(args, 'test', 'a bAbI v1.2 file such as qa1_single-supporting-fact_test.txt');
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(modelPath);
  const rt = await createRuntime();
  const { loadBabiModel, evaluateBabi, answerStories, gateChart } = await import('../models/dmn-task.js');
  const { loadBabi } = await import('../data/babi.js');
  const { model, vocab } = loadNamedFile('model', modelPath, () => loadBabiModel(rt, bytes));
  const examples = await loadBabi(testPath);
  const { accuracy, questions } = evaluateBabi(model, vocab, examples);
  const stories = answerStories(model, vocab, examples.slice(0, show));
  if (json) console.log(JSON.stringify({ accuracy, questions, test: testPath, variant: model.options.variant, stories }));
  else {
    console.log(`accuracy ${(accuracy * 100).toFixed(1)}% on ${questions} questions of ${testPath}`);
    for (const s of stories) console.log(['', ...gateChart(s)].join('\n'));
  }
  return 0;
}
