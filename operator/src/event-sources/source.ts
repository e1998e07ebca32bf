// The contract between the poller (one per enabled EventSourceMapping) and a source adapter
// (Kafka, SQS, NATS JetStream, schedule). The poller owns Lambda's semantics — batching by
// size and window, filter criteria, invoking, ReportBatchItemFailures, bisect, retries,
// record age, the on-failure destination — and never speaks a source's protocol. An
// adapter owns one protocol and never decides anything: it hands out records and settles
// them as it is told.
//
// Life of a record:
//
//   poll() ──► in flight ──► ack()    success, filtered out, or sent to the on-failure destination
//                       └──► retry()  to be handed out again (after a delay)
//
// Every record poll() returned is settled exactly once, by ack() or retry(), unless the
// session closes first; then the source redelivers it by its own means (SQS visibility
// timeout, JetStream AckWait, Kafka's uncommitted offsets). Delivery is therefore at least
// once: a record whose invoke succeeded but whose ack was lost is delivered again.
//
// Two kinds of source fit:
//
// - Ordered (`ordered: true`: Kafka, NATS JetStream): records carry a `partition` and an
//   increasing `offset` within it. poll() returns each partition's records in offset order
//   and returns nothing more of a partition while records of it are in flight, so at most
//   one batch per partition runs at a time. The poller settles a partition's in-flight records as a
//   prefix and a suffix: ack() gets the records before the lowest failed offset (the
//   checkpoint: Kafka commits `offset + 1` of the highest), retry() gets everything from the
//   lowest failed offset on (Kafka seeks back to the lowest; JetStream naks each). It never
//   acks a record while a lower offset of its partition is unsettled.
// - Unordered (`ordered: false`: SQS): each record is settled on its own; ack() deletes it,
//   retry() makes it visible again after `delayMs` (ChangeMessageVisibility). Retry counts
//   and dead-lettering belong to the queue's redrive policy (`deliveryCount` shows them).
//
// Throttles (429 from the Invoke API) and the function's own failures look alike to an
// adapter: records come back through retry(). Nothing is dropped except by ack().
import type { EventSourceMapping, SourceKind } from '../api/index.js';
import type { Clock, Logger } from '../shared/index.js';

/** One record as the source handed it over. Adapters extend it with their own fields. */
export interface SourceRecord {
  /**
   * Names the record in `batchItemFailures[].itemIdentifier` of a function's response, and
   * so must be unique within a batch and stable across redeliveries: SQS `messageId`; for
   * ordered sources the offset as a decimal string when a batch holds one partition, else
   * `<partition>@<offset>`.
   */
  itemIdentifier: string;
  /** Ordered sources: the partition (Kafka `topic-partition`; JetStream: the stream). */
  partition?: string;
  /** Ordered sources: the position within the partition (Kafka offset, stream sequence). */
  offset?: bigint;
  /** The record's payload as the source stores it (SQS body, Kafka value, NATS data). */
  data: Buffer;
  /** When the record entered the source, ms since the epoch (MaximumRecordAgeInSeconds). */
  timestamp: number;
  /**
   * How many times the source has handed this record out, this time included (SQS
   * ApproximateReceiveCount, JetStream's delivered count). 1 where the source does not count
   * (Kafka); the poller counts its own retries there.
   */
  deliveryCount: number;
}

/** One open connection of a mapping to its source. */
export interface SourceSession<R extends SourceRecord = SourceRecord> {
  /** Whether records are partitioned and ordered (see the module comment). */
  readonly ordered: boolean;

  /**
   * Up to `max` records, waiting at most `waitMs` for the first one; [] when none came.
   * Rejects when the source cannot be read (the poller records the error in the mapping's
   * status and reopens with backoff). `signal` aborts the wait and resolves [].
   */
  poll(max: number, waitMs: number, signal?: AbortSignal): Promise<R[]>;

  /**
   * Done with these records, never to be delivered again: SQS DeleteMessageBatch, JetStream
   * ack, Kafka commit of `offset + 1` (highest per partition). Resolves once the source
   * confirmed; a rejection leaves them to be redelivered (at least once, never lost).
   */
  ack(records: readonly R[]): Promise<void>;

  /**
   * Hand these records back to be delivered again, not before `delayMs` from now: SQS
   * ChangeMessageVisibility(delay), JetStream nak(delay), Kafka seek to the lowest offset
   * per partition (pausing the partition for the delay).
   */
  retry(records: readonly R[], delayMs: number): Promise<void>;

  /**
   * Keep in-flight records from being redelivered while a long invoke runs (SQS visibility,
   * JetStream `working()`); the poller calls it at least every `heartbeatMs` / 2. Absent:
   * nothing to do (Kafka).
   */
  heartbeat?(records: readonly R[]): Promise<void>;

  /** The JSON Lambda gives the function for this batch: `{ Records: [...] }`, Kafka's `{ eventSource, records }`, … */
  toEvent(records: readonly R[]): unknown;

  /**
   * The record as filter criteria see it: Lambda matches patterns against the record's event
   * JSON with its payload field (`body` for SQS, `value` for Kafka, `data` for NATS) parsed
   * as JSON when it is JSON, else left a string.
   */
  filterView(record: R): Record<string, unknown>;

  /** Records waiting in the source beyond what was handed out (Kafka lag, JetStream pending), when known. */
  lag?(): Promise<number | undefined>;

  /** Stop; records in flight are redelivered by the source. Idempotent. */
  close(): Promise<void>;
}

/** What an adapter may use besides the mapping. */
export interface SourceContext {
  clock: Clock;
  log: Logger;
  /** Reads a key of a Secret in the mapping's namespace (e.g. SQS credentials), undefined when absent. */
  secret(name: string, key: string): Promise<string | undefined>;
  /** How long an invoke may take at most (the function's timeout): SQS visibility, JetStream AckWait. */
  heartbeatMs: number;
}

/** Opens sessions for one kind of source (`spec.source.<kind>`). */
export interface SourceAdapter<R extends SourceRecord = SourceRecord> {
  readonly kind: SourceKind;
  /**
   * Connect for this mapping: its uid names the durable position (Kafka consumer group,
   * JetStream durable consumer) unless the spec names one; `spec.startingPosition` applies
   * only where no position is stored yet.
   */
  open(mapping: EventSourceMapping, context: SourceContext): Promise<SourceSession<R>>;
}
