// The `rnn-wasm` command: `rnn-wasm bench <what> [...]`, `rnn-wasm info`.
import { createRuntime } from '../runtime/runtime.js';
import { parseArgs, type ParsedArgs } from './args.js';
import { benchContext, type BenchContext } from './bench/harness.js';

type BenchCommand = (ctx: BenchContext) => Promise<void>;

// One line per bench subcommand; each module exports `run(ctx)`.
const BENCHES: Record<string, () => Promise<{ run: BenchCommand }>> = {
  gemm: () => import('./bench/gemm.js'),
  roofline: () => import('./bench/roofline.js'),
  lstm: () => import('./bench/recurrent.js'),
  gru: () => import('./bench/recurrent.js'),
  rnn: () => import('./bench/recurrent.js'),
  activations: () => import('./bench/activations.js'),
  coldstart: () => import('./bench/coldstart.js'),
  memory: () => import('./bench/memory.js'),
  compare: () => import('./bench/compare.js'),
};

const USAGE = `usage:
  rnn-wasm info                         which wasm build this runtime picks
  rnn-wasm train <task> [--data PATH] [--epochs N] [--seed N] [--json]   task: sentiment, tagger, caption, charlm (train --help)
  rnn-wasm babi --model FILE --test FILE [--json] [--show K]   a saved DMN's accuracy and gates on a bAbI file
  rnn-wasm translate --model M [--beam K] [--json] [--svg DIR] < french.txt   (train one: rnn-wasm train translate --help)
  rnn-wasm bench <what> [--json] [--build simd|relaxed|all] [--repeat N] [shape options]
      what: ${Object.keys(BENCHES).join(', ') || '(none yet)'}
`;

async function bench(args: ParsedArgs): Promise<number> {
  const what = args.flags.has('compare') ? 'compare' : args.positional[1];
  const load = what ? BENCHES[what] : undefined;
  if (!load) {
    console.error(what ? `unknown bench '${what}'\n${USAGE}` : USAGE);
    return 2;
  }
  const ctx = benchContext(args);
  await (await load()).run(ctx);
  ctx.flush();
  // Last, so the rows above are what it speaks of.
  await (await import('./bench/roofline.js')).checkHostSpeed(ctx);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const command = args.positional[0];
  if (command === 'info') {
    const rt = await createRuntime();
    console.log(JSON.stringify({ features: rt.features }));
    return 0;
  }
  if (command === 'bench') return bench(args);
  if (command === 'train') return (await import('./train.js')).train(args);
  if (command === 'babi') return (await import('./babi.js')).babiCommand(args);
  if (command === 'translate') return (await import('./translate.js')).translateCommand(args);
  if (command === undefined || command === 'help' || args.flags.has('help')) {
    console.log(USAGE);
    return 0;
  }
  console.error(`unknown command '${command}'\n${USAGE}`);
  return 2;
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

reexecWithRelaxedSimd().then((code) => (code === undefined ? main(process.argv.slice(2)) : code)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`rnn-wasm: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
