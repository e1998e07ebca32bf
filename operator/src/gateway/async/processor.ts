// The poller of asynchronous invocation: leases due events from any EventQueue, runs each
// attempt through the FunctionPort (so the function's concurrency rules apply), and applies
// Lambda's rules from decisions.ts — retry, back off, expire, deliver to destinations and
// dead-letter targets. Nothing is acked before its follow-ups are stored (at-least-once).
import { randomUUID } from 'node:crypto';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { type Clock, systemClock } from '../../shared/index.js';
import type { Logger } from '../../shared/index.js';
import {
  afterAttempt,
  type AsyncSettings,
  type AttemptOutcome,
  backoffMs,
  beforeAttempt,
  type Decision,
  LAMBDA_RETRY_POLICY,
  type RetryPolicy,
} from './decisions.js';
import { plannedDeliveries, type PlannedDelivery } from './destination-record.js';
import type { EventQueue, LeasedEvent } from './event-queue.js';
import type { FunctionPort } from './function-port.js';
import { type HttpPost, UndiciHttpPost } from './http-delivery.js';
import type { AsyncMetrics } from './metrics.js';
import { decodeWork, type DeliverWork, encodeWork, type InvokeWork, newInvokeWork } from './work.js';

export type DeadLetterReason =
  | 'RetriesExhausted'
  | 'EventAgeExceeded'
  | 'FunctionNotFound'
  | 'DestinationUnreachable'
  | 'InvalidTarget'
  | 'UnreadableEvent';

/** Told when an event failed for good: the gateway turns it into a Kubernetes Event. */
export interface DeadLetterNotice {
  namespace: string;
  functionName: string;
  requestId: string;
  reason: DeadLetterReason;
  message: string;
  /** onFailure / dead-letter targets the event was handed to, if any. */
  targets: string[];
}

export interface ProcessorOptions {
  queue: EventQueue;
  functions: FunctionPort;
  log: Logger;
  /** The backend's visibility timeout; leases of running attempts are extended at a third of it. */
  visibilityTimeoutMs: number;
  http?: HttpPost;
  clock?: Clock;
  metrics?: AsyncMetrics;
  policy?: Partial<RetryPolicy>;
  /** Attempts in flight at once, across all functions. */
  workers?: number;
  /** How long an idle worker waits before looking for due events again. */
  pollIntervalMs?: number;
  /** How long an http destination is retried before the record is parked. */
  deliveryMaxAgeMs?: number;
  random?: () => number;
  newRequestId?: () => string;
  onDeadLetter?: (notice: DeadLetterNotice) => void;
}

export class AsyncProcessor {
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  /** Created per start() unless given, closed by stop(). */
  private http: HttpPost | undefined;
  private readonly random: () => number;
  private readonly newRequestId: () => string;
  private readonly waiters = new Set<() => void>();
  private loops: Array<Promise<void>> = [];
  private stopping = false;

  constructor(private readonly opts: ProcessorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.policy = { ...LAMBDA_RETRY_POLICY, ...opts.policy };
    this.random = opts.random ?? Math.random;
    this.newRequestId = opts.newRequestId ?? randomUUID;
  }

  start(): void {
    if (this.loops.length > 0) return;
    this.stopping = false;
    this.http = this.opts.http ?? new UndiciHttpPost();
    const workers = this.opts.workers ?? 16;
    for (let i = 0; i < workers; i++) this.loops.push(this.loop());
  }

