// The README's two pictures, drawn from what `rnn-wasm demo --json` printed:
//   node dist/cli.js demo --json | node examples/demo-pictures.mjs docs/img
// writes docs/img/dmn-gates.svg (the gates of every fact in every pass of the DMN+'s episodic
// memory, for the demo's second story) and docs/img/dates-attention.svg (the seq2seq's attention
// for the demo's longest date). Both are attentionHeatmapSvg from the package (rows, columns,
// weights), on a white background so they read in dark mode too.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attentionHeatmapSvg } from 'rnn-wasm';

const dir = process.argv[2] ?? '.';
const lines = readFileSync(0, 'utf8').trim().split('\n');
const { dmn, translate } = JSON.parse(lines[lines.length - 1]);
mkdirSync(dir, { recursive: true });
const onWhite = (svg) => svg.replace(/^(<svg[^>]*>)/, '$1\n<rect width="100%" height="100%" fill="white"/>') + '\n';

// DMN+: one row per fact (* = a supporting fact), one column per pass; gates are [pass][fact].
const story = dmn.stories[Math.min(1, dmn.stories.length - 1)];
const facts = story.facts.map((f, i) => `${story.supporting.includes(i) ? '* ' : ''}${i + 1}. ${f}`);
const passes = story.gates.map((_, p) => `pass ${p + 1}`);
const gates = story.facts.map((_, i) => story.gates.map((pass) => pass[i]));
writeFileSync(join(dir, 'dmn-gates.svg'), onWhite(attentionHeatmapSvg(gates, passes, facts)));

// Seq2seq: one row per output character, one column per source word.
const example = translate.examples.reduce((a, b) => (b.source.length > a.source.length ? b : a));
writeFileSync(join(dir, 'dates-attention.svg'), onWhite(attentionHeatmapSvg(example.attention, example.source, example.target)));
console.log(`dmn-gates.svg: Q: ${story.question}? A: ${story.predicted} (expected ${story.answer})`);
console.log(`dates-attention.svg: ${example.source.join(' ')} -> ${example.target.join('')} (expected ${example.expected})`);
