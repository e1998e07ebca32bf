// Pure mapping of per-function settings: async destinations, event invoke config and
// function URL config between Lambda's JSON and the Function spec.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asyncInvokeOf, eventInvokeConfigJson } from '../../../operator/src/control-plane/async-config.js';
import { destinationOf, targetOf } from '../../../operator/src/control-plane/destinations.js';
import { functionUrlOf, urlConfigJson } from '../../../operator/src/control-plane/url-config.js';

describe('async destinations', () => {
  it('maps a function ARN in the namespace to function:<name>[:<qualifier>] and back', () => {
    assert.equal(targetOf('arn:aws:lambda:us-east-1:ns:function:dlq', 'ns'), 'function:dlq');
    assert.equal(targetOf('arn:aws:lambda:us-east-1:ns:function:dlq:live', 'ns'), 'function:dlq:live');
    assert.equal(
      destinationOf('function:dlq:live', 'us-east-1', 'ns'),
      'arn:aws:lambda:us-east-1:ns:function:dlq:live',
    );
    assert.equal(targetOf('https://hooks.example/x', 'ns'), 'https://hooks.example/x');
  });

  it('refuses queues, topics and functions of other namespaces', () => {
    for (const d of [
      'arn:aws:sqs:us-east-1:123456789012:q',
      'arn:aws:sns:us-east-1:123456789012:t',
      'arn:aws:lambda:us-east-1:other:function:f',
    ]) {
      assert.throws(() => targetOf(d, 'ns'), { code: 'InvalidParameterValueException' }, d);
    }
  });
});

describe('event invoke config', () => {
  it('fills Lambda defaults on Put and keeps what Update does not name', () => {
    const put = asyncInvokeOf(
      { DestinationConfig: { OnSuccess: { Destination: 'https://a.example' } } },
      'ns',
    );
    assert.deepEqual(put, {
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 21600,
      destinationConfig: { onSuccess: { destination: 'https://a.example' } },
    });
    const update = asyncInvokeOf({ MaximumRetryAttempts: 0 }, 'ns', put);
    assert.deepEqual(update.destinationConfig, put.destinationConfig);
    assert.equal(update.maximumRetryAttempts, 0);
    assert.equal(
      asyncInvokeOf({ DestinationConfig: { OnSuccess: {} } }, 'ns', put).destinationConfig,
      undefined,
    );
  });

  it('refuses out-of-range retries and ages', () => {
    assert.throws(() => asyncInvokeOf({ MaximumRetryAttempts: 3 }, 'ns'), { code: 'ValidationException' });
    assert.throws(() => asyncInvokeOf({ MaximumEventAgeInSeconds: 59 }, 'ns'), {
      code: 'ValidationException',
    });
  });

  it("answers with Lambda's shape and epoch-seconds LastModified", () => {
    const json = eventInvokeConfigJson(
      {
        maximumRetryAttempts: 1,
        maximumEventAgeInSeconds: 60,
        destinationConfig: { onFailure: { destination: 'function:d' } },
      },
      'us-east-1',
      'ns',
      'f',
      '2026-01-02T03:04:05.000Z',
    );
    assert.deepEqual(json, {
      LastModified: Date.parse('2026-01-02T03:04:05.000Z') / 1000,
      FunctionArn: 'arn:aws:lambda:us-east-1:ns:function:f',
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: {
        OnSuccess: {},
        OnFailure: { Destination: 'arn:aws:lambda:us-east-1:ns:function:d' },
      },
    });
  });
});

describe('function URL config', () => {
  it('maps AWS_IAM to KUBERNETES and CORS member by member', () => {
    const config = functionUrlOf({
      AuthType: 'AWS_IAM',
      Cors: { AllowOrigins: ['*'], AllowCredentials: false },
    });
    assert.deepEqual(config, {
      authType: 'KUBERNETES',
      invokeMode: 'BUFFERED',
      payloadFormatVersion: '2.0',
      cors: { allowOrigins: ['*'], allowCredentials: false },
    });
    const json = urlConfigJson(config, 'http://gw/lambda-url/ns/f/', 'arn', 't0', undefined);
    assert.equal(json.AuthType, 'AWS_IAM');
    assert.deepEqual(json.Cors, { AllowOrigins: ['*'], AllowCredentials: false });
  });

  it('needs an AuthType to create, refuses unknown invoke modes and auth types', () => {
    assert.throws(() => functionUrlOf({}), { code: 'ValidationException' });
    assert.throws(() => functionUrlOf({ AuthType: 'NONE', InvokeMode: 'STREAMING' }), {
      code: 'ValidationException',
    });
    assert.throws(() => functionUrlOf({ AuthType: 'OPEN' }), { code: 'ValidationException' });
  });

  it('takes RESPONSE_STREAM, keeps the mode on update and reports it', () => {
    const streaming = functionUrlOf({ AuthType: 'NONE', InvokeMode: 'RESPONSE_STREAM' });
    assert.equal(streaming.invokeMode, 'RESPONSE_STREAM');
    assert.equal(functionUrlOf({ AuthType: 'NONE' }, streaming).invokeMode, 'RESPONSE_STREAM');
    assert.equal(functionUrlOf({ InvokeMode: 'BUFFERED' }, streaming).invokeMode, 'BUFFERED');
    assert.equal(urlConfigJson(streaming, 'u', 'arn', 't0', undefined).InvokeMode, 'RESPONSE_STREAM');
  });

  it('keeps the payload format a kubectl user chose when updated through the API', () => {
    const current = {
      authType: 'NONE' as const,
      invokeMode: 'BUFFERED' as const,
      payloadFormatVersion: '1.0' as const,
    };
    assert.equal(functionUrlOf({ AuthType: 'AWS_IAM' }, current).payloadFormatVersion, '1.0');
  });
});
