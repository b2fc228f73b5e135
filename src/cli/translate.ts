// `rnn-wasm train translate ...` and `rnn-wasm translate ...`: the French ->
// English task of /work/shared/data/translation/README.md end to end.
//
// train translate: reads eng-fra.txt and split-train.json (sha256 checked),
// takes a seeded validation set OUT OF THE TRAINING PAIRS (the held-out pairs
// are never read into training, tuning or selection), trains Seq2Seq with Adam,
// shows a progress bar on a TTY with the validation BLEU as it trains, and
// saves weights + vocabularies + options in one safetensors file.
//
// translate: reads raw French sentences from stdin, one per line, normalises
// and tokenises them with the task's recipe (unknown words -> <unk>), and
// prints one English translation per line in input order (an empty line gives
// an empty line); --json one object per line with the tokens and attention;
// --svg DIR one heatmap per sentence.
import { createRuntime } from '../runtime/runtime.js';
import { ProgressBar } from '../train/progress.js';
import { Rng } from '../train/rng.js';
import { checkInputPath, cpuMs, flagBool, flagInputPath, flagInt, flagOutputFile, flagString, loadNamedFile, type ParsedArgs } from './args.js';
import { COMMAND_OPTIONS, UsageError, checkOptions } from './options.js';
import { loadTranslationTask, normalizeSentence, tokenizeNormalized, translationVocabularies, type TranslationPair } from '../data/translation.js';
import { ATTENTION_KINDS, DECODER_CELLS, type AttentionKind, type DecoderCellName, type Seq2Seq, type Seq2SeqOptions } from '../models/seq2seq.js';
import type { CellName } from '../models/common.js';
import { RECURRENT_NAMES, recurrentNameList } from '../kernels/cell-kinds.js';
import type { Vocabulary } from '../data/vocab.js';
import { attentionHeatmapSvg } from '../viz/attention-heatmap.js';

export const TRANSLATE_TRAIN_USAGE = `usage: rnn-wasm train translate --data eng-fra.txt --split split-train.json [options]
  --attention ${ATTENTION_KINDS.join('|')}   (default bahdanau)
  --cell ${DECODER_CELLS.join('|')}          decoder cell (default gru); --encoder-cell ${RECURRENT_NAMES.join('|')} (default: as --cell)
  --hidden N               hidden size (default 256)   --embedding N (default hidden)
  --layers N --bidirectional --reverse --input-feeding --window D --dropout P --tie --teacher-forcing R
  --batch N                (default 32)   --lr X (default 1e-3)   --seed N
  --minutes M | --epochs N training time (counts training steps only) or passes
  --clock wall|cpu         what --minutes and the reported times count (default wall; cpu = this process's CPU time, for a shared machine)
  --build auto|simd|relaxed  which wasm build (default: the runtime's pick)
  --validation N           validation pairs taken out of the training pairs (default 500)
  --validate-every S       validation BLEU every S seconds of training (default 30)
  --save PATH              safetensors file with weights, vocabularies and options
  --json                   final metrics as one JSON line on stdout
  --quiet                  no progress bar or progress lines
`;

function positive(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${v}'`);
  return n;
}

