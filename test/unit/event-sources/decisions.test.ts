// Lambda's batch rules: defaults, batching by size and window, record age, ReportBatchItemFailures
// (per message for queues, the lowest failed offset for streams), bisect, retries, on-failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventSourceMappingSpec } from '../../../operator/src/api/index.js';
import {
  batchReady,
  batchSettings,
  type InvokeOutcome,
  onFailureRecord,
  POLLER_RETRY_POLICY,
  reportedFailures,
  settle,
  splitExpired,
} from '../../../operator/src/event-sources/decisions.js';
import type { SourceRecord } from '../../../operator/src/event-sources/source.js';

const record = (id: string, partition?: string, offset?: number, timestamp = 0): SourceRecord => ({
  itemIdentifier: id,
  data: Buffer.from(id),
  timestamp,
  deliveryCount: 1,
  ...(partition !== undefined && { partition, offset: BigInt(offset ?? 0) }),
});
const spec = (extra: Partial<EventSourceMappingSpec>): EventSourceMappingSpec =>
  ({ functionName: 'f', enabled: true, ...extra }) as EventSourceMappingSpec;
const nats = { nats: { url: 'nats://n:4222', stream: 's' } };
const sqs = { sqs: { queueUrl: 'http://q/1/q' } };
const ok = (body: unknown): InvokeOutcome => ({
  kind: 'success',
  payload: Buffer.from(JSON.stringify(body)),
});
const error: InvokeOutcome = {
  kind: 'functionError',
  payload: Buffer.from('{}'),
  functionError: 'Unhandled',
  statusCode: 200,
};
const ids = (rs: SourceRecord[]) => rs.map((r) => r.itemIdentifier);

