// Delivery of the Telemetry / Logs API: each subscriber's events are buffered (telemetry.ts)
// and POSTed as a JSON array to its listener in the sandbox, one batch at a time, in order.
// Events of the current Init are kept so an extension that subscribes during Init still
// receives platform.initStart and what followed, as on Lambda.
import type { Clock } from './clock.js';
import { agentLog } from './logs.js';
import {
  asLogsApiEvents,
  categoryOf,
  TelemetryBuffer,
  type Subscription,
  type TelemetryEvent,
} from './telemetry.js';

/** Events kept from the start of an Init for subscribers still to come. */
const MAX_INIT_BACKLOG = 10_000;
/** A listener that does not answer within this is skipped for the batch. */
const DELIVERY_TIMEOUT_MS = 10_000;

class Subscriber {
  private readonly buffer: TelemetryBuffer;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    readonly extensionId: string,
    readonly subscription: Subscription,
  ) {
    this.buffer = new TelemetryBuffer(subscription.buffering);
  }

  offer(event: TelemetryEvent): void {
    if (!this.subscription.types.includes(categoryOf(event.type))) return;
    const events = this.subscription.flavour === 'logs' ? asLogsApiEvents(event) : [event];
    for (const e of events) {
      if (this.buffer.push(e)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.subscription.buffering.timeoutMs);
    }
  }

  /** Sends what is buffered; resolves when every batch so far was answered (or failed). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.size === 0) return this.sending;
    const batch = this.buffer.take();
    this.sending = this.sending.then(() => this.post(batch));
    return this.sending;
  }

  private async post(batch: TelemetryEvent[]): Promise<void> {
    try {
      const res = await fetch(this.subscription.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`status ${res.status}`);
    } catch (err) {
      agentLog('warn', 'telemetry batch not delivered', {
        url: this.subscription.url,
        events: batch.length,
        error: String((err as Error)?.message ?? err),
      });
    }
  }

  close(): void {
    clearTimeout(this.timer);
  }
}

export class TelemetryHub {
  private subscribers: Subscriber[] = [];
  private initBacklog: TelemetryEvent[] | undefined;

  constructor(private readonly clock: Clock) {}

  /** True when someone listens: callers skip building records otherwise. */
  get active(): boolean {
    return this.subscribers.length > 0 || this.initBacklog !== undefined;
  }

  emit(type: string, record: unknown): void {
    if (!this.active) return;
    const event: TelemetryEvent = { time: new Date(this.clock.now()).toISOString(), type, record };
    if (this.initBacklog && this.initBacklog.length < MAX_INIT_BACKLOG) this.initBacklog.push(event);
    for (const subscriber of this.subscribers) subscriber.offer(event);
  }

  /** An Init starts: the previous environment's subscriptions end, this Init's events are kept. */
  beginInit(): void {
    for (const s of this.subscribers) s.close();
    this.subscribers = [];
    this.initBacklog = [];
  }

  endInit(): void {
    this.initBacklog = undefined;
  }

  /** Replaces the extension's subscription of this flavour; replays the current Init's events. */
  subscribe(extensionId: string, subscription: Subscription): void {
    this.subscribers = this.subscribers.filter((s) => {
      const same = s.extensionId === extensionId && s.subscription.flavour === subscription.flavour;
      if (same) s.close();
      return !same;
    });
    const subscriber = new Subscriber(extensionId, subscription);
    this.subscribers.push(subscriber);
    for (const event of this.initBacklog ?? []) subscriber.offer(event);
  }

  /** Sends every buffered event now (before SHUTDOWN, so the extension gets its last reports). */
  async flush(): Promise<void> {
    await Promise.all(this.subscribers.map((s) => s.flush()));
  }
}
