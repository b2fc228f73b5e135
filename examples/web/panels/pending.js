// Shared by the panel adapters: the error an adapter throws when this build of rnn-wasm
// lacks the exports its model needs. The worker turns it into a 'pending' message and the
// page marks the panel as pending instead of failing.
export function requireExports(lib, names, what) {
  const missing = names.filter((name) => !(name in lib));
  if (missing.length === 0) return;
  const err = new Error(`${what} needs ${missing.join(', ')} from rnn-wasm, which this build does not export yet.`);
  err.pending = true;
  throw err;
}
