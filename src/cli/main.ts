// The `rnn-wasm` command: `rnn-wasm bench <what> [...]`, `rnn-wasm info`.
import { createRuntime } from '../runtime/runtime.js';
import { parseArgs, type ParsedArgs } from './args.js';
import { BENCH_COMMON, BENCH_OPTIONS, GLOBAL_OPTIONS, INFO_OPTIONS, UsageError, checkOptions, closestName, formatOptions } from './options.js';
import { benchContext, type BenchContext } from './bench/harness.js';
import { RECURRENT_NAMES } from '../kernels/cell-kinds.js';

type BenchCommand = (ctx: BenchContext) => Promise<void>;

// One line per bench subcommand; each module exports `run(ctx)`.
const BENCHES: Record<string, () => Promise<{ run: BenchCommand }>> = {
  gemm: () => import('./bench/gemm.js'),
  roofline: () => import('./bench/roofline.js'),
  ...Object.fromEntries(RECURRENT_NAMES.map((cell) => [cell, () => import('./bench/recurrent.js')])), // lstm, gru, rnn
  activations: () => import('./bench/activations.js'),
  coldstart: () => import('./bench/coldstart.js'),
  memory: () => import('./bench/memory.js'),
  compare: () => import('./bench/compare.js'),
  mdlstm: () => import('./bench/mdlstm.js'),
  attention: () => import('./bench/attention.js'),
};

const USAGE = `usage:
  rnn-wasm --version                    the package version
  rnn-wasm demo [--seconds N] [--json]   train a DMN+ and an attention seq2seq on built-in data and show their gates and attention (about a minute)
  rnn-wasm info                         which wasm build this runtime picks
  rnn-wasm train <task> [--data PATH] [--epochs N] [--seed N] [--json]   task: sentiment, tagger, caption, charlm, babi, translate, vqa (train --help)
  rnn-wasm babi --model FILE --test FILE [--json] [--show K]   a saved DMN's accuracy and gates on a bAbI file
  rnn-wasm vqa --model FILE [--questions N] [--seed N] [--json] [--show K] [--svg DIR]   a saved visual DMN's accuracy and gates on fresh grids
  rnn-wasm translate --model M [--beam K] [--json] [--svg DIR] < french.txt   (train one: rnn-wasm train translate --help)
  rnn-wasm bench <what> [--json] [--build simd|relaxed|all] [--repeat N] [shape options]
      what: ${Object.keys(BENCHES).join(', ') || '(none yet)'}
`;

async function bench(args: ParsedArgs): Promise<number> {
  const what = args.flags.has('compare') ? 'compare' : args.positional[1];
  const load = what ? BENCHES[what] : undefined;
  if (!what && args.flags.has('help')) {
    console.log(benchUsage());
    return 0;
  }
  if (!load) {
    const guess = what ? closestName(what, Object.keys(BENCHES)) : undefined;
    throw new UsageError(what ? `unknown bench '${what}'${guess ? `; did you mean '${guess}'?` : ''}\n${benchUsage()}` : benchUsage());
  }
  const spec = BENCH_OPTIONS[what!];
  if (args.flags.has('help')) {
    console.log(benchUsage(what));
    return 0;
  }
  if (spec) checkOptions(args, [...BENCH_COMMON, ...spec.options], `bench ${what}`);
  const ctx = benchContext(args);
  await (await load()).run(ctx);
  ctx.flush();
  // Last, so the rows above are what it speaks of.
  await (await import('./bench/roofline.js')).checkHostSpeed(ctx);
  return 0;
}

/** `bench --help` (every bench, one line each) or `bench <what> --help` (its options). */
function benchUsage(what?: string): string {
  if (what === undefined) {
    const rows = Object.keys(BENCHES).map((b) => `    ${b.padEnd(12)}${BENCH_OPTIONS[b]?.summary ?? ''}`);
    return `usage: rnn-wasm bench <what> [options]   (rnn-wasm bench <what> --help lists its options)\n  what:\n${rows.join('\n')}\n  options of every bench:\n${formatOptions(BENCH_COMMON)}\n`;
  }
  const spec = BENCH_OPTIONS[what];
  const own = spec && spec.options.length > 0 ? `\n  options:\n${formatOptions(spec.options)}` : '';
  return `usage: rnn-wasm bench ${what} [options]\n  ${spec?.summary ?? ''}${own}\n  options of every bench:\n${formatOptions(BENCH_COMMON)}\n`;
}

