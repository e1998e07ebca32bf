// A schedule mapping: at each tick of its rate()/cron() expression, EventBridge's Scheduled
// Event (or spec.source.schedule.input) goes to the function as an asynchronous invoke, as
// EventBridge sends it — so the gateway's async queue applies Lambda's retries, record age
// and destinations. At most one delivery per tick, across restarts and replicas: the tick
// is claimed in status.lastTick with a write conditional on the object's resourceVersion
// before anything is invoked; a lost race or a crash after the claim skips the tick.
import { randomUUID } from 'node:crypto';
import type { EventSourceMapping } from '../api/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { InvokeOutcome } from './decisions.js';
import type { FunctionInvoker } from './invoke-client.js';
import { dueTick, nextTick, parseSchedule, scheduledEvent, type Schedule } from './schedule-expression.js';

/** The mapping's API, as the schedule needs it: a fresh read and a conditional status write. */
export interface ScheduleStore {
  get(): Promise<EventSourceMapping | undefined>;
  /** Rejects when the object changed since `resourceVersion` (409). */
  claim(tick: string, resourceVersion: string): Promise<void>;
  report(result: string): Promise<void>;
}

export interface ScheduleOptions {
  mapping: EventSourceMapping;
  store: ScheduleStore;
  invoker: FunctionInvoker;
  clock: Clock;
  log: Logger;
  region: string;
  /** A tick later than this is skipped (the poller was down at the time). */
  lateMs?: number;
}

/** The gateway never took the event: safe to send again without a second delivery. */
const notTaken = (outcome: InvokeOutcome) =>
  outcome.kind === 'throttled' || (outcome.kind === 'systemError' && outcome.statusCode === 0);

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ScheduleRunner {
  private readonly schedule: Schedule;
  private timer: { cancel(): void } | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly o: ScheduleOptions) {
    const source = o.mapping.spec.source.schedule;
    if (!source) throw new Error('not a schedule mapping');
    this.schedule = parseSchedule(source.expression, source.timezone ?? 'UTC');
  }

  start(): void {
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const next = nextTick(this.schedule, now) ?? now + 3_600_000;
    // Wake at the tick (and at least hourly, so a long cron never drifts past a clock change).
    this.timer = this.o.clock.setTimeout(
      () => {
        this.running = this.fire().finally(() => this.arm());
      },
      Math.min(next - now, 3_600_000),
    );
  }

  private async fire(): Promise<void> {
    try {
      const mapping = await this.o.store.get();
      if (!mapping || mapping.metadata.uid !== this.o.mapping.metadata.uid) return;
      const created = Date.parse(String(mapping.metadata.creationTimestamp ?? 0));
      const last = mapping.status?.lastTick ? Date.parse(mapping.status.lastTick) : undefined;
      // Ticks from before the mapping existed never fire.
      const floor = Math.max(last ?? -Infinity, created - 1);
      const tick = dueTick(this.schedule, this.o.clock.now(), floor, this.o.lateMs ?? 60_000);
      if (tick === undefined) return;
      try {
        await this.o.store.claim(iso(tick), mapping.metadata.resourceVersion ?? '');
      } catch (err) {
        this.o.log.info('schedule tick claimed elsewhere or object changed; skipped', {
          tick: iso(tick),
          error: String(err),
        });
        return;
      }
      const payload = this.payload(mapping, tick);
      const [name = '', qualifier] = mapping.spec.functionName.split(':');
      const target = {
        namespace: mapping.metadata.namespace ?? 'default',
        name,
        ...(qualifier && { qualifier }),
      };
      // Retried only while the gateway did not take the event (no connection, or throttled):
      // a tick is delivered at most once, but not lost to a gateway restart.
      let outcome = await this.o.invoker.invoke(target, payload, 'Event');
      for (let attempt = 1; attempt < 6 && !this.stopped && notTaken(outcome); attempt++) {
        await new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, 1000 * 2 ** attempt));
        outcome = await this.o.invoker.invoke(target, payload, 'Event');
      }
      const result =
        outcome.kind === 'success'
          ? 'OK'
          : outcome.kind === 'throttled'
            ? 'PROBLEM: Function call throttled'
            : `PROBLEM: ${'message' in outcome ? outcome.message : 'Function call failed'}`.slice(0, 1000);
      if (outcome.kind !== 'success')
        this.o.log.warn('schedule tick not delivered', { tick: iso(tick), result });
      await this.o.store.report(result);
    } catch (err) {
      this.o.log.warn('schedule tick failed', { error: String(err) });
    }
  }

  private payload(mapping: EventSourceMapping, tick: number): Buffer {
    const input = mapping.spec.source.schedule?.input;
    if (input !== undefined) return Buffer.from(input);
    const namespace = mapping.metadata.namespace ?? 'default';
    return Buffer.from(
      JSON.stringify(
        scheduledEvent({
          id: randomUUID(),
          tick,
          region: this.o.region,
          account: namespace,
          ruleArn: `arn:aws:events:${this.o.region}:${namespace}:rule/${mapping.metadata.name}`,
        }),
      ),
    );
  }
}
