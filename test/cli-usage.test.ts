// Issue 18, finding 7: the CLI says what it does. Runs the built dist/cli.js (npm run build)
// as a user would: typos fail with exit 2 naming the option and the closest valid one,
// every command, bench and task has --help (exit 0), --version prints the version, and a
// failure prints its message in one short line, not the bundle's source.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH as CLI, runCli } from './helpers.js';
import { BENCH_OPTIONS, COMMAND_OPTIONS, TRAIN_TASK_OPTIONS, closestName } from '../src/cli/options.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args);

describe('rnn-wasm refuses what it would ignore', () => {
  it.each([
    [['train', 'charlm', '--bogus', '3'], /train charlm: unknown option --bogus \(valid: --data, --epochs/],
    [['train', 'charlm', '--epoch', '3'], /train charlm: unknown option --epoch; did you mean --epochs\?/],
    [['train', 'sentiment', '--hiden', '8'], /did you mean --hidden\?/],
    [['bench', 'lstm', '--hiden', '8'], /bench lstm: unknown option --hiden; did you mean --hidden\?/],
    [['bench', 'gemm', '--size', '64'], /bench gemm: unknown option --size; did you mean --sizes\?/],
    [['info', '--jsn'], /info: unknown option --jsn/],
    [['--verison'], /unknown option --verison; did you mean --version\?/],
    [['trian'], /unknown command 'trian'; did you mean 'train'\?/],
    [['bench', 'lstn'], /unknown bench 'lstn'; did you mean 'lstm'\?/],
    [['train', 'charlm', '--epochs'], /--epochs needs a value \(--epochs N: passes over the training data\)/],
    [['train', 'charlm', '--quiet=3'], /--quiet takes no value, got '3'/],
    [['train', 'charlm', 'extra'], /train charlm: unexpected argument 'extra'/],
    [['train', 'charlm', '--data', join(tmpdir(), 'rnn-wasm-no-such-file.txt')], /--data .*rnn-wasm-no-such-file\.txt: no such file or directory \(expected one text file \(train charlm\)\)/],
    [['train', 'charlm', '--data', tmpdir()], /--data .*: is a directory, expected one text file/],
    [['train', 'sentiment', '--data', `${tmpdir()},${join(tmpdir(), 'rnn-wasm-no-such-file.txt')}`], /--data .*rnn-wasm-no-such-file\.txt: no such file or directory \(expected 'sentence<TAB>label' files/],
    [['train', 'babi', '--data', join(tmpdir(), 'rnn-wasm-no-such-dir')], /--data .*rnn-wasm-no-such-dir: no such file or directory/],
    [['bench', 'gemm', '--sizes', 'x'], /--sizes: 'x' is not a positive integer/],
    // The commands of the last wave (their tables: COMMAND_OPTIONS, TRAIN_TASK_OPTIONS.segment).
    [['train', 'translate', '--atention', 'luong-dot'], /train translate: unknown option --atention; did you mean --attention\?/],
    [['translate', '--model', 'm.safetensors', '--beem', '3'], /translate: unknown option --beem; did you mean --beam\?/],
    [['train', 'babi', '--pases', '2'], /train babi: unknown option --pases; did you mean --passes\?/],
    [['babi', '--model', 'm', '--test', 't', '--shwo', '2'], /babi: unknown option --shwo; did you mean --show\?/],
    [['train', 'segment', '--hiden', '8'], /train segment: unknown option --hiden; did you mean --hidden\?/],
    [['train', 'segment', '--data', 'x.txt'], /train segment: unknown option --data/],
    [['demo', '--second', '5'], /demo: unknown option --second; did you mean --seconds\?/],
    [['demo', '--json=3'], /demo: --json takes no value, got '3'/],
    // Values are checked before any file is read or model trained (the missing --data would fail later).
    [['train', 'babi', '--data', join(tmpdir(), 'rnn-wasm-no-such-dir'), '--variant', 'foo'], /--variant must be dmn\+ or dmn, got 'foo'/],
    [['train', 'babi', '--task', '99'], /without --data, --task must be one the generator writes \(1, 2, 6, 8\), got 99/],
    [['train', 'babi', '--save', tmpdir()], /--save .*: is a directory, expected a file name/],
    [['train', 'babi', '--save', join(tmpdir(), 'rnn-wasm-no-such-dir', 'm.safetensors')], /--save .*: directory .*rnn-wasm-no-such-dir does not exist/],
    [['train', 'translate', '--data', 'x', '--split', 'y', '--cell', 'foo'], /--cell must be gru or lstm, got 'foo'/],
    [['train', 'translate', '--data', 'x', '--split', 'y', '--minutes', '1', '--save', tmpdir()], /--save .*: is a directory/],
    [['train', 'vqa', '--save', join(tmpdir(), 'rnn-wasm-no-such-dir', 'v.safetensors')], /--save .*: directory .* does not exist/],
  ])('%j exits 2 with a clear message', (args, message) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  });

  it('closestName suggests only plausible names', () => {
    expect(closestName('epoch', ['epochs', 'seed'])).toBe('epochs');
    expect(closestName('bogus', ['epochs', 'seed', 'data'])).toBeUndefined();
    expect(closestName('lr', ['lr', 'seed'])).toBe('lr');
  });
});

describe('--help and --version', () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

  it('--version prints the version', () => {
    for (const args of [['--version'], ['train', '--version']]) {
      const r = cli(...args);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });

  it('every command, bench and task prints its options and exits 0 without running', () => {
    const cases: [string[], RegExp[]][] = [
      [['--help'], [/usage:/, /rnn-wasm bench/]],
      [['info', '--help'], [/usage: rnn-wasm info/, /--help/]],
      [['bench', '--help'], [/usage: rnn-wasm bench <what>/, ...Object.keys(BENCH_OPTIONS).map((b) => new RegExp(`\\n    ${b} `)), /--repeat N/]],
      [['train', '--help'], [/usage: rnn-wasm train <task>/]],
      ...Object.entries(BENCH_OPTIONS).map(([b, spec]): [string[], RegExp[]] => [['bench', b, '--help'], [new RegExp(`usage: rnn-wasm bench ${b}`), /--json/, ...spec.options.map((o) => new RegExp(`--${o.name}`))]]),
      ...Object.entries(TRAIN_TASK_OPTIONS).map(([t, spec]): [string[], RegExp[]] => [['train', t, '--help'], [new RegExp(`usage: rnn-wasm train ${t}`), /--epochs N/, ...(spec.without?.includes('data') ? [] : [/--data PATH/]), ...spec.options.map((o) => new RegExp(`--${o.name}`))]]),
      ...Object.entries(COMMAND_OPTIONS).map(([command, options]): [string[], RegExp[]] => [[...command.split(' '), '--help'], [new RegExp(`usage: rnn-wasm ${command}`), ...options.filter((o) => o.name !== 'help').map((o) => new RegExp(`--${o.name}\\b`))]]),
    ];
    for (const [args, patterns] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(0);
      for (const p of patterns) expect(r.stdout, `${args.join(' ')} ${p}`).toMatch(p);
      // Nothing ran: no measurement rows, no training lines.
      expect(r.stderr, args.join(' ')).toBe('');
    }
  });
});

describe('failures', () => {
  it('a runtime error prints its message in one short line, and the bundle ships a source map', () => {
    const tiny = join(dir, 'tiny.txt');
    writeFileSync(tiny, 'too short');
    const r = cli('train', 'charlm', '--data', tiny, '--quiet');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^rnn-wasm: --data: .*tiny\.txt has only 9 characters; a language model needs more text\n/);
    expect(r.stderr.length).toBeLessThan(400);
    const map = JSON.parse(readFileSync(`${CLI}.map`, 'utf8')) as { sources: string[]; mappings: string };
    expect(map.sources.some((s) => s.endsWith('cli/main.js'))).toBe(true);
    expect(map.mappings.length).toBeGreaterThan(1000);
    expect(readFileSync(CLI, 'utf8')).toMatch(/\/\/# sourceMappingURL=cli\.js\.map\s*$/);
  });
});
