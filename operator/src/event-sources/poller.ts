// One mapping's poller: gathers batches from its source session, drops what the filters
// reject, invokes the function through the gateway and settles every record as decisions.ts
// says. Workers run side by side (queues: up to MaximumConcurrency; streams: the adapter
// hands each partition to one worker at a time). Nothing here speaks a source's protocol.
import { randomUUID } from 'node:crypto';
import type { EventSourceMapping } from '../api/index.js';
import type { Clock, Logger } from '../shared/index.js';
import {
  type BatchSettings,
  batchReady,
  batchSettings,
  type InvokeOutcome,
  onFailureRecord,
  POLLER_RETRY_POLICY,
  settle,
  splitExpired,
} from './decisions.js';
import { type FilterPattern, matchesAny, parsePattern } from './filter-pattern.js';
import type { FunctionInvoker, InvokeTarget } from './invoke-client.js';
import { noPollerMetrics, type PollerMetrics } from './metrics.js';
import type { SourceRecord, SourceSession } from './source.js';

export interface PollerOptions {
  mapping: EventSourceMapping;
  session: SourceSession;
  invoker: FunctionInvoker;
  clock: Clock;
  log: Logger;
  region: string;
  /** The session's in-flight timeout: heartbeat() runs every half of it during an invoke. */
  heartbeatMs: number;
  /** Sends a record to the on-failure destination; resolves when it is delivered. */
  deliverFailure(destination: string, record: Record<string, unknown>): Promise<void>;
  /** Reports Lambda's LastProcessingResult (called on changes only). */
  report(result: string): void;
  /** Record counts and invoke durations of this mapping. */
  metrics?: PollerMetrics;
  /** How often the source's lag is measured for the metrics (default 15 s). */
  lagIntervalMs?: number;
}

const POLL_WAIT_MS = 1000;
const LAG_INTERVAL_MS = 15_000;
const DEFAULT_QUEUE_CONCURRENCY = 5;

export class MappingPoller {
  private readonly settings: BatchSettings;
  private readonly patterns: FilterPattern[];
  private readonly target: InvokeTarget;
  private readonly abort = new AbortController();
  private readonly attempts = new Map<string, number>();
  private workers: Promise<void>[] = [];
  private lastResult = '';
  private readonly metrics: PollerMetrics;

  constructor(private readonly o: PollerOptions) {
    this.metrics = o.metrics ?? noPollerMetrics;
    const { spec, metadata } = o.mapping;
    this.settings = batchSettings(spec);
    this.patterns = (spec.filterCriteria?.filters ?? []).map((f) => parsePattern(f.pattern));
    const [name = spec.functionName, qualifier] = spec.functionName.split(':');
    this.target = { namespace: metadata.namespace ?? 'default', name, ...(qualifier && { qualifier }) };
  }

  start(): void {
    const { spec } = this.o.mapping;
    const count = this.o.session.ordered
      ? (spec.parallelizationFactor ?? 1)
      : (spec.scalingConfig?.maximumConcurrency ?? DEFAULT_QUEUE_CONCURRENCY);
    for (let i = 0; i < count; i++) this.workers.push(this.work());
    if (this.o.session.lag) this.workers.push(this.measureLag());
  }

  /** Stops polling; in-flight batches finish settling first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.workers);
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async work(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const batch = await this.gather();
        if (batch.length > 0) await this.process(batch);
        failures = 0;
      } catch (err) {
        failures++;
        this.result(`PROBLEM: ${(err as Error).message}`);
        this.o.log.warn('event source poll failed', { error: String(err), failures });
        await this.sleep(Math.min(1000 * 2 ** failures, 30_000));
      }
    }
  }

  /** The source's lag into the metrics, now and every lagIntervalMs; a failed measurement is skipped. */
  private async measureLag(): Promise<void> {
    // stop() does not wait for a measurement in flight (a source that does not answer).
    const stopped = new Promise<undefined>((resolve) =>
      this.abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
    );
    while (!this.stopped) {
      try {
        const lag = await Promise.race([this.o.session.lag?.(), stopped]);
        if (lag !== undefined && !this.stopped) this.metrics.lag(lag);
      } catch (err) {
        this.o.log.debug('event source lag not measured', { error: String(err) });
      }
      await this.sleep(this.o.lagIntervalMs ?? LAG_INTERVAL_MS);
    }
  }

  /** Records until the batch is full, at the payload limit, or its window elapsed. */
  private async gather(): Promise<SourceRecord[]> {
    const batch: SourceRecord[] = [];
    let bytes = 0;
    let firstAt = 0;
    for (;;) {
      const now = this.o.clock.now();
      if (batchReady({ count: batch.length, bytes, firstAt }, this.settings, now) || this.stopped)
        return batch;
      const wait = batch.length === 0 ? POLL_WAIT_MS : Math.max(0, firstAt + this.settings.windowMs - now);
      const records = await this.o.session.poll(
        this.settings.batchSize - batch.length,
        wait,
        this.abort.signal,
      );
      if (records.length > 0) this.metrics.polled(records.length);
      if (records.length === 0 && batch.length === 0) continue;
      if (batch.length === 0) firstAt = now;
      for (const r of records) {
        batch.push(r);
        bytes += r.data.length;
      }
      if (records.length === 0) return batch; // window over
    }
  }

