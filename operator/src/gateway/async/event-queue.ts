// The storage seam of asynchronous invocation: a durable queue of opaque events with
// leases (visibility timeouts), delayed requeue and a dead-letter store. The processor
// implements Lambda's rules on top of any backend; backends only store and hand out bytes.
// Every backend passes the same contract tests (test/integration/gateway/async/).

export interface NewEvent {
  /** Unique per event. Enqueueing an id the queue already holds is a no-op. */
  id: string;
  body: Buffer;
  /** Milliseconds since the epoch; the event is not leased before. Defaults to now. */
  dueAt?: number;
}

export interface LeasedEvent {
  id: string;
  body: Buffer;
  /** When the event first entered the queue (kept across requeues where the backend can). */
  enqueuedAt: number;
  /** How many times the event has been leased, this lease included. */
  deliveryCount: number;
  /** Identifies this lease; ack/requeue/extend with a stale receipt are no-ops. */
  receipt: string;
}

export interface QueueStats {
  /** Events waiting or leased (dead letters excluded). */
  depth: number;
  /** When the oldest stored event entered the queue, undefined when empty. */
  oldestEnqueuedAt?: number;
  /** Events parked in the dead-letter store. */
  deadLettered: number;
}

export interface DeadLetter {
  id: string;
  body: Buffer;
  reason: string;
  deadLetteredAt: number;
}

export interface EventQueue {
  /** Resolves only once the event is durably stored. */
  enqueue(event: NewEvent): Promise<void>;
  /**
   * The next due event, hidden from other leases until it is acked, requeued or its
   * visibility timeout passes (then it is delivered again: at-least-once). Undefined when
   * nothing is due.
   */
  lease(): Promise<LeasedEvent | undefined>;
  /** Pushes the visibility timeout of a lease out again (long-running attempts). */
  extend(lease: LeasedEvent): Promise<void>;
  /** Removes the event for good. */
  ack(lease: LeasedEvent): Promise<void>;
  /** Puts the event back, due at `dueAt`, optionally with a new body. */
  requeue(lease: LeasedEvent, dueAt: number, body?: Buffer): Promise<void>;
  /** Moves the event to the dead-letter store. */
  deadLetter(lease: LeasedEvent, reason: string): Promise<void>;
  stats(): Promise<QueueStats>;
  /** Most recent dead letters first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}