export async function trainTranslate(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help')) {
    console.log(TRANSLATE_TRAIN_USAGE);
    return 0;
  }
  checkOptions(args, COMMAND_OPTIONS['train translate'], 'train translate');
  const dataPath = flagString(args, 'data', '');
  const splitPath = flagString(args, 'split', '');
  if (!dataPath || !splitPath) {
    console.error(`train translate needs --data and --split\n${TRANSLATE_TRAIN_USAGE}`);
    return 2;
  }
  const json = flagBool(args, 'json');
  const quiet = flagBool(args, 'quiet');
  const log = quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const attention = flagString(args, 'attention', 'bahdanau') as AttentionKind;
  if (!ATTENTION_KINDS.includes(attention)) throw new UsageError(`--attention must be one of ${ATTENTION_KINDS.join(', ')}, got '${attention}'`);
  const cell = flagString(args, 'cell', 'gru') as DecoderCellName;
  if (!DECODER_CELLS.includes(cell)) throw new UsageError(`--cell must be ${DECODER_CELLS.join(' or ')}, got '${cell}'`);
  const encoderCell = flagString(args, 'encoder-cell', cell) as CellName;
  if (!RECURRENT_NAMES.includes(encoderCell)) throw new UsageError(`--encoder-cell must be ${recurrentNameList()}, got '${encoderCell}'`);
  const minutes = positive(args, 'minutes');
  const epochs = args.flags.has('epochs') ? flagInt(args, 'epochs', 1) : undefined;
  if (minutes === undefined && epochs === undefined) throw new UsageError('give --minutes M or --epochs N');
  const seedText = args.flags.get('seed');
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got '${seedText}'`);
  const validationCount = args.flags.has('validation') ? Number(args.flags.get('validation')) : 500;
  if (!Number.isInteger(validationCount) || validationCount < 0) throw new UsageError(`--validation must be an integer >= 0, got '${args.flags.get('validation')}'`);
  const teacherText = args.flags.get('teacher-forcing');
  const teacherForcing = teacherText === undefined ? 1 : Number(teacherText);
  if (!(teacherForcing >= 0 && teacherForcing <= 1)) throw new UsageError(`--teacher-forcing must be in [0, 1], got '${teacherText}'`);
  const dropoutText = args.flags.get('dropout');
  const dropout = dropoutText === undefined ? 0 : Number(dropoutText);
  if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`--dropout must be in [0, 1), got '${dropoutText}'`);

  // Every flag is checked before the files are read and a model is built.
  const hidden = args.flags.has('hidden') ? flagInt(args, 'hidden', 256) : 256;
  const embeddingDim = args.flags.has('embedding') ? flagInt(args, 'embedding', hidden) : hidden;
  const numLayers = args.flags.has('layers') ? flagInt(args, 'layers', 1) : 1;
  const window = args.flags.has('window') ? flagInt(args, 'window', 3) : 3;
  const batchSize = args.flags.has('batch') ? flagInt(args, 'batch', 32) : 32;
  const lr = positive(args, 'lr') ?? 1e-3;
  const validateEvery = positive(args, 'validate-every') ?? 30;
  const clockName = flagString(args, 'clock', 'wall');
  if (clockName !== 'wall' && clockName !== 'cpu') throw new UsageError(`--clock must be wall or cpu, got '${clockName}'`);
  const savePath = flagOutputFile(args, 'save');
  const buildName = flagString(args, 'build', 'auto');
  if (buildName !== 'auto' && buildName !== 'simd' && buildName !== 'relaxed') throw new UsageError(`--build must be auto, simd or relaxed, got '${buildName}'`);
  checkInputPath('data', dataPath, 'eng-fra.txt, the tab-separated sentence pairs');
  checkInputPath('split', splitPath, 'split-train.json, the training split');
  const task = await loadTranslationTask(dataPath, splitPath);
  // Validation comes out of the training pairs (a seeded draw); the model trains on the rest.
  const order = new Rng(`validation-${seed}`).permutation(task.train.length);
  const isValidation = new Uint8Array(task.train.length);
  for (let i = 0; i < Math.min(validationCount, task.train.length); i++) isValidation[order[i]] = 1;
  const trainPairs: TranslationPair[] = task.train.filter((_, i) => !isValidation[i]);
  const validationPairs: TranslationPair[] = task.train.filter((_, i) => isValidation[i]);
  // Vocabularies of all training pairs (validation included: they are training pairs, as the README counts them).
  const { source, target } = translationVocabularies(task.train);
  const { Seq2Seq } = await import('../models/seq2seq.js');
  const { fitSeq2Seq, evaluateSeq2Seq, saveSeq2Seq } = await import('../models/seq2seq-tasks.js');
  const toIds = (pairs: TranslationPair[]) => pairs.map((p) => ({ source: source.encode(tokenizeNormalized(p.french)), target: target.encode(tokenizeNormalized(p.english)) }));
  const trainIds = toIds(trainPairs);
  const validationIds = toIds(validationPairs);
  const options: Seq2SeqOptions = {
    sourceVocabSize: source.size,
    targetVocabSize: target.size,
    hiddenSize: hidden,
    embeddingDim,
    encoderCell,
    cell,
    numLayers,
    bidirectional: flagBool(args, 'bidirectional'),
    reverseSource: flagBool(args, 'reverse'),
    attention,
    inputFeeding: flagBool(args, 'input-feeding'),
    window,
    dropout,
    tieEmbeddings: flagBool(args, 'tie'),
    teacherForcing,
    seed,
  };
  const rt = await createRuntime(buildName === 'auto' ? {} : { relaxedSimd: buildName === 'relaxed' });
  const model = new Seq2Seq(rt, options);
  log(`rnn-wasm train translate (${rt.features.build} build): ${trainIds.length} training pairs, ${validationIds.length} validation pairs (taken from the training pairs), ${task.heldOutCount} held out and not read`);
  log(`  ${attention} attention, ${encoderCell} encoder / ${cell} decoder, hidden ${hidden}, batch ${batchSize}, Adam ${lr}, ${model.parameterCount} parameters, vocab fr ${source.size} / en ${target.size}`);
  const limitSeconds = minutes !== undefined ? minutes * 60 : undefined;
  const clock = clockName === 'cpu' ? cpuMs : () => performance.now();
  const wall0 = performance.now(), cpu0 = cpuMs();
  const bar = quiet ? null : new ProgressBar({ total: limitSeconds, label: 'train', unit: 'pairs', mode: 'auto' });
  let lastBleu: number | undefined;
  const result = fitSeq2Seq(model, trainIds, {
    batchSize,
    lr,
    seconds: limitSeconds,
    epochs,
    seed,
    clock,
    validateEverySeconds: validationIds.length > 0 ? validateEvery : undefined,
    validate: validationIds.length > 0 ? () => evaluateSeq2Seq(model, validationIds, target, { maxLength: 10 }) : undefined,
    onStep: (s) => {
      if (!bar) return;
      const metrics: Record<string, number> = { epoch: s.epoch + 1, 'pairs/s': Math.round(s.pairs / Math.max(1e-9, s.trainSeconds)) };
      if (lastBleu !== undefined) metrics.valBLEU = Number(lastBleu.toFixed(1));
      bar.update(limitSeconds !== undefined ? Math.min(s.trainSeconds, limitSeconds) : s.step, s.loss, metrics);
    },
    onValidate: (v) => {
      lastBleu = v.metrics.bleu;
      if (bar?.outputMode === 'tty') process.stderr.write('\n');
      log(`  step ${v.step}, ${v.trainSeconds.toFixed(1)} s of training: validation BLEU ${v.metrics.bleu.toFixed(2)}, exact match ${(100 * v.metrics.exactMatch).toFixed(1)}%`);
    },
  });
  bar?.finish();
  const final = result.history.length > 0 ? result.history[result.history.length - 1].metrics : {};
  const wallSeconds = (performance.now() - wall0) / 1000, cpuSeconds = (cpuMs() - cpu0) / 1000;
  log(`trained ${result.steps} steps (${result.epochs} epochs) in ${result.trainSeconds.toFixed(1)} s (${clockName} clock): ${result.pairsPerSecond.toFixed(0)} pairs/s, loss ${result.finalLoss.toFixed(4)}; whole run ${wallSeconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU`);
  if (savePath !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(savePath, saveSeq2Seq(model, source, target, {
      trained: JSON.stringify({ steps: result.steps, trainSeconds: result.trainSeconds, validationBleu: final.bleu ?? null, validationPairs: validationIds.length }),
    }));
    log(`saved ${savePath}`);
  }
  if (json) {
    console.log(JSON.stringify({
      task: 'translate', attention, cell, encoderCell, hidden, batch: batchSize, lr, build: rt.features.build, seed,
      clock: clockName, wallSeconds, cpuSeconds,
      steps: result.steps, epochs: result.epochs, trainSeconds: result.trainSeconds, pairsPerSecond: result.pairsPerSecond,
      loss: result.finalLoss, validationBleu: final.bleu, validationExactMatch: final.exactMatch,
      curve: result.history.map((h) => ({ trainSeconds: h.trainSeconds, step: h.step, bleu: h.metrics.bleu })),
    }));
  }
  model.dispose();
  return 0;
}


/**
 * The translate command without its I/O: raw French lines in (one sentence per
 * line), one output line per input line (empty input line -> empty line), and
 * the heatmap SVGs by 0-based line index when asked.
 */
export function translateText(
  model: Seq2Seq, source: Vocabulary, target: Vocabulary, text: string,
  options: { beam?: number; maxLength?: number; json?: boolean; svg?: boolean } = {},
): { out: string[]; svgs: [number, string][] } {
  const beam = options.beam ?? 0, maxLength = options.maxLength ?? 10, json = options.json ?? false;
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((l) => tokenizeNormalized(normalizeSentence(l.endsWith('\r') ? l.slice(0, -1) : l)));
  const nonEmpty = tokens.map((t, i) => [t, i] as const).filter(([t]) => t.length > 0);
  const decoded = new Map<number, { tokens: number[]; score: number; attention: Float32Array[] }>();
  const batch = 64;
  for (let i = 0; i < nonEmpty.length; i += batch) {
    const part = nonEmpty.slice(i, i + batch);
    const results = model.decode(part.map(([t]) => source.encode(t)), beam > 0 ? { method: 'beam', beamSize: beam, maxLength } : { method: 'greedy', maxLength });
    part.forEach(([, idx], j) => decoded.set(idx, results[j]));
  }
  const out: string[] = [];
  const svgs: [number, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const r = decoded.get(i);
    const words = r ? r.tokens.map((t) => target.token(t)) : [];
    if (json) {
      out.push(JSON.stringify({
        line: i + 1, input: lines[i], source: tokens[i], sourceIds: Array.from(source.encode(tokens[i])), tokens: words, translation: words.join(' '),
        score: r ? r.score : 0, attention: r ? r.attention.map((row) => Array.from(row, (v) => Number(v.toFixed(4)))) : [],
      }));
    } else out.push(words.join(' '));
    if (options.svg && r && r.attention.length > 0 && r.attention[0].length > 0) {
      svgs.push([i, attentionHeatmapSvg(r.attention, tokens[i], words, { title: lines[i] })]);
    }
  }
  return { out, svgs };
}

export const TRANSLATE_USAGE = `usage: rnn-wasm translate --model model.safetensors [--beam K] [--max-length N] [--json] [--svg DIR] < french.txt
  reads French sentences from stdin (one per line), writes one English translation per line
`;

/** Reads all of stdin as text. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function translateCommand(args: ParsedArgs): Promise<number> {
  if (args.flags.has('help')) {
    console.log(TRANSLATE_USAGE);
    return 0;
  }
  checkOptions(args, COMMAND_OPTIONS.translate, 'translate');
  if (!args.flags.has('model')) {
    console.error(`translate needs --model\n${TRANSLATE_USAGE}`);
    return 2;
  }
  const beam = args.flags.has('beam') ? flagInt(args, 'beam', 1) : 0;
  const maxLength = args.flags.has('max-length') ? flagInt(args, 'max-length', 10) : 10;
  const json = flagBool(args, 'json');
  const svgDir = args.flags.has('svg') ? flagString(args, 'svg', '') : '';
  const modelPath = flagInputPath(args, 'model', 'a model saved by rnn-wasm train translate --save');
  const { readFile, writeFile, mkdir } = await import('node:fs/promises');
  const rt = await createRuntime();
  const { loadSeq2Seq } = await import('../models/seq2seq-tasks.js');
  const bytes = await readFile(modelPath);
  const { model, source, target } = loadNamedFile('model', modelPath, () => loadSeq2Seq(rt, new Uint8Array(bytes)));
  const text = await readStdin();
  if (svgDir) await mkdir(svgDir, { recursive: true });
  const { out, svgs } = translateText(model, source, target, text, { beam, maxLength, json, svg: svgDir !== '' });
  for (const [i, svg] of svgs) await writeFile(`${svgDir}/${String(i + 1).padStart(4, '0')}.svg`, svg);
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
  model.dispose();
  return 0;
}
