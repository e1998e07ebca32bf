// The SQS source adapter against a real SQS-compatible server (ElasticMQ, built from Maven
// Central and running in the local cluster): Lambda's SQS event shape, batches larger than one
// ReceiveMessage, delete on success, partial batch failure (only the failed messages come
// back), the queue's own redrive policy moving a message to its dead-letter queue, visibility
// extended by heartbeats, and a consumer that dies mid-stream losing nothing.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { EventSourceMapping } from '../../../operator/src/api/index.js';
import { sqsAdapter, type SqsRecord, type SqsSession } from '../../../operator/src/event-sources/sqs.js';
import type { SourceContext } from '../../../operator/src/event-sources/index.js';
import { createLogger, systemClock } from '../../../operator/src/shared/index.js';
import { ensureEventServers } from '../../harness/event-servers.js';

const REGION = 'us-east-1';
let endpoint = '';
let admin: SQSClient;
const queues: string[] = [];

function mapping(queueUrl: string): EventSourceMapping {
  return {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'EventSourceMapping',
    metadata: { name: 'sqs-test', namespace: 'default', uid: randomUUID() },
    spec: { functionName: 'f', enabled: true, source: { sqs: { queueUrl, region: REGION } } },
  };
}

function context(heartbeatMs: number): SourceContext {
  return {
    clock: systemClock,
    log: createLogger({ test: 'sqs' }, 'warn'),
    secret: () => Promise.resolve(undefined),
    heartbeatMs,
  };
}

async function createQueue(attributes: Record<string, string> = {}): Promise<string> {
  const out = await admin.send(
    new CreateQueueCommand({ QueueName: `t-${randomUUID().slice(0, 8)}`, Attributes: attributes }),
  );
  queues.push(out.QueueUrl!);
  return out.QueueUrl!;
}

async function send(queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    const out = await admin.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({
          Id: String(j),
          MessageBody: body,
          MessageAttributes: {
            index: { DataType: 'Number', StringValue: String(i + j) },
            raw: { DataType: 'Binary', BinaryValue: Buffer.from([i + j, 255]) },
          },
        })),
      }),
    );
    assert.equal(out.Failed?.length ?? 0, 0, JSON.stringify(out.Failed));
  }
}

async function queueCounts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const out = await admin.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Polls until `count` records arrived or `attempts` polls came back empty. */
async function pollUntil(session: SqsSession, count: number, attempts = 10): Promise<SqsRecord[]> {
  const got: SqsRecord[] = [];
  for (let empty = 0; got.length < count && empty < attempts;) {
    const batch = await session.poll(count - got.length, 1000);
    if (batch.length === 0) empty++;
    got.push(...batch);
  }
  return got;
}

const sessions: SqsSession[] = [];
async function open(queueUrl: string, heartbeatMs = 30_000): Promise<SqsSession> {
  const session = (await sqsAdapter.open(mapping(queueUrl), context(heartbeatMs))) as SqsSession;
  sessions.push(session);
  return session;
}

