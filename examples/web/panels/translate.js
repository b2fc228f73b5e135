// Panel adapter (runs in the worker): attention seq2seq on the generated dates task.
import { requireExports } from './pending.js';

export async function createPanel({ lib }) {
  requireExports(lib, ['Seq2Seq'], 'The translation panel');
  throw new Error('translate: not written yet');
}
