import { createRuntime, LSTM, Adam, clipGradNorm, readSafetensors, writeSafetensors } from 'rnn-wasm';

const rt = await createRuntime(); // relaxed SIMD where the runtime has it, SIMD elsewhere
const lstm = new LSTM(rt, { inputSize: 4, hiddenSize: 8, numLayers: 2, bidirectional: true, seed: 1 });

// x: [T=6, B=2, inputSize=4] (time-first, as torch); the second sequence is 4 steps long.
const x = { shape: [6, 2, 4], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)) };
const lengths = Int32Array.from([6, 4]);

// Teach the last layer's final forward state to be 0.5 everywhere, by BPTT and Adam.
const adam = new Adam(rt, lstm.block, { lr: 0.02 });
for (let step = 0; step <= 100; step++) {
  const { hN } = lstm.forward(x, { lengths, training: true });
  const last = hN.data.subarray(2 * 2 * 8, 3 * 2 * 8); // hN: [numLayers*2, B, H], layer 1 forward
  const dHN = { shape: hN.shape, data: new Float32Array(hN.data.length) };
  let loss = 0;
  last.forEach((h, i) => { loss += (h - 0.5) ** 2; dHN.data[2 * 2 * 8 + i] = 2 * (h - 0.5); });
  lstm.zeroGrad();
  lstm.backward({ dHN });
  clipGradNorm(rt, lstm.block, 1.0);
  adam.step();
  if (step % 25 === 0) console.log(`step ${step}: loss ${loss.toFixed(5)}`);
}

// Weights under torch's names, in safetensors: loadable by PyTorch and back.
const saved = writeSafetensors(lstm.stateDict());
const copy = new LSTM(rt, { inputSize: 4, hiddenSize: 8, numLayers: 2, bidirectional: true });
copy.loadStateDict(readSafetensors(saved));
console.log(`saved ${saved.length} bytes:`, Object.keys(lstm.stateDict()).slice(0, 4).join(', '), '...');
