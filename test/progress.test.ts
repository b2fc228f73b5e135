import { describe, it, expect } from 'vitest';
import { ProgressBar, formatProgress, formatDuration, formatRate, formatNumber, type ProgressStream } from '../src/train/progress.js';
import { constantSchedule, stepSchedule, cosineSchedule, linearWarmup, makeSchedule } from '../src/train/schedule.js';

class FakeStream implements ProgressStream {
  out = '';
  constructor(public isTTY: boolean, public columns?: number) {}
  write(text: string) {
    this.out += text;
    return true;
  }
}

function clock() {
  let t = 1000;
  const now = () => t;
  return { now, advance: (ms: number) => (t += ms) };
}

describe('progress formatting', () => {
  it('formats durations, rates and numbers', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(7.4)).toBe('0:07');
    expect(formatDuration(725)).toBe('12:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatDuration(NaN)).toBe('?');
    expect(formatRate(0.5)).toBe('0.50 it/s');
    expect(formatRate(12.34, 'tok')).toBe('12.3 tok/s');
    expect(formatRate(512)).toBe('512 it/s');
    expect(formatRate(4567)).toBe('4.57k it/s');
    expect(formatRate(7.891e6)).toBe('7.89M it/s');
    expect(formatRate(NaN)).toBe('? it/s');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(2.5)).toBe('2.500');
    expect(formatNumber(1234.5)).toBe('1235');
    expect(formatNumber(0)).toBe('0.000');
    expect(formatNumber(1.5e-5)).toBe('1.500e-5');
    expect(formatNumber(-123456)).toBe('-1.235e+5');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-inf');
  });

  it('formats a line with bar, percent, loss, metrics, rate and ETA', () => {
    const line = formatProgress({ done: 250, total: 1000, elapsedMs: 5000, loss: 0.6931, metrics: { acc: 0.5 }, label: 'epoch 1/3', barWidth: 10 });
    expect(line).toBe('epoch 1/3  [##........]   25%  250/1000  loss 0.6931  acc 0.5000  50.0 it/s  ETA 0:15');
    const done = formatProgress({ done: 1000, total: 1000, elapsedMs: 65_000, barWidth: 4 });
    expect(done).toBe('[####]  100%  1000/1000  15.4 it/s  in 1:05');
    const open = formatProgress({ done: 30, elapsedMs: 2000, unit: 'seq' });
    expect(open).toBe('30  15.0 seq/s  0:02');
    expect(formatProgress({ done: 0, total: 10, elapsedMs: 0, barWidth: 2 })).toBe('[..]    0%  0/10  ? it/s  ETA ?');
  });
});

describe('ProgressBar', () => {
  it('redraws in place on a TTY, throttled, and ends with a newline', () => {
    const s = new FakeStream(true);
    const c = clock();
    const bar = new ProgressBar({ total: 100, stream: s, now: c.now, minIntervalMs: 100, barWidth: 10 });
    expect(bar.outputMode).toBe('tty');
    c.advance(1000);
    bar.update(10, 2.5);
    c.advance(50);
    bar.update(20, 2.0); // throttled
    c.advance(100);
    bar.tick(10, 1.5);
    c.advance(850);
    bar.finish();
    bar.finish(); // idempotent
    bar.update(50); // ignored after finish
    const draws = s.out.split('\r').filter(Boolean);
    expect(draws).toEqual([
      '[#.........]   10%  10/100  loss 2.500  10.0 it/s  ETA 0:09\x1b[K',
      '[###.......]   30%  30/100  loss 1.500  26.1 it/s  ETA 0:03\x1b[K',
      '[###.......]   30%  30/100  loss 1.500  15.0 it/s  ETA 0:05\x1b[K\n',
    ]);
  });

  it('cuts the line to the terminal width', () => {
    const s = new FakeStream(true, 20);
    const bar = new ProgressBar({ total: 10, stream: s, now: clock().now });
    bar.update(1);
    expect(s.out).toBe(`\r${bar.text().slice(0, 19)}\x1b[K`);
  });

  it('is quiet when not a TTY, unless lines every N% are asked for', () => {
    const quiet = new FakeStream(false);
    const q = new ProgressBar({ total: 10, stream: quiet, now: clock().now });
    expect(q.outputMode).toBe('quiet');
    for (let i = 0; i < 10; i++) q.tick(1, 1);
    q.finish();
    expect(quiet.out).toBe('');

    const s = new FakeStream(false);
    const c = clock();
    const bar = new ProgressBar({ total: 200, stream: s, now: c.now, everyPercent: 25, barWidth: 4 });
    expect(bar.outputMode).toBe('lines');
    for (let i = 0; i < 200; i++) {
      c.advance(10);
      bar.tick(1, 1 / (i + 1));
    }
    bar.finish();
    const lines = s.out.trimEnd().split('\n');
    expect(lines.map((l) => l.split('  ')[1].trim())).toEqual(['25%', '50%', '75%', '100%']);
    expect(lines[0]).toBe('[#...]   25%  50/200  loss 0.02000  100 it/s  ETA 0:02');
    expect(s.out).not.toContain('\r');
    // finish after a partial run prints the final state once.
    const s2 = new FakeStream(false);
    const b2 = new ProgressBar({ total: 100, stream: s2, now: c.now, mode: 'lines' });
    b2.update(5);
    b2.finish();
    expect(s2.out.split('\n').filter(Boolean)).toHaveLength(1);
    expect(s2.out).toContain('5/100');
  });

  it('rejects bad arguments', () => {
    expect(() => new ProgressBar({ total: -1, stream: new FakeStream(true) })).toThrow(/total/);
    expect(() => new ProgressBar({ everyPercent: 0, stream: new FakeStream(true) })).toThrow(/everyPercent/);
    const bar = new ProgressBar({ stream: new FakeStream(true) });
    expect(() => bar.update(NaN)).toThrow(/done/);
  });
});

