// A training progress bar on stderr: done/total, loss, rate (items/s) and ETA.
// On a TTY the line is redrawn in place (throttled); elsewhere (logs, CI, pipes) it is quiet,
// or prints one plain line every N percent when asked. Nothing here imports Node modules: the
// default stream is globalThis.process?.stderr when it exists.

/** The part of a writable stream the bar needs (process.stderr fits). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Items (or steps) expected; without it there is no percentage, bar or ETA. */
  total?: number;
  /** Text in front of the bar, e.g. 'epoch 3/10'. */
  label?: string;
  /** Unit of the rate: 'it' by default ('tok', 'seq', ...). */
  unit?: string;
  /** Default: globalThis.process.stderr, or nothing (quiet) when there is no process. */
  stream?: ProgressStream;
  /** 'auto' (default): redraw on a TTY, else lines if everyPercent is given, else quiet. */
  mode?: 'auto' | 'tty' | 'lines' | 'quiet';
  /** In lines mode, print a line each time progress crosses a multiple of this percentage (default 10). */
  everyPercent?: number;
  /** Minimum milliseconds between TTY redraws (default 100); the final state is always drawn. */
  minIntervalMs?: number;
  /** Bar width in characters (default 24). */
  barWidth?: number;
  /** Clock in milliseconds (default performance.now / Date.now); tests pass their own. */
  now?: () => number;
}

export interface ProgressSnapshot {
  done: number;
  total?: number;
  elapsedMs: number;
  loss?: number;
  /** Extra named values shown after the loss, e.g. { acc: 0.91 }. */
  metrics?: Record<string, number>;
  label?: string;
  unit?: string;
  barWidth?: number;
}

/** 0:07, 12:05, 1:02:03; '?' when unknown or not finite. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** 0.5 it/s, 12.3 it/s, 4.56k it/s, 7.89M it/s. */
export function formatRate(perSecond: number, unit = 'it'): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `? ${unit}/s`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M ${unit}/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(2)}k ${unit}/s`;
  if (perSecond >= 100) return `${perSecond.toFixed(0)} ${unit}/s`;
  return `${perSecond.toFixed(perSecond >= 10 ? 1 : 2)} ${unit}/s`;
}

/** Four significant digits, switching to exponent form for very small or large magnitudes. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return value.toExponential(3);
  return value.toFixed(Math.max(0, 3 - Math.floor(Math.log10(a || 1))));
}

/** The one-line text of a progress state (no control characters). */
export function formatProgress(p: ProgressSnapshot): string {
  const parts: string[] = [];
  if (p.label) parts.push(p.label);
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.done / seconds : NaN;
  if (p.total !== undefined && p.total > 0) {
    const fraction = Math.min(1, Math.max(0, p.done / p.total));
    const width = p.barWidth ?? 24;
    const filled = Math.floor(fraction * width);
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`);
    parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`);
    parts.push(`${p.done}/${p.total}`);
  } else {
    parts.push(`${p.done}`);
  }
  if (p.loss !== undefined) parts.push(`loss ${formatNumber(p.loss)}`);
  for (const [name, v] of Object.entries(p.metrics ?? {})) parts.push(`${name} ${formatNumber(v)}`);
  parts.push(formatRate(rate, p.unit));
  if (p.total !== undefined && p.total > 0) {
    const remaining = Math.max(0, p.total - p.done);
    parts.push(p.done >= p.total ? `in ${formatDuration(seconds)}` : `ETA ${remaining === 0 ? '0:00' : formatDuration(remaining / rate)}`);
  } else {
    parts.push(formatDuration(seconds));
  }
  return parts.join('  ');
}

function defaultStream(): ProgressStream | undefined {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  return proc?.stderr;
}

function defaultNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf ? () => perf.now() : () => Date.now();
}

export class ProgressBar {
  private readonly stream?: ProgressStream;
  private readonly mode: 'tty' | 'lines' | 'quiet';
  private readonly now: () => number;
  private readonly start: number;
  private readonly everyPercent: number;
  private readonly minIntervalMs: number;
  private done = 0;
  private loss?: number;
  private metrics?: Record<string, number>;
  private lastDraw = -Infinity;
  private lastBucket = -1;
  private lastLineDone = -1;
  private finished = false;

  constructor(private readonly options: ProgressOptions = {}) {
    const { total } = options;
    if (total !== undefined && (!Number.isFinite(total) || total < 0)) throw new RangeError(`progress total must be a finite number >= 0, got ${total}`);
    this.everyPercent = options.everyPercent ?? 10;
    if (!(this.everyPercent > 0 && this.everyPercent <= 100)) throw new RangeError(`everyPercent must be in (0, 100], got ${options.everyPercent}`);
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.stream = options.stream ?? defaultStream();
    const requested = options.mode ?? 'auto';
    if (!this.stream || requested === 'quiet') this.mode = 'quiet';
    else if (requested === 'auto') this.mode = this.stream.isTTY ? 'tty' : options.everyPercent !== undefined ? 'lines' : 'quiet';
    else this.mode = requested;
    this.now = options.now ?? defaultNow();
    this.start = this.now();
  }

  /** How output is produced after resolving 'auto'. */
  get outputMode(): 'tty' | 'lines' | 'quiet' {
    return this.mode;
  }

  /** Sets the absolute count of items done, and optionally the latest loss and metrics. */
  update(done: number, loss?: number, metrics?: Record<string, number>): void {
    if (!Number.isFinite(done) || done < 0) throw new RangeError(`progress done must be a finite number >= 0, got ${done}`);
    this.done = done;
    if (loss !== undefined) this.loss = loss;
    if (metrics !== undefined) this.metrics = metrics;
    this.render(false);
  }

  /** Adds `items` to the count done. */
  tick(items = 1, loss?: number, metrics?: Record<string, number>): void {
    this.update(this.done + items, loss, metrics);
  }

  /** Draws the final state (and a newline on a TTY). Further calls do nothing. */
  finish(loss?: number, metrics?: Record<string, number>): void {
    if (this.finished) return;
    if (loss !== undefined) this.loss = loss;
    if (metrics !== undefined) this.metrics = metrics;
    this.render(true);
    this.finished = true;
  }

  /** The current line, as it would be drawn. */
  text(): string {
    return formatProgress({
      done: this.done,
      total: this.options.total,
      elapsedMs: this.now() - this.start,
      loss: this.loss,
      metrics: this.metrics,
      label: this.options.label,
      unit: this.options.unit,
      barWidth: this.options.barWidth,
    });
  }

  private render(final: boolean): void {
    if (this.finished || this.mode === 'quiet' || !this.stream) return;
    const t = this.now();
    if (this.mode === 'tty') {
      if (!final && t - this.lastDraw < this.minIntervalMs) return;
      this.lastDraw = t;
      let line = this.text();
      const columns = this.stream.columns;
      if (columns && line.length > columns - 1) line = line.slice(0, columns - 1);
      // \r returns to column 0; \x1b[K clears what a longer previous line left behind.
      this.stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    // lines mode: one line per crossed bucket of everyPercent, and always the final state.
    const total = this.options.total;
    if (!final) {
      if (total === undefined || total <= 0) return;
      const bucket = Math.floor(Math.min(100, (100 * this.done) / total) / this.everyPercent);
      if (bucket <= this.lastBucket || bucket === 0) return;
      this.lastBucket = bucket;
    } else if (this.lastLineDone === this.done) {
      return; // the last line already shows this state
    }
    this.lastLineDone = this.done;
    this.stream.write(`${this.text()}\n`);
  }
}
