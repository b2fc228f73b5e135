// Every option the CLI accepts, per command, in one table: the parser checks a command
// line against it before anything runs (a typo fails with exit 2 and the closest valid
// name instead of being ignored), and --help prints it. A bench or task added without
// an entry here is not checked (its own flags still work) and gets the generic help.
import type { ParsedArgs } from './args.js';
import { RECURRENT_NAMES } from '../kernels/cell-kinds.js';

export interface OptionSpec {
  name: string;
  /** Placeholder of the value ('N', 'PATH'); absent for a boolean flag. */
  value?: string;
  /** The value may be left out (`--compare` alone). */
  optionalValue?: boolean;
  help: string;
}

/** A command line the CLI cannot run: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP: OptionSpec = { name: 'help', help: 'print this help and exit' };

export const BENCH_COMMON: OptionSpec[] = [
  { name: 'json', help: 'one JSON object per row on stdout instead of the table' },
  { name: 'build', value: 'simd|relaxed|all', help: 'which wasm builds to measure (default all this Node runs)' },
  { name: 'repeat', value: 'N', help: 'timed repetitions per row; the median is reported (default 11)' },
  HELP,
];

const RECURRENT_SHAPE: OptionSpec[] = [
  { name: 'shapes', value: 'small,throughput', help: 'named shapes to run (default both)' },
  { name: 'input', value: 'N', help: 'one custom shape: input size' },
  { name: 'hidden', value: 'N', help: 'one custom shape: hidden size' },
  { name: 'seq', value: 'N', help: 'one custom shape: sequence length' },
  { name: 'batch', value: 'N', help: 'one custom shape: batch size' },
];

/** Options of each bench beyond BENCH_COMMON (one entry per bench of src/cli/main.ts). */
export const BENCH_OPTIONS: Record<string, { summary: string; options: OptionSpec[] }> = {
  gemm: {
    summary: 'single-precision matrix products C = A B (GFLOP/s)',
    options: [
      { name: 'sizes', value: 'N,N,...', help: 'square sizes (default 256,512,1024)' },
      { name: 'shapes', value: 'MxNxK,...', help: 'explicit M x N x K shapes instead of --sizes' },
    ],
  },
  roofline: { summary: "this host's compute and memory ceilings", options: [] },
  ...Object.fromEntries(RECURRENT_NAMES.map((cell) => [cell, {
    summary: `${cell.toUpperCase()} layer forward and training step (GFLOP/s)`,
    options: [
      { name: 'input', value: 'N', help: 'one custom shape: input size (default 128)' },
      { name: 'hidden', value: 'N', help: 'one custom shape: hidden size (default 256)' },
      { name: 'seq', value: 'N', help: 'one custom shape: sequence length (default 64)' },
      { name: 'batch', value: 'N', help: 'one custom shape: batch size (default 16)' },
      { name: 'layers', value: 'N', help: 'one custom shape: stacked layers (default 1)' },
      { name: 'bidirectional', help: 'one custom shape: both directions' },
    ],
  }])),
  activations: {
    summary: 'elementwise activation kernels (GB/s)',
    options: [{ name: 'sizes', value: 'N,N,...', help: 'element counts (default 1000,65536,1048576)' }],
  },
  coldstart: {
    summary: 'time from nothing to a first LSTM output, ours beside the TF.js peers',
    options: [
      { name: 'runs', value: 'N', help: 'fresh processes per library; the median is reported (default 5)' },
      { name: 'libs', value: 'ours,tfjs-cpu,tfjs-wasm', help: 'which libraries' },
    ],
  },
  memory: {
    summary: 'bytes a layer and its training step hold',
    options: [
      { name: 'cell', value: 'lstm,gru,rnn', help: 'cells to measure (default lstm)' },
      { name: 'steps', value: 'N', help: 'training steps measured (default 5)' },
      ...RECURRENT_SHAPE,
    ],
  },
  compare: {
    summary: 'ours against TF.js on the same recurrent shapes (speed, memory, cold start)',
    options: [
      { name: 'compare', value: 'CELLS', optionalValue: true, help: 'cells to compare, e.g. lstm,gru (default lstm)' },
      ...RECURRENT_SHAPE,
      { name: 'steps', value: 'N', help: 'memory: training steps measured (default 5)' },
      { name: 'runs', value: 'N', help: 'cold start: fresh processes per library (default 5)' },
      { name: 'libs', value: 'ours,tfjs-cpu,tfjs-wasm', help: 'cold start: which libraries' },
      { name: 'no-memory', help: 'skip the memory rows' },
      { name: 'no-coldstart', help: 'skip the cold-start rows' },
    ],
  },
};

