// Loads a PyTorch golden fixture copied into test/fixtures/ (format: /work/shared/golden/FORMAT.md).
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { readSafetensors, safetensorsMetadata, type SafetensorsFile, type SafetensorsTensor } from '../src/io/safetensors.js';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface Fixture<Config = Record<string, unknown>> {
  /** The file name without `.safetensors`. */
  name: string;
  /** `__metadata__.kind`: rnn, attention, dmn_gate or clip. */
  kind: string;
  /** `__metadata__.config`, parsed. */
  config: Config;
  /** All of `__metadata__` (strings). */
  metadata: Record<string, string>;
  /** Tensor name -> { shape, data }. */
  tensors: SafetensorsFile;
  /** The tensor `name`; throws naming the fixture if it is absent. */
  tensor(name: string): SafetensorsTensor;
  /** Whether the fixture stores `name` (e.g. `lengths`, `c0`). */
  has(name: string): boolean;
}

/** Reads test/fixtures/<name>.safetensors; throws a clear Error if it is missing or has no config. */
export function loadFixture<Config = Record<string, unknown>>(name: string): Fixture<Config> {
  const path = join(FIXTURE_DIR, `${name}.safetensors`);
  if (!existsSync(path)) throw new Error(`fixture ${name}: ${path} does not exist (copy it from /work/shared/golden)`);
  const tensors = readSafetensors(readFileSync(path));
  const metadata = safetensorsMetadata(tensors);
  if (typeof metadata.config !== 'string') throw new Error(`fixture ${name}: __metadata__.config is missing`);
  const has = (t: string) => Object.prototype.hasOwnProperty.call(tensors, t) && t !== '__metadata__';
  const tensor = (t: string): SafetensorsTensor => {
    if (!has(t)) throw new Error(`fixture ${name} has no tensor "${t}" (it has: ${Object.keys(tensors).join(', ')})`);
    return tensors[t];
  };
  return { name, kind: metadata.kind ?? '', config: JSON.parse(metadata.config) as Config, metadata, tensors, tensor, has };
}

/** The fixture names in test/fixtures/ whose name starts with `prefix`, sorted. */
export function listFixtures(prefix = ''): string[] {
  if (!existsSync(FIXTURE_DIR)) return [];
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.safetensors') && f.startsWith(prefix))
    .map((f) => f.slice(0, -'.safetensors'.length))
    .sort();
}
