// Tiny flag parser for the CLI: --name value, --name=value, --flag (boolean).
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BOOLEAN_FLAGS, UsageError } from './options.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** `booleans`: flags that take no value, so `--json lstm` keeps lstm as a positional. */
export function parseArgs(argv: string[], booleans: ReadonlySet<string> = BOOLEAN_FLAGS): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (!booleans.has(a.slice(2)) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(a.slice(2), argv[++i]);
      else flags.set(a.slice(2), true);
    } else positional.push(a);
  }
  return { positional, flags };
}

/**
 * A file the command writes at its end (--save FILE): checked before any work, so that minutes of
 * training are not lost to a missing directory or a path that is a directory.
 */
export function flagOutputFile(args: ParsedArgs, name: string): string | undefined {
  if (!args.flags.has(name)) return undefined;
  const path = flagString(args, name, '');
  if (path === '') throw new UsageError(`--${name} needs a file name`);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--${name} ${path}: is a directory, expected a file name`);
  const dir = dirname(resolve(path));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--${name} ${path}: directory ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`--${name} ${path}: directory ${dir} is not writable`);
  }
  return path;
}

/**
 * An input the command reads, named by --name: checked before any work, so a typo fails at once
 * with the flag's name (a usage error, exit 2) instead of a raw ENOENT after compiling kernels.
 * `directory`: a directory is accepted too (`--data DIR`). `expected` says what the flag takes.
 */
export function flagInputPath(args: ParsedArgs, name: string, expected: string, { directory = false } = {}): string {
  const path = flagString(args, name, '');
  if (path === '') throw new UsageError(`--${name} needs a path: ${expected}`);
  checkInputPath(name, path, expected, directory);
  return path;
}

/** flagInputPath's check of one path (also each part of a comma-separated --data list). */
export function checkInputPath(name: string, path: string, expected: string, directory = false): void {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) throw new UsageError(`--${name} ${path}: no such file or directory (expected ${expected})`);
  if (info.isDirectory() && !directory) throw new UsageError(`--${name} ${path}: is a directory, expected ${expected}`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`--${name} ${path}: not readable`);
  }
}

/**
 * Runs `load` on the file --name named; a malformed file's error keeps its class but names the
 * flag and the path, so "header length ... is absurdly large" says which file was wrong.
 */
export function loadNamedFile<T>(name: string, path: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof Error && !(err instanceof UsageError)) err.message = `--${name} ${path}: ${err.message}`;
    throw err;
  }
}

/** This process's CPU time in milliseconds (user + system): the clock of `--clock cpu`. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function flagString(args: ParsedArgs, name: string, fallback: string): string {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function flagInt(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  if (v === true) throw new UsageError(`--${name} needs a value: a positive integer`);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

export function flagIntList(args: ParsedArgs, name: string, fallback: number[]): number[] {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  if (v === true) throw new UsageError(`--${name} needs a comma-separated list of integers`);
  return v.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: '${s}' is not a positive integer`);
    return n;
  });
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true || args.flags.get(name) === 'true';
}

/** An optional number: absent gives undefined; >= 0, or > 0 unless `allowZero`. */
export function flagNumber(args: ParsedArgs, name: string, allowZero = true): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new UsageError(`--${name} must be a number ${allowZero ? '>= 0' : '> 0'}, got '${v}'`);
  return n;
}

/** An optional value out of `allowed`: absent gives undefined. */
export function flagChoice<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  if (v === true || !allowed.includes(v as T)) throw new UsageError(`--${name} must be ${allowed.join(' or ')}, got '${v}'`);
  return v as T;
}
