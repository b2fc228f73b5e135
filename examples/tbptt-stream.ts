// Truncated BPTT on a 100k-character stream, far longer than one unroll: a small LSTM
// language model reads it in chunks of 32 steps over 16 lanes, carrying its state from
// chunk to chunk while gradients stop at each boundary (src/models/tbptt.ts), and prints
// the loss falling. test/recurrent-tbptt.test.ts runs main() (`npx vitest run
// test/recurrent-tbptt.test.ts`); a runner that maps .js imports to .ts (tsx) runs it directly.
import { createRuntime } from '../src/runtime/runtime.js';
import { syntheticWordStream, trainTbpttStream } from '../src/models/tbptt.js';

export async function main(log: (line: string) => void = console.log, length = 100_000): Promise<number[]> {
  const rt = await createRuntime();
  const { stream, alphabet } = syntheticWordStream(length, 1);
  log(`stream: ${stream.length} characters over ${alphabet.length} symbols; build: ${rt.features.build}`);
  log(`uniform guess: ${Math.log(alphabet.length).toFixed(3)} nats/char`);
  const t0 = performance.now();
  const every = 20;
  let window = 0;
  const result = trainTbpttStream(rt, {
    stream, vocab: alphabet.length, hiddenSize: 32, unroll: 32, batch: 16, lr: 1e-2, seed: 1,
    onChunk: (chunk, loss) => {
      window += loss;
      if ((chunk + 1) % every === 0) {
        log(`chunk ${String(chunk + 1).padStart(4)}: mean loss ${(window / every).toFixed(3)} nats/char`);
        window = 0;
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  log(`${result.tokens} tokens in ${seconds.toFixed(2)} s (${Math.round(result.tokens / seconds)} tokens/s), arena ${(result.arenaHighWater / 1024).toFixed(0)} KiB`);
  return result.losses;
}

const entry = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1] ?? '';
if (entry.endsWith('tbptt-stream.ts') || entry.endsWith('tbptt-stream.js')) void main();