  private async process(records: SourceRecord[]): Promise<void> {
    const keep = records.filter((r) => matchesAny(this.patterns, this.o.session.filterView(r)));
    const dropped = records.filter((r) => !keep.includes(r));
    if (dropped.length > 0) {
      this.metrics.filteredOut(dropped.length);
      await this.o.session.ack(dropped);
    }
    const { expired, live } = splitExpired(keep, this.settings, this.o.clock.now());
    if (expired.length > 0) await this.fail(expired, 'RecordAgeExceeded');
    if (live.length > 0) await this.invokeBatch(live, 0);
  }

  private async invokeBatch(records: SourceRecord[], backoffs: number): Promise<void> {
    const keyOf = (r: SourceRecord) => `${r.partition ?? ''}@${r.itemIdentifier}`;
    const attempts = Math.max(...records.map((r) => this.attempts.get(keyOf(r)) ?? 0)) + 1;
    const event = Buffer.from(JSON.stringify(this.o.session.toEvent(records)));
    const beat = this.o.session.heartbeat
      ? setInterval(
          () => void this.o.session.heartbeat?.(records).catch(() => undefined),
          this.o.heartbeatMs / 2,
        )
      : undefined;
    const startedAt = this.o.clock.now();
    const outcome = await this.o.invoker.invoke(this.target, event).finally(() => clearInterval(beat));
    this.metrics.invoked(records.length, outcome.kind === 'success', (this.o.clock.now() - startedAt) / 1000);
    const s = settle(records, outcome, {
      ordered: this.o.session.ordered,
      settings: this.settings,
      attempts,
      backoffs,
      policy: POLLER_RETRY_POLICY,
    });
    if (s.bisect) {
      for (const half of s.bisect) await this.invokeBatch(half, 0);
      return;
    }
    this.result(resultOf(outcome));
    if (s.counts) for (const r of s.retry) this.attempts.set(keyOf(r), attempts);
    for (const r of [...s.ack, ...s.fail]) this.attempts.delete(keyOf(r));
    if (s.ack.length > 0) await this.o.session.ack(s.ack);
    if (s.fail.length > 0)
      await this.fail(s.fail, s.condition ?? 'RetryAttemptsExhausted', outcome, attempts);
    if (s.retry.length > 0) {
      if (outcome.kind === 'throttled' || outcome.kind === 'systemError') {
        // Throttles wait here and go again with the same batch: no record leaves the poller.
        await this.sleep(s.retryDelayMs);
        if (!this.stopped) return this.invokeBatch(s.retry, backoffs + 1);
        await this.o.session.retry(s.retry, 0);
        return;
      }
      await this.o.session.retry(s.retry, s.retryDelayMs);
    }
  }

  /** On-failure destination (when there is one), then ack: the stream moves past them. */
  private async fail(
    records: SourceRecord[],
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded',
    outcome?: InvokeOutcome,
    attempts = 0,
  ): Promise<void> {
    const destination = this.o.mapping.spec.destinationConfig?.onFailure?.destination;
    if (!destination) this.metrics.dropped(records.length, false);
    if (destination) {
      const { namespace, name, qualifier } = this.target;
      const record = onFailureRecord({
        infoKey: infoKeyOf(this.o.mapping),
        records,
        condition,
        requestId: randomUUID(),
        functionArn: `arn:aws:lambda:${this.o.region}:${namespace}:function:${name}${qualifier ? `:${qualifier}` : ''}`,
        approximateInvokeCount: attempts,
        now: this.o.clock.now(),
        ...(outcome?.kind === 'functionError' && {
          response: { statusCode: outcome.statusCode, functionError: outcome.functionError },
        }),
        source: sourceInfo(this.o.mapping),
      });
      // Delivered before the stream moves past the records; until then they stay here.
      for (let tries = 1; ; tries++) {
        try {
          await this.o.deliverFailure(destination, record);
          this.metrics.dropped(records.length, true);
          break;
        } catch (err) {
          this.result(`PROBLEM: ${(err as Error).message}`);
          if (this.stopped) return this.o.session.retry(records, 0);
          await this.sleep(Math.min(1000 * 2 ** tries, 60_000));
        }
      }
    }
    await this.o.session.ack(records);
  }

  private result(text: string): void {
    if (text === this.lastResult) return;
    this.lastResult = text;
    this.o.report(text);
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => {
        timer.cancel();
        resolve();
      };
      const timer = this.o.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function resultOf(outcome: InvokeOutcome): string {
  switch (outcome.kind) {
    case 'success':
      return 'OK';
    case 'functionError':
      return 'PROBLEM: Function call failed';
    case 'throttled':
      return 'PROBLEM: Function call throttled';
    case 'systemError':
      return `PROBLEM: ${outcome.message}`.slice(0, 1000);
  }
}

function infoKeyOf(mapping: EventSourceMapping): string {
  const { kafka, sqs, nats } = mapping.spec.source;
  return kafka ? 'KafkaBatchInfo' : sqs ? 'SQSBatchInfo' : nats ? 'NATSBatchInfo' : 'BatchInfo';
}

function sourceInfo(mapping: EventSourceMapping): Record<string, unknown> {
  const { kafka, nats } = mapping.spec.source;
  if (kafka) return { topic: kafka.topics[0], bootstrapServers: kafka.bootstrapServers.join(',') };
  if (nats) return { stream: nats.stream, ...(nats.subject && { subject: nats.subject }) };
  return {};
}
