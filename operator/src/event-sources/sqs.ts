// The SQS source: a queue speaking the SQS API (AWS, or an SQS-compatible server such as
// ElasticMQ) read as Lambda reads it. ReceiveMessage long-polls; a received message stays
// invisible for the function's timeout (plus a margin) and heartbeat() extends that while a
// long invoke runs; ack() is DeleteMessageBatch; retry() makes messages visible again after a
// delay. Retry counts and the dead-letter queue are the queue's own redrive policy: a message
// received more than its maxReceiveCount times is moved there by the server, never here.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { EventSourceMapping } from '../api/index.js';
import type { SourceAdapter, SourceContext, SourceRecord, SourceSession } from './source.js';
import { queueArnFromUrl, sqsEventRecord, sqsFilterView, type SqsEventRecord } from './sqs-event.js';

/** The SQS API's bounds. */
export const SQS_LIMITS = {
  maxMessagesPerReceive: 10,
  maxWaitSeconds: 20,
  batchEntries: 10,
  maxVisibilitySeconds: 43_200,
} as const;

/** Beyond the function's timeout, so a message is not redelivered while its invoke returns. */
const VISIBILITY_MARGIN_SECONDS = 5;
const DEFAULT_REGION = 'us-east-1';

export interface SqsRecord extends SourceRecord {
  /** The record as the function receives it (its receiptHandle is the latest receive's). */
  event: SqsEventRecord;
}

/** How long a received message stays invisible: the function's timeout plus a margin. */
export function visibilitySeconds(heartbeatMs: number): number {
  return Math.min(SQS_LIMITS.maxVisibilitySeconds, Math.ceil(heartbeatMs / 1000) + VISIBILITY_MARGIN_SECONDS);
}

/** `items` in groups of `size` (SQS batch calls take 10 entries). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Thrown when the server refused some entries of a batch call; those records stay in flight. */
export class SqsBatchError extends Error {
  constructor(
    operation: string,
    readonly failed: { id: string; code?: string; message?: string }[],
  ) {
    super(
      `${operation}: ${failed.length} entr${failed.length === 1 ? 'y' : 'ies'} failed: ${failed
        .map((f) => `${f.id} ${f.code ?? ''} ${f.message ?? ''}`.trim())
        .join('; ')}`,
    );
    this.name = 'SqsBatchError';
  }
}

interface QueueTarget {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
}

function toRecord(message: Message, target: QueueTarget): SqsRecord {
  const event = sqsEventRecord(message, target.queueArn, target.region);
  return {
    itemIdentifier: event.messageId,
    data: Buffer.from(event.body, 'utf8'),
    timestamp: Number(event.attributes.SentTimestamp ?? 0),
    deliveryCount: Number(event.attributes.ApproximateReceiveCount ?? 1),
    event,
  };
}

const isAbort = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'AbortError' || err.name === 'RequestAbortedError');

export class SqsSession implements SourceSession<SqsRecord> {
  readonly ordered = false;
  #closed = false;

