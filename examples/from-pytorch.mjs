// From PyTorch to the edge and back: load the LSTM of a model trained in PyTorch from a
// safetensors file, check that it computes what PyTorch computed, fine-tune it a little, and
// save it under the same names for PyTorch to load again.
//
// The PyTorch side (pip packages torch and safetensors), for a model whose LSTM is `model.rnn`:
//   from safetensors.torch import save_file, load_file
//   save_file({k: v.contiguous() for k, v in model.state_dict().items()}, "model.safetensors")
//   ...
//   model.load_state_dict(load_file("tuned.safetensors"), strict=False)  # strict=False: only the LSTM's tensors
//
// Run: node examples/from-pytorch.mjs [file.safetensors [prefix]]
// By default the file is one of the PyTorch reference cases in test/fixtures: a 3-layer LSTM
// whose parameters are stored under the prefix `model.`, beside an input `x`, initial states
// `h0`, `c0` and the `output` PyTorch 1.13 computed for them.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam, createRuntime, LSTM, readSafetensors, writeSafetensors } from 'rnn-wasm';

const path = process.argv[2] ?? new URL('../test/fixtures/rnn_002_lstm_L3_uni_bias_tf.safetensors', import.meta.url);
const prefix = process.argv[3] ?? 'model.';
const file = readSafetensors(readFileSync(path));

/** The tensors under `prefix`, renamed without it: the LSTM's own torch state_dict. */
function stripPrefix(tensors, prefix) {
  const out = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = t;
  return out;
}

/** torch.nn.LSTM's constructor arguments, read off its state_dict names and shapes. */
function lstmOptionsOf(state) {
  const layers = Object.keys(state).filter((n) => /^weight_hh_l\d+$/.test(n)).length;
  if (layers === 0) throw new Error(`no LSTM weights (weight_hh_l0, ...) among: ${Object.keys(state).join(', ')}`);
  return {
    inputSize: state.weight_ih_l0.shape[1],
    hiddenSize: state.weight_hh_l0.shape[1],
    numLayers: layers,
    bidirectional: 'weight_hh_l0_reverse' in state,
    bias: 'bias_ih_l0' in state,
  };
}

const state = stripPrefix(file, prefix);
const options = lstmOptionsOf(state);
console.log(`LSTM from ${String(path).split('/').pop()}:`, JSON.stringify(options));

const rt = await createRuntime();
const lstm = new LSTM(rt, options);
lstm.loadStateDict(state); // refuses a missing, extra or mis-shaped tensor by name

// Same input, same states: the output should match PyTorch's to float32 rounding.
if (file.x && file.output) {
  const { output } = lstm.forward(file.x, { h0: file.h0, c0: file.c0 });
  let maxDiff = 0;
  for (let i = 0; i < output.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(output.data[i] - file.output.data[i]));
  console.log(`output [${output.shape.join(', ')}]: max |ours - PyTorch| = ${maxDiff.toExponential(1)}`);
}

// Fine-tune at the edge: a few Adam steps pulling the last step's output towards 0.
const adam = new Adam(rt, lstm.block, { lr: 0.003 });
const x = file.x ?? { shape: [8, 1, options.inputSize], data: Float32Array.from({ length: 8 * options.inputSize }, (_, i) => Math.sin(i)) };
const [T, B] = x.shape;
const width = (options.bidirectional ? 2 : 1) * options.hiddenSize;
const lastStep = (T - 1) * B * width;
for (let step = 0; step <= 20; step++) {
  const { output } = lstm.forward(x, { training: true });
  const dOutput = { shape: output.shape, data: new Float32Array(output.data.length) };
  let loss = 0;
  for (let i = lastStep; i < output.data.length; i++) {
    loss += output.data[i] ** 2;
    dOutput.data[i] = 2 * output.data[i];
  }
  lstm.zeroGrad();
  lstm.backward({ dOutput, inputGrad: false });
  adam.step();
  if (step % 10 === 0) console.log(`fine-tune step ${step}: loss ${loss.toFixed(5)}`);
}

// Back to PyTorch under the same names (prefix included), so model.load_state_dict takes it.
const tuned = {};
for (const [name, t] of Object.entries(lstm.stateDict())) tuned[prefix + name] = t;
const out = join(tmpdir(), 'rnn-wasm-tuned.safetensors');
writeFileSync(out, writeSafetensors(tuned));
console.log(`saved ${Object.keys(tuned).length} tensors (${Object.keys(tuned)[0]}, ...) to ${out}`);
