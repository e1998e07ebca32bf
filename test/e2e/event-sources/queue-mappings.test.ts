// SQS and Kafka event source mappings on the installed release: the operator's pollers read
// the event servers (ElasticMQ and Kafka 4 in lamina-events) and invoke examples/queue-consumer,
// which reports records containing "poison" as failed. SQS: every other message deleted, the
// poison ones dead-lettered by the queue's redrive policy. Kafka: the group's offsets committed
// to the end of every partition, the poison record's batch retried once and then sent to the
// on-failure destination (an HTTP server on the node) from the poison offset on.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { Admin, Producer } from '@platformatic/kafka';
import { ensureEventServers, KAFKA_IN_CLUSTER } from '../../harness/event-servers.js';
import { kubectl } from '../../harness/kube.js';
import { repoRoot } from '../../harness/manifests.js';
import { installedRelease } from '../../harness/release.js';
import { NODE_IP } from '../../harness/cluster.js';

const NAMESPACE = 'default';
const FUNCTION = 'queue-consumer';
const suffix = randomUUID().slice(0, 6);

async function apply(objects: unknown[]): Promise<void> {
  const file = join(mkdtempSync(join(tmpdir(), 'lamina-esm-')), 'objects.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await kubectl('apply', '-f', file);
}

function mapping(name: string, spec: object): object {
  return {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'EventSourceMapping',
    metadata: { name, namespace: NAMESPACE },
    spec: { functionName: FUNCTION, functionResponseTypes: ['ReportBatchItemFailures'], ...spec },
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last ?? '')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('SQS and Kafka event source mappings on the installed release', { concurrency: true }, () => {
  const mappings: string[] = [];
  const failures: Record<string, unknown>[] = [];
  let sqs: SQSClient;
  let admin: Admin;
  let producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  let server: Server;
  const queues: string[] = [];
  const topics: string[] = [];

  before(async () => {
    await installedRelease();
    const servers = await ensureEventServers(['kafka', 'sqs']);
    sqs = new SQSClient({
      endpoint: servers.sqsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    admin = new Admin({ clientId: 'lamina-e2e', bootstrapBrokers: [servers.kafkaBootstrap!] });
    producer = new Producer({
      clientId: 'lamina-e2e',
      bootstrapBrokers: [servers.kafkaBootstrap!],
      idempotent: true,
    });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        failures.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, NODE_IP, resolve));
    await kubectl('apply', '-n', NAMESPACE, '-f', join(repoRoot, 'examples/queue-consumer/function.yaml'));
    await kubectl(
      'wait',
      '-n',
      NAMESPACE,
      '--for=jsonpath={.status.state}=Active',
      `function/${FUNCTION}`,
      '--timeout=120s',
    );
  });

  after(async () => {
    for (const name of mappings)
      await kubectl('delete', '-n', NAMESPACE, '--ignore-not-found', 'esm', name).catch(() => undefined);
    for (const queueUrl of queues)
      await sqs?.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    if (topics.length > 0) await admin?.deleteTopics({ topics }).catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    sqs?.destroy();
    server?.close();
  });

  it('SQS: batches invoke the function, successes are deleted, poison messages end in the dead-letter queue', async () => {
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `e2e-dlq-${suffix}` }))).QueueUrl!;
    queues.push(dlq);
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    const queueUrl = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `e2e-orders-${suffix}`,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
          },
        }),
      )
    ).QueueUrl!;
    queues.push(queueUrl);
    const bodies = Array.from({ length: 40 }, (_, i) => (i === 7 || i === 31 ? `poison-${i}` : `order-${i}`));
    for (let i = 0; i < bodies.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody })),
        }),
      );

    const name = `e2e-sqs-${suffix}`;
    mappings.push(name);
    await apply([mapping(name, { source: { sqs: { queueUrl } }, batchSize: 10 })]);

    const count = async (url: string) => {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(out.Attributes!.ApproximateNumberOfMessages) +
        Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible)
      );
    };
    await until('the queue to drain and two messages to be dead-lettered', async () =>
      (await count(queueUrl)) === 0 && (await count(dlq)) === 2 ? true : undefined,
    );
    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    assert.deepEqual(dead.Messages?.map((m) => m.Body).sort(), ['poison-31', 'poison-7']);
    const state = await kubectl('get', '-n', NAMESPACE, 'esm', name, '-o', 'jsonpath={.status.state}');
    assert.equal(state.stdout, 'Enabled');
  });

  it('Kafka: offsets committed to the end of every partition; the poison batch retried once, then sent to the on-failure destination', async () => {
    const topic = `e2e-orders-${suffix}`;
    const group = `e2e-${suffix}`;
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    topics.push(topic);
    // Record i goes to partition i % 3 at offset floor(i / 3): the poison record 76 is
    // partition 1, offset 25.
    await producer.send({
      messages: Array.from({ length: 150 }, (_, i) => ({
        topic,
        partition: i % 3,
        value: Buffer.from(i === 76 ? `poison-${i}` : `order-${i}`),
      })),
    });

    const name = `e2e-kafka-${suffix}`;
    mappings.push(name);
    const destination = `http://${NODE_IP}:${(server.address() as AddressInfo).port}/failures`;
    await apply([
      mapping(name, {
        source: { kafka: { bootstrapServers: [KAFKA_IN_CLUSTER], topics: [topic], consumerGroupId: group } },
        startingPosition: 'TRIM_HORIZON',
        batchSize: 20,
        maximumRetryAttempts: 1,
        destinationConfig: { onFailure: { destination } },
      }),
    ]);

    const committed = await until('the group to commit every partition to its end', async () => {
      const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
      const partitions = offsets?.topics.find((t) => t.name === topic)?.partitions ?? [];
      const byIndex = partitions
        .sort((a, b) => a.partitionIndex - b.partitionIndex)
        .map((p) => Number(p.committedOffset));
      return byIndex.length === 3 && byIndex.every((o) => o === 50) ? byIndex : undefined;
    });
    assert.deepEqual(committed, [50, 50, 50]);

    const record = await until('the on-failure record', () =>
      Promise.resolve(failures.find((f) => 'KafkaBatchInfo' in f)),
    );
    const info = record.KafkaBatchInfo as { partition: string; startOffset: string; batchSize: number };
    assert.equal(info.partition, `${topic}-1`);
    assert.equal(info.startOffset, '25');
    assert.deepEqual((record.requestContext as { condition: string }).condition, 'RetryAttemptsExhausted');
    assert.equal(
      failures.filter((f) => 'KafkaBatchInfo' in f).length,
      1,
      'one batch went to the destination',
    );
  });
});
