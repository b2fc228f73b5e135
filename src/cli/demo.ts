// `rnn-wasm demo`: the lecture's two showpieces, trained here and now from built-in data.
// 1. A DMN+ answers questions about generated bAbI-style stories and shows the gate of every
//    fact in every pass (episodic memory).
// 2. An attention seq2seq turns French written dates into ISO dates and shows its attention.
// Nothing is downloaded; about a minute in all. --json prints one object with both results.
import type { ParsedArgs } from './args.js';
import { COMMAND_OPTIONS, UsageError, checkOptions } from './options.js';
import { ProgressBar } from '../train/progress.js';
import { createRuntime } from '../runtime/runtime.js';
import { runDmnDemo } from './demo-dmn.js';
import { runTranslateDemo } from './demo-translate.js';

export const DEMO_USAGE = `usage: rnn-wasm demo [--seconds N | --steps N] [--json]

Trains two of the lecture's models on built-in generated data and shows what they learned:
  1. a DMN+ (episodic memory with attention gates) on bAbI-style stories: it answers fresh
     stories and draws the gate of every fact in every pass as a bar chart;
  2. a GRU seq2seq with Bahdanau attention on French dates -> ISO dates ("mardi 13 mars 2018"
     -> "2018-03-13"): it translates fresh dates and prints the attention as a text heatmap.
Nothing is downloaded. A progress bar runs on stderr (on a terminal).

options:
  --seconds N   training time per model in seconds (default 25)
  --steps N     train each model for N steps instead, whatever the machine's load (the DMN+
                rounds up to whole passes over its stories)
  --json        one JSON object { dmn, translate } on stdout instead of text
  --help        print this help and exit`;

export async function demoCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help')) {
    console.log(DEMO_USAGE);
    return 0;
  }
  checkOptions(args, COMMAND_OPTIONS.demo, 'demo');
  if (args.positional.length > 1) throw new UsageError(`demo: unexpected argument '${args.positional[1]}'`);
  const json = args.flags.has('json');
  if (json && args.flags.get('json') !== true) throw new UsageError(`demo: --json takes no value, got '${args.flags.get('json')}'`);
  const secondsFlag = args.flags.get('seconds');
  const seconds = secondsFlag === undefined ? 25 : Number(secondsFlag);
  if (secondsFlag === true || !Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new UsageError(`demo: --seconds must be a number of seconds in (0, 3600], got '${String(secondsFlag)}'`);
  }
  const stepsFlag = args.flags.get('steps');
  const steps = stepsFlag === undefined ? undefined : Number(stepsFlag);
  if (steps !== undefined && (stepsFlag === true || !Number.isInteger(steps) || steps < 1 || steps > 1e6)) {
    throw new UsageError(`demo: --steps must be a whole number of steps in [1, 1000000], got '${String(stepsFlag)}'`);
  }
  if (steps !== undefined && secondsFlag !== undefined) throw new UsageError('demo: give --seconds or --steps, not both');
  // The training budget and the progress bar's unit: seconds by default, steps with --steps.
  const budget = steps === undefined ? { seconds } : { steps };
  const progress = (info: { step: number; seconds: number }) => Math.min(steps === undefined ? info.seconds : info.step, steps ?? seconds);

  const rt = await createRuntime();
  const out = (text: string) => process.stdout.write(text);
  const tty = Boolean(process.stderr.isTTY);
  // The bar lives on stderr; text lines go to stdout, so clear the bar's line before each.
  const line = (text: string) => {
    if (tty) process.stderr.write('\r\x1b[K');
    out(text.endsWith('\n') ? text : `${text}\n`);
  };
  const bar = (label: string) => new ProgressBar({ total: steps ?? seconds, label, unit: steps === undefined ? 's' : 'steps', mode: json ? 'quiet' : 'auto' });

  if (!json) line(`rnn-wasm demo: two models from the lecture, trained now on built-in data (${steps === undefined ? `${seconds} s` : `${steps} steps`} each, ${rt.features.build} build)\n`);
  const dmnBar = bar('DMN+ training');
  const dmn = await runDmnDemo({
    rt, json: true, ...budget, write: () => {},
    onStep: (info) => dmnBar.update(progress(info), info.loss),
  });
  dmnBar.finish();
  if (!json) {
    line(`1. Question answering with episodic memory (DMN+, bAbI-style task ${dmn.task}: ${dmn.taskName})`);
    line(`   ${dmn.steps} steps in ${dmn.trainSeconds.toFixed(1)} s; accuracy on ${dmn.freshQuestions} questions about fresh stories: ${(100 * dmn.freshAccuracy).toFixed(1)}%\n`);
    const { gateChart } = await import('../models/dmn-task.js');
    for (const story of dmn.stories) line(`${gateChart(story).join('\n')}\n`);
  }

  const trBar = bar('seq2seq training');
  const translate = await runTranslateDemo({
    rt, json: true, ...budget, write: () => {},
    onStep: (info) => trBar.update(progress(info), info.loss),
  });
  trBar.finish();
  if (!json) {
    const { attentionHeatmapText } = await import('../viz/attention-heatmap.js');
    line(`2. Translation with attention (GRU seq2seq, ${translate.attention}): French dates -> ISO dates`);
    line(`   ${translate.steps} steps in ${translate.trainSeconds.toFixed(1)} s; exact match on fresh dates: ${(100 * translate.exactMatch).toFixed(1)}%\n`);
    for (const ex of translate.examples) {
      line(`${ex.source.join(' ')}  ->  ${ex.target.join('')}   (expected ${ex.expected})`);
      line(`${attentionHeatmapText(ex.attention, ex.source, ex.target)}\n`);
    }
  } else {
    out(`${JSON.stringify({ dmn, translate })}\n`);
  }
  return 0;
}
