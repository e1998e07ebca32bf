import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvokerFunctionPort } from '../../../../operator/src/gateway/async/function-port.js';
import type { LaminaFunction } from '../../../../operator/src/api/index.js';
import {
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
} from '../../../../operator/src/errors.js';
import type { Invoker } from '../../../../operator/src/gateway/dispatch/invoker.js';
import type { InvokeTarget } from '../../../../operator/src/gateway/routing/resolve-target.js';

const invocation = {
  requestId: 'r1',
  namespace: 'team-a',
  functionName: 'fn',
  qualifier: 'live',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:team-a:function:fn:live',
  payload: '{"a":1}',
  receivedAt: 0,
};

function fnWith(spec: Partial<LaminaFunction['spec']>): LaminaFunction {
  return {
    metadata: { name: 'fn', namespace: 'team-a' },
    spec: { runtime: 'nodejs20.x', ...spec },
  } as unknown as LaminaFunction;
}

function port(behaviour: () => Promise<Awaited<ReturnType<Invoker['invoke']>>>, fn?: LaminaFunction) {
  const calls: Array<{ name: string; requestId: string; type: string }> = [];
  const invoker = {
    resolve(name: string) {
      calls.push({ name, requestId: '', type: '' });
      return { version: '3' } as InvokeTarget;
    },
    async invoke(_t: InvokeTarget, _p: Buffer, opts: { requestId: string; invocationType: string }) {
      calls.push({ name: '', requestId: opts.requestId, type: opts.invocationType });
      return behaviour();
    },
  } as unknown as Pick<Invoker, 'resolve' | 'invoke'>;
  return { calls, port: new InvokerFunctionPort(invoker, { getFunction: () => fn }) };
}

describe('InvokerFunctionPort', () => {
  it('runs each attempt as an Event invoke of the ARN, keeping the request id', async () => {
    const { port: p, calls } = port(async () => ({ payload: Buffer.from('1'), executedVersion: '3' }));
    const outcome = await p.invoke(invocation);
    assert.deepEqual(outcome, {
      kind: 'response',
      statusCode: 200,
      executedVersion: '3',
      payload: Buffer.from('1'),
    });
    assert.equal(calls[0]?.name, invocation.invokedFunctionArn);
    assert.deepEqual(calls[1], { name: '', requestId: 'r1', type: 'Event' });
  });

  it('maps failures: 429 → throttled, 404 → gone, 409/5xx → system error, function errors stay responses', async () => {
    const cases: Array<[() => never, string]> = [
      [
        () => {
          throw new TooManyRequestsException('ReservedFunctionConcurrentInvocationLimitExceeded');
        },
        'throttled',
      ],
      [
        () => {
          throw new ResourceNotFoundException('gone');
        },
        'functionNotFound',
      ],
      [
        () => {
          throw ResourceConflictException.functionState('Pending');
        },
        'systemError',
      ],
      [
        () => {
          throw new ServiceException('env failed');
        },
        'systemError',
      ],
      [
        () => {
          throw new Error('socket');
        },
        'systemError',
      ],
    ];
    for (const [fail, kind] of cases) {
      const { port: p } = port(async () => fail());
      assert.equal((await p.invoke(invocation)).kind, kind);
    }
    const { port: p } = port(async () => ({
      payload: Buffer.from('{}'),
      executedVersion: '3',
      functionError: 'Unhandled',
    }));
    const outcome = await p.invoke(invocation);
    assert.equal(outcome.kind === 'response' && outcome.functionError, 'Unhandled');
  });

  it('reads async settings from the Function with Lambda’s defaults', () => {
    assert.equal(
      port(async () => ({ payload: Buffer.from(''), executedVersion: '1' })).port.settings(invocation),
      undefined,
    );
    const defaults = port(async () => ({ payload: Buffer.from(''), executedVersion: '1' }), fnWith({})).port;
    assert.deepEqual(defaults.settings(invocation), {
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 21_600,
    });
    const full = port(
      async () => ({ payload: Buffer.from(''), executedVersion: '1' }),
      fnWith({
        reservedConcurrentExecutions: 0,
        asyncInvoke: {
          maximumRetryAttempts: 1,
          maximumEventAgeInSeconds: 60,
          destinationConfig: {
            onSuccess: { destination: 'function:a' },
            onFailure: { destination: 'http://x/y' },
          },
        },
        deadLetterConfig: { targetArn: 'http://x/dlq' },
      }),
    ).port;
    assert.deepEqual(full.settings(invocation), {
      maximumRetryAttempts: 1,
      maximumEventAgeInSeconds: 60,
      reservedConcurrentExecutions: 0,
      onSuccess: 'function:a',
      onFailure: 'http://x/y',
      deadLetterTarget: 'http://x/dlq',
    });
  });
});