describe('learning-rate schedules', () => {
  it('constant and step (torch StepLR)', () => {
    const c = constantSchedule(0.1);
    expect([0, 5, 1000].map(c)).toEqual([0.1, 0.1, 0.1]);
    const s = stepSchedule(1, 3, 0.5);
    expect([0, 1, 2, 3, 5, 6, 9].map(s)).toEqual([1, 1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it('cosine annealing matches the closed form and clamps after totalSteps', () => {
    const f = cosineSchedule(0.2, 10, 0.02);
    expect(f(0)).toBeCloseTo(0.2, 15);
    expect(f(5)).toBeCloseTo(0.11, 15);
    expect(f(10)).toBeCloseTo(0.02, 15);
    expect(f(25)).toBeCloseTo(0.02, 15);
    for (let t = 0; t < 10; t++) {
      expect(f(t)).toBeCloseTo(0.02 + 0.18 * (1 + Math.cos((Math.PI * t) / 10)) / 2, 15);
      expect(f(t + 1)).toBeLessThan(f(t));
    }
  });

  it('linear warm-up ramps to the peak and then hands over', () => {
    const f = linearWarmup(cosineSchedule(1, 4), 4);
    expect([0, 1, 2, 3].map(f)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(f(4)).toBe(1);
    expect(f(6)).toBeCloseTo(0.5, 15);
    expect(f(8)).toBeCloseTo(0, 15);
    expect(linearWarmup(constantSchedule(0.3), 0)(0)).toBe(0.3);
  });

  it('makeSchedule builds from JSON and validates', () => {
    const f = makeSchedule({ type: 'cosine', lr: 1, totalSteps: 4, warmupSteps: 2 });
    expect([0, 1, 2].map(f)).toEqual([0.5, 1, 1]);
    expect(makeSchedule({ type: 'step', lr: 2, stepSize: 1, gamma: 0.1 })(2)).toBeCloseTo(0.02, 15);
    expect(makeSchedule({ type: 'constant', lr: 0.5 })(3)).toBe(0.5);
    expect(() => makeSchedule({ type: 'exp' } as never)).toThrow(/schedule type/);
    expect(() => constantSchedule(NaN)).toThrow(/lr must be/);
    expect(() => stepSchedule(1, 0, 0.5)).toThrow(/stepSize/);
    expect(() => stepSchedule(1, 1, 0)).toThrow(/gamma/);
    expect(() => cosineSchedule(0.1, 10, 0.2)).toThrow(/minLr/);
    expect(() => makeSchedule({ type: 'constant', lr: 1, warmupSteps: -1 })).toThrow(/warmupSteps/);
    expect(() => constantSchedule(1)(-1)).toThrow(/schedule step/);
    expect(() => constantSchedule(1)(1.5)).toThrow(/schedule step/);
  });
});
