// Finding the optional peer adapters (bench/peers/*.mjs, plain ESM loaded at
// run time so the package never depends on TF.js) and spawning the child
// processes that cold-start and peak-memory figures need.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: dist/cli.js and src/cli/bench/*.ts sit at different depths under it. */
function repoRoot(): URL {
  const here = import.meta.url;
  return /\/dist\/[^/]+\.js$/.test(here) ? new URL('../', here) : new URL('../../../', here);
}

/** Absolute path of a file of the repository (bench/peers/..., dist/cli.js); Error if absent. */
export function repoFile(relative: string, hint: string): string {
  const path = fileURLToPath(new URL(relative, repoRoot()));
  if (!existsSync(path)) throw new Error(`${relative} not found at ${path}: ${hint}`);
  return path;
}

const PEERS_HINT = 'peer comparisons run from a checkout of the rnn-wasm repository (bench/peers/ is not part of the npm package)';

/** A TF.js layer with our weights (bench/peers/tfjs.mjs). */
export interface PeerModel {
  forward(): Float32Array;
  /** Output in our [T,B,H] layout. */
  output(): Float32Array;
  trainStep(): void;
  /** Gradients of sum(output * dOutput) in torch layout (weight_ih_l0, weight_hh_l0, bias); weights unchanged. */
  gradients(): Record<string, Float32Array>;
  memory(): { tensorBytes?: number; wasmMemoryBytes?: number; arenaBytes?: number };
  dispose(): void;
}

export interface RecurrentSpec {
  cell: 'lstm' | 'gru' | 'rnn';
  inputSize: number;
  hiddenSize: number;
  seqLen: number;
  batch: number;
  /** PyTorch names and layouts: weight_ih_l0 [G*H,I], weight_hh_l0 [G*H,H], bias_ih_l0, bias_hh_l0 [G*H]. */
  weights: Record<string, Float32Array>;
  learningRate: number;
}

export interface RecurrentPeer {
  name: string;
  library: string;
  backend: string;
  install: string;
  activate(): Promise<{ tf: unknown; version: string }>;
  recurrent(tf: unknown, spec: RecurrentSpec, x: Float32Array, dOutput: Float32Array): PeerModel;
}

export interface SkippedPeer {
  name: string;
  reason: string;
  install?: string;
}

interface PeersModule {
  RECURRENT_PEERS: RecurrentPeer[];
  /** Our layer behind the PeerModel interface; api holds LSTM, GRU, RNN and SGD. */
  ours(api: unknown, rt: unknown, spec: RecurrentSpec, x: Float32Array, dOutput: Float32Array): PeerModel;
  skippedPeers(): Promise<SkippedPeer[]>;
}

export async function loadPeers(): Promise<PeersModule> {
  const path = repoFile('bench/peers/index.mjs', PEERS_HINT);
  return (await import(new URL(`file://${path}`).href)) as PeersModule;
}

/** True when the error says a peer package is missing (the adapter attaches the install command). */
export function isPeerUnavailable(err: unknown): err is Error & { install: string } {
  return err instanceof Error && (err as { code?: string }).code === 'PEER_UNAVAILABLE';
}

/** Node flags a child needs to run a build: relaxed SIMD is behind a flag on Node 20. */
export function nodeFlagsFor(build: string): string[] {
  const major = Number(process.versions.node.split('.')[0]);
  return build === 'relaxed' && major === 20 ? ['--experimental-wasm-relaxed-simd'] : [];
}

export interface ChildResult {
  wallMs: number;
  stdout: string;
}

/** Runs `node <args>` in a fresh process (stdin: `input`); resolves with its stdout, rejects with its stderr on failure. */
export function runNode(args: string[], input?: string | Uint8Array, timeoutMs = 600_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, RNN_WASM_NO_REEXEC: '1' },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    if (input !== undefined) child.stdin!.end(input);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      if (code === 0) resolve({ wallMs, stdout: out });
      else reject(new Error(`child 'node ${args.join(' ')}' failed (${signal ?? `exit ${code}`}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** The last line of a child's stdout, parsed as JSON. */
export function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

export function median(values: number[]): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s[s.length - 1] };
}
