// Lambda's rules for a mapping's batches, as pure functions of the records, the mapping's
// settings, the invoke's outcome and the time. The poller applies them through its source
// session (ack / retry) and the on-failure destination; nothing here does I/O.
import type { EventSourceMappingSpec } from '../api/index.js';
import { esmLimits } from '../api/index.js';
import type { SourceRecord } from './source.js';

/** Lambda's invoke payload limit: a batch stops growing before its event would exceed it. */
export const MAX_BATCH_BYTES = 6 * 1024 * 1024;

export interface BatchSettings {
  batchSize: number;
  windowMs: number;
  reportBatchItemFailures: boolean;
  bisect: boolean;
  /** -1: retry until the record expires. */
  maximumRetryAttempts: number;
  /** -1: records never expire. */
  maximumRecordAgeMs: number;
}

/** The spec's settings with Lambda's defaults for the source. */
export function batchSettings(spec: EventSourceMappingSpec): BatchSettings {
  const queue = spec.source.sqs !== undefined;
  const age = spec.maximumRecordAgeInSeconds ?? -1;
  return {
    batchSize:
      spec.batchSize ?? (queue ? esmLimits.batchSize.defaultQueue : esmLimits.batchSize.defaultStream),
    windowMs: (spec.maximumBatchingWindowInSeconds ?? 0) * 1000,
    reportBatchItemFailures: spec.functionResponseTypes?.includes('ReportBatchItemFailures') ?? false,
    bisect: spec.bisectBatchOnFunctionError ?? false,
    maximumRetryAttempts: spec.maximumRetryAttempts ?? -1,
    maximumRecordAgeMs: age < 0 ? -1 : age * 1000,
  };
}

/** Whether a batch being gathered should be invoked now (full, at the payload limit, or its window elapsed). */
export function batchReady(
  gathered: { count: number; bytes: number; firstAt: number },
  settings: BatchSettings,
  now: number,
): boolean {
  if (gathered.count === 0) return false;
  return (
    gathered.count >= settings.batchSize ||
    gathered.bytes >= MAX_BATCH_BYTES ||
    now - gathered.firstAt >= settings.windowMs
  );
}

/** Records too old to invoke (MaximumRecordAgeInSeconds), and the rest. */
export function splitExpired<R extends SourceRecord>(
  records: readonly R[],
  settings: BatchSettings,
  now: number,
): { expired: R[]; live: R[] } {
  if (settings.maximumRecordAgeMs < 0) return { expired: [], live: [...records] };
  const expired = records.filter((r) => now - r.timestamp > settings.maximumRecordAgeMs);
  return { expired, live: records.filter((r) => !expired.includes(r)) };
}

/** What one invoke of a batch came to. */
export type InvokeOutcome =
  | { kind: 'success'; payload: Buffer }
  | { kind: 'functionError'; payload: Buffer; functionError: string; statusCode: number }
  | { kind: 'throttled'; message: string }
  | { kind: 'systemError'; statusCode: number; message: string };

/**
 * The identifiers a ReportBatchItemFailures response names, or 'all' when the response says
 * the whole batch failed: Lambda treats a missing, null, empty or unknown itemIdentifier as a
 * failure of the whole batch; an empty list, or a response without the key, as success.
 */
export function reportedFailures(payload: Buffer, records: readonly SourceRecord[]): Set<string> | 'all' {
  let response: unknown;
  try {
    response = JSON.parse(payload.toString('utf8'));
  } catch {
    return new Set();
  }
  if (typeof response !== 'object' || response === null) return new Set();
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const known = new Set(records.map((r) => r.itemIdentifier));
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) return 'all';
    ids.add(id);
  }
  return ids;
}

/** Why records went to the on-failure destination (Lambda's `requestContext.condition`). */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** How to settle a batch after its invoke. Every record appears in exactly one list. */
export interface Settlement<R extends SourceRecord> {
  ack: R[];
  /** Back to the source, to come again after `retryDelayMs`. */
  retry: R[];
  retryDelayMs: number;
  /** To the on-failure destination (then acked), with the condition. */
  fail: R[];
  condition?: FailureCondition;
  /** Invoke these halves separately before anything else (bisect on function error). */
  bisect?: [R[], R[]];
  /** Whether this attempt counts toward MaximumRetryAttempts (throttles do not). */
  counts: boolean;
}

export interface RetryPolicy {
  /** Backoff for throttles and system errors: initial … max, doubling. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Delay before retrying a function error. */
  functionErrorDelayMs: number;
}

export const POLLER_RETRY_POLICY: RetryPolicy = {
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
  functionErrorDelayMs: 1000,
};

/**
 * Lambda's settlement of a batch:
 * - success: ack all — except the items a ReportBatchItemFailures response names: unordered
 *   sources retry just those; ordered sources checkpoint at the lowest failed offset of each
 *   partition (ack what precedes it, retry it and everything after);
 * - throttle or system error: retry all with backoff, not counted as an attempt;
 * - function error: bisect when asked (and the batch has more than one record), else retry
 *   all — for ordered sources until `attempts` (this one included) exceeds
 *   MaximumRetryAttempts, then the batch goes to the on-failure destination.
 * Unordered sources (SQS) never fail records here: the queue's redrive policy does.
 */
