import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterAttempt,
  backoffMs,
  beforeAttempt,
  LAMBDA_RETRY_POLICY,
  type AsyncSettings,
  type AttemptOutcome,
  type Decision,
} from '../../../../operator/src/gateway/async/decisions.js';
import { newInvokeWork, type InvokeWork } from '../../../../operator/src/gateway/async/work.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';

const T0 = Date.UTC(2026, 0, 1);
const settings: AsyncSettings = { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21_600 };
const noJitter = () => 0;

function work(receivedAt = T0): InvokeWork {
  return newInvokeWork({
    requestId: 'r1',
    namespace: 'team-a',
    functionName: 'fn',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:team-a:function:fn',
    payload: '{"k":1}',
    receivedAt,
  });
}

const ok: AttemptOutcome = {
  kind: 'response',
  statusCode: 200,
  executedVersion: '$LATEST',
  payload: Buffer.from('"done"'),
};
const failed: AttemptOutcome = {
  kind: 'response',
  statusCode: 200,
  executedVersion: '$LATEST',
  functionError: 'Unhandled',
  payload: Buffer.from('{"errorType":"Error","errorMessage":"boom"}'),
};
const throttled: AttemptOutcome = {
  kind: 'throttled',
  reason: 'ConcurrentInvocationLimitExceeded',
  message: 'Rate Exceeded.',
};
const systemError: AttemptOutcome = { kind: 'systemError', statusCode: 500, message: 'environment failed' };

function expectRetry(d: Decision): Extract<Decision, { action: 'retry' }> {
  assert.equal(d.action, 'retry', JSON.stringify(d));
  return d as Extract<Decision, { action: 'retry' }>;
}
function expectFinish(d: Decision): Extract<Decision, { action: 'finish' }> {
  assert.equal(d.action, 'finish', JSON.stringify(d));
  return d as Extract<Decision, { action: 'finish' }>;
}

