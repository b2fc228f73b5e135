// `rnn-wasm train vqa`: a DMN+ with the visual input module on the built-in grid of coloured
// shapes (src/data/vqa.ts), validation accuracy on questions of another seed as it trains,
// and with --svg DIR the gates of each pass over the grid of a few validation questions.
// `rnn-wasm vqa --model FILE`: a saved visual model's accuracy on fresh questions (a test seed no
// training or validation set uses, and none of their grid-and-questions), and the gates of a few.
import { createRuntime } from '../runtime/runtime.js';
import { cpuMs, flagBool, flagChoice, flagInputPath, flagInt, flagNumber, flagOutputFile, flagString, loadNamedFile, type ParsedArgs } from './args.js';
import { COMMAND_OPTIONS, TRAIN_COMMON, TRAIN_TASK_OPTIONS, UsageError, checkOptions, formatOptions } from './options.js';
import type { VqaKind } from '../data/vqa.js';
import type { AnsweredVqa } from '../models/vqa-task.js';
import { gateChart } from '../models/dmn-task.js';

const COMMON = TRAIN_COMMON.filter((s) => ['epochs', 'seed', 'batch', 'hidden', 'lr', 'json', 'quiet', 'help'].includes(s.name));
const SPECS = [...COMMON, ...TRAIN_TASK_OPTIONS.vqa.options];

export const VQA_USAGE = `usage: rnn-wasm vqa --model FILE [--questions N] [--seed N] [--json] [--show K] [--svg DIR]
  a visual model's accuracy, overall and per kind of question, on fresh questions: test seed N
  (default 0) draws grids from a seed no training or validation set uses, and drops any grid-and-
  question of the model's own training and validation sets (regenerated from what its file recorded)
  options:
${formatOptions(COMMAND_OPTIONS.vqa)}
`;

export const VQA_TRAIN_USAGE = `usage: rnn-wasm train vqa [options]
  ${TRAIN_TASK_OPTIONS.vqa.summary}
  options:
${formatOptions(SPECS)}
`;

/** The drawing colour of each colour word. */
const INK: Record<string, string> = { red: '#d62728', green: '#2ca02c', blue: '#1f77b4', yellow: '#f2c80f' };

const intOr = (args: ParsedArgs, name: string) => (args.flags.has(name) ? flagInt(args, name, 1) : undefined);

/** One question's SVG: the grid, then the gates of each pass; question and answer in the title. */
export async function vqaSvg(a: AnsweredVqa): Promise<string> {
  const { gridAttentionSvg } = await import('../viz/grid-attention.js');
  const e = a.example;
  const cells = Array.from({ length: e.rows * e.cols }, (_, cell) => {
    const o = e.objects.find((x) => x.cell === cell);
    return o ? { shape: o.shape, colour: INK[o.colour] } : null;
  });
  const title = `Q: ${e.question.join(' ')}?  A: ${a.predicted}${a.correct ? '' : ` (truth: ${e.answer})`}`;
  return gridAttentionSvg(a.gates, e.rows, e.cols, { cells, title, highlight: e.supporting });
}

/** A question as text: the grid, then each region's gate per pass as bars (babi --show's chart). */
export function vqaShowText(a: AnsweredVqa): string {
  const e = a.example;
  const label = (cell: number) => {
    const o = e.objects.find((x) => x.cell === cell);
    return o ? `${o.colour} ${o.shape}` : '.';
  };
  const grid = Array.from({ length: e.rows }, (_, r) => `    ${Array.from({ length: e.cols }, (_, c) => label(r * e.cols + c).padEnd(17)).join('').trimEnd()}`);
  const facts = Array.from({ length: e.rows * e.cols }, (_, cell) => `row ${Math.floor(cell / e.cols) + 1} col ${(cell % e.cols) + 1}  ${label(cell)}`);
  const story = { facts, question: e.question.join(' '), answer: e.answer, predicted: a.predicted, correct: a.correct, supporting: e.supporting, gates: a.gates };
  return [...grid, ...gateChart(story, 10, 'region')].join('\n');
}

/** --kinds as a list of question kinds (undefined when not given). */
function kindsFlag(args: ParsedArgs): VqaKind[] | undefined {
  const text = args.flags.has('kinds') ? flagString(args, 'kinds', '') : undefined;
  const kinds = text?.split(',') as VqaKind[] | undefined;
  if (kinds && kinds.some((k) => !['colour-of', 'shape-of', 'relation'].includes(k))) throw new UsageError(`--kinds must be a comma list of colour-of, shape-of, relation, got '${text}'`);
  return kinds;
}

