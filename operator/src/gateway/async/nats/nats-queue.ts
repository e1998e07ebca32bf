// The scale-out EventQueue: NATS JetStream. Events live in a work-queue stream (file
// storage, optionally replicated) consumed by one durable pull consumer that every gateway
// replica shares; the consumer's ack wait is the visibility timeout. Due times travel in a
// header: an event leased before it is due is NAKed with the remaining delay, so the server
// does the waiting. Requeue with a new body publishes the new body, then acks the old
// message (a crash in between duplicates, never loses). Dead letters go to a second stream.
import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, headers, nanos, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { DeadLetter, EventQueue, LeasedEvent, NewEvent, QueueStats } from '../event-queue.js';

export interface NatsQueueOptions {
  servers: string | string[];
  visibilityTimeoutMs: number;
  /** Stream name; subjects are derived from it. Default LAMINA_ASYNC. */
  stream?: string;
  /** JetStream replicas of both streams (1 for a single server, 3 for a cluster). */
  replicas?: number;
  /** How long one lease() waits for a message when none is due (at least 1000 ms). */
  pollMs?: number;
  now?: () => number;
}

const H_ID = 'Lamina-Id';
const H_ENQUEUED = 'Lamina-Enqueued-At';
const H_DUE = 'Lamina-Due-At';
const H_REASON = 'Lamina-Reason';
const H_DEAD_AT = 'Lamina-Dead-Lettered-At';
const CONSUMER = 'lamina-async-processor';

