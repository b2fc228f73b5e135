// The playground's Web Worker: one per panel, so that training never blocks the page.
// It loads rnn-wasm (the page passes the library's URL: module workers do not see the
// page's import map), creates a runtime, loads the panel's adapter (panels/<name>.js)
// and then speaks a small protocol with the page (app.js):
//
//   page -> worker                          worker -> page
//   init    { panel, lib }                  ready    { info, build }   | pending { message }
//   start   { options }                     progress { step, total, elapsed, metrics }
//                                           loss     { from, losses }  (new losses since the last message)
//                                           done     { step, elapsed, metrics, reason }
//   stop    {}                              (training ends with reason 'stopped')
//   request { id, method, args }            response { id, result } | { id, error }
//           method: 'predict' | 'sample' | 'load' | 'save' (an adapter method of that name;
//           'load' takes the file's ArrayBuffer, 'save' returns one)
//   any failure                             error    { message }
//
// Training is a plain loop of synchronous steps; every few tens of milliseconds it yields
// to the worker's event loop so that 'stop' and 'request' messages are served between
// steps (a prediction during training sees the weights of the last finished step).

const YIELD_MS = 40; // longest stretch of training between two looks at the message queue
const POST_MS = 100; // loss and progress messages at most this often

let adapter = null;
let training = false;
let stopRequested = false;

const post = (message) => self.postMessage(message);
const errorText = (err) => (err && err.message) || String(err);

self.onmessage = (event) => {
  handle(event.data).catch((err) => post({ type: 'error', message: errorText(err), stack: err && err.stack }));
};

async function handle(message) {
  switch (message.type) {
    case 'init':
      return init(message);
    case 'start':
      return train(message.options ?? {});
    case 'stop':
      stopRequested = true;
      return;
    case 'request':
      return request(message);
    default:
      throw new Error(`worker: unknown message type '${message.type}' (expected init, start, stop or request)`);
  }
}

async function init({ panel, lib: libUrl, options }) {
  if (!/^[a-z]+$/.test(panel)) throw new Error(`worker: panel must be a lowercase name, got '${panel}'`);
  const lib = await import(libUrl);
  const rt = await lib.createRuntime();
  const { createPanel } = await import(`./panels/${panel}.js`);
  try {
    adapter = await createPanel({ lib, rt, options: options ?? {} });
  } catch (err) {
    // An adapter whose model is not in this build of rnn-wasm says so; the page shows the panel as pending.
    if (err && err.pending) return post({ type: 'pending', message: err.message });
    throw err;
  }
  post({ type: 'ready', build: rt.features.build, info: adapter.info });
}

async function request({ id, method, args }) {
  try {
    if (!adapter) throw new Error('the model is not ready yet');
    if (!['predict', 'sample', 'load', 'save'].includes(method) || typeof adapter[method] !== 'function') {
      throw new Error(`this panel has no '${method}'`);
    }
    const result = await adapter[method](...(args ?? []));
    self.postMessage({ type: 'response', id, result }, result instanceof ArrayBuffer ? [result] : []);
  } catch (err) {
    post({ type: 'response', id, error: errorText(err) });
  }
}

const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

async function train(options) {
  if (!adapter) throw new Error('worker: start before init');
  if (training) throw new Error('worker: already training');
  training = true;
  stopRequested = false;
  try {
    const session = adapter.startTraining(options);
    const { total } = session;
    const started = performance.now();
    let step = 0;
    let metrics = null;
    let metricsStep = -1; // the step the metrics were measured after
    let pending = []; // losses not yet posted
    let postedUpTo = 0;
    let lastPost = started;
    let lastYield = started;
    const flush = () => {
      if (pending.length > 0) post({ type: 'loss', from: postedUpTo, losses: pending });
      postedUpTo += pending.length;
      pending = [];
      post({ type: 'progress', step, total, elapsed: (performance.now() - started) / 1000, metrics });
      lastPost = performance.now();
    };
    let reason = 'all steps done';
    while (step < total) {
      const loss = session.step(step);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at step ${step + 1}`);
      pending.push(loss);
      step++;
      if (step % session.evaluateEvery === 0 || step === total) {
        metrics = session.evaluate();
        metricsStep = step;
        if (session.reached?.(metrics)) {
          reason = 'target reached';
          break;
        }
      }
      const now = performance.now();
      if (now - lastPost >= POST_MS) flush();
      if (now - lastYield >= YIELD_MS) {
        await nextTurn();
        lastYield = performance.now();
        if (stopRequested) {
          reason = 'stopped';
          break;
        }
      }
    }
    if (metricsStep !== step) metrics = session.evaluate();
    flush();
    post({ type: 'done', step, total, elapsed: (performance.now() - started) / 1000, metrics, reason });
  } finally {
    training = false;
  }
}