  constructor(
    private readonly target: QueueTarget,
    private readonly visibility: number,
  ) {}

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<SqsRecord[]> {
    const records: SqsRecord[] = [];
    // The first receive long-polls; more (up to max) are taken only while the queue has them.
    let waitSeconds = Math.min(SQS_LIMITS.maxWaitSeconds, Math.max(0, Math.floor(waitMs / 1000)));
    while (records.length < max && !this.#closed && !signal?.aborted) {
      const count = Math.min(SQS_LIMITS.maxMessagesPerReceive, max - records.length);
      let messages: Message[];
      try {
        const out = await this.target.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.target.queueUrl,
            MaxNumberOfMessages: count,
            WaitTimeSeconds: waitSeconds,
            VisibilityTimeout: this.visibility,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        // Aborted or closed: what was received stays invisible until its visibility ends.
        if (isAbort(err) || signal?.aborted || this.#closed) return records;
        if (records.length > 0) return records;
        throw err;
      }
      records.push(...messages.map((m) => toRecord(m, this.target)));
      if (messages.length < count) break;
      waitSeconds = 0;
    }
    return records;
  }

  async ack(records: readonly SqsRecord[]): Promise<void> {
    const failed: SqsBatchError['failed'] = [];
    for (const group of chunks(records, SQS_LIMITS.batchEntries)) {
      const out = await this.target.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.target.queueUrl,
          Entries: group.map((r, i) => ({ Id: String(i), ReceiptHandle: r.event.receiptHandle })),
        }),
      );
      for (const f of out.Failed ?? [])
        failed.push({
          id: group[Number(f.Id)]?.itemIdentifier ?? String(f.Id),
          code: f.Code,
          message: f.Message,
        });
    }
    if (failed.length > 0) throw new SqsBatchError('DeleteMessageBatch', failed);
  }

  retry(records: readonly SqsRecord[], delayMs: number): Promise<void> {
    const seconds = Math.min(SQS_LIMITS.maxVisibilitySeconds, Math.max(0, Math.ceil(delayMs / 1000)));
    return this.#changeVisibility(records, seconds);
  }

  heartbeat(records: readonly SqsRecord[]): Promise<void> {
    return this.#changeVisibility(records, this.visibility);
  }

  async #changeVisibility(records: readonly SqsRecord[], seconds: number): Promise<void> {
    const failed: SqsBatchError['failed'] = [];
    for (const group of chunks(records, SQS_LIMITS.batchEntries)) {
      const out = await this.target.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.target.queueUrl,
          Entries: group.map((r, i) => ({
            Id: String(i),
            ReceiptHandle: r.event.receiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      );
      for (const f of out.Failed ?? [])
        failed.push({
          id: group[Number(f.Id)]?.itemIdentifier ?? String(f.Id),
          code: f.Code,
          message: f.Message,
        });
    }
    if (failed.length > 0) throw new SqsBatchError('ChangeMessageVisibilityBatch', failed);
  }

  toEvent(records: readonly SqsRecord[]): { Records: SqsEventRecord[] } {
    return { Records: records.map((r) => r.event) };
  }

  filterView(record: SqsRecord): Record<string, unknown> {
    return sqsFilterView(record.event);
  }

  async lag(): Promise<number | undefined> {
    const out = await this.target.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.target.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    const visible = out.Attributes?.ApproximateNumberOfMessages;
    return visible === undefined ? undefined : Number(visible);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.target.client.destroy();
    }
    return Promise.resolve();
  }
}

/** Credentials from the mapping's Secret; a server that does not check them gets placeholders. */
async function credentialsFor(
  secretName: string | undefined,
  context: SourceContext,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  if (secretName === undefined) return { accessKeyId: 'anonymous', secretAccessKey: 'anonymous' };
  const [accessKeyId, secretAccessKey] = await Promise.all([
    context.secret(secretName, 'AWS_ACCESS_KEY_ID'),
    context.secret(secretName, 'AWS_SECRET_ACCESS_KEY'),
  ]);
  if (!accessKeyId || !secretAccessKey)
    throw new Error(`Secret ${secretName} lacks AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY`);
  return { accessKeyId, secretAccessKey };
}

export const sqsAdapter: SourceAdapter<SqsRecord> = {
  kind: 'sqs',
  async open(mapping: EventSourceMapping, context: SourceContext): Promise<SqsSession> {
    const source = mapping.spec.source.sqs;
    if (!source) throw new Error('the mapping has no sqs source');
    const region = source.region ?? DEFAULT_REGION;
    const client = new SQSClient({
      endpoint: source.endpoint ?? new URL(source.queueUrl).origin,
      region,
      credentials: await credentialsFor(source.credentialsSecret, context),
    });
    try {
      // The ARN as the server reports it; this also proves the queue exists before polling.
      const out = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: source.queueUrl, AttributeNames: ['QueueArn'] }),
      );
      const queueArn = out.Attributes?.QueueArn ?? queueArnFromUrl(source.queueUrl, region);
      return new SqsSession(
        { client, queueUrl: source.queueUrl, queueArn, region },
        visibilitySeconds(context.heartbeatMs),
      );
    } catch (err) {
      client.destroy();
      throw err;
    }
  },
};
