// EventBridge schedule expressions, pure: `rate(value unit)` ticks every interval from the
// epoch (so every replica and every restart agrees on the ticks without shared state), and
// `cron(minutes hours day-of-month month day-of-week year)` in a time zone, AWS's dialect
// (day-of-week 1-7 = SUN-SAT, `?` in one of the two day fields, L, W, #) evaluated by croner.
import { Cron } from 'croner';

export type Schedule =
  { kind: 'rate'; intervalMs: number } | { kind: 'cron'; cron: Cron; expression: string };

export class ScheduleExpressionError extends Error {}

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export function parseSchedule(expression: string, timezone = 'UTC'): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (value < 1 || (value === 1) !== !unit.endsWith('s'))
      throw new ScheduleExpressionError(`${expression}: use a singular unit for 1 and a plural one above`);
    return { kind: 'rate', intervalMs: value * (UNIT_MS[unit.replace(/s$/, '')] ?? 0) };
  }
  const cron = /^cron\((\S+ \S+ \S+ \S+ \S+ \S+)\)$/.exec(expression);
  if (!cron?.[1]) throw new ScheduleExpressionError(`${expression} is not rate(...) or cron(...)`);
  const fields = cron[1].split(' ');
  if ((fields[2] === '?') === (fields[4] === '?'))
    throw new ScheduleExpressionError(`${expression}: exactly one of day-of-month and day-of-week must be ?`);
  try {
    return {
      kind: 'cron',
      expression,
      cron: new Cron(`0 ${cron[1]}`, {
        timezone,
        paused: true,
        mode: '7-part',
        alternativeWeekdays: true, // 1 = SUN … 7 = SAT, as AWS counts
        sloppyRanges: true, // AWS writes 0/15 for "every 15 from 0"
      }),
    };
  } catch (err) {
    throw new ScheduleExpressionError(`${expression}: ${(err as Error).message}`);
  }
}

/** The latest tick at or before `now`, or undefined when there is none (a cron in the future). */
export function tickAtOrBefore(schedule: Schedule, now: number): number | undefined {
  if (schedule.kind === 'rate') return Math.floor(now / schedule.intervalMs) * schedule.intervalMs;
  const previous = schedule.cron.previousRuns(1, new Date(now + 1))[0];
  return previous?.getTime();
}

/** The first tick strictly after `after`, or undefined when there is none. */
export function nextTick(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'rate') return (Math.floor(after / schedule.intervalMs) + 1) * schedule.intervalMs;
  return schedule.cron.nextRun(new Date(after))?.getTime();
}

/**
 * Which tick to deliver now, if any. `lastTick` is the tick already claimed (status.lastTick);
 * a tick is due when it is newer than that and not older than `lateMs` (a poller that was down
 * across several ticks delivers the latest one only, as EventBridge does not replay missed ones).
 */
export function dueTick(
  schedule: Schedule,
  now: number,
  lastTick: number | undefined,
  lateMs: number,
): number | undefined {
  const tick = tickAtOrBefore(schedule, now);
  if (tick === undefined || now - tick > lateMs) return undefined;
  if (lastTick !== undefined && tick <= lastTick) return undefined;
  return tick;
}

/** EventBridge's `Scheduled Event`, as a scheduled rule sends it to Lambda. */
export function scheduledEvent(options: {
  id: string;
  tick: number;
  region: string;
  account: string;
  ruleArn: string;
}): Record<string, unknown> {
  return {
    version: '0',
    id: options.id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: options.account,
    time: new Date(options.tick).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: options.region,
    resources: [options.ruleArn],
    detail: {},
  };
}