export const TRAIN_COMMON: OptionSpec[] = [
  { name: 'data', value: 'PATH', help: 'real data instead of the built-in synthetic set' },
  { name: 'epochs', value: 'N', help: 'passes over the training data' },
  { name: 'seed', value: 'N', help: 'seed of split, initialisation, shuffling, dropout (same seed, same losses bit for bit)' },
  { name: 'batch', value: 'N', help: 'sequences per batch' },
  { name: 'hidden', value: 'N', help: 'hidden size of the recurrent layers' },
  { name: 'lr', value: 'X', help: 'learning rate' },
  { name: 'cell', value: 'gru|lstm|rnn', help: 'recurrent cell' },
  { name: 'checkpoint', value: 'PATH', help: 'save every --every N steps and at the end; resume from it when present' },
  { name: 'every', value: 'N', help: 'steps between checkpoints (default 50)' },
  { name: 'json', help: 'print the final metrics as one JSON line on stdout' },
  { name: 'quiet', help: 'no progress bar or epoch lines' },
  HELP,
];

/**
 * Options of each training task beyond TRAIN_COMMON (one entry per task of src/cli/train.ts);
 * `without` lists the TRAIN_COMMON options the task does not read (refused, not ignored).
 */
export const TRAIN_TASK_OPTIONS: Record<string, { summary: string; options: OptionSpec[]; without?: string[] }> = {
  sentiment: { summary: "many-to-one SequenceClassifier (bi-GRU + max pooling); --data 'sentence<TAB>label' file(s) or a directory", options: [] },
  tagger: { summary: 'many-to-many SequenceTagger (bidirectional) vs the same model one-directional', options: [] },
  caption: { summary: 'one-to-many SequenceGenerator: captions from scene feature vectors', options: [] },
  charlm: {
    summary: 'character-level language model (truncated BPTT); --data any text file, default a built-in corpus',
    options: [{ name: 'temperature', value: 'X', help: 'sampling temperature of the shown text (default 0.7)' }],
  },
  segment: {
    summary: 'per-pixel labels of contour images: a four-direction MDLSTM vs a row-by-row bi-LSTM of the same size',
    options: [],
    without: ['data', 'cell', 'checkpoint', 'every'],
  },
  vqa: {
    summary: 'visual DMN+ on a built-in grid of coloured shapes ("what colour is the shape left of the circle?"); no --data',
    options: [
      { name: 'minutes', value: 'M', help: 'train this long instead of --epochs (see --clock)' },
      { name: 'clock', value: 'wall|cpu', help: 'what --minutes and the reported seconds count (default wall; cpu: this process, for a shared machine)' },
      { name: 'target', value: 'X', help: 'stop when validation accuracy reaches X (e.g. 0.95)' },
      { name: 'train', value: 'N', help: 'training questions (default 20000)' },
      { name: 'validation', value: 'N', help: 'validation questions, from another seed, none shared with training (default 1000)' },
      { name: 'rows', value: 'N', help: 'grid rows (default 3)' },
      { name: 'cols', value: 'N', help: 'grid columns (default 3)' },
      { name: 'objects', value: 'N', help: 'shapes per grid, 2 to 4 (default 3)' },
      { name: 'noise', value: 'X', help: 'Gaussian noise on the region features (default 0.1)' },
      { name: 'kinds', value: 'LIST', help: 'questions: colour-of,shape-of,relation (default all)' },
      { name: 'embedding', value: 'N', help: 'projection / word embedding size (default 32)' },
      { name: 'passes', value: 'N', help: 'episode passes (default 3)' },
      { name: 'merge', value: 'sum|concat', help: 'how the bidirectional GRU merges its directions (default sum)' },
      { name: 'episode-cell', value: 'attention-gru|gated-gru', help: 'episode cell (default attention-gru)' },
      { name: 'gate', value: 'softmax|sigmoid', help: 'attention gates (default softmax)' },
      { name: 'memory', value: 'relu|gru', help: 'memory update (default relu)' },
      { name: 'supervise', value: 'X', help: 'weight of gate supervision by the supporting regions (default 0)' },
      { name: 'save', value: 'FILE', help: 'write the weights, vocabulary, options and task (safetensors; rnn-wasm vqa --model FILE tests it)' },
      { name: 'svg', value: 'DIR', help: 'write the gates over the grid per pass of --show validation questions as SVG files' },
      { name: 'show', value: 'K', help: 'how many questions --svg draws and the terminal shows (default 4)' },
    ],
    without: ['data', 'cell', 'checkpoint', 'every'],
  },
};

