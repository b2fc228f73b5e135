// Panel adapter (runs in the worker): a DMN on the built-in bAbI-style task.
import { requireExports } from './pending.js';

export async function createPanel({ lib }) {
  requireExports(lib, ['DMN'], 'The question-answering panel');
  throw new Error('qa: not written yet');
}
