// The Kafka source adapter against a real Apache Kafka 4 broker (KRaft, built from Maven
// Central and running in the local cluster): Lambda's SelfManagedKafka event shape, order per
// partition with one batch per partition at a time, offsets committed only after success, the
// checkpoint at the lowest failed offset, OffsetLag from the group's commits, AT_TIMESTAMP, and a consumer that dies mid-stream
// of 2,000 records losing nothing, its duplicates bounded by what it had in flight.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '@platformatic/kafka';
import type { EventSourceMapping } from '../../../operator/src/api/index.js';
import {
  kafkaAdapter,
  type KafkaRecord,
  type KafkaSession,
} from '../../../operator/src/event-sources/kafka.js';
import type { SourceContext } from '../../../operator/src/event-sources/index.js';
import { createLogger, systemClock } from '../../../operator/src/shared/index.js';
import { ensureEventServers } from '../../harness/event-servers.js';

let brokers: string[] = [];
let admin: Admin;
let producer: Producer<Buffer, Buffer, Buffer, Buffer>;
const topics: string[] = [];
const sessions: KafkaSession[] = [];

type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

function mapping(topic: string, groupId: string, position: StartingPosition = 'TRIM_HORIZON', at?: string) {
  const m: EventSourceMapping = {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'EventSourceMapping',
    metadata: { name: 'kafka-test', namespace: 'default', uid: randomUUID() },
    spec: {
      functionName: 'f',
      enabled: true,
      source: { kafka: { bootstrapServers: brokers, topics: [topic], consumerGroupId: groupId } },
      startingPosition: position,
      ...(at !== undefined && { startingPositionTimestamp: at }),
    },
  };
  return m;
}

const context: SourceContext = {
  clock: systemClock,
  log: createLogger({ test: 'kafka' }, 'warn'),
  secret: () => Promise.resolve(undefined),
  heartbeatMs: 30_000,
};

async function open(
  topic: string,
  groupId: string,
  position?: StartingPosition,
  at?: string,
): Promise<KafkaSession> {
  const session = (await kafkaAdapter.open(mapping(topic, groupId, position, at), context)) as KafkaSession;
  sessions.push(session);
  return session;
}

