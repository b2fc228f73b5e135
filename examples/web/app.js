// The playground page: tabs, one Web Worker per panel (worker.js + panels/<name>.js), and
// what each panel draws: the progress bar and live loss curve while training, then the
// translation and its attention heatmap, the DMN's answer and its gates per pass, or the
// forecaster's predictions. The page itself never trains; it only draws.
//
// State is published on window.playground.<panel> (and, for the forecaster, on
// window.rnnWasmExample as before) for the end-to-end test, test/runtimes/chromium.test.ts.
import { attentionHeatmapSvg } from 'rnn-wasm';
import { drawSeries, escapeXml, gateTableHtml, lossCurveSvg } from './plot.js';

// Module workers do not see the import map: they get the library's resolved URL instead.
const LIB_URL = import.meta.resolve('rnn-wasm');
const PANELS = ['translate', 'qa', 'forecast'];

const newState = () => ({
  status: 'idle', // idle | loading | ready | pending | training | done | error
  build: null,
  info: null,
  step: 0,
  total: 0,
  elapsed: 0,
  losses: [],
  metrics: null,
  reason: null,
  error: null,
  pending: null,
  prediction: null,
  predictions: 0,
  progressMessages: 0, // how many live updates the page drew during training
});
const states = (window.playground = Object.fromEntries(PANELS.map((name) => [name, newState()])));
const forecastCompat = (window.rnnWasmExample = { build: null, model: null, step: 0, losses: [], heldOutLoss: null, done: false, error: null });

/** The page's side of the worker protocol (see worker.js) for one panel. */
class PanelWorker {
  constructor(name, onMessage) {
    this.name = name;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `rnn-wasm ${name}` });
    this.nextId = 1;
    this.waiting = new Map();
    this.worker.onmessage = ({ data }) => {
      if (data.type === 'response') {
        const { resolve, reject } = this.waiting.get(data.id);
        this.waiting.delete(data.id);
        if (data.error !== undefined) reject(new Error(data.error));
        else resolve(data.result);
      } else {
        onMessage(data);
      }
    };
    this.worker.onerror = (event) => onMessage({ type: 'error', message: event.message || 'the worker failed to load' });
    this.worker.postMessage({ type: 'init', panel: name, lib: LIB_URL });
  }
  start(options = {}) {
    this.worker.postMessage({ type: 'start', options });
  }
  stop() {
    this.worker.postMessage({ type: 'stop' });
  }
  /** Calls the adapter's `method` in the worker; resolves with its result. */
  request(method, ...args) {
    const id = this.nextId++;
    const transfer = args.filter((a) => a instanceof ArrayBuffer);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'request', id, method, args }, transfer);
    });
  }
}