const JSON_FLAG: OptionSpec = { name: 'json', help: 'the result as JSON on stdout' };

/** Rows that the command's own usage text explains: counts (N), numbers (X) and switches. */
function usageRows(command: string, names: { counts?: string[]; numbers?: string[]; switches?: string[] }): OptionSpec[] {
  const help = `see rnn-wasm ${command} --help`;
  const rows = (list: string[] = [], value?: string) => list.map((name) => (value ? { name, value, help } : { name, help }));
  return [...rows(names.counts, 'N'), ...rows(names.numbers, 'X'), ...rows(names.switches)];
}
const QUIET: OptionSpec = { name: 'quiet', help: 'no progress bar or progress lines' };
const SEED: OptionSpec = { name: 'seed', value: 'N', help: 'seed of initialisation, shuffling and dropout' };

/**
 * The commands with their own usage text (src/cli/babi.ts, translate.ts, demo.ts): every
 * option each reads, so a typo fails with "did you mean" (checkOptions at the top of each).
 */
export const COMMAND_OPTIONS: Record<'train babi' | 'babi' | 'train translate' | 'translate' | 'demo' | 'vqa', OptionSpec[]> = {
  'train babi': [
    { name: 'data', value: 'PATH', help: 'a bAbI v1.2 training file, or a directory holding qa<N>_*_train.txt' },
    { name: 'task', value: 'N', help: "which task's file to take from a directory (without --data: the generator's 1, 2, 6 or 8)" },
    { name: 'tenk', help: 'take the 10k file (a directory\'s en-10k/)' },
    { name: 'variant', value: 'dmn+|dmn', help: "DMN+ (default) or the lecture's DMN" },
    { name: 'input', value: 'words|fusion', help: 'input module' },
    { name: 'merge', value: 'sum|concat', help: "fusion layer's merge of the two directions" },
    { name: 'cell', value: 'gated-gru|attention-gru', help: 'episode cell' },
    { name: 'gate', value: 'softmax|sigmoid', help: 'attention gate' },
    { name: 'memory', value: 'gru|relu', help: 'memory update' },
    { name: 'answer', value: 'softmax|gru', help: 'answer module: one word (softmax) or a GRU decoder for list answers' },
    { name: 'init', value: 'xavier|torch', help: "weight initialisation (default xavier; torch: PyTorch's layer defaults)" },
    { name: 'clock', value: 'wall|cpu', help: 'what --minutes and the reported times count (cpu: this process, for a shared machine)' },
    ...usageRows('train babi', {
      counts: ['passes', 'hidden', 'embedding', 'batch', 'max-facts', 'validate-every', 'epochs'],
      numbers: ['lr', 'dropout', 'l2', 'supervise', 'minutes', 'target', 'init-gain', 'embedding-std'],
    }),
    { name: 'keep', value: 'best|last', help: "end with the best validation point's weights (default) or the last step's" },
    { name: 'rename-answers', help: 'rename the answer words in each training story at random (augmentation for small files)' },
    { name: 'rename-names', help: "rename the file's proper names in each training story at random" },
    { name: 'rename', value: 'WORDS', help: 'rename these groups of words at random ("a,b,c;x,y")' },
    { name: 'save', value: 'FILE', help: 'write the weights, vocabulary and options (safetensors)' },
    SEED, JSON_FLAG, QUIET, HELP,
  ],
  babi: [
    { name: 'model', value: 'FILE', help: 'a model saved by rnn-wasm train babi --save FILE' },
    { name: 'test', value: 'FILE', help: 'a bAbI file' },
    { name: 'show', value: 'K', help: 'print K stories with the answer and the gates' },
    JSON_FLAG, HELP,
  ],
  'train translate': [
    { name: 'data', value: 'PATH', help: 'eng-fra.txt' },
    { name: 'split', value: 'PATH', help: 'split-train.json' },
    { name: 'attention', value: 'KIND', help: 'attention kind (default bahdanau)' },
    { name: 'cell', value: 'gru|lstm', help: 'decoder cell' },
    { name: 'encoder-cell', value: 'gru|lstm|rnn', help: 'encoder cell' },
    ...usageRows('train translate', {
      counts: ['hidden', 'embedding', 'layers', 'window', 'batch', 'epochs', 'validation'],
      numbers: ['dropout', 'teacher-forcing', 'lr', 'minutes', 'validate-every'],
      switches: ['bidirectional', 'reverse', 'input-feeding', 'tie'],
    }),
    { name: 'clock', value: 'wall|cpu', help: 'what --minutes counts' },
    { name: 'build', value: 'auto|simd|relaxed', help: 'which wasm build' },
    { name: 'save', value: 'PATH', help: 'safetensors file with weights, vocabularies and options' },
    SEED, JSON_FLAG, QUIET, HELP,
  ],
  translate: [
    { name: 'model', value: 'FILE', help: 'a model saved by rnn-wasm train translate --save' },
    { name: 'beam', value: 'K', help: 'beam search of width K (default greedy)' },
    { name: 'max-length', value: 'N', help: 'most output tokens (default 10)' },
    { name: 'svg', value: 'DIR', help: 'one attention heatmap per sentence' },
    JSON_FLAG, HELP,
  ],
  demo: [
    { name: 'seconds', value: 'N', help: 'training time per model in seconds (default 25)' },
    { name: 'steps', value: 'N', help: 'training steps per model instead of --seconds' },
    JSON_FLAG, HELP,
  ],
  vqa: [
    { name: 'model', value: 'FILE', help: 'a model saved by rnn-wasm train vqa --save FILE' },
    { name: 'questions', value: 'N', help: 'fresh test questions (default 1000)' },
    { name: 'seed', value: 'N', help: 'test set N >= 0 (default 0): grids from seed -1 - N, below every training and validation seed' },
    { name: 'rows', value: 'N', help: "grid rows (default: the model file's; rows + cols must stay the trained sum)" },
    { name: 'cols', value: 'N', help: "grid columns (default: the model file's)" },
    { name: 'objects', value: 'N', help: "shapes per grid, 2 to 4 (default: the model file's)" },
    { name: 'noise', value: 'X', help: "Gaussian noise on the region features (default: the model file's)" },
    { name: 'kinds', value: 'LIST', help: "questions: colour-of,shape-of,relation (default: the model file's)" },
    { name: 'show', value: 'K', help: "print K questions: the grid, the answer and each region's gate per pass" },
    { name: 'svg', value: 'DIR', help: 'write the gates over the grid per pass of those K questions as SVG files' },
    JSON_FLAG, HELP,
  ],
};