describe('SQS source adapter on ElasticMQ', () => {
  before(async () => {
    const servers = await ensureEventServers(['sqs']);
    endpoint = servers.sqsEndpoint!;
    admin = new SQSClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    for (const queueUrl of queues)
      await admin.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    admin?.destroy();
  });

  it("hands out a batch of 25 (three receives) in Lambda's SQS event shape, and deletes it on ack", async () => {
    const queueUrl = await createQueue();
    const bodies = Array.from({ length: 25 }, (_, i) => JSON.stringify({ i }));
    await send(queueUrl, bodies);
    const session = await open(queueUrl);
    assert.equal(await session.lag(), 25, 'the lag is the visible messages');

    const records = await pollUntil(session, 25);
    assert.equal(records.length, 25);
    assert.deepEqual(
      records.map((r) => (JSON.parse(r.data.toString()) as { i: number }).i).sort((a, b) => a - b),
      bodies.map((_, i) => i),
    );
    const event = session.toEvent(records);
    assert.equal(event.Records.length, 25);
    const name = new URL(queueUrl).pathname.split('/').pop();
    for (const [n, record] of event.Records.entries()) {
      assert.equal(record.eventSource, 'aws:sqs');
      assert.equal(record.awsRegion, REGION);
      assert.match(record.eventSourceARN, new RegExp(`^arn:aws:sqs:[^:]+:\\d{12}:${name}$`));
      assert.equal(record.md5OfBody, createHash('md5').update(record.body).digest('hex'));
      assert.equal(record.attributes.ApproximateReceiveCount, '1');
      assert.match(record.attributes.SentTimestamp ?? '', /^\d{13}$/);
      assert.ok(record.receiptHandle.length > 0);
      const index = Number(record.messageAttributes.index?.stringValue);
      assert.equal(record.messageAttributes.index?.dataType, 'Number');
      assert.deepEqual(record.messageAttributes.raw, {
        binaryValue: Buffer.from([index, 255]).toString('base64'),
        stringListValues: [],
        binaryListValues: [],
        dataType: 'Binary',
      });
      assert.equal(records[n]!.itemIdentifier, record.messageId);
      assert.equal(records[n]!.deliveryCount, 1);
    }
    assert.deepEqual(session.filterView(records[0]!).body, JSON.parse(records[0]!.data.toString()));

    assert.equal(await session.lag(), 0, 'received messages are in flight, not waiting');
    await session.ack(records);
    assert.deepEqual(await queueCounts(queueUrl), { visible: 0, inFlight: 0 });
    assert.deepEqual(await session.poll(10, 1000), []);
  });

  it('partial batch failure: only the retried messages come back, with their receive count', async () => {
    const queueUrl = await createQueue();
    await send(
      queueUrl,
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    const session = await open(queueUrl);
    const first = await pollUntil(session, 10);
    assert.equal(first.length, 10);
    const failed = first.filter((r) => ['m2', 'm7'].includes(r.data.toString()));
    await session.ack(first.filter((r) => !failed.includes(r)));
    await session.retry(failed, 0);

    const again = await pollUntil(session, 2);
    assert.deepEqual(again.map((r) => r.data.toString()).sort(), ['m2', 'm7']);
    assert.deepEqual(again.map((r) => r.itemIdentifier).sort(), failed.map((r) => r.itemIdentifier).sort());
    assert.deepEqual(
      again.map((r) => r.deliveryCount),
      [2, 2],
    );
    await session.ack(again);
    assert.deepEqual(await queueCounts(queueUrl), { visible: 0, inFlight: 0 });
  });

  it("the queue's redrive policy moves a message received maxReceiveCount times to its dead-letter queue", async () => {
    const dlqUrl = await createQueue();
    const dlqArn = (
      await admin.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    const queueUrl = await createQueue({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    await send(queueUrl, ['poison', 'fine']);
    const session = await open(queueUrl);

    // Received twice, failed twice: the third receive finds it in the dead-letter queue.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const records = await pollUntil(session, attempt === 1 ? 2 : 1);
      const poison = records.find((r) => r.data.toString() === 'poison');
      assert.ok(poison, `attempt ${attempt}: the poison message is delivered`);
      assert.equal(poison.deliveryCount, attempt);
      await session.ack(records.filter((r) => r !== poison));
      await session.retry([poison], 0);
    }
    assert.deepEqual(await session.poll(10, 2000), []);
    const dead = await admin.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        WaitTimeSeconds: 2,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    assert.deepEqual(
      dead.Messages?.map((m) => m.Body),
      ['poison'],
    );
  });

  it('heartbeats keep a message invisible past its visibility timeout; without them it comes back', async () => {
    const queueUrl = await createQueue();
    await send(queueUrl, ['slow']);
    // heartbeatMs 1000: received messages stay invisible for 1 s + the 5 s margin.
    const session = await open(queueUrl, 1000);
    const [record] = await pollUntil(session, 1);
    assert.ok(record);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      await session.heartbeat([record]);
    }
    // 10 s after the receive, well past 6 s: still in flight thanks to the heartbeats.
    assert.deepEqual(await queueCounts(queueUrl), { visible: 0, inFlight: 1 });

    const other = await open(queueUrl, 1000);
    const redelivered = await pollUntil(other, 1, 15);
    assert.deepEqual(
      redelivered.map((r) => [r.itemIdentifier, r.deliveryCount]),
      [[record.itemIdentifier, 2]],
    );
    await other.ack(redelivered);
  });

  it('a consumer that dies mid-stream loses nothing: its in-flight messages are delivered again', async () => {
    const total = 200;
    const batchSize = 10;
    const queueUrl = await createQueue();
    await send(
      queueUrl,
      Array.from({ length: total }, (_, i) => String(i)),
    );
    const delivered = new Map<string, number>();
    const take = (records: SqsRecord[]) => {
      for (const r of records) delivered.set(r.data.toString(), (delivered.get(r.data.toString()) ?? 0) + 1);
    };

    // The first consumer processes 8 batches, then dies with its 9th batch unacknowledged.
    const first = await open(queueUrl, 1000);
    for (let i = 0; i < 8; i++) {
      const batch = await first.poll(batchSize, 1000);
      take(batch);
      await first.ack(batch);
    }
    take(await first.poll(batchSize, 1000));
    await first.close();

    // A second consumer drains the queue; the dead one's batch reappears after its visibility.
    const second = await open(queueUrl, 1000);
    for (let empty = 0; empty < 10;) {
      const batch = await second.poll(batchSize, 1000);
      if (batch.length === 0) empty++;
      else empty = 0;
      take(batch);
      await second.ack(batch);
    }
    const missing = Array.from({ length: total }, (_, i) => String(i)).filter((k) => !delivered.has(k));
    assert.deepEqual(missing, []);
    const duplicates = [...delivered.values()].reduce((n, c) => n + c - 1, 0);
    assert.ok(duplicates <= batchSize, `${duplicates} duplicates, at most one batch in flight`);
    assert.ok(duplicates > 0, 'the batch in flight when the consumer died was delivered again');
    assert.deepEqual(await queueCounts(queueUrl), { visible: 0, inFlight: 0 });
  });
});