const fmt = {
  seconds: (s) => (s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`),
  loss: (l) => (l >= 0.01 ? l.toFixed(3) : l.toExponential(2)),
};

/** One panel: its DOM, its worker, and the drawing of its training. */
class Panel {
  constructor(name, hooks) {
    this.name = name;
    this.state = states[name];
    this.hooks = hooks;
    this.root = document.getElementById(`panel-${name}`);
    this.$ = (selector) => this.root.querySelector(selector);
    this.worker = null;
    this.redrawQueued = false;
    const training = this.$('.training');
    training.innerHTML = '<div class="goal"></div><div class="status-line"></div><div class="progress"><div></div></div><div class="charts"><div class="curve"></div></div>';
    // A panel's own charts (the forecaster's series) sit beside the loss curve.
    this.root.querySelectorAll('figure.beside-loss').forEach((figure) => training.querySelector('.charts').append(figure));
    this.statusLine = training.querySelector('.status-line');
    this.goal = training.querySelector('.goal');
    this.progress = training.querySelector('.progress');
    this.curve = training.querySelector('.curve');
    this.$('[data-action="train"]').addEventListener('click', () => this.train());
    this.$('[data-action="stop"]').addEventListener('click', () => this.worker?.stop());
    this.redraw();
  }

  /** Creates the worker the first time the panel is shown. */
  open() {
    if (this.worker) return;
    this.state.status = 'loading';
    this.worker = new PanelWorker(this.name, (message) => this.onMessage(message));
    this.redraw();
  }

  train() {
    if (!this.worker || !['ready', 'done', 'error'].includes(this.state.status)) return;
    Object.assign(this.state, { status: 'training', step: 0, losses: [], metrics: null, reason: null, error: null, elapsed: 0, progressMessages: 0 });
    this.hooks.onTrainStart?.(this);
    this.worker.start();
    this.redraw();
  }

  onMessage(message) {
    const s = this.state;
    switch (message.type) {
      case 'ready':
        Object.assign(s, { status: 'ready', build: message.build, info: message.info });
        document.getElementById('build').textContent = `WebAssembly: ${message.build} build`;
        this.hooks.onReady?.(this);
        break;
      case 'pending':
        Object.assign(s, { status: 'pending', pending: message.message });
        this.hooks.onPending?.(this);
        break;
      case 'loss':
        s.losses.length = message.from;
        s.losses.push(...message.losses);
        break;
      case 'progress':
        s.progressMessages++;
        Object.assign(s, { step: message.step, total: message.total, elapsed: message.elapsed, metrics: message.metrics ?? s.metrics });
        this.hooks.onProgress?.(this);
        break;
      case 'done':
        Object.assign(s, { status: 'done', step: message.step, total: message.total, elapsed: message.elapsed, metrics: message.metrics, reason: message.reason });
        this.hooks.onProgress?.(this);
        this.hooks.onDone?.(this);
        break;
      case 'error':
        Object.assign(s, { status: 'error', error: message.message });
        console.error(`[${this.name}] ${message.message}`);
        this.hooks.onError?.(this);
        break;
    }
    this.redraw();
  }

  /** Redraws at most once per animation frame, however many messages arrive. */
  redraw() {
    if (this.redrawQueued) return;
    this.redrawQueued = true;
    requestAnimationFrame(() => {
      this.redrawQueued = false;
      this.draw();
    });
  }

  draw() {
    const s = this.state;
    const training = s.status === 'training';
    this.$('[data-action="train"]').disabled = !['ready', 'done', 'error'].includes(s.status);
    this.$('[data-action="stop"]').disabled = !training;
    const save = this.$('[data-action="save"]');
    const filesPending = Boolean(s.info?.files); // this build cannot read or write model files
    if (save) save.disabled = s.status !== 'done' || filesPending;
    const load = this.$('input[data-action="load"]');
    if (load) load.disabled = !['ready', 'done', 'error'].includes(s.status) || filesPending; // not while a model trains
    const filesNote = this.$('.files-note');
    if (filesNote) filesNote.textContent = filesPending ? s.info.files : '';
    this.root.querySelectorAll('.ask button, .ask input, .ask textarea').forEach((el) => (el.disabled = s.status === 'pending'));
    const fraction = s.total > 0 ? s.step / s.total : 0;
    this.progress.firstElementChild.style.width = `${(s.status === 'done' ? 1 : fraction) * 100}%`;
    this.progress.classList.toggle('done', s.status === 'done');
    // While training the x axis spans every planned step; once done, the steps actually run.
    this.curve.hidden = s.reason === 'loaded'; // a loaded model has no training to show
    this.curve.innerHTML = lossCurveSvg(s.losses, { total: s.status === 'training' ? s.total : s.losses.length || s.total || undefined });
    this.statusLine.textContent = this.statusText();
    this.goal.textContent = s.info?.target ? `Trains until ${s.info.target}${s.total ? `, at most ${s.total} steps` : ''}.` : '';
    const note = this.$('.pending-note');
    if (note) {
      note.hidden = s.status !== 'pending';
      note.textContent = s.status === 'pending' ? `Pending: ${s.pending}` : '';
    }
    document.querySelector(`.tabs a[data-tab="${this.name}"]`).classList.toggle('pending', s.status === 'pending');
  }

  statusText() {
    const s = this.state;
    const last = s.losses[s.losses.length - 1];
    const summary = s.metrics?.summary ? ` · ${s.metrics.summary}` : '';
    switch (s.status) {
      case 'idle':
      case 'loading':
        return 'loading WebAssembly...';
      case 'ready':
        return s.info?.model ? `ready: ${s.info.model}` : 'ready';
      case 'pending':
        return 'pending: this model is not in this build of rnn-wasm yet';
      case 'training':
        return `training · step ${s.step} · ${fmt.seconds(s.elapsed)}${last !== undefined ? ` · loss ${fmt.loss(last)}` : ''}${summary}`;
      case 'done': {
        if (s.reason === 'loaded') return `loaded ${s.info?.model ?? 'a model'}${summary}`;
        const why = s.reason === 'target reached' ? 'target reached' : s.reason === 'stopped' ? 'stopped' : 'done';
        return `${why} after ${s.step} steps in ${fmt.seconds(s.elapsed)}${last !== undefined ? ` · loss ${fmt.loss(last)}` : ''}${summary}`;
      }
      case 'error':
        return `error: ${s.error}`;
    }
    return '';
  }

  /** Runs the adapter's method in the worker; shows errors in the panel's result box. */
  async ask(method, ...args) {
    const result = this.$('.result');
    try {
      const answer = await this.worker.request(method, ...args);
      this.state.error = null;
      return answer;
    } catch (err) {
      if (result) result.innerHTML = `<span class="error">${escapeXml(err.message)}</span>`;
      // The pictures of an earlier answer would read as this input's.
      this.root.querySelectorAll('.gates-view, .heatmap').forEach((el) => (el.innerHTML = ''));
      this.state.error = err.message;
      return null;
    }
  }
}

// ---------------------------------------------------------------- translation
/** The package's own drawing of attention weights (rows: output tokens; columns: input tokens). */
function heatmapSvg(weights, sourceTokens, targetTokens) {
  if (targetTokens.length === 0) return '<p class="note">(the model wrote nothing, so there is no attention to show)</p>';
  return attentionHeatmapSvg(weights, sourceTokens, targetTokens);
}

const translate = new Panel('translate', {
  onReady: (panel) => panel.hooks.sample(panel),
  async sample(panel) {
    const example = await panel.ask('sample');
    if (example) panel.$('input[name="input"]').value = example.input;
  },
  onDone: (panel) => panel.$('form').requestSubmit(),
});
translate.$('[data-action="sample"]').addEventListener('click', () => translate.hooks.sample(translate));
translate.$('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const panel = translate;
  if (!['done', 'training'].includes(panel.state.status)) {
    panel.$('.result').innerHTML = '<span class="note">Train the model (or load one) first.</span>';
    return;
  }
  const input = panel.$('input[name="input"]').value;
  const out = await panel.ask('predict', input);
  if (!out) return;
  panel.state.prediction = out;
  panel.state.predictions++;
  const check = out.expected === undefined ? '' : out.expected === out.output
    ? ' <span class="note">✓ correct</span>'
    : ` <span class="note">(the date is ${escapeXml(out.expected)})</span>`;
  panel.$('.result').innerHTML =
    `<span class="answer">${escapeXml(out.output)}</span>${check}` +
    `<div class="note">${escapeXml(out.note ?? '')}</div>`;
  panel.$('.heatmap').innerHTML = heatmapSvg(out.weights, out.sourceTokens, out.targetTokens) +
    '<figcaption>attention weights: a row per output token, a column per input token; darker = more weight</figcaption>';
});
translate.$('[data-action="save"]').addEventListener('click', async () => {
  const buffer = await translate.ask('save');
  if (!buffer) return;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([buffer], { type: 'application/octet-stream' }));
  link.download = 'dates-seq2seq.safetensors';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
});
translate.$('input[data-action="load"]').addEventListener('change', async (event) => {
  const panel = translate;
  const file = event.target.files?.[0];
  if (!file || !panel.worker) return;
  const bytes = await file.arrayBuffer();
  const info = await panel.ask('load', bytes).catch(() => null);
  if (!info && panel.state.error) panel.$('.result').innerHTML = `<span class="error">could not load ${escapeXml(file.name)}: ${escapeXml(panel.state.error)}</span>`;
  if (!info) return;
  Object.assign(panel.state, { status: 'done', reason: 'loaded', info, metrics: { summary: info.summary ?? file.name }, losses: [], step: 0, total: 0 });
  if (info.example) panel.$('input[name="input"]').value = info.example;
  panel.redraw();
  panel.$('form').requestSubmit();
});

// ---------------------------------------------------------------- question answering
const qa = new Panel('qa', {
  onReady(panel) {
    const words = panel.state.info.words ?? [];
    panel.$('.known-words').textContent = words.length ? `Words the model knows: ${words.join(' ')}` : '';
    panel.hooks.sample(panel);
  },
  async sample(panel) {
    const example = await panel.ask('sample');
    if (!example) return;
    panel.$('textarea[name="story"]').value = example.story.join('\n');
    panel.$('input[name="question"]').value = example.question;
    panel.$('.result').innerHTML = '';
    panel.$('.gates-view').innerHTML = '';
  },
  onDone: (panel) => panel.$('form').requestSubmit(),
});
qa.$('[data-action="sample"]').addEventListener('click', () => qa.hooks.sample(qa));
qa.$('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const panel = qa;
  if (!['done', 'training'].includes(panel.state.status)) {
    panel.$('.result').innerHTML = '<span class="note">Train the model first.</span>';
    return;
  }
  const story = panel.$('textarea[name="story"]').value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const question = panel.$('input[name="question"]').value;
  const out = await panel.ask('predict', { story, question });
  if (!out) return;
  panel.state.prediction = out;
  panel.state.predictions++;
  const check = out.expected === undefined ? '' : out.expected === out.answer
    ? ' <span class="note">✓ correct</span>'
    : ` <span class="note">(the story says: ${escapeXml(out.expected)})</span>`;
  panel.$('.result').innerHTML =
    `<span class="note">${escapeXml(out.question)}</span><span class="arrow">→</span><span class="answer">${escapeXml(out.answer)}</span>${check}` +
    `<div class="note">${escapeXml(out.note ?? '')}</div>`;
  panel.$('.gates-view').innerHTML = gateTableHtml(out.facts, out.gates);
});

// ---------------------------------------------------------------- forecaster
const forecast = new Panel('forecast', {
  onReady(panel) {
    document.getElementById('task').textContent = `Task: ${panel.state.info.task}.`;
    forecastCompat.build = panel.state.build;
    forecastCompat.model = panel.state.info.model;
    panel.train();
  },
  onTrainStart: () => Object.assign(forecastCompat, { step: 0, losses: [], heldOutLoss: null, done: false }),
  onProgress(panel) {
    const s = panel.state;
    Object.assign(forecastCompat, { step: s.losses.length, losses: s.losses.slice(), heldOutLoss: s.metrics?.heldOutLoss ?? null });
    if (s.metrics) drawSeries(document.getElementById('predictions'), s.metrics.target, s.metrics.prediction);
  },
  onDone: () => (forecastCompat.done = true),
  onError: (panel) => (forecastCompat.error = panel.state.error),
});

// ---------------------------------------------------------------- tabs
const panels = { translate, qa, forecast };
function show() {
  const name = location.hash.slice(1) in panels ? location.hash.slice(1) : 'translate';
  for (const [key, panel] of Object.entries(panels)) {
    panel.root.hidden = key !== name;
    document.querySelector(`.tabs a[data-tab="${key}"]`).setAttribute('aria-selected', String(key === name));
  }
  panels[name].open();
}
window.addEventListener('hashchange', show);
show();
