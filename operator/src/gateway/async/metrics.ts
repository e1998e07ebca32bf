// Prometheus metrics of asynchronous invocation (docs/async.md lists them). The gateway
// owns the registry and passes it in; queue gauges are read from the backend when scraped.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventQueue } from './event-queue.js';

const FN = ['namespace', 'function'] as const;

export interface AsyncMetrics {
  enqueued: Counter<'namespace' | 'function'>;
  attempts: Counter<'namespace' | 'function' | 'outcome'>;
  retries: Counter<'namespace' | 'function' | 'reason'>;
  expired: Counter<'namespace' | 'function'>;
  deadLettered: Counter<'namespace' | 'function' | 'reason'>;
  deliveries: Counter<'namespace' | 'function' | 'purpose' | 'target_kind' | 'result'>;
  eventAge: Histogram<'namespace' | 'function'>;
}

export function registerAsyncMetrics(
  registry: Registry,
  queue: Pick<EventQueue, 'stats'>,
  now: () => number = Date.now,
): AsyncMetrics {
  const registers = [registry];
  // One stats() call per scrape feeds all three gauges.
  let pending: ReturnType<EventQueue['stats']> | undefined;
  const stats = () => {
    pending ??= queue.stats().finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };
  new Gauge({
    name: 'lamina_async_queue_depth',
    help: 'Asynchronous events stored and not yet done (waiting, backing off or running).',
    registers,
    async collect() {
      this.set((await stats()).depth);
    },
  });
  new Gauge({
    name: 'lamina_async_oldest_event_age_seconds',
    help: 'Age of the oldest stored asynchronous event (0 when the queue is empty).',
    registers,
    async collect() {
      const oldest = (await stats()).oldestEnqueuedAt;
      this.set(oldest === undefined ? 0 : Math.max(0, now() - oldest) / 1000);
    },
  });
  new Gauge({
    name: 'lamina_async_dead_letter_store_size',
    help: 'Events parked in the queue’s own dead-letter store (undeliverable; inspect and replay by hand).',
    registers,
    async collect() {
      this.set((await stats()).deadLettered);
    },
  });
  return {
    enqueued: new Counter({
      name: 'lamina_async_events_enqueued_total',
      help: 'Asynchronous events accepted (stored durably) for a function.',
      labelNames: FN,
      registers,
    }),
    attempts: new Counter({
      name: 'lamina_async_attempts_total',
      help: 'Attempts to run an asynchronous event, by outcome (success, function_error, throttled, system_error).',
      labelNames: [...FN, 'outcome'] as const,
      registers,
    }),
    retries: new Counter({
      name: 'lamina_async_retries_total',
      help: 'Events put back on the queue for another attempt, by reason (function_error, throttled, system_error).',
      labelNames: [...FN, 'reason'] as const,
      registers,
    }),
    expired: new Counter({
      name: 'lamina_async_events_expired_total',
      help: 'Events not run because they exceeded maximumEventAgeInSeconds (EventAgeExceeded).',
      labelNames: FN,
      registers,
    }),
    deadLettered: new Counter({
      name: 'lamina_async_events_dead_lettered_total',
      help: 'Events that failed for good, by reason (RetriesExhausted, EventAgeExceeded, FunctionNotFound, …).',
      labelNames: [...FN, 'reason'] as const,
      registers,
    }),
    deliveries: new Counter({
      name: 'lamina_async_destination_deliveries_total',
      help: 'Deliveries to onSuccess/onFailure destinations and dead-letter targets, by result.',
      labelNames: [...FN, 'purpose', 'target_kind', 'result'] as const,
      registers,
    }),
    eventAge: new Histogram({
      name: 'lamina_async_event_age_seconds',
      help: 'Time from acceptance to each attempt of an asynchronous event (Lambda AsyncEventAge).',
      labelNames: FN,
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 180, 600, 1800, 3600, 21_600],
      registers,
    }),
  };
}
