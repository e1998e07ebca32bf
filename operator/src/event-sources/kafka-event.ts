// Lambda's self-managed Apache Kafka event, from records as a Kafka consumer reads them. Pure:
// no client, no clock. https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html
import { parsedIfJson } from './sqs-event.js';

/** One Kafka record as the adapter keeps it. */
export interface KafkaMessage {
  topic: string;
  partition: number;
  offset: bigint;
  /** ms since the epoch */
  timestamp: number;
  key?: Buffer;
  value?: Buffer;
  headers: [Buffer, Buffer][];
}

export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  key?: string;
  value?: string;
  /** One object per header, its value as the list of its bytes (as Lambda sends them). */
  headers: Record<string, number[]>[];
}

export interface SelfManagedKafkaEvent {
  eventSource: 'SelfManagedKafka';
  bootstrapServers: string;
  /** Keyed `<topic>-<partition>`, each list in offset order. */
  records: Record<string, KafkaEventRecord[]>;
}

/** `<topic>-<partition>`: the key of a partition's records in the event, and its name here. */
export const partitionKey = (topic: string, partition: number): string => `${topic}-${partition}`;

export function kafkaEventRecord(message: KafkaMessage): KafkaEventRecord {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: Number(message.offset),
    timestamp: message.timestamp,
    timestampType: 'CREATE_TIME',
    ...(message.key !== undefined && { key: message.key.toString('base64') }),
    ...(message.value !== undefined && { value: message.value.toString('base64') }),
    headers: message.headers.map(([k, v]) => ({ [k.toString('utf8')]: [...v] })),
  };
}

/** The event of a batch: records grouped by partition, each group in offset order. */
export function selfManagedKafkaEvent(
  messages: readonly KafkaMessage[],
  bootstrapServers: readonly string[],
): SelfManagedKafkaEvent {
  const records: Record<string, KafkaEventRecord[]> = {};
  const sorted = [...messages].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (const message of sorted) {
    (records[partitionKey(message.topic, message.partition)] ??= []).push(kafkaEventRecord(message));
  }
  return { eventSource: 'SelfManagedKafka', bootstrapServers: bootstrapServers.join(','), records };
}

/** The record as filter criteria match it: `value` decoded and parsed when it is JSON. */
export function kafkaFilterView(message: KafkaMessage): Record<string, unknown> {
  const record = kafkaEventRecord(message);
  return {
    ...record,
    ...(message.value !== undefined && { value: parsedIfJson(message.value.toString('utf8')) }),
  };
}
