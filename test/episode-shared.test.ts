// Passes that share s and q (episodePrepare: the gate's q half and the GRU's input product
// computed once, their gradients summed over the passes) against the same passes each
// computed whole (episodeAttention alone): equal gates, episodes and every gradient (s, q, the
// first memory and each parameter), for both cells and both gate kinds, with masks. The whole
// passes are themselves checked against float64 references in episode-grad/golden tests.
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRelError, randomArray } from './helpers.js';
import { createRuntime, type Runtime } from '../src/runtime/runtime.js';
import { EpisodeAttention, episodeAttention, episodePrepare, type EpisodeCell, type EpisodeGate } from '../src/layers/episode.js';
import { Tape, type Variable } from '../src/train/tape.js';
import { add } from '../src/layers/tensor-ops.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});

const B = 3, M = 4, d = 6, da = 5, passes = 3;
const lengths = Int32Array.of(4, 2, 1);

function run(cell: EpisodeCell, gate: EpisodeGate, shared: boolean) {
  const layer = new EpisodeAttention(rt, { factSize: d, hiddenSize: d, gateSize: da, cell, gate, seed: 3 });
  const tape = new Tape(rt);
  const s = tape.input(randomArray(B * M * d, 1), [B, M, d], true);
  const q = tape.input(randomArray(B * d, 2), [B, d], true);
  const m0 = tape.input(randomArray(B * d, 3), [B, d], true);
  const prepared = shared ? episodePrepare(tape, layer, s, q, lengths) : undefined;
  let m: Variable = m0;
  const outputs: Variable[] = [];
  for (let t = 0; t < passes; t++) {
    const { g, episode } = episodeAttention(tape, layer, s, q, m, lengths, { prepared });
    outputs.push(g, episode);
    m = add(tape, episode, m); // the next pass reads this one's episode through m
  }
  outputs.forEach((v, i) => v.grad().view().set(randomArray(v.size, 10 + i)));
  tape.backward();
  const grads = [s, q, m0].map((v) => v.gradToArray());
  const params = layer.gradients();
  const result = { outputs: outputs.map((v) => v.toArray()), grads, params: Object.keys(params).map((k) => params[k].data) };
  layer.dispose();
  return result;
}

describe('episode passes on a prepared s and q = the same passes computed whole', () => {
  for (const cell of ['attention-gru', 'gated-gru'] as const) {
    for (const gate of ['softmax', 'sigmoid'] as const) {
      it(`${cell}, ${gate}`, () => {
        const whole = run(cell, gate, false), shared = run(cell, gate, true);
        whole.outputs.forEach((o, i) => expect(maxRelError(shared.outputs[i], o)).toBeLessThan(1e-5));
        whole.grads.forEach((g, i) => expect(maxRelError(shared.grads[i], g)).toBeLessThan(1e-5));
        expect(shared.params.length).toBe(8);
        whole.params.forEach((g, i) => expect(maxRelError(shared.params[i], g)).toBeLessThan(1e-5));
      });
    }
  }
  it('refuses a prepared of other facts', () => {
    const layer = new EpisodeAttention(rt, { factSize: d, hiddenSize: d, gateSize: da, cell: 'attention-gru', seed: 1 });
    const tape = new Tape(rt);
    const s = tape.input(randomArray(B * M * d, 1), [B, M, d], true), s2 = tape.input(randomArray(B * M * d, 4), [B, M, d], true);
    const q = tape.input(randomArray(B * d, 2), [B, d], true);
    const prepared = episodePrepare(tape, layer, s, q, lengths);
    expect(() => episodeAttention(tape, layer, s2, q, q, lengths, { prepared })).toThrow(/prepared was made/);
    expect(() => episodeAttention(tape, layer, s, q, q, Int32Array.of(1, 1, 1), { prepared })).toThrow(/prepared was made/);
    layer.dispose();
  });
});
