// Records/s from Kafka through one function, beside the physical ceiling measured in the same
// run: a plain consumer on this machine reading the same topic from the same broker. Through
// the function, the installed operator's poller reads the topic in a consumer group of its own,
// invokes the function through the gateway with each batch and commits after success; the rate
// is the group's committed offsets over time, from the first commit to the last (the consumer's
// join and the function's cold start are left out, as the plain consumer's join is).
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { ensureEventServers, KAFKA_IN_CLUSTER } from '../harness/event-servers.js';
import type { Release } from '../harness/release.js';
import { createFunctions, type BenchFunction } from './functions.js';
import { sleep } from './lib.js';

const PARTITIONS = 4;

/** Counts the records of its batch and answers at once. */
export const NODE_KAFKA_SINK: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: {
    'index.mjs':
      'export const handler = async (event) => ({ records: Object.values(event.records).reduce((n, r) => n + r.length, 0) });\n',
  },
};

export interface KafkaRow {
  path: string;
  recordsPerSecond: number;
  records: number;
  seconds: number;
}

/** `records` records of ~20 bytes, round robin over the partitions. */
async function produce(bootstrap: string, topic: string, records: number): Promise<void> {
  const producer = new Producer({
    clientId: 'lamina-bench',
    bootstrapBrokers: [bootstrap],
    idempotent: true,
  });
  try {
    for (let start = 0; start < records; start += 1000)
      await producer.send({
        messages: Array.from({ length: Math.min(1000, records - start) }, (_, j) => ({
          topic,
          partition: (start + j) % PARTITIONS,
          value: Buffer.from(JSON.stringify({ i: start + j })),
        })),
      });
  } finally {
    await producer.close().catch(() => undefined);
  }
}

/** A plain consumer reading the topic from its start: records/s from the first record to the last. */
async function rawConsumer(bootstrap: string, topic: string, records: number): Promise<KafkaRow> {
  const consumer = new Consumer({
    clientId: 'lamina-bench-raw',
    groupId: `bench-raw-${randomBytes(4).toString('hex')}`,
    bootstrapBrokers: [bootstrap],
    autocommit: false,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    let count = 0;
    let first = 0;
    let last = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the plain consumer read ${count} of ${records}`)),
        120_000,
      );
      stream.on('error', reject);
      stream.on('data', () => {
        last = performance.now();
        if (count++ === 0) first = last;
        if (count === records) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await stream.close().catch(() => undefined);
    const seconds = (last - first) / 1000;
    return {
      path: 'baseline: plain consumer on the host, same topic',
      recordsPerSecond: (records - 1) / seconds,
      records,
      seconds,
    };
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

/** A mapping of the topic to the function with `batchSize`; records/s of the group's commits. */
async function throughFunction(
  release: Release,
  admin: Admin,
  namespace: string,
  fn: string,
  topic: string,
  records: number,
  batchSize: number,
): Promise<KafkaRow> {
  const custom = release.kc.makeApiClient(CustomObjectsApi);
  const group = `bench-esm-${randomBytes(4).toString('hex')}`;
  const name = `bench-kafka-${batchSize}`;
  const plural = { group: 'lamina.dev', version: 'v1alpha1', namespace, plural: 'eventsourcemappings' };
  await custom.createNamespacedCustomObject({
    ...plural,
    body: {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'EventSourceMapping',
      metadata: { name },
      spec: {
        functionName: fn,
        source: { kafka: { bootstrapServers: [KAFKA_IN_CLUSTER], topics: [topic], consumerGroupId: group } },
        startingPosition: 'TRIM_HORIZON',
        batchSize,
      },
    },
  });
  const created = performance.now();
  try {
    const committed = async () => {
      const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
      return (offsets?.topics.find((t) => t.name === topic)?.partitions ?? []).reduce(
        (n, p) => n + Math.max(0, Number(p.committedOffset)),
        0,
      );
    };
    const deadline = Date.now() + 180_000;
    let first: { at: number; count: number } | undefined;
    for (;;) {
      const count = await committed();
      const at = performance.now();
      // All committed at the first look (a sample too small to see commits go by): from the
      // mapping's creation, join and cold start included.
      if (count > 0 && !first) first = count < records ? { at, count } : { at: created, count: 0 };
      if (count >= records && first) {
        const seconds = (at - first.at) / 1000;
        return {
          path: `through one function (mapping batch size ${batchSize}, parallelization factor 1)`,
          recordsPerSecond: (records - first.count) / seconds,
          records,
          seconds,
        };
      }
      if (Date.now() > deadline) {
        const status = await custom.getNamespacedCustomObject({ ...plural, name }).catch(String);
        throw new Error(
          `the mapping committed ${count} of ${records} records in 180 s: ${JSON.stringify((status as { status?: unknown }).status ?? status)}`,
        );
      }
      await sleep(50);
    }
  } finally {
    await custom.deleteNamespacedCustomObject({ ...plural, name }).catch(() => undefined);
  }
}

/**
 * One topic of `records` records: the plain consumer's rate, then one row per batch size through
 * one function (each mapping its own consumer group, reading the whole topic).
 */
export async function kafkaThroughput(
  release: Release,
  namespace: string,
  records: number,
  batchSizes: number[],
): Promise<KafkaRow[]> {
  const bootstrap = (await ensureEventServers(['kafka'])).kafkaBootstrap!;
  const admin = new Admin({ clientId: 'lamina-bench', bootstrapBrokers: [bootstrap] });
  const topic = `bench-${randomBytes(4).toString('hex')}`;
  const fn = 'kafka-sink';
  try {
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
    await createFunctions(release, namespace, { [fn]: NODE_KAFKA_SINK });
    await produce(bootstrap, topic, records);
    const rows = [await rawConsumer(bootstrap, topic, records)];
    for (const batchSize of batchSizes)
      rows.push(await throughFunction(release, admin, namespace, fn, topic, records, batchSize));
    return rows;
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

export const KAFKA_PARTITIONS = PARTITIONS;