describe('batch decisions', () => {
  it("uses Lambda's defaults per source", () => {
    assert.equal(batchSettings(spec({ source: sqs })).batchSize, 10);
    const stream = batchSettings(spec({ source: nats, startingPosition: 'LATEST' }));
    assert.deepEqual(stream, {
      batchSize: 100,
      windowMs: 0,
      reportBatchItemFailures: false,
      bisect: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: -1,
    });
  });

  it('invokes a batch when full, at the payload limit, or when its window has elapsed', () => {
    const s = batchSettings(spec({ source: sqs, batchSize: 5, maximumBatchingWindowInSeconds: 2 }));
    assert.equal(batchReady({ count: 4, bytes: 10, firstAt: 0 }, s, 1999), false);
    assert.equal(batchReady({ count: 5, bytes: 10, firstAt: 0 }, s, 0), true);
    assert.equal(batchReady({ count: 1, bytes: 6 * 1024 * 1024, firstAt: 0 }, s, 0), true);
    assert.equal(batchReady({ count: 1, bytes: 10, firstAt: 0 }, s, 2000), true);
    assert.equal(batchReady({ count: 0, bytes: 0, firstAt: 0 }, s, 5000), false);
  });

  it('sets aside records older than MaximumRecordAgeInSeconds', () => {
    const s = batchSettings(
      spec({ source: nats, startingPosition: 'LATEST', maximumRecordAgeInSeconds: 60 }),
    );
    const { expired, live } = splitExpired([record('a', 'p', 1, 0), record('b', 'p', 2, 50_000)], s, 70_000);
    assert.deepEqual([ids(expired), ids(live)], [['a'], ['b']]);
  });

  it('reads batchItemFailures as Lambda does', () => {
    const rs = [record('1'), record('2')];
    const read = (body: unknown) => {
      const r = reportedFailures(Buffer.from(JSON.stringify(body)), rs);
      return r === 'all' ? r : [...r];
    };
    assert.deepEqual(read({ batchItemFailures: [{ itemIdentifier: '2' }] }), ['2']);
    assert.deepEqual(read({ batchItemFailures: [] }), []);
    assert.deepEqual(read({}), []);
    assert.deepEqual(read('done'), []);
    assert.equal(read({ batchItemFailures: [{ itemIdentifier: '' }] }), 'all');
    assert.equal(read({ batchItemFailures: [{ itemIdentifier: 'unknown' }] }), 'all');
    assert.equal(read({ batchItemFailures: [{}] }), 'all');
  });

  const context = (extra: Partial<EventSourceMappingSpec>, ordered: boolean, attempts = 1) => ({
    ordered,
    settings: batchSettings(spec(extra)),
    attempts,
    backoffs: 0,
    policy: POLLER_RETRY_POLICY,
  });

  it('retries only the failed messages of a queue batch', () => {
    const rs = [record('a'), record('b'), record('c')];
    const s = settle(
      rs,
      ok({ batchItemFailures: [{ itemIdentifier: 'b' }] }),
      context({ source: sqs, functionResponseTypes: ['ReportBatchItemFailures'] }, false),
    );
    assert.deepEqual([ids(s.ack), ids(s.retry), ids(s.fail)], [['a', 'c'], ['b'], []]);
  });

  it('ignores batchItemFailures without ReportBatchItemFailures', () => {
    const s = settle(
      [record('a')],
      ok({ batchItemFailures: [{ itemIdentifier: 'a' }] }),
      context({ source: sqs }, false),
    );
    assert.deepEqual(ids(s.ack), ['a']);
  });

  it('checkpoints a stream at the lowest failed offset of each partition', () => {
    const rs = [
      record('p0@1', 'p0', 1),
      record('p0@2', 'p0', 2),
      record('p0@3', 'p0', 3),
      record('p1@7', 'p1', 7),
    ];
    const s = settle(
      rs,
      ok({ batchItemFailures: [{ itemIdentifier: 'p0@3' }, { itemIdentifier: 'p0@2' }] }),
      context(
        { source: nats, startingPosition: 'LATEST', functionResponseTypes: ['ReportBatchItemFailures'] },
        true,
      ),
    );
    assert.deepEqual(
      [ids(s.ack), ids(s.retry)],
      [
        ['p0@1', 'p1@7'],
        ['p0@2', 'p0@3'],
      ],
    );
  });

  it('retries a throttled batch with growing backoff without counting an attempt', () => {
    const rs = [record('a', 'p', 1)];
    const throttled: InvokeOutcome = { kind: 'throttled', message: 'Rate Exceeded.' };
    const first = settle(
      rs,
      throttled,
      context({ source: nats, startingPosition: 'LATEST', maximumRetryAttempts: 0 }, true),
    );
    const third = settle(rs, throttled, {
      ...context({ source: nats, startingPosition: 'LATEST' }, true),
      backoffs: 2,
    });
    assert.deepEqual(
      [ids(first.retry), first.counts, first.retryDelayMs, third.retryDelayMs],
      [['a'], false, 1000, 4000],
    );
  });

  it('bisects a failing stream batch, and sends it on after MaximumRetryAttempts', () => {
    const rs = [1, 2, 3].map((n) => record(String(n), 'p', n));
    const stream = { source: nats, startingPosition: 'LATEST' as const };
    const halves = settle(rs, error, context({ ...stream, bisectBatchOnFunctionError: true }, true));
    assert.deepEqual(halves.bisect?.map(ids), [['1', '2'], ['3']]);
    const retried = settle(rs, error, context({ ...stream, maximumRetryAttempts: 1 }, true, 1));
    assert.deepEqual([ids(retried.retry), ids(retried.fail)], [['1', '2', '3'], []]);
    const exhausted = settle(rs, error, context({ ...stream, maximumRetryAttempts: 1 }, true, 2));
    assert.deepEqual([ids(exhausted.fail), exhausted.condition], [['1', '2', '3'], 'RetryAttemptsExhausted']);
  });

  it("builds Lambda's on-failure record with the batch's place in the source", () => {
    const r = onFailureRecord({
      infoKey: 'NatsBatchInfo',
      records: [record('a', 'orders', 4, 1000), record('b', 'orders', 9, 3000)],
      condition: 'RetryAttemptsExhausted',
      requestId: 'req',
      functionArn: 'arn:aws:lambda:us-east-1:ns:function:f',
      approximateInvokeCount: 3,
      now: 5000,
      response: { statusCode: 200, functionError: 'Unhandled' },
      source: { stream: 'orders' },
    });
    assert.deepEqual(r, {
      requestContext: {
        requestId: 'req',
        functionArn: 'arn:aws:lambda:us-east-1:ns:function:f',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '1970-01-01T00:00:05.000Z',
      NatsBatchInfo: {
        stream: 'orders',
        batchSize: 2,
        partition: 'orders',
        startOffset: '4',
        endOffset: '9',
        approximateArrivalOfFirstRecord: '1970-01-01T00:00:01.000Z',
        approximateArrivalOfLastRecord: '1970-01-01T00:00:03.000Z',
      },
    });
  });
});
