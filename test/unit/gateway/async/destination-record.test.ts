import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AsyncSettings } from '../../../../operator/src/gateway/async/decisions.js';
import {
  destinationRecord,
  headerSafeMessage,
  plannedDeliveries,
  type FinalOutcome,
} from '../../../../operator/src/gateway/async/destination-record.js';
import { parseTarget } from '../../../../operator/src/gateway/async/targets.js';
import { newInvokeWork, type InvokeWork } from '../../../../operator/src/gateway/async/work.js';

const NOW = Date.parse('2019-11-14T18:16:05.568Z');
const base: AsyncSettings = { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21_600 };

function work(extra: Partial<InvokeWork> = {}, qualifier?: string): InvokeWork {
  const arn = 'arn:aws:lambda:eu-west-1:team-a:function:my-function';
  return {
    ...newInvokeWork({
      requestId: 'req-1',
      namespace: 'team-a',
      functionName: 'my-function',
      ...(qualifier ? { qualifier } : {}),
      invokedFunctionArn: qualifier ? `${arn}:${qualifier}` : arn,
      payload: '{"key":"value"}',
      receivedAt: NOW - 1000,
    }),
    ...extra,
  };
}

const response = (functionError?: string) => ({
  kind: 'response' as const,
  statusCode: 200,
  executedVersion: '$LATEST',
  payload: Buffer.from(functionError ? '{"errorMessage":"boom","errorType":"Error"}' : '{"ok":true}'),
  ...(functionError ? { functionError } : {}),
});

describe('destination record (LAMBDA-SPEC §8)', () => {
  it('has exactly Lambda’s shape for a success', () => {
    const outcome: FinalOutcome = { condition: 'Success', work: work({ attempts: 1 }), response: response() };
    assert.deepEqual(destinationRecord(outcome, NOW), {
      version: '1.0',
      timestamp: '2019-11-14T18:16:05.568Z',
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:eu-west-1:team-a:function:my-function:$LATEST',
        condition: 'Success',
        approximateInvokeCount: 1,
      },
      requestPayload: { key: 'value' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { ok: true },
    });
  });

  it('carries functionError and the error payload when retries are exhausted', () => {
    const record = destinationRecord(
      { condition: 'RetriesExhausted', work: work({ attempts: 3 }, 'live'), response: response('Unhandled') },
      NOW,
    );
    assert.equal(
      record.requestContext.functionArn,
      'arn:aws:lambda:eu-west-1:team-a:function:my-function:live',
    );
    assert.equal(record.requestContext.approximateInvokeCount, 3);
    assert.deepEqual(record.responseContext, {
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    assert.deepEqual(record.responsePayload, { errorMessage: 'boom', errorType: 'Error' });
  });

  it('omits responseContext and responsePayload for EventAgeExceeded', () => {
    const record = destinationRecord(
      { condition: 'EventAgeExceeded', work: work({ attempts: 1 }), response: response('Unhandled') },
      NOW,
    );
    assert.equal(record.requestContext.condition, 'EventAgeExceeded');
    assert.ok(!('responseContext' in record));
    assert.ok(!('responsePayload' in record));
  });
});

describe('planned deliveries', () => {
  const ids = () => {
    let n = 0;
    return () => `new-${++n}`;
  };

  it('sends a success to onSuccess only', () => {
    const settings = {
      ...base,
      onSuccess: 'http://sink/ok',
      onFailure: 'http://sink/fail',
      deadLetterTarget: 'http://sink/dlq',
    };
    const planned = plannedDeliveries(
      { condition: 'Success', work: work({ attempts: 1 }), response: response() },
      settings,
      NOW,
      ids(),
    );
    assert.equal(planned.length, 1);
    assert.equal(planned[0]?.to, 'http');
    assert.equal(planned[0]?.purpose, 'onSuccess');
  });

  it('sends a failure to onFailure (the record) and the dead-letter target (the raw event, with headers)', () => {
    const settings = {
      ...base,
      onFailure: 'function:audit:prod',
      deadLetterTarget: 'https://dlq.example/in',
    };
    const failedWork = work({ attempts: 3, lastError: { statusCode: 200, message: 'boom\nline two' } });
    const planned = plannedDeliveries(
      { condition: 'RetriesExhausted', work: failedWork, response: response('Unhandled') },
      settings,
      NOW,
      ids(),
    );
    const [fn, dlq] = planned;
    assert.equal(fn?.to, 'function');
    if (fn?.to !== 'function') return;
    assert.equal(fn.invocation.requestId, 'new-1');
    assert.equal(fn.invocation.functionName, 'audit');
    assert.equal(fn.invocation.qualifier, 'prod');
    assert.equal(fn.invocation.invokedFunctionArn, 'arn:aws:lambda:eu-west-1:team-a:function:audit:prod');
    assert.equal(JSON.parse(fn.invocation.payload).requestContext.condition, 'RetriesExhausted');
    assert.equal(dlq?.to, 'http');
    if (dlq?.to !== 'http') return;
    assert.equal(dlq.work.body, '{"key":"value"}');
    assert.equal(dlq.work.headers['X-Lamina-RequestId'], 'req-1');
    assert.equal(dlq.work.headers['X-Lamina-ErrorCode'], '200');
    assert.equal(dlq.work.headers['X-Lamina-ErrorMessage'], 'boom\\u{a}line two');
  });

  it('plans nothing when no destination is configured, and flags an invalid one', () => {
    assert.deepEqual(
      plannedDeliveries({ condition: 'Success', work: work(), response: response() }, base, NOW, ids()),
      [],
    );
    const planned = plannedDeliveries(
      { condition: 'EventAgeExceeded', work: work() },
      { ...base, onFailure: 'sqs://nope' },
      NOW,
      ids(),
    );
    assert.deepEqual(planned, [{ to: 'invalid', purpose: 'onFailure', target: 'sqs://nope' }]);
  });

  it('keeps the dead-letter error message to 1 KB of printable ASCII', () => {
    const long = 'é'.repeat(600) + 'x'.repeat(2000);
    const safe = headerSafeMessage(long);
    assert.ok(/^[\x20-\x7e]*$/.test(safe));
    assert.equal(safe, '\\u{e9}'.repeat(512));
    assert.equal(headerSafeMessage('x'.repeat(5000)).length, 1024);
  });
});

describe('targets', () => {
  it('parses function and http(s) targets', () => {
    assert.deepEqual(parseTarget('function:audit'), { kind: 'function', name: 'audit' });
    assert.deepEqual(parseTarget('function:audit:$LATEST'), { kind: 'function', name: 'audit' });
    assert.deepEqual(parseTarget('function:audit:7'), { kind: 'function', name: 'audit', qualifier: '7' });
    assert.deepEqual(parseTarget('https://x.test/hook?a=1'), {
      kind: 'http',
      url: 'https://x.test/hook?a=1',
    });
    assert.equal(parseTarget('arn:aws:sqs:us-east-1:1:q').kind, 'invalid');
    assert.equal(parseTarget('ftp://x').kind, 'invalid');
  });
});