async function createTopic(partitions: number): Promise<string> {
  const topic = `t-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  topics.push(topic);
  return topic;
}

/** Record i goes to partition i % partitions, value {"i":i}, key k<i>, header seq=<i>. */
async function produce(topic: string, from: number, count: number, partitions: number): Promise<void> {
  for (let start = from; start < from + count; start += 500) {
    const n = Math.min(500, from + count - start);
    await producer.send({
      messages: Array.from({ length: n }, (_, j) => {
        const i = start + j;
        return {
          topic,
          partition: i % partitions,
          key: Buffer.from(`k${i}`),
          value: Buffer.from(JSON.stringify({ i })),
          headers: new Map([[Buffer.from('seq'), Buffer.from(String(i))]]),
        };
      }),
    });
  }
}

const valueOf = (r: KafkaRecord): number => (JSON.parse(r.data.toString()) as { i: number }).i;

/** Polls (acking each batch when `ack`) until `count` records or 10 empty polls. */
async function drain(session: KafkaSession, count: number, ack = true): Promise<KafkaRecord[]> {
  const got: KafkaRecord[] = [];
  for (let empty = 0; got.length < count && empty < 10;) {
    const batch = await session.poll(100, 1000);
    if (batch.length === 0) empty++;
    got.push(...batch);
    if (ack && batch.length > 0) await session.ack(batch);
  }
  return got;
}

function assertOrderedPerPartition(records: readonly KafkaRecord[]): void {
  const last = new Map<string, bigint>();
  for (const r of records) {
    const previous = last.get(r.partition);
    assert.ok(
      previous === undefined || r.offset === previous + 1n,
      `${r.partition}: ${previous} then ${r.offset}`,
    );
    last.set(r.partition, r.offset);
  }
}

describe('Kafka source adapter on Apache Kafka 4 (KRaft)', () => {
  before(async () => {
    const servers = await ensureEventServers(['kafka']);
    brokers = [servers.kafkaBootstrap!];
    admin = new Admin({ clientId: 'lamina-test-admin', bootstrapBrokers: brokers });
    // Idempotent: a send retried by the client (leaders of a new topic still moving) is
    // written once, so every value is in the topic exactly once.
    producer = new Producer({
      clientId: 'lamina-test-producer',
      bootstrapBrokers: brokers,
      idempotent: true,
    });
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    if (topics.length > 0) await admin?.deleteTopics({ topics }).catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
  });

  it("hands out each partition in offset order, in Lambda's SelfManagedKafka event shape", async () => {
    const topic = await createTopic(3);
    await produce(topic, 0, 300, 3);
    const session = await open(topic, `g-${randomUUID()}`);

    const first = await session.poll(50, 10_000);
    assert.ok(first.length > 0);
    const event = session.toEvent(first);
    assert.equal(event.eventSource, 'SelfManagedKafka');
    assert.equal(event.bootstrapServers, brokers.join(','));
    for (const [key, records] of Object.entries(event.records)) {
      assert.match(key, new RegExp(`^${topic}-[0-2]$`));
      for (const [n, record] of records.entries()) {
        const i = (JSON.parse(Buffer.from(record.value!, 'base64').toString()) as { i: number }).i;
        assert.equal(`${record.topic}-${record.partition}`, key);
        assert.equal(record.partition, i % 3);
        if (n > 0) assert.equal(record.offset, records[n - 1]!.offset + 1);
        assert.equal(Buffer.from(record.key!, 'base64').toString(), `k${i}`);
        assert.deepEqual(record.headers, [{ seq: [...Buffer.from(String(i))] }]);
        assert.equal(record.timestampType, 'CREATE_TIME');
        assert.ok(record.timestamp > Date.now() - 600_000);
      }
    }
    assert.deepEqual(session.filterView(first[0]!).value, { i: valueOf(first[0]!) });
    assert.match(first[0]!.itemIdentifier, new RegExp(`^${topic}-[0-2]@\\d+$`));

    // While a partition has records in flight, nothing more of it is handed out.
    const second = await session.poll(300, 1000);
    const busy = new Set(first.map((r) => r.partition));
    assert.deepEqual(
      second.filter((r) => busy.has(r.partition)),
      [],
    );
    await session.ack([...first, ...second]);

    const all = [...first, ...second, ...(await drain(session, 300 - first.length - second.length))];
    assert.deepEqual(
      all.map(valueOf).sort((a, b) => a - b),
      Array.from({ length: 300 }, (_, i) => i),
    );
    for (const p of [0, 1, 2]) assertOrderedPerPartition(all.filter((r) => r.message.partition === p));
  });

  it('commits offsets only after ack: records handed out but not acked are read again by the group', async () => {
    const topic = await createTopic(1);
    await produce(topic, 0, 20, 1);
    const group = `g-${randomUUID()}`;

    const first = await open(topic, group);
    const batch = await first.poll(20, 10_000);
    assert.equal(batch.length, 20);
    assert.equal(
      await first.lag(),
      20,
      "OffsetLag: nothing committed, a TRIM_HORIZON group's lag is the whole log",
    );
    await first.ack(batch.slice(0, 5));
    assert.equal(await first.lag(), 15, 'OffsetLag: the latest offset minus the committed one');
    await first.close();

    const second = await open(topic, group);
    const again = await drain(second, 15, false);
    assert.deepEqual(
      again.map((r) => Number(r.offset)),
      Array.from({ length: 15 }, (_, i) => i + 5),
    );
  });

  it('checkpoints at the lowest failed offset: the failed record and everything after it come back, in order', async () => {
    const topic = await createTopic(1);
    await produce(topic, 0, 10, 1);
    const group = `g-${randomUUID()}`;
    const session = await open(topic, group);

    const batch = await session.poll(10, 10_000);
    assert.equal(batch.length, 10);
    // The function reported offset 4 as failed (ReportBatchItemFailures): the poller acks the
    // prefix and retries the suffix.
    await session.ack(batch.slice(0, 4));
    await session.retry(batch.slice(4), 1500);
    assert.deepEqual(await session.poll(10, 500), [], 'the partition waits out the retry delay');

    const retried = await session.poll(10, 5000);
    assert.deepEqual(
      retried.map((r) => Number(r.offset)),
      [4, 5, 6, 7, 8, 9],
    );
    await session.close();

    // The group's committed offset is the checkpoint: a new consumer starts at offset 4.
    const next = await open(topic, group);
    const resumed = await drain(next, 6);
    assert.deepEqual(
      resumed.map((r) => Number(r.offset)),
      [4, 5, 6, 7, 8, 9],
    );
  });

  it('AT_TIMESTAMP starts a new group at the first record at or after the timestamp', async () => {
    const topic = await createTopic(1);
    await produce(topic, 0, 5, 1);
    await new Promise((r) => setTimeout(r, 50));
    const at = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    await produce(topic, 5, 5, 1);

    const session = await open(topic, `g-${randomUUID()}`, 'AT_TIMESTAMP', at);
    const records = await drain(session, 5);
    assert.deepEqual(records.map(valueOf), [5, 6, 7, 8, 9]);
  });

  it('a consumer that dies mid-stream of 2,000 records loses none; duplicates stay within its batches in flight', async () => {
    const total = 2000;
    const partitions = 4;
    const topic = await createTopic(partitions);
    await produce(topic, 0, total, partitions);
    const group = `g-${randomUUID()}`;
    const seen = new Map<number, number>();
    const take = (records: KafkaRecord[]) => {
      for (const r of records) seen.set(valueOf(r), (seen.get(valueOf(r)) ?? 0) + 1);
    };

    // The first consumer acks a few batches, then dies with its last batches unacknowledged.
    const first = await open(topic, group);
    let acked = 0;
    while (acked < total / 3) {
      const batch = await first.poll(100, 2000);
      take(batch);
      await first.ack(batch);
      acked += batch.length;
    }
    const inFlight = [...(await first.poll(100, 2000)), ...(await first.poll(100, 2000))];
    take(inFlight);
    assert.ok(inFlight.length > 0);
    await first.close();

    const second = await open(topic, group);
    const rest = await drain(second, total);
    take(rest);
    for (let p = 0; p < partitions; p++)
      assertOrderedPerPartition(rest.filter((r) => r.message.partition === p));

    const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !seen.has(i));
    assert.deepEqual(missing, []);
    const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    assert.equal(duplicates, inFlight.length, 'exactly the unacknowledged batches were delivered again');
  });
});