export function settle<R extends SourceRecord>(
  records: readonly R[],
  outcome: InvokeOutcome,
  context: {
    ordered: boolean;
    settings: BatchSettings;
    attempts: number;
    backoffs: number;
    policy: RetryPolicy;
  },
): Settlement<R> {
  const { ordered, settings, policy } = context;
  const none = { ack: [] as R[], retry: [] as R[], fail: [] as R[], retryDelayMs: 0 };
  switch (outcome.kind) {
    case 'throttled':
    case 'systemError': {
      const delay = Math.min(
        policy.backoffInitialMs * 2 ** Math.max(0, context.backoffs),
        policy.backoffMaxMs,
      );
      return { ...none, retry: [...records], retryDelayMs: delay, counts: false };
    }
    case 'success': {
      const failed = settings.reportBatchItemFailures
        ? reportedFailures(outcome.payload, records)
        : new Set<string>();
      if (failed !== 'all' && failed.size === 0) return { ...none, ack: [...records], counts: true };
      const failedRecords =
        failed === 'all' ? [...records] : records.filter((r) => failed.has(r.itemIdentifier));
      return partialFailure(records, failedRecords, context);
    }
    case 'functionError':
      if (settings.bisect && records.length > 1 && ordered) {
        const half = Math.ceil(records.length / 2);
        return { ...none, bisect: [records.slice(0, half), records.slice(half)], counts: true };
      }
      return partialFailure(records, [...records], context);
  }
}

function partialFailure<R extends SourceRecord>(
  records: readonly R[],
  failed: readonly R[],
  context: { ordered: boolean; settings: BatchSettings; attempts: number; policy: RetryPolicy },
): Settlement<R> {
  const { ordered, settings, attempts, policy } = context;
  const delay = policy.functionErrorDelayMs;
  if (!ordered) {
    const retry = records.filter((r) => failed.includes(r));
    return {
      ack: records.filter((r) => !failed.includes(r)),
      retry,
      fail: [],
      retryDelayMs: delay,
      counts: true,
    };
  }
  const { before, from } = checkpoint(records, failed);
  const exhausted = settings.maximumRetryAttempts >= 0 && attempts > settings.maximumRetryAttempts;
  if (exhausted) {
    return {
      ack: before,
      retry: [],
      fail: from,
      condition: 'RetryAttemptsExhausted',
      retryDelayMs: 0,
      counts: true,
    };
  }
  return { ack: before, retry: from, fail: [], retryDelayMs: delay, counts: true };
}

/**
 * Ordered sources: per partition, the records before its lowest failed offset (safe to
 * commit) and the records from it on (to be delivered again, in order).
 */
export function checkpoint<R extends SourceRecord>(
  records: readonly R[],
  failed: readonly R[],
): { before: R[]; from: R[] } {
  const lowest = new Map<string, bigint>();
  for (const r of failed) {
    const key = r.partition ?? '';
    const offset = r.offset ?? 0n;
    const current = lowest.get(key);
    if (current === undefined || offset < current) lowest.set(key, offset);
  }
  const before: R[] = [];
  const from: R[] = [];
  for (const r of records) {
    const low = lowest.get(r.partition ?? '');
    if (low !== undefined && (r.offset ?? 0n) >= low) from.push(r);
    else before.push(r);
  }
  return { before, from };
}

/**
 * Lambda's on-failure record for a stream batch: the invocation's context, the response's
 * context, and where the batch sits in the source (`<Source>BatchInfo`), not the records
 * themselves.
 */
export function onFailureRecord(options: {
  infoKey: string;
  records: readonly SourceRecord[];
  condition: FailureCondition;
  requestId: string;
  functionArn: string;
  approximateInvokeCount: number;
  now: number;
  response?: { statusCode: number; executedVersion?: string; functionError?: string };
  source: Record<string, unknown>;
}): Record<string, unknown> {
  const { records } = options;
  const offsets = records.map((r) => r.offset).filter((o): o is bigint => o !== undefined);
  const times = records.map((r) => r.timestamp);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    requestContext: {
      requestId: options.requestId,
      functionArn: options.functionArn,
      condition: options.condition,
      approximateInvokeCount: options.approximateInvokeCount,
    },
    responseContext: {
      statusCode: options.response?.statusCode ?? 0,
      executedVersion: options.response?.executedVersion ?? '$LATEST',
      functionError: options.response?.functionError ?? '',
    },
    version: '1.0',
    timestamp: iso(options.now),
    [options.infoKey]: {
      ...options.source,
      batchSize: records.length,
      ...(records[0]?.partition !== undefined && { partition: records[0].partition }),
      ...(offsets.length > 0 && {
        startOffset: String(offsets.reduce((a, b) => (b < a ? b : a))),
        endOffset: String(offsets.reduce((a, b) => (b > a ? b : a))),
      }),
      ...(times.length > 0 && {
        approximateArrivalOfFirstRecord: iso(Math.min(...times)),
        approximateArrivalOfLastRecord: iso(Math.max(...times)),
      }),
    },
  };
}
