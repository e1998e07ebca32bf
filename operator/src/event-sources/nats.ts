// NATS JetStream as an ordered source: one durable pull consumer per mapping (spec.consumer,
// default lamina-esm-<uid>), explicit acks after the function succeeded, retried records held
// in order (working() meanwhile) and handed out again first, AckWait as the in-flight timeout
// and MaxDeliver from MaximumRetryAttempts. The stream is one partition: while a batch is in
// flight nothing more is fetched, so records reach the function in stream order.
//
// Each record in the event (Lamina's shape, modelled on Kinesis'):
//   { eventSource: "lamina:nats", eventSourceArn, eventID: "<stream>:<seq>", stream, subject,
//     sequence, timestamp, deliveryCount, headers: { name: [values] }, data: "<base64>" }
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
  type Consumer,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { EventSourceMapping } from '../api/index.js';
import { payloadView } from './filter-pattern.js';
import type { SourceAdapter, SourceContext, SourceRecord, SourceSession } from './source.js';

export interface NatsRecord extends SourceRecord {
  msg: JsMsg;
  subject: string;
}

export const natsSource: SourceAdapter<NatsRecord> = {
  kind: 'nats',
  open: (mapping, context) => NatsSession.open(mapping, context),
};

/** The consumer a mapping reads through. */
export const natsConsumerName = (mapping: EventSourceMapping) =>
  mapping.spec.source.nats?.consumer ?? `lamina-esm-${mapping.metadata.uid ?? mapping.metadata.name}`;

export class NatsSession implements SourceSession<NatsRecord> {
  readonly ordered = true;
  private inFlight = 0;
  private retrying: { records: NatsRecord[]; dueAt: number } | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly consumer: Consumer,
    private readonly stream: string,
    private readonly arn: string,
  ) {}

  static async open(mapping: EventSourceMapping, context: SourceContext): Promise<NatsSession> {
    const source = mapping.spec.source.nats;
    if (!source) throw new Error('not a nats mapping');
    const nc = await connect({ servers: source.url, maxReconnectAttempts: -1 });
    try {
      const jsm = await jetstreamManager(nc);
      const name = natsConsumerName(mapping);
      const retries = mapping.spec.maximumRetryAttempts ?? -1;
      const config: Partial<ConsumerConfig> = {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(context.heartbeatMs),
        max_deliver: retries < 0 ? -1 : retries + 2, // one more than the poller needs, so it decides
        ...(source.subject && { filter_subject: source.subject }),
        ...startingPosition(mapping),
      };
      const existing = await jsm.consumers.info(source.stream, name).catch(() => undefined);
      if (existing) {
        // The position is the consumer's; only what may change without losing it is updated.
        await jsm.consumers.update(source.stream, name, {
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
        });
      } else {
        await jsm.consumers.add(source.stream, config);
      }
      const consumer = await jetstream(nc).consumers.get(source.stream, name);
      const arn = `${source.url}/${source.stream}${source.subject ? `/${source.subject}` : ''}`;
      return new NatsSession(nc, consumer, source.stream, arn);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<NatsRecord[]> {
    if (this.retrying && this.inFlight === 0) return this.redeliver(max, waitMs, signal);
    if (this.inFlight > 0 || waitMs < 1000) {
      // One batch of the stream at a time; a short wait only closes the window.
      if (this.inFlight > 0) await abortableSleep(Math.max(waitMs, 100), signal);
      return [];
    }
    // The first message within the wait, then as many more as are already pending (a fetch
    // for more than the stream holds would wait out its whole expiry).
    const first = await this.consumer.next({ expires: waitMs });
    if (!first) return [];
    const messages: JsMsg[] = [first];
    const pending =
      max > 1 ? ((await this.consumer.info(false).catch(() => undefined))?.num_pending ?? 0) : 0;
    const more = Math.min(max - 1, pending);
    if (more > 0 && !signal?.aborted) {
      for await (const msg of await this.consumer.fetch({ max_messages: more, expires: 5000 })) {
        messages.push(msg);
        if (messages.length > more) break;
      }
    }
    const records: NatsRecord[] = [];
    for (const msg of messages) {
      records.push({
        msg,
        subject: msg.subject,
        itemIdentifier: String(msg.seq),
        partition: this.stream,
        offset: BigInt(msg.seq),
        data: Buffer.from(msg.data),
        timestamp: Math.floor(msg.info.timestampNanos / 1e6),
        deliveryCount: msg.info.deliveryCount,
      });
    }
    this.inFlight += records.length;
    return records;
  }

  async ack(records: readonly NatsRecord[]): Promise<void> {
    for (const r of records) {
      await r.msg.ackAck();
      this.inFlight--;
    }
  }

  /**
   * Retried records stay here, in stream order, and come back first once the delay is over
   * (a nak per message could return them out of order). `working()` keeps the server from
   * redelivering them meanwhile; if this process dies, AckWait brings them back.
   */
  async retry(records: readonly NatsRecord[], delayMs: number): Promise<void> {
    const sorted = [...records].sort((a, b) => Number((a.offset ?? 0n) - (b.offset ?? 0n)));
    for (const r of sorted) r.msg.working();
    this.inFlight -= records.length;
    this.retrying = { records: [...sorted, ...(this.retrying?.records ?? [])], dueAt: Date.now() + delayMs };
  }

  private async redeliver(max: number, waitMs: number, signal?: AbortSignal): Promise<NatsRecord[]> {
    const retrying = this.retrying!;
    const wait = retrying.dueAt - Date.now();
    if (wait > 0) {
      for (const r of retrying.records) r.msg.working();
      await abortableSleep(Math.min(wait, Math.max(waitMs, 100)), signal);
      return [];
    }
    const out = retrying.records.splice(0, max).map((r) => ({ ...r, deliveryCount: r.deliveryCount + 1 }));
    if (retrying.records.length === 0) this.retrying = undefined;
    this.inFlight += out.length;
    return out;
  }

  async heartbeat(records: readonly NatsRecord[]): Promise<void> {
    for (const r of records) r.msg.working();
  }

  toEvent(records: readonly NatsRecord[]): unknown {
    return { Records: records.map((r) => this.eventRecord(r, r.data.toString('base64'))) };
  }

  filterView(record: NatsRecord): Record<string, unknown> {
    return this.eventRecord(record, payloadView(record.data));
  }

  private eventRecord(r: NatsRecord, data: unknown): Record<string, unknown> {
    const headers: Record<string, string[]> = {};
    for (const [key, values] of r.msg.headers ?? []) headers[key] = values;
    return {
      eventSource: 'lamina:nats',
      eventSourceArn: this.arn,
      eventID: `${this.stream}:${r.itemIdentifier}`,
      stream: this.stream,
      subject: r.subject,
      sequence: Number(r.offset),
      timestamp: new Date(r.timestamp).toISOString(),
      deliveryCount: r.deliveryCount,
      headers,
      data,
    };
  }

  async lag(): Promise<number | undefined> {
    const info = await this.consumer.info(false).catch(() => undefined);
    return info?.num_pending;
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

function startingPosition(mapping: EventSourceMapping): Partial<ConsumerConfig> {
  switch (mapping.spec.startingPosition) {
    case 'LATEST':
      return { deliver_policy: DeliverPolicy.New };
    case 'AT_TIMESTAMP':
      return {
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: mapping.spec.startingPositionTimestamp ?? new Date().toISOString(),
      };
    default:
      return { deliver_policy: DeliverPolicy.All };
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