/** Writes one SVG per answered question into `dir`; returns the paths. */
async function writeSvgs(dir: string, shown: AnsweredVqa[]): Promise<string[]> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let k = 0; k < shown.length; k++) {
    const file = join(dir, `vqa-attention-${k + 1}.svg`);
    await writeFile(file, await vqaSvg(shown[k]));
    files.push(file);
  }
  return files;
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
const kindText = (byKind: Record<string, number>) => Object.entries(byKind).map(([k, a]) => `${k} ${percent(a)}`).join(', ');

export async function vqaCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help') || !args.flags.has('model')) {
    (args.flags.has('help') ? console.log : console.error)(VQA_USAGE);
    return args.flags.has('help') ? 0 : 2;
  }
  checkOptions(args, COMMAND_OPTIONS.vqa, 'vqa');
  if (args.positional.length > 1) throw new UsageError(`vqa: unexpected argument '${args.positional[1]}' (see rnn-wasm vqa --help)`);
  const questions = flagInt(args, 'questions', 1000);
  if (questions > 100000) throw new UsageError(`--questions must be at most 100000, got ${questions}`);
  const seedText = args.flags.get('seed');
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be an integer >= 0, got '${seedText}'`);
  const show = args.flags.has('show') ? flagInt(args, 'show', 3) : 0;
  if (show > questions) throw new UsageError(`--show ${show} is more than --questions ${questions}`);
  const svgDir = args.flags.has('svg') ? flagString(args, 'svg', '') : undefined;
  const overrides = { rows: intOr(args, 'rows'), cols: intOr(args, 'cols'), objects: intOr(args, 'objects'), noise: flagNumber(args, 'noise'), kinds: kindsFlag(args) };
  const modelPath = flagInputPath(args, 'model', 'a model saved by rnn-wasm train vqa --save');
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(modelPath);
  const rt = await createRuntime();
  const { loadVqaModel, answerVqa, scoreVqa } = await import('../models/vqa-task.js');
  const { vqaFeatureCount, vqaTestSet, vqaTestSeed } = await import('../data/vqa.js');
  const { model, vocab, task: trained } = loadNamedFile('model', modelPath, () => loadVqaModel(rt, bytes));
  try {
    const test = { rows: overrides.rows ?? trained.rows, cols: overrides.cols ?? trained.cols, objects: overrides.objects ?? trained.objects, noise: overrides.noise ?? trained.noise, kinds: overrides.kinds ?? trained.kinds };
    if (vqaFeatureCount(test.rows, test.cols) !== trained.features) {
      throw new UsageError(`--rows ${test.rows} --cols ${test.cols}: a ${test.rows} x ${test.cols} grid has ${vqaFeatureCount(test.rows, test.cols)} features per region, the model reads ${trained.features} (it was trained on ${trained.rows} x ${trained.cols}; rows + cols must stay ${trained.rows + trained.cols})`);
    }
    const most = Math.min(4, test.rows * test.cols);
    if (test.objects < 2 || test.objects > most) throw new UsageError(`--objects must be 2 to ${most} for a ${test.rows} x ${test.cols} grid, got ${test.objects}`);
    const split = { rows: trained.rows, cols: trained.cols, objects: trained.objects, noise: trained.noise, kinds: trained.kinds, seed: 2 * trained.seed, train: trained.trainQuestions, validation: trained.validationQuestions };
    const examples = vqaTestSet({ ...split, test: questions, testSeed: seed, testTask: test });
    const answered = answerVqa(model, vocab, examples);
    const { accuracy, byKind } = scoreVqa(answered);
    const shown = answered.slice(0, show);
    const svg = svgDir ? await writeSvgs(svgDir, shown) : [];
    const testSeed = vqaTestSeed(seed);
    if (flagBool(args, 'json')) {
      const stories = shown.map((a) => ({ question: a.example.question.join(' '), kind: a.example.kind, answer: a.example.answer, predicted: a.predicted, correct: a.correct, supporting: a.example.supporting, gates: a.gates }));
      console.log(JSON.stringify({ accuracy, questions: answered.length, byKind, model: modelPath, seed, testSeed, task: test, trained, variant: model.options.variant, build: rt.features.build, stories, svg }));
    } else {
      console.log(`accuracy ${percent(accuracy)} on ${answered.length} fresh questions (${kindText(byKind)}) of ${modelPath}`);
      console.log(`  ${test.rows} x ${test.cols} grids, ${test.objects} objects, noise ${test.noise}; test seed ${testSeed}, no grid-and-question of its ${trained.trainQuestions} training or ${trained.validationQuestions} validation questions (validation accuracy when saved: ${percent(trained.validationAccuracy)})`);
      for (const a of shown) console.log(`\n${vqaShowText(a)}`);
      if (svg.length > 0) console.log(`\nwrote ${svg.join(', ')}`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}

export async function trainVqaCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help')) {
    console.log(VQA_TRAIN_USAGE);
    return 0;
  }
  checkOptions(args, SPECS, 'train vqa');
  if (args.positional.length > 2) throw new UsageError(`train vqa: unexpected argument '${args.positional[2]}' (see rnn-wasm train vqa --help)`);
  const json = flagBool(args, 'json');
  const quiet = flagBool(args, 'quiet');
  const log = quiet ? undefined : (line: string) => console.error(line);
  const seedText = args.flags.get('seed');
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be an integer >= 0, got '${seedText}'`);
  const clockName = flagChoice(args, 'clock', ['wall', 'cpu'] as const) ?? 'wall';
  const kinds = kindsFlag(args);
  const minutes = flagNumber(args, 'minutes', false);
  const target = flagNumber(args, 'target', false);
  const svgDir = args.flags.has('svg') ? flagString(args, 'svg', '') : undefined;
  const show = args.flags.has('show') ? flagInt(args, 'show', 4) : 4;
  const savePath = flagOutputFile(args, 'save');
  // Every flag is read and checked before the kernels compile: a bad value fails at once.
  const options = {
    seed,
    task: { rows: intOr(args, 'rows'), cols: intOr(args, 'cols'), objects: intOr(args, 'objects'), noise: flagNumber(args, 'noise'), kinds },
    trainQuestions: intOr(args, 'train') ?? 20000,
    validationQuestions: intOr(args, 'validation') ?? 1000,
    epochs: intOr(args, 'epochs'),
    seconds: minutes === undefined ? undefined : minutes * 60,
    targetAccuracy: target,
    batchSize: intOr(args, 'batch'),
    lr: flagNumber(args, 'lr', false),
    hiddenSize: intOr(args, 'hidden'),
    embeddingDim: intOr(args, 'embedding'),
    passes: intOr(args, 'passes'),
    fusionMerge: flagChoice(args, 'merge', ['sum', 'concat'] as const),
    cell: flagChoice(args, 'episode-cell', ['attention-gru', 'gated-gru'] as const),
    gate: flagChoice(args, 'gate', ['softmax', 'sigmoid'] as const),
    memoryUpdate: flagChoice(args, 'memory', ['relu', 'gru'] as const),
    gateSupervision: flagNumber(args, 'supervise'),
    clock: clockName === 'cpu' ? cpuMs : undefined,
    log,
    progress: !quiet && !!process.stderr.isTTY,
  };
  const rt = await createRuntime();
  const { trainVqa, answerVqa } = await import('../models/vqa-task.js');
  const wall0 = performance.now(), cpu0 = cpuMs();
  log?.(`rnn-wasm train vqa: built-in grid task (${rt.features.build} build, ${clockName} clock)`);
  const result = trainVqa(rt, options);
  const m = result.metrics;
  const wallSeconds = (performance.now() - wall0) / 1000, cpuSeconds = (cpuMs() - cpu0) / 1000;
  log?.(`validation accuracy ${(m.accuracy * 100).toFixed(1)}% (${kindText(m.accuracyByKind)}) on ${m.validationQuestions} questions after ${m.steps} steps, ${m.seconds.toFixed(1)} s training (${clockName}); whole run ${wallSeconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU`);
  const shown = answerVqa(result.model, result.vocab, result.validation.slice(0, show));
  if (!quiet && !json) for (const a of shown) console.log(`\n${vqaShowText(a)}`);
  const files = svgDir ? await writeSvgs(svgDir, shown) : [];
  if (files.length > 0) log?.(`wrote ${files.join(', ')}`);
  if (savePath !== undefined) {
    const { saveVqaModel } = await import('../models/vqa-task.js');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(savePath, saveVqaModel(result));
    log?.(`saved ${savePath}`);
  }
  if (json) console.log(JSON.stringify({ task: 'vqa', ...m, clock: clockName, wallSeconds, cpuSeconds, build: rt.features.build, seed, svg: files, history: result.history }));
  return 0;
}
