import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AccessDeniedException,
  InvalidParameterValueException,
  InvalidRequestContentException,
  RequestEntityTooLargeException,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
  UnsupportedMediaTypeException,
  ValidationException,
  toWireError,
} from '../../operator/src/errors.js';

const wire = (err: unknown, extra = {}) => {
  const out = toWireError(err, { requestId: 'req-1', ...extra });
  return { ...out, json: JSON.parse(out.body) as Record<string, unknown> };
};

describe('toWireError', () => {
  it('sends ResourceNotFoundException as 404 with a capitalised Message', () => {
    const out = wire(new ResourceNotFoundException('Function not found: arn'));
    assert.equal(out.statusCode, 404);
    assert.equal(out.headers['x-amzn-ErrorType'], 'ResourceNotFoundException');
    assert.equal(out.headers['x-amzn-RequestId'], 'req-1');
    assert.deepEqual(out.json, {
      Type: 'User',
      Message: 'Function not found: arn',
      __type: 'ResourceNotFoundException',
    });
  });

  it('sends a throttle as 429 with Reason, lower-case message and Retry-After', () => {
    const out = wire(new TooManyRequestsException('ReservedFunctionConcurrentInvocationLimitExceeded', 2.2));
    assert.equal(out.statusCode, 429);
    assert.equal(out.headers['Retry-After'], '3');
    assert.deepEqual(out.json, {
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      Type: 'User',
      message: 'Rate Exceeded.',
      __type: 'TooManyRequestsException',
    });
  });

  it('uses the recorded codes, statuses and message keys for every class', () => {
    const cases: Array<[Error, number, string, 'message' | 'Message']> = [
      [new InvalidParameterValueException('x'), 400, 'InvalidParameterValueException', 'message'],
      [new InvalidRequestContentException('x'), 400, 'InvalidRequestContentException', 'message'],
      [new ValidationException('x'), 400, 'ValidationException', 'message'],
      [new ResourceConflictException('x'), 409, 'ResourceConflictException', 'message'],
      [new UnsupportedMediaTypeException('x'), 415, 'UnsupportedMediaTypeException', 'message'],
      [new AccessDeniedException('x'), 403, 'AccessDeniedException', 'Message'],
      [new ServiceException('x'), 500, 'ServiceException', 'Message'],
      [new RequestEntityTooLargeException('x'), 413, 'RequestEntityTooLargeException', 'message'],
    ];
    for (const [err, status, code, key] of cases) {
      const out = wire(err);
      assert.equal(out.statusCode, status, code);
      assert.equal(out.headers['x-amzn-ErrorType'], code);
      assert.equal(out.json[key], 'x', code);
      assert.equal(out.json.__type, code);
    }
    assert.equal(wire(new ServiceException('x')).json.Type, 'Service');
  });

  it("turns fastify's body-limit error into Lambda's 413 for the operation", () => {
    const err = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    const out = wire(err, { bodyLimit: 6291456, operation: 'InvokeFunction' });
    assert.equal(out.statusCode, 413);
    assert.equal(out.headers['x-amzn-ErrorType'], 'RequestEntityTooLargeException');
    assert.equal(
      out.json.message,
      'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
    );
  });

  it('hides unexpected errors behind a ServiceException', () => {
    const out = wire(new TypeError('secret internals'));
    assert.equal(out.statusCode, 500);
    assert.equal(out.headers['x-amzn-ErrorType'], 'ServiceException');
    assert.ok(!out.body.includes('secret internals'));
  });

  it('formats the async payload limit message', () => {
    assert.equal(
      RequestEntityTooLargeException.forEvent(1048577, 1048576).message,
      '1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)',
    );
  });
});
