// `rnn-wasm train vqa`: a DMN+ with the visual input module on the built-in grid of coloured
// shapes (src/data/vqa.ts), validation accuracy on questions of another seed as it trains,
// and with --svg DIR the gates of each pass over the grid of a few validation questions.
import { createRuntime } from '../runtime/runtime.js';
import { flagBool, flagChoice, flagInt, flagNumber, flagString, type ParsedArgs } from './args.js';
import { TRAIN_COMMON, TRAIN_TASK_OPTIONS, UsageError, checkOptions, formatOptions } from './options.js';
import type { VqaKind } from '../data/vqa.js';
import type { AnsweredVqa } from '../models/vqa-task.js';

const COMMON = TRAIN_COMMON.filter((s) => ['epochs', 'seed', 'batch', 'hidden', 'lr', 'json', 'quiet', 'help'].includes(s.name));
const SPECS = [...COMMON, ...TRAIN_TASK_OPTIONS.vqa.options];

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

/** The gates of a question as text, one grid per pass. */
function gatesText(a: AnsweredVqa): string {
  const e = a.example;
  const lines = [`Q: ${e.question.join(' ')}?  A: ${a.predicted} ${a.correct ? '(correct)' : `(truth: ${e.answer})`}`];
  for (let r = 0; r < e.rows; r++) {
    const row = a.gates.map((g) => Array.from({ length: e.cols }, (_, c) => g[r * e.cols + c].toFixed(2).replace(/^0/, '')).join(' ')).join('   |   ');
    const objects = Array.from({ length: e.cols }, (_, c) => {
      const o = e.objects.find((x) => x.cell === r * e.cols + c);
      return (o ? `${o.colour} ${o.shape}` : '.').padEnd(15);
    }).join('');
    lines.push(`  ${objects}  ${row}`);
  }
  return lines.join('\n');
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
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const kindsText = args.flags.has('kinds') ? flagString(args, 'kinds', '') : undefined;
  const kinds = kindsText?.split(',') as VqaKind[] | undefined;
  if (kinds && kinds.some((k) => !['colour-of', 'shape-of', 'relation'].includes(k))) throw new UsageError(`--kinds must be a comma list of colour-of, shape-of, relation, got '${kindsText}'`);
  const minutes = flagNumber(args, 'minutes', false);
  const target = flagNumber(args, 'target', false);
  const svgDir = args.flags.has('svg') ? flagString(args, 'svg', '') : undefined;
  const show = args.flags.has('show') ? flagInt(args, 'show', 4) : 4;
  const rt = await createRuntime();
  const { trainVqa, answerVqa } = await import('../models/vqa-task.js');
  const wall0 = performance.now(), cpu0 = cpuMs();
  log?.(`rnn-wasm train vqa: built-in grid task (${rt.features.build} build, ${clockName} clock)`);
  const result = trainVqa(rt, {
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
  });
  const m = result.metrics;
  const wallSeconds = (performance.now() - wall0) / 1000, cpuSeconds = (cpuMs() - cpu0) / 1000;
  const kindText = Object.entries(m.accuracyByKind).map(([k, a]) => `${k} ${(a * 100).toFixed(1)}%`).join(', ');
  log?.(`validation accuracy ${(m.accuracy * 100).toFixed(1)}% (${kindText}) on ${m.validationQuestions} questions after ${m.steps} steps, ${m.seconds.toFixed(1)} s training (${clockName}); whole run ${wallSeconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU`);
  const shown = answerVqa(result.model, result.vocab, result.validation.slice(0, show));
  if (!quiet && !json) for (const a of shown) console.log(`\n${gatesText(a)}`);
  const files: string[] = [];
  if (svgDir) {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(svgDir, { recursive: true });
    for (let k = 0; k < shown.length; k++) {
      const file = join(svgDir, `vqa-attention-${k + 1}.svg`);
      await writeFile(file, await vqaSvg(shown[k]));
      files.push(file);
    }
    log?.(`wrote ${files.join(', ')}`);
  }
  if (args.flags.has('save')) {
    const path = flagString(args, 'save', '');
    const { saveBabiModel } = await import('../models/dmn-task.js');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, saveBabiModel(result.model, result.vocab));
    log?.(`saved ${path}`);
  }
  if (json) console.log(JSON.stringify({ task: 'vqa', ...m, clock: clockName, wallSeconds, cpuSeconds, build: rt.features.build, seed, svg: files, history: result.history }));
  return 0;
}