const INFO_USAGE = `usage: rnn-wasm info [options]
  prints which wasm build this runtime picks, as one JSON line
  options:
${formatOptions(INFO_OPTIONS)}
`;

/** The package's version, from the package.json beside dist/ (it ships in every tarball). */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const command = args.positional[0];
  if (args.flags.has('version')) {
    console.log(await version());
    return 0;
  }
  if (command === 'info') {
    if (args.flags.has('help')) {
      console.log(INFO_USAGE);
      return 0;
    }
    checkOptions(args, INFO_OPTIONS, 'info');
    if (args.positional.length > 1) throw new UsageError(`info: unexpected argument '${args.positional[1]}'`);
    const rt = await createRuntime();
    console.log(JSON.stringify({ features: rt.features }));
    return 0;
  }
  if (command === 'bench') return bench(args);
  if (command === 'train') return (await import('./train.js')).train(args);
  if (command === 'demo') return (await import('./demo.js')).demoCommand(args);
  if (command === 'babi') return (await import('./babi.js')).babiCommand(args);
  if (command === 'vqa') return (await import('./vqa.js')).vqaCommand(args);
  if (command === 'translate') return (await import('./translate.js')).translateCommand(args);
  if (command === undefined || command === 'help') {
    checkOptions(args, GLOBAL_OPTIONS, '');
    console.log(USAGE);
    return 0;
  }
  const guess = closestName(command, ['info', 'train', 'bench', 'babi', 'translate', 'demo', 'help', 'vqa']);
  throw new UsageError(`unknown command '${command}'${guess ? `; did you mean '${guess}'?` : ''}\n${USAGE}`);
}

/**
 * What a failure prints: the message alone (a usage error adds nothing; RNN_WASM_DEBUG=1
 * adds the stack, which source maps resolve under node --enable-source-maps), never the
 * minified source line Node prints for an uncaught error.
 */
function reportFailure(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`rnn-wasm: ${err.message}`);
    return 2;
  }
  const message = err instanceof Error ? `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}` : String(err);
  console.error(`rnn-wasm: ${message}`);
  if (process.env.RNN_WASM_DEBUG && err instanceof Error && err.stack) console.error(err.stack);
  else console.error('(set RNN_WASM_DEBUG=1 for the stack trace)');
  return 1;
}

/**
 * Node 20 runs relaxed SIMD only behind a V8 flag: re-run this script once with
 * it so `rnn-wasm bench` can measure both builds. Later Nodes need nothing.
 */
async function reexecWithRelaxedSimd(): Promise<number | undefined> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20 || process.env.RNN_WASM_NO_REEXEC || process.execArgv.includes('--experimental-wasm-relaxed-simd')) return undefined;
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', ...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, RNN_WASM_NO_REEXEC: '1' },
  });
  return r.status ?? 1;
}

/**
 * Exits once stdout and stderr have handed everything to the OS. process.exit() alone drops what a
 * full pipe has not taken yet: a `--json` line over 64 KiB piped into a busy reader came out cut
 * at 65,536 bytes.
 */
function exitAfterOutput(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const flushed = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

// RNN_WASM_DEBUG=1: stack traces resolved through dist/cli.js.map to the compiled sources.
if (process.env.RNN_WASM_DEBUG) process.setSourceMapsEnabled?.(true);
// Errors thrown outside the promise chain (callbacks, events) get the same short report.
process.on('uncaughtException', (err) => exitAfterOutput(reportFailure(err)));
process.on('unhandledRejection', (err) => exitAfterOutput(reportFailure(err)));

reexecWithRelaxedSimd().then((code) => (code === undefined ? main(process.argv.slice(2)) : code)).then(
  (code) => exitAfterOutput(code),
  (err) => exitAfterOutput(reportFailure(err)),
);
