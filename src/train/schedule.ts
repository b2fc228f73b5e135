// Learning-rate schedules: pure functions of the step (0-based count of optimizer updates
// already taken), so a resumed run only needs the step from its checkpoint.

/** Learning rate to use for the update numbered `step` (0, 1, 2, ...). */
export type Schedule = (step: number) => number;

/**
 * A JSON description of a schedule (CLI flags, checkpoint state). With warmupSteps > 0 the
 * warm-up comes first and the named schedule (its totalSteps and stepSize included) counts
 * steps from the end of the warm-up.
 */
export type ScheduleSpec =
  | { type: 'constant'; lr: number; warmupSteps?: number }
  | { type: 'step'; lr: number; stepSize: number; gamma: number; warmupSteps?: number }
  | { type: 'cosine'; lr: number; totalSteps: number; minLr?: number; warmupSteps?: number };

function checkRate(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${String(v)}`);
  return v;
}
function checkCount(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}
const checkStep = (step: number) => checkCount('schedule step', step, 0);

/** The same rate at every step. */
export function constantSchedule(lr: number): Schedule {
  checkRate('lr', lr);
  return (step) => (checkStep(step), lr);
}

/** lr * gamma^floor(step / stepSize), as torch.optim.lr_scheduler.StepLR. */
export function stepSchedule(lr: number, stepSize: number, gamma: number): Schedule {
  checkRate('lr', lr);
  checkCount('stepSize', stepSize, 1);
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0) throw new RangeError(`gamma must be a finite number > 0, got ${String(gamma)}`);
  return (step) => lr * gamma ** Math.floor(checkStep(step) / stepSize);
}

/**
 * Cosine annealing from lr to minLr over totalSteps (torch CosineAnnealingLR without restarts):
 * minLr + (lr - minLr) * (1 + cos(pi * step / totalSteps)) / 2, then minLr after totalSteps.
 */
export function cosineSchedule(lr: number, totalSteps: number, minLr = 0): Schedule {
  checkRate('lr', lr);
  checkCount('totalSteps', totalSteps, 1);
  checkRate('minLr', minLr);
  if (minLr > lr) throw new RangeError(`minLr (${minLr}) must not exceed lr (${lr})`);
  return (step) => {
    const t = Math.min(checkStep(step), totalSteps);
    return minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * t) / totalSteps))) / 2;
  };
}

/**
 * Linear warm-up in front of another schedule: step s < warmupSteps uses
 * after(0) * (s + 1) / warmupSteps (so the first update already moves and step warmupSteps-1
 * reaches the full rate), and step s >= warmupSteps uses after(s - warmupSteps).
 */
export function linearWarmup(after: Schedule, warmupSteps: number): Schedule {
  if (typeof after !== 'function') throw new TypeError('linearWarmup: the schedule after warm-up must be a function');
  checkCount('warmupSteps', warmupSteps, 0);
  const peak = after(0);
  return (step) => {
    checkStep(step);
    return step < warmupSteps ? (peak * (step + 1)) / warmupSteps : after(step - warmupSteps);
  };
}

/** Builds a schedule from its JSON description (validated). */
export function makeSchedule(spec: ScheduleSpec): Schedule {
  if (spec === null || typeof spec !== 'object') throw new TypeError('schedule spec must be an object');
  let base: Schedule;
  switch (spec.type) {
    case 'constant': base = constantSchedule(spec.lr); break;
    case 'step': base = stepSchedule(spec.lr, spec.stepSize, spec.gamma); break;
    case 'cosine': base = cosineSchedule(spec.lr, spec.totalSteps, spec.minLr ?? 0); break;
    default: throw new RangeError(`schedule type must be 'constant', 'step' or 'cosine', got ${JSON.stringify((spec as { type?: unknown }).type)}`);
  }
  const warm = spec.warmupSteps ?? 0;
  return warm > 0 ? linearWarmup(base, warm) : (checkCount('warmupSteps', warm, 0), base);
}