describe('async decisions', () => {
  it('runs a fresh event and finishes it as Success with one invoke', () => {
    const clock = new ManualClock(T0);
    assert.deepEqual(beforeAttempt(work(), settings, clock.now()), { action: 'run' });
    const done = expectFinish(afterAttempt(work(), ok, settings, clock.now(), LAMBDA_RETRY_POLICY, noJitter));
    assert.equal(done.condition, 'Success');
    assert.equal(done.work.attempts, 1);
    assert.equal(done.response, ok);
  });

  it('retries a function error after about 1 minute, then 2 minutes, then gives up (RetriesExhausted after 3 invokes)', () => {
    const clock = new ManualClock(T0);
    let w = work();
    const first = expectRetry(afterAttempt(w, failed, settings, clock.now(), LAMBDA_RETRY_POLICY, noJitter));
    assert.equal(first.reason, 'functionError');
    assert.equal(first.dueAt, T0 + 60_000);
    w = first.work;
    assert.equal(w.attempts, 1);
    assert.deepEqual(w.lastError, { statusCode: 200, message: 'boom' });

    clock.advance(60_000);
    assert.equal(beforeAttempt(w, settings, clock.now()).action, 'run');
    const second = expectRetry(afterAttempt(w, failed, settings, clock.now(), LAMBDA_RETRY_POLICY, noJitter));
    assert.equal(second.dueAt, clock.now() + 120_000);
    w = second.work;

    clock.advance(120_000);
    const last = expectFinish(afterAttempt(w, failed, settings, clock.now(), LAMBDA_RETRY_POLICY, noJitter));
    assert.equal(last.condition, 'RetriesExhausted');
    assert.equal(last.work.attempts, 3);
    assert.equal(last.response, failed);
  });

  it('honours maximumRetryAttempts 0 and 1', () => {
    const zero = expectFinish(
      afterAttempt(
        work(),
        failed,
        { ...settings, maximumRetryAttempts: 0 },
        T0,
        LAMBDA_RETRY_POLICY,
        noJitter,
      ),
    );
    assert.equal(zero.condition, 'RetriesExhausted');
    assert.equal(zero.work.attempts, 1);
    const one = { ...settings, maximumRetryAttempts: 1 };
    const retry = expectRetry(afterAttempt(work(), failed, one, T0, LAMBDA_RETRY_POLICY, noJitter));
    assert.equal(
      expectFinish(afterAttempt(retry.work, failed, one, T0, LAMBDA_RETRY_POLICY, noJitter)).work.attempts,
      2,
    );
  });

  it('backs throttles and system errors off exponentially from 1 s to at most 5 min, without counting invokes', () => {
    const clock = new ManualClock(T0);
    let w = work();
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const d = expectRetry(
        afterAttempt(
          w,
          i % 2 ? throttled : systemError,
          settings,
          clock.now(),
          LAMBDA_RETRY_POLICY,
          noJitter,
        ),
      );
      delays.push(d.dueAt - clock.now());
      clock.advance(d.dueAt - clock.now());
      w = d.work;
    }
    assert.deepEqual(
      delays,
      [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000],
    );
    assert.equal(w.attempts, 0, 'throttled attempts never reached the function');
    assert.deepEqual(w.lastError, { statusCode: 429, message: 'Rate Exceeded.' });
  });

  it('never drops a throttled event before maximumEventAgeInSeconds, and expires it then (EventAgeExceeded)', () => {
    const clock = new ManualClock(T0);
    const s = { ...settings, maximumEventAgeInSeconds: 600 };
    let w = work();
    let retries = 0;
    for (;;) {
      const before = beforeAttempt(w, s, clock.now());
      if (before.action !== 'run') {
        assert.equal(expectFinish(before).condition, 'EventAgeExceeded');
        break;
      }
      const d = expectRetry(afterAttempt(w, throttled, s, clock.now(), LAMBDA_RETRY_POLICY, noJitter));
      assert.ok(d.dueAt <= T0 + 600_000, 'a retry is never scheduled past the event’s expiry');
      retries++;
      clock.advance(d.dueAt - clock.now());
      w = d.work;
    }
    assert.equal(clock.now(), T0 + 600_000);
    assert.ok(retries >= 9, `retried ${retries} times`);
  });

  it('expires an event whose function-error retry would come after its maximum age', () => {
    const s = { ...settings, maximumEventAgeInSeconds: 90 };
    const clock = new ManualClock(T0);
    clock.advance(60_000);
    const first = expectRetry(afterAttempt(work(), failed, s, clock.now(), LAMBDA_RETRY_POLICY, noJitter));
    assert.equal(first.dueAt, T0 + 90_000, 'due at expiry, not after it');
    clock.advance(30_000);
    const expired = expectFinish(beforeAttempt(first.work, s, clock.now()));
    assert.equal(expired.condition, 'EventAgeExceeded');
    assert.equal(expired.work.attempts, 1);
  });

  it('does not run an event already older than its maximum age', () => {
    const clock = new ManualClock(T0);
    clock.advance(61_000);
    const d = expectFinish(beforeAttempt(work(), { ...settings, maximumEventAgeInSeconds: 60 }, clock.now()));
    assert.equal(d.condition, 'EventAgeExceeded');
    assert.equal(d.work.attempts, 0);
  });

  it('sends events for a function with reserved concurrency 0 straight to failure without retries', () => {
    const d = expectFinish(beforeAttempt(work(), { ...settings, reservedConcurrentExecutions: 0 }, T0));
    assert.equal(d.condition, 'RetriesExhausted');
    assert.equal(d.work.attempts, 0);
    assert.equal(d.response, undefined);
    assert.equal(d.work.lastError?.statusCode, 429);
    assert.equal(beforeAttempt(work(), { ...settings, reservedConcurrentExecutions: 1 }, T0).action, 'run');
  });

  it('discards events of a function that no longer exists', () => {
    assert.deepEqual(beforeAttempt(work(), undefined, T0), { action: 'discard', reason: 'FunctionNotFound' });
    assert.equal(
      afterAttempt(
        work(),
        { kind: 'functionNotFound', message: 'x' },
        settings,
        T0,
        LAMBDA_RETRY_POLICY,
        noJitter,
      ).action,
      'discard',
    );
  });

  it('resets the backoff once an attempt reaches the function', () => {
    const afterThrottle = expectRetry(
      afterAttempt(work(), throttled, settings, T0, LAMBDA_RETRY_POLICY, noJitter),
    );
    const afterError = expectRetry(
      afterAttempt(afterThrottle.work, failed, settings, T0, LAMBDA_RETRY_POLICY, noJitter),
    );
    assert.equal(afterError.work.systemFailures, 0);
    const again = expectRetry(
      afterAttempt(afterError.work, throttled, settings, T0, LAMBDA_RETRY_POLICY, noJitter),
    );
    assert.equal(again.dueAt - T0, 1000);
  });

  it('jitter only shortens a backoff, by at most the configured fraction', () => {
    assert.equal(
      backoffMs(3, LAMBDA_RETRY_POLICY, () => 0),
      4000,
    );
    assert.equal(
      backoffMs(3, LAMBDA_RETRY_POLICY, () => 0.999999),
      3200,
    );
    assert.equal(
      backoffMs(40, LAMBDA_RETRY_POLICY, () => 0),
      300_000,
    );
  });

  it('uses configurable delays (tests run fast with the same rules)', () => {
    const fast = {
      ...LAMBDA_RETRY_POLICY,
      functionErrorDelaysMs: [5, 10],
      backoffInitialMs: 1,
      backoffMaxMs: 8,
    };
    assert.equal(expectRetry(afterAttempt(work(), failed, settings, T0, fast, noJitter)).dueAt, T0 + 5);
    assert.equal(backoffMs(10, fast, noJitter), 8);
  });
});