export class NatsEventQueue implements EventQueue {
  private readonly inFlight = new Map<string, JsMsg>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly consumer: Consumer,
    private readonly names: { stream: string; subject: string; dlq: string; dlqSubject: string },
    private readonly opts: NatsQueueOptions,
    private readonly now: () => number,
  ) {}

  static async open(opts: NatsQueueOptions): Promise<NatsEventQueue> {
    const stream = opts.stream ?? 'LAMINA_ASYNC';
    const names = {
      stream,
      subject: `lamina.async.${stream}.events`,
      dlq: `${stream}_DLQ`,
      dlqSubject: `lamina.async.${stream}.dead`,
    };
    // A server not reachable yet (starting, or a NetworkPolicy not applied yet) is waited for.
    const nc = await connect({ servers: opts.servers, maxReconnectAttempts: -1, waitOnFirstConnect: true });
    try {
      const jsm = await jetstreamManager(nc);
      const replicas = opts.replicas ?? 1;
      await ensureStream(jsm, {
        name: names.stream,
        subjects: [names.subject],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        num_replicas: replicas,
        duplicate_window: nanos(120_000),
      });
      await ensureStream(jsm, {
        name: names.dlq,
        subjects: [names.dlqSubject],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: replicas,
      });
      const consumerConfig = {
        durable_name: CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(opts.visibilityTimeoutMs),
        max_deliver: -1,
        max_ack_pending: -1,
      };
      try {
        await jsm.consumers.info(names.stream, CONSUMER);
        await jsm.consumers.update(names.stream, CONSUMER, { ack_wait: consumerConfig.ack_wait });
      } catch {
        await jsm.consumers.add(names.stream, consumerConfig);
      }
      const js = jetstream(nc);
      const consumer = await js.consumers.get(names.stream, CONSUMER);
      return new NatsEventQueue(nc, js, jsm, consumer, names, opts, opts.now ?? Date.now);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async enqueue(event: NewEvent): Promise<void> {
    const now = this.now();
    const h = headers();
    h.set(H_ID, event.id);
    h.set(H_ENQUEUED, String(now));
    h.set(H_DUE, String(event.dueAt ?? now));
    // PubAck means the stream stored it; the msgID makes a repeated enqueue a no-op.
    await this.js.publish(this.names.subject, event.body, { msgID: event.id, headers: h });
  }

  async lease(): Promise<LeasedEvent | undefined> {
    const deadline = Date.now() + Math.max(1000, this.opts.pollMs ?? 1000);
    while (Date.now() < deadline) {
      const msg = await this.consumer.next({ expires: Math.max(1000, deadline - Date.now()) });
      if (!msg) return undefined;
      const dueAt = Number(msg.headers?.get(H_DUE) ?? 0);
      const wait = dueAt - this.now();
      if (wait > 0) {
        msg.nak(wait);
        continue;
      }
      const receipt = randomUUID();
      this.inFlight.set(receipt, msg);
      return {
        id: msg.headers?.get(H_ID) ?? String(msg.seq),
        body: Buffer.from(msg.data),
        enqueuedAt: Number(msg.headers?.get(H_ENQUEUED) ?? msg.info.timestampNanos / 1e6),
        deliveryCount: msg.info.deliveryCount,
        receipt,
      };
    }
    return undefined;
  }

  async extend(lease: LeasedEvent): Promise<void> {
    this.inFlight.get(lease.receipt)?.working();
  }

  async ack(lease: LeasedEvent): Promise<void> {
    const msg = this.take(lease);
    if (msg) await msg.ackAck();
  }

  async requeue(lease: LeasedEvent, dueAt: number, body?: Buffer): Promise<void> {
    const msg = this.take(lease);
    if (!msg) return;
    if (body === undefined) {
      msg.nak(Math.max(0, dueAt - this.now()));
      return;
    }
    const h = copyHeaders(msg.headers);
    h.set(H_DUE, String(dueAt));
    await this.js.publish(this.names.subject, body, { headers: h });
    await msg.ackAck();
  }

  async deadLetter(lease: LeasedEvent, reason: string): Promise<void> {
    const msg = this.take(lease);
    if (!msg) return;
    const h = copyHeaders(msg.headers);
    h.set(H_REASON, reason.replace(/[\r\n]+/g, ' '));
    h.set(H_DEAD_AT, String(this.now()));
    await this.js.publish(this.names.dlqSubject, msg.data, { headers: h });
    await msg.ackAck();
  }

  async stats(): Promise<QueueStats> {
    const [info, dlq] = await Promise.all([
      this.jsm.streams.info(this.names.stream),
      this.jsm.streams.info(this.names.dlq),
    ]);
    const { state } = info;
    let oldestEnqueuedAt: number | undefined;
    if (state.messages > 0) {
      // The first stored message: its original enqueue time, else when the stream took it.
      const first = await this.jsm.streams
        .getMessage(this.names.stream, { seq: state.first_seq })
        .catch(() => null);
      const header = first?.header.get(H_ENQUEUED);
      oldestEnqueuedAt = header ? Number(header) : Date.parse(state.first_ts);
    }
    return {
      depth: state.messages,
      ...(oldestEnqueuedAt !== undefined ? { oldestEnqueuedAt } : {}),
      deadLettered: dlq.state.messages,
    };
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const { state } = await this.jsm.streams.info(this.names.dlq);
    const out: DeadLetter[] = [];
    for (let seq = state.last_seq; seq >= state.first_seq && seq > 0 && out.length < limit; seq--) {
      const m = await this.jsm.streams.getMessage(this.names.dlq, { seq });
      if (!m) continue;
      out.push({
        id: m.header.get(H_ID),
        body: Buffer.from(m.data),
        reason: m.header.get(H_REASON),
        deadLetteredAt: Number(m.header.get(H_DEAD_AT)),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.inFlight.clear();
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  private take(lease: LeasedEvent): JsMsg | undefined {
    const msg = this.inFlight.get(lease.receipt);
    this.inFlight.delete(lease.receipt);
    return msg;
  }
}

function copyHeaders(from: MsgHdrs | undefined): MsgHdrs {
  const h = headers();
  for (const key of [H_ID, H_ENQUEUED, H_DUE]) {
    const value = from?.get(key);
    if (value) h.set(key, value);
  }
  return h;
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager['streams']['add']>[0],
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config);
  }
}
