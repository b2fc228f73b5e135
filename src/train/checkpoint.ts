// Training checkpoints: named tensors (parameters, optimizer moments, ...) plus a JSON state
// (step, epoch, RNG state, schedule, anything else) in one safetensors file.
//
// encodeCheckpoint/decodeCheckpoint are pure and run everywhere. saveCheckpoint/loadCheckpoint
// use node:fs through a dynamic import, so bundling the library for a browser never pulls it in.
// A save is atomic: the bytes go to a temporary file in the same directory, which is fsynced
// and then renamed over the target (rename within a directory replaces atomically on POSIX and
// NTFS), and the directory is fsynced so the rename itself survives a power loss. A crash at
// any moment leaves either the previous checkpoint or the new one, never a mixture.

import { readSafetensors, writeSafetensors, safetensorsMetadata, SafetensorsError, type SafetensorsTensor } from '../io/safetensors.js';

export const CHECKPOINT_FORMAT = 'rnn-wasm-checkpoint';
export const CHECKPOINT_VERSION = '1';

/** Values that survive JSON exactly: no NaN/Infinity, no undefined, no class instances. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Checkpoint {
  /**
   * Named tensors. Convention: `model.<torch state_dict name>` for parameters and
   * `optim.<slot>.<parameter name>` for optimizer state, so model weights stay loadable by name.
   */
  tensors: Record<string, SafetensorsTensor>;
  /** Everything else: `{ step, epoch, rng: rng.state(), lr, ... }`. */
  state: { [key: string]: JsonValue };
}

export interface SaveCheckpointOptions {
  /** Called after each chunk reaches the temporary file (progress display; tests inject faults here). */
  onProgress?: (bytesWritten: number, totalBytes: number) => void | Promise<void>;
  /** Bytes per write call; default 4 MiB. */
  chunkBytes?: number;
}

/** Serialises a checkpoint to safetensors bytes; throws before writing anything if it is invalid. */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  if (checkpoint === null || typeof checkpoint !== 'object') throw new Error('checkpoint must be an object { tensors, state }');
  const { tensors, state } = checkpoint;
  if (tensors === null || typeof tensors !== 'object') throw new Error('checkpoint.tensors must be an object of { shape, data }');
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new Error('checkpoint.state must be a plain object');
  checkJson(state, 'checkpoint.state');
  return writeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    state: JSON.stringify(state),
  });
}

/** Parses checkpoint bytes (validated as a hostile safetensors file, then as a checkpoint). */
export function decodeCheckpoint(bytes: Uint8Array | ArrayBuffer): Checkpoint {
  const tensors = readSafetensors(bytes);
  const meta = safetensorsMetadata(tensors);
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new SafetensorsError(`not an rnn-wasm checkpoint: __metadata__.format is ${JSON.stringify(meta.format)}, expected "${CHECKPOINT_FORMAT}"`);
  }
  if (meta.version !== CHECKPOINT_VERSION) {
    throw new SafetensorsError(`checkpoint version ${JSON.stringify(meta.version)} is not supported (this library reads version ${CHECKPOINT_VERSION})`);
  }
  let state: unknown;
  try {
    state = JSON.parse(meta.state ?? '');
  } catch {
    throw new SafetensorsError('checkpoint __metadata__.state is not valid JSON');
  }
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw new SafetensorsError('checkpoint __metadata__.state is not a JSON object');
  }
  return { tensors, state: state as Checkpoint['state'] };
}

/** Writes `checkpoint` to `path` atomically (Node only). The previous file stays intact until the final rename. */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint, options: SaveCheckpointOptions = {}): Promise<void> {
  const bytes = encodeCheckpoint(checkpoint);
  const chunk = options.chunkBytes ?? 4 * 1024 * 1024;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${chunk}`);
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  await removeStaleTemporaries(fs, dir, basename(path));
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  const handle = await fs.open(temp, 'wx', 0o644);
  let renamed = false;
  try {
    try {
      for (let offset = 0; offset < bytes.length; ) {
        const end = Math.min(bytes.length, offset + chunk);
        const { bytesWritten } = await handle.write(bytes, offset, end - offset, offset);
        offset += bytesWritten;
        await options.onProgress?.(offset, bytes.length);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
    renamed = true;
    await syncDirectory(fs, dir);
  } finally {
    if (!renamed) await fs.unlink(temp).catch(() => undefined);
  }
}

/** Reads and validates a checkpoint written by saveCheckpoint (Node only). */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const fs = await import('node:fs/promises');
  const { dirname, basename } = await import('node:path');
  await removeStaleTemporaries(fs, dirname(path), basename(path));
  const bytes = await fs.readFile(path);
  try {
    return decodeCheckpoint(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Deletes the temporary files of earlier saves of `base` in `dir` whose process is gone
 * (killed mid-save: SIGKILL runs no cleanup). Temporaries of live processes, this one
 * included, are left alone: they may be saves in progress.
 */
async function removeStaleTemporaries(fs: typeof import('node:fs/promises'), dir: string, base: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  const { join } = await import('node:path');
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isProcessAlive(pid)) continue;
    await fs.unlink(join(dir, name)).catch(() => undefined);
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as { code?: string }).code === 'EPERM';
  }
}

async function syncDirectory(fs: typeof import('node:fs/promises'), dir: string): Promise<void> {
  let handle: import('node:fs/promises').FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Windows cannot open or fsync a directory; the rename is already durable enough there.
    const code = (e as { code?: string }).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  } finally {
    await handle?.close();
  }
}

function checkJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}, which JSON cannot store`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(v, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`${path} is a ${proto?.constructor?.name ?? 'non-plain object'}; store plain objects, arrays, strings, finite numbers, booleans or null (tensors go in checkpoint.tensors)`);
    }
    for (const key of Object.keys(value)) checkJson((value as Record<string, unknown>)[key], `${path}.${key}`);
    return;
  }
  throw new Error(`${path} is ${typeof value}, which JSON cannot store`);
}