  /** Stops leasing and waits for the attempts in flight to be settled in the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.notify();
    await Promise.all(this.loops);
    this.loops = [];
    if (this.http && this.http !== this.opts.http) await this.http.close();
    this.http = undefined;
  }

  /** Wakes idle workers: an event was just enqueued in this process. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let lease: LeasedEvent | undefined;
      try {
        lease = await this.opts.queue.lease();
      } catch (err) {
        this.opts.log.error('async queue: lease failed', { error: String(err) });
      }
      if (!lease) {
        await this.idle();
        continue;
      }
      try {
        await this.handle(lease);
      } catch (err) {
        // The lease is left alone: the visibility timeout brings the event back.
        this.opts.log.error('async queue: handling an event failed', {
          eventId: lease.id,
          error: String(err),
        });
      }
      // A synchronous backend and an instant 429 resolve in microtasks only: yield, or a busy
      // worker would starve timers (lease extension) and I/O (the attempts it waits for).
      await setImmediatePromise();
    }
  }

  private idle(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimeout(wake, this.opts.pollIntervalMs ?? 1000);
      this.waiters.add(wake);
    });
  }

  private async handle(lease: LeasedEvent): Promise<void> {
    let work;
    try {
      work = decodeWork(lease.body);
    } catch (err) {
      await this.opts.queue.deadLetter(lease, `UnreadableEvent: ${(err as Error).message}`);
      this.notice(
        { namespace: '', functionName: '', requestId: lease.id },
        'UnreadableEvent',
        String(err),
        [],
      );
      return;
    }
    if (work.kind === 'deliver') await this.deliver(lease, work);
    else await this.process(lease, work);
  }

  private async process(lease: LeasedEvent, work: InvokeWork): Promise<void> {
    const { invocation } = work;
    const labels = { namespace: invocation.namespace, function: invocation.functionName };
    const settings = this.opts.functions.settings(invocation);
    let decision = beforeAttempt(work, settings, this.clock.now());
    if (decision.action === 'run' && settings) {
      this.opts.metrics?.eventAge.observe(labels, (this.clock.now() - invocation.receivedAt) / 1000);
      const outcome = await this.whileLeased(lease, () => this.opts.functions.invoke(invocation));
      this.opts.metrics?.attempts.inc({ ...labels, outcome: outcomeLabel(outcome) });
      decision = afterAttempt(work, outcome, settings, this.clock.now(), this.policy, this.random);
    }
    await this.apply(lease, work, decision, settings);
  }

  private async apply(
    lease: LeasedEvent,
    work: InvokeWork,
    decision: Decision,
    settings: AsyncSettings | undefined,
  ): Promise<void> {
    const { queue, metrics, log } = this.opts;
    const { invocation } = work;
    const labels = { namespace: invocation.namespace, function: invocation.functionName };
    switch (decision.action) {
      case 'run':
        throw new Error('unreachable: run decision after the attempt');
      case 'retry':
        await queue.requeue(lease, decision.dueAt, encodeWork(decision.work));
        metrics?.retries.inc({ ...labels, reason: snake(decision.reason) });
        return;
      case 'discard':
        await queue.deadLetter(lease, decision.reason);
        metrics?.deadLettered.inc({ ...labels, reason: decision.reason });
        this.notice(
          invocation,
          'FunctionNotFound',
          `function ${invocation.invokedFunctionArn} not found`,
          [],
        );
        return;
      case 'finish': {
        const now = this.clock.now();
        const planned = settings ? plannedDeliveries(decision, settings, now, this.newRequestId) : [];
        for (const delivery of planned) await this.store(delivery, work);
        await queue.ack(lease);
        if (decision.condition === 'Success') return;
        if (decision.condition === 'EventAgeExceeded') metrics?.expired.inc(labels);
        metrics?.deadLettered.inc({ ...labels, reason: decision.condition });
        log.warn('async event failed', {
          requestId: invocation.requestId,
          namespace: invocation.namespace,
          function: invocation.functionName,
          condition: decision.condition,
          approximateInvokeCount: decision.work.attempts,
        });
        const targets = planned.filter((p) => p.to !== 'invalid').map(targetOf);
        const message = decision.work.lastError?.message ?? decision.condition;
        this.notice(invocation, decision.condition, message, targets);
        return;
      }
    }
  }

  /** Stores one follow-up of a finished event as its own queue entry. */
  private async store(delivery: PlannedDelivery, source: InvokeWork): Promise<void> {
    const { queue, metrics, log } = this.opts;
    const labels = { namespace: source.invocation.namespace, function: source.invocation.functionName };
    const counted = { ...labels, purpose: delivery.purpose };
    if (delivery.to === 'function') {
      const work = newInvokeWork(delivery.invocation);
      await queue.enqueue({ id: delivery.invocation.requestId, body: encodeWork(work) });
      metrics?.deliveries.inc({ ...counted, target_kind: 'function', result: 'enqueued' });
      metrics?.enqueued.inc({
        namespace: delivery.invocation.namespace,
        function: delivery.invocation.functionName,
      });
    } else if (delivery.to === 'http') {
      await queue.enqueue({ id: this.newRequestId(), body: encodeWork(delivery.work) });
    } else {
      metrics?.deliveries.inc({ ...counted, target_kind: 'invalid', result: 'dropped' });
      log.error('async destination is not function:<name>[:<qualifier>] or an http(s) URL', {
        requestId: source.invocation.requestId,
        target: delivery.target,
      });
      this.notice(source.invocation, 'InvalidTarget', `invalid target ${delivery.target}`, []);
    }
  }

