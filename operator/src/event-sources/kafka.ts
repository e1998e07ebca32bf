// The Kafka source: one topic read by a consumer group (the mapping's uid unless the spec
// names one) as Lambda's self-managed Apache Kafka source reads it. Records are buffered per
// partition and handed out in offset order, one batch per partition at a time; ack() commits
// the group's offset past the highest acked record (after success, never before); retry() puts
// records back at the head of their partition, which waits out the delay. Nothing is skipped:
// a partition's next batch starts at its lowest unsettled offset. A consumer that dies leaves
// its partitions to the group, which resumes them at the last committed offset.
import { Admin, Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import type { EventSourceMapping } from '../api/index.js';
import type { Clock } from '../shared/index.js';
import {
  kafkaFilterView,
  partitionKey,
  selfManagedKafkaEvent,
  type KafkaMessage,
  type SelfManagedKafkaEvent,
} from './kafka-event.js';
import type { SourceAdapter, SourceContext, SourceRecord, SourceSession } from './source.js';

export interface KafkaRecord extends SourceRecord {
  partition: string;
  offset: bigint;
  message: KafkaMessage;
}

/** Buffered records across partitions above which fetching pauses (and resumes at half). */
const BUFFER_HIGH_WATER = 5000;

interface PartitionState {
  topic: string;
  index: number;
  /** Fetched, not handed out, in offset order. */
  buffer: KafkaRecord[];
  /** Handed out, not settled. */
  inFlight: number;
  /** The next offset expected from the fetcher; lower ones are refetches after a rebalance. */
  next: bigint;
  /** Retried records wait until then (ms since the epoch). */
  notBefore: number;
}

type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

/** Leaves the group at once (force: no waiting for in-flight fetches); never throws. */
const closeConsumer = (consumer: Consumer<Buffer, Buffer, Buffer, Buffer>): Promise<void> =>
  new Promise((resolve) => consumer.close(true, () => resolve()));

export function toKafkaRecord(message: KafkaMessage): KafkaRecord {
  return {
    // The partition and offset name a record in batchItemFailures whatever the batch holds.
    itemIdentifier: `${partitionKey(message.topic, message.partition)}@${message.offset}`,
    partition: partitionKey(message.topic, message.partition),
    offset: message.offset,
    data: message.value ?? Buffer.alloc(0),
    timestamp: message.timestamp,
    deliveryCount: 1,
    message,
  };
}

/**
 * Lambda's OffsetLag: the sum over partitions of the latest offset minus the group's committed
 * offset. A partition the group never committed (committed < 0 or absent) counts from where
 * the group starts reading it (`start`: the first offset for TRIM_HORIZON, the latest for
 * LATEST).
 */
export function offsetLag(
  latest: readonly bigint[],
  committed: readonly (bigint | undefined)[],
  start: readonly bigint[],
): number {
  let total = 0n;
  for (const [i, end] of latest.entries()) {
    const from = committed[i] !== undefined && committed[i] >= 0n ? committed[i] : (start[i] ?? end);
    if (end > from) total += end - from;
  }
  return Number(total);
}

/**
 * Per-partition buffers and in-flight accounting: which records poll() may hand out now.
 * Pure apart from the clock; the session feeds it what the consumer fetched.
 */
export class PartitionBuffers {
  readonly partitions = new Map<string, PartitionState>();
  #buffered = 0;
  #cursor = 0;

  constructor(private readonly clock: Clock) {}

  get buffered(): number {
    return this.#buffered;
  }

  /** A fetched record; false when it was a refetch of one already here or handed out. */
  add(message: KafkaMessage): boolean {
    const key = partitionKey(message.topic, message.partition);
    let state = this.partitions.get(key);
    if (!state) {
      state = {
        topic: message.topic,
        index: message.partition,
        buffer: [],
        inFlight: 0,
        next: -1n,
        notBefore: 0,
      };
      this.partitions.set(key, state);
    }
    if (state.next >= 0n && message.offset < state.next) return false;
    state.next = message.offset + 1n;
    state.buffer.push(toKafkaRecord(message));
    this.#buffered++;
    return true;
  }

  /** Up to `max` records of partitions with nothing in flight and no retry delay pending. */
  take(max: number): KafkaRecord[] {
    const out: KafkaRecord[] = [];
    const states = [...this.partitions.values()];
    const now = this.clock.now();
    // Round robin over partitions, so a busy one cannot starve the others.
    for (let i = 0; i < states.length && out.length < max; i++) {
      const state = states[(this.#cursor + i) % states.length]!;
      if (state.inFlight > 0 || state.buffer.length === 0 || state.notBefore > now) continue;
      const taken = state.buffer.splice(0, max - out.length);
      state.inFlight += taken.length;
      this.#buffered -= taken.length;
      out.push(...taken);
    }
    this.#cursor = states.length > 0 ? (this.#cursor + 1) % states.length : 0;
    return out;
  }

  /** When the earliest delayed partition with records becomes ready, if any is delayed. */
  nextReadyAt(): number | undefined {
    let at: number | undefined;
    for (const s of this.partitions.values())
      if (s.inFlight === 0 && s.buffer.length > 0 && s.notBefore > this.clock.now())
        at = Math.min(at ?? Infinity, s.notBefore);
    return at;
  }

  /** Settled for good: out of flight. Returns the commit offset per partition (highest + 1). */
  settle(records: readonly KafkaRecord[]): Map<string, { topic: string; partition: number; offset: bigint }> {
    const commits = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const r of records) {
      const state = this.partitions.get(r.partition);
      if (state) state.inFlight = Math.max(0, state.inFlight - 1);
      const current = commits.get(r.partition);
      if (!current || r.offset + 1n > current.offset)
        commits.set(r.partition, {
          topic: r.message.topic,
          partition: r.message.partition,
          offset: r.offset + 1n,
        });
    }
    return commits;
  }

  /** Back to the head of their partitions, handed out again from `notBefore` on. */
  requeue(records: readonly KafkaRecord[], notBefore: number): void {
    const byPartition = new Map<string, KafkaRecord[]>();
    for (const r of records)
      (byPartition.get(r.partition) ?? byPartition.set(r.partition, []).get(r.partition)!).push(r);
    for (const [key, list] of byPartition) {
      const state = this.partitions.get(key);
      if (!state) continue; // revoked meanwhile: the partition's new owner reads them
      state.inFlight = Math.max(0, state.inFlight - list.length);
      const held = new Set(state.buffer.map((r) => r.offset));
      const back = list.filter((r) => !held.has(r.offset)).sort((a, b) => (a.offset < b.offset ? -1 : 1));
      state.buffer.unshift(...back);
      this.#buffered += back.length;
      state.notBefore = Math.max(state.notBefore, notBefore);
    }
  }

  /** Keeps only the partitions still assigned (after a rebalance); returns the dropped keys. */
  retain(assigned: ReadonlySet<string>): string[] {
    const dropped: string[] = [];
    for (const [key, state] of this.partitions) {
      if (assigned.has(key)) continue;
      this.#buffered -= state.buffer.length;
      this.partitions.delete(key);
      dropped.push(key);
    }
    return dropped;
  }
}

export class KafkaSession implements SourceSession<KafkaRecord> {
  readonly ordered = true;
  readonly #buffers: PartitionBuffers;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #closed = false;
  #paused = false;

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly stream: Stream,
    private readonly topic: string,
    private readonly bootstrapServers: readonly string[],
    private readonly context: SourceContext,
    /** Partitions the group never committed are read from their first offset (TRIM_HORIZON). */
    private readonly fromEarliest = false,
  ) {
    this.#buffers = new PartitionBuffers(context.clock);
    stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
      const message: KafkaMessage = {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        timestamp: Number(m.timestamp),
        ...(m.key !== undefined && m.key !== null && { key: m.key }),
        ...(m.value !== undefined && m.value !== null && { value: m.value }),
        headers: [...m.headers.entries()].filter((h): h is [Buffer, Buffer] => !!h[0] && !!h[1]),
      };
      if (this.#buffers.add(message)) {
        if (this.#buffers.buffered >= BUFFER_HIGH_WATER && !this.#paused) {
          this.#paused = true;
          stream.pause();
        }
        this.#notify();
      }
    });
    stream.on('error', (err: Error) => {
      this.#failure = err;
      this.#notify();
    });
    consumer.on('consumer:group:join', ({ assignments }) => {
      const assigned = new Set<string>();
      for (const a of assignments ?? []) for (const p of a.partitions) assigned.add(partitionKey(a.topic, p));
      const dropped = this.#buffers.retain(assigned);
      if (dropped.length > 0) context.log.info('kafka partitions revoked', { partitions: dropped });
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #resumeIfDrained(): void {
    if (this.#paused && this.#buffers.buffered < BUFFER_HIGH_WATER / 2) {
      this.#paused = false;
      this.stream.resume();
    }
  }

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<KafkaRecord[]> {
    const deadline = this.context.clock.now() + waitMs;
    for (;;) {
      if (this.#failure) throw this.#failure;
      const records = this.#buffers.take(max);
      if (records.length > 0 || this.#closed || signal?.aborted) {
        this.#resumeIfDrained();
        return records;
      }
      const now = this.context.clock.now();
      if (now >= deadline) return [];
      const until = Math.min(deadline, this.#buffers.nextReadyAt() ?? deadline);
      await new Promise<void>((resolve) => {
        const timer = this.context.clock.setTimeout(done, Math.max(0, until - now));
        const onAbort = () => done();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#wake = done;
        function done() {
          timer.cancel();
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
    }
  }

  async ack(records: readonly KafkaRecord[]): Promise<void> {
    const commits = this.#buffers.settle(records);
    this.#resumeIfDrained();
    if (commits.size === 0) return;
    try {
      await this.consumer.commit({ offsets: [...commits.values()].map((c) => ({ ...c, leaderEpoch: -1 })) });
    } catch (err) {
      // Not committed: the records are handed out again (if the partition is still ours;
      // otherwise its new owner reads them from the last committed offset).
      this.#buffers.requeue(records, 0);
      this.#notify();
      throw err;
    }
  }

  retry(records: readonly KafkaRecord[], delayMs: number): Promise<void> {
    this.#buffers.requeue(records, this.context.clock.now() + delayMs);
    this.#notify();
    return Promise.resolve();
  }

  toEvent(records: readonly KafkaRecord[]): SelfManagedKafkaEvent {
    return selfManagedKafkaEvent(
      records.map((r) => r.message),
      this.bootstrapServers,
    );
  }

  filterView(record: KafkaRecord): Record<string, unknown> {
    return kafkaFilterView(record.message);
  }

  /**
   * Lambda's OffsetLag, from the broker: the latest offsets of the topic's partitions and the
   * group's committed offsets (what a restarted poller would resume from), not this consumer's
   * fetch position.
   */
  async lag(): Promise<number | undefined> {
    const latest = (await this.consumer.listOffsets({ topics: [this.topic] })).get(this.topic) ?? [];
    const partitions = latest.map((_, i) => i);
    const committed = (
      await this.consumer.listCommittedOffsets({ topics: [{ topic: this.topic, partitions }] })
    ).get(this.topic);
    const start = this.fromEarliest
      ? ((await this.consumer.listOffsets({ topics: [this.topic], timestamp: -2n })).get(this.topic) ?? [])
      : latest;
    return offsetLag(latest, committed ?? [], start);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#notify();
    await this.stream.close().catch(() => undefined);
    await closeConsumer(this.consumer);
  }
}

/**
 * AT_TIMESTAMP: a group without committed offsets for the topic starts at the first offset of
 * each partition at or after the timestamp (Kafka's ListOffsets by time), set before joining.
 */
async function seedOffsetsAtTimestamp(
  brokers: string[],
  groupId: string,
  topic: string,
  timestamp: number,
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
): Promise<void> {
  const admin = new Admin({ clientId: `lamina-esm-admin-${groupId}`, bootstrapBrokers: brokers });
  try {
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const committed = group?.topics
      .find((t) => t.name === topic)
      ?.partitions.some((p) => p.committedOffset >= 0n);
    if (committed) return;
    const offsets = await consumer.listOffsets({ topics: [topic], timestamp: BigInt(timestamp) });
    const latest = await consumer.listOffsets({ topics: [topic] });
    const perPartition = offsets.get(topic) ?? [];
    await admin.alterConsumerGroupOffsets({
      groupId,
      topics: [
        {
          name: topic,
          // No record at or after the timestamp (-1): start at the end, like LATEST.
          partitionOffsets: perPartition.map((offset, partition) => ({
            partition,
            offset: offset >= 0n ? offset : (latest.get(topic)?.[partition] ?? 0n),
          })),
        },
      ],
    });
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export const kafkaAdapter: SourceAdapter<KafkaRecord> = {
  kind: 'kafka',
  async open(mapping: EventSourceMapping, context: SourceContext): Promise<KafkaSession> {
    const source = mapping.spec.source.kafka;
    if (!source) throw new Error('the mapping has no kafka source');
    const topic = source.topics[0]!;
    const groupId =
      source.consumerGroupId ??
      mapping.metadata.uid ??
      `${mapping.metadata.namespace}.${mapping.metadata.name}`;
    const consumer = new Consumer({
      clientId: `lamina-esm-${mapping.metadata.name}`,
      groupId,
      bootstrapBrokers: source.bootstrapServers,
      // Lambda's consumers leave a group after 30 s without heartbeats (a dead poller).
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      autocommit: false,
    });
    try {
      if (mapping.spec.startingPosition === 'AT_TIMESTAMP' && mapping.spec.startingPositionTimestamp)
        await seedOffsetsAtTimestamp(
          source.bootstrapServers,
          groupId,
          topic,
          Date.parse(mapping.spec.startingPositionTimestamp),
          consumer,
        );
      const stream = await consumer.consume({
        topics: [topic],
        autocommit: false,
        mode: 'committed',
        fallbackMode: mapping.spec.startingPosition === 'TRIM_HORIZON' ? 'earliest' : 'latest',
      });
      return new KafkaSession(
        consumer,
        stream,
        topic,
        source.bootstrapServers,
        context,
        mapping.spec.startingPosition === 'TRIM_HORIZON',
      );
    } catch (err) {
      await closeConsumer(consumer);
      throw err;
    }
  },
};