export const INFO_OPTIONS: OptionSpec[] = [HELP];

/** The top-level flags every command line may carry. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  HELP,
  { name: 'version', help: 'print the version and exit' },
];

/** Flags that never take a value: the parser does not swallow the word after them. */
export const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(
  [
    ...GLOBAL_OPTIONS, ...BENCH_COMMON, ...TRAIN_COMMON, ...Object.values(BENCH_OPTIONS).flatMap((b) => b.options),
    ...Object.values(TRAIN_TASK_OPTIONS).flatMap((t) => t.options), ...Object.values(COMMAND_OPTIONS).flat(),
  ]
    .filter((s) => s.value === undefined)
    .map((s) => s.name),
);

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The candidate closest to `name` when it is plausibly a typo of it (or a prefix of it). */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(name) || name.startsWith(c) ? Math.min(1, editDistance(name, c)) : editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Throws a UsageError for the first option not in `specs` (naming the closest valid one)
 * and for a boolean flag given a value. `command` names the command in the message ('train charlm').
 */
export function checkOptions(args: ParsedArgs, specs: readonly OptionSpec[], command: string): void {
  const known = new Map(specs.map((s) => [s.name, s]));
  const where = command === '' ? '' : `${command}: `;
  const help = command === '' ? 'rnn-wasm --help' : `rnn-wasm ${command} --help`;
  for (const [name, value] of args.flags) {
    const spec = known.get(name);
    if (!spec) {
      const guess = closestName(name, [...known.keys()]);
      throw new UsageError(
        `${where}unknown option --${name}${guess ? `; did you mean --${guess}?` : ''} (valid: ${[...known.keys()].map((n) => `--${n}`).join(', ')}; see ${help})`,
      );
    }
    if (spec.value === undefined && value !== true && value !== 'true' && value !== 'false') {
      throw new UsageError(`${where}--${name} takes no value, got '${value}'`);
    }
    if (spec.value !== undefined && !spec.optionalValue && value === true) {
      throw new UsageError(`${where}--${name} needs a value (--${name} ${spec.value}: ${spec.help})`);
    }
  }
}

/** The options block of a --help text. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => `--${s.name}${s.value ? ` ${s.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `    ${left[i].padEnd(width)}${s.help}`).join('\n');
}