  private async deliver(lease: LeasedEvent, work: DeliverWork): Promise<void> {
    const { queue, metrics } = this.opts;
    const counted = {
      namespace: work.namespace,
      function: work.functionName,
      purpose: work.purpose,
      target_kind: 'http',
    };
    const http = this.http ?? (this.http = this.opts.http ?? new UndiciHttpPost());
    const result = await this.whileLeased(lease, () => http.post(work.url, work.body, work.headers));
    if (result.ok) {
      await queue.ack(lease);
      metrics?.deliveries.inc({ ...counted, result: 'delivered' });
      return;
    }
    metrics?.deliveries.inc({ ...counted, result: 'failed' });
    const now = this.clock.now();
    const failures = work.failures + 1;
    if (now - work.createdAt >= (this.opts.deliveryMaxAgeMs ?? 6 * 3600_000)) {
      await queue.deadLetter(lease, `DestinationUnreachable: ${result.message}`);
      this.notice(work, 'DestinationUnreachable', result.message, [work.url]);
      return;
    }
    const dueAt = now + backoffMs(failures, this.policy, this.random);
    await queue.requeue(lease, dueAt, encodeWork({ ...work, failures }));
  }

  /** Runs `task` while extending the lease, so a long attempt is not delivered twice. */
  private async whileLeased<T>(lease: LeasedEvent, task: () => Promise<T>): Promise<T> {
    const every = Math.max(10, Math.floor(this.opts.visibilityTimeoutMs / 3));
    let timer: { cancel(): void } | undefined;
    const schedule = () => {
      timer = this.clock.setTimeout(() => {
        this.opts.queue.extend(lease).then(schedule, (err: unknown) => {
          this.opts.log.warn('async queue: extending a lease failed', {
            eventId: lease.id,
            error: String(err),
          });
          schedule();
        });
      }, every);
    };
    schedule();
    try {
      return await task();
    } finally {
      timer?.cancel();
    }
  }

  private notice(
    source: { namespace: string; functionName: string; requestId: string },
    reason: DeadLetterReason,
    message: string,
    targets: string[],
  ): void {
    try {
      this.opts.onDeadLetter?.({
        namespace: source.namespace,
        functionName: source.functionName,
        requestId: source.requestId,
        reason,
        message,
        targets,
      });
    } catch (err) {
      this.opts.log.warn('onDeadLetter hook failed', { error: String(err) });
    }
  }
}

function outcomeLabel(outcome: AttemptOutcome): string {
  if (outcome.kind === 'response') return outcome.functionError ? 'function_error' : 'success';
  if (outcome.kind === 'functionNotFound') return 'function_not_found';
  return snake(outcome.kind);
}

function snake(value: string): string {
  return value.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function targetOf(delivery: PlannedDelivery): string {
  if (delivery.to === 'function') return delivery.invocation.invokedFunctionArn;
  if (delivery.to === 'http') return delivery.work.url;
  return delivery.target;
}
