// The four models of the lecture's input/output cardinalities, each trained
// from scratch on its built-in synthetic data through the same recipes as
// `rnn-wasm train <task>`, printing what each learned.
// test/models-examples.test.ts runs main() with fewer epochs.
import { createRuntime } from '../src/runtime/runtime.js';
import { trainCaptioner, trainCharLM, trainSentiment, trainTagger } from '../src/models/tasks.js';

export async function main(log: (line: string) => void = console.log, quick = false): Promise<Record<string, Record<string, number | string>>> {
  const rt = await createRuntime();
  const common = { progress: false as const, log };
  const results = {
    sentiment: await trainSentiment(rt, { ...common, epochs: quick ? 3 : 5 }),
    tagger: await trainTagger(rt, { ...common, epochs: quick ? 2 : 6 }),
    caption: await trainCaptioner(rt, { ...common, epochs: quick ? 2 : 5 }),
    charlm: await trainCharLM(rt, { ...common, epochs: quick ? 1 : 10, sampleLength: quick ? 40 : 200 }),
  };
  const metrics: Record<string, Record<string, number | string>> = {};
  for (const [name, r] of Object.entries(results)) {
    log(`--- ${name}: what it learned`);
    for (const line of r.examples) log(`  ${line}`);
    metrics[name] = r.metrics;
  }
  return metrics;
}
