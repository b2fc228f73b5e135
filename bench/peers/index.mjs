// The peers `rnn-wasm bench --compare` knows. Each is optional: when its
// package is missing the CLI prints the install command and goes on.
import * as tfjs from './tfjs.mjs';

export { recurrent as ours } from './ours.mjs';

/** Peers measured with the same layer and weights as ours. */
export const RECURRENT_PEERS = [
  { name: 'tfjs-cpu', library: '@tensorflow/tfjs', backend: 'cpu', install: tfjs.INSTALL, activate: () => tfjs.activate('cpu'), recurrent: tfjs.recurrent },
  { name: 'tfjs-wasm', library: '@tensorflow/tfjs-backend-wasm', backend: 'wasm', install: tfjs.INSTALL, activate: () => tfjs.activate('wasm'), recurrent: tfjs.recurrent },
];

/** Peers named by the issue that are not measured; why, and how to install them. */
export async function skippedPeers() {
  const out = [];
  const present = async (pkg) => {
    try {
      await import(pkg);
      return true;
    } catch {
      return false;
    }
  };
  out.push(
    (await present('onnxruntime-web'))
      ? { name: 'onnxruntime-web', reason: 'installed, but no ONNX model file of the layer is written yet, so it is not measured' }
      : { name: 'onnxruntime-web', reason: 'not installed', install: 'npm install --no-save onnxruntime-web' },
  );
  out.push(
    (await present('brain.js'))
      ? { name: 'brain.js', reason: 'installed, but its LSTM is a per-sample network with its own weight layout and trainer, not the same math; not measured' }
      : { name: 'brain.js', reason: 'not installed (and its LSTM is not the same math as torch.nn.LSTM)', install: 'npm install --no-save brain.js' },
  );
  return out;
}

export { swapTimeBatch } from './tfjs.mjs';
