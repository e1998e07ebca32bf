import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidParameterValueException, ValidationException } from '../../../operator/src/errors.js';
import {
  functionArn,
  parseFunctionName,
  resolveFunctionReference,
} from '../../../operator/src/api/function-name.js';

describe('parseFunctionName', () => {
  it('reads a bare name in the default namespace', () => {
    assert.deepEqual(parseFunctionName('my-function', 'default'), {
      namespace: 'default',
      name: 'my-function',
    });
  });

  it('reads name:qualifier', () => {
    assert.deepEqual(parseFunctionName('my-function:v1', 'default'), {
      namespace: 'default',
      name: 'my-function',
      qualifier: 'v1',
    });
  });

  it('reads the namespace from a partial ARN', () => {
    assert.deepEqual(parseFunctionName('team-a:function:calc:3', 'default'), {
      namespace: 'team-a',
      name: 'calc',
      qualifier: '3',
    });
  });

  it('reads the namespace from the account position of a full ARN', () => {
    assert.deepEqual(parseFunctionName('arn:aws:lambda:us-east-1:team-a:function:calc', 'default'), {
      namespace: 'team-a',
      name: 'calc',
    });
    assert.deepEqual(parseFunctionName('arn:aws:lambda:eu-west-1:ns1:function:calc:$LATEST', 'x'), {
      namespace: 'ns1',
      name: 'calc',
      qualifier: '$LATEST',
    });
  });

  it('rejects malformed names with the ValidationException pattern message', () => {
    for (const bad of [
      '',
      'a b',
      'arn:aws:s3:us-east-1:ns:function:f',
      'a:b:c:d',
      'name:bad$qual',
      'Ns:function:f',
    ]) {
      assert.throws(
        () => parseFunctionName(bad, 'default'),
        (err: unknown) =>
          err instanceof ValidationException &&
          err.message.startsWith(
            `1 validation error detected: Value '${bad}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: `,
          ),
        bad,
      );
    }
  });

  it('rejects names longer than 64 characters and ARNs longer than 256', () => {
    assert.throws(() => parseFunctionName('a'.repeat(65), 'default'), ValidationException);
    assert.throws(() => parseFunctionName('a'.repeat(257), 'default'), /length less than or equal to 256/);
  });
});

describe('resolveFunctionReference', () => {
  it('takes the Qualifier parameter when the name has none', () => {
    assert.deepEqual(resolveFunctionReference('f', 'live', 'default'), {
      namespace: 'default',
      name: 'f',
      qualifier: 'live',
    });
  });

  it('accepts the same qualifier in both places', () => {
    assert.equal(resolveFunctionReference('f:2', '2', 'default').qualifier, '2');
  });

  it('refuses a name qualifier that differs from the Qualifier parameter', () => {
    assert.throws(
      () => resolveFunctionReference('f:1', '2', 'default'),
      (err: unknown) =>
        err instanceof InvalidParameterValueException &&
        err.message ===
          'The derived qualifier from the function name does not match the specified qualifier.',
    );
  });

  it('treats $LATEST as unqualified', () => {
    assert.deepEqual(resolveFunctionReference('f', '$LATEST', 'default'), {
      namespace: 'default',
      name: 'f',
    });
    assert.deepEqual(resolveFunctionReference('f:$LATEST', undefined, 'default'), {
      namespace: 'default',
      name: 'f',
    });
  });

  it('validates the Qualifier parameter pattern', () => {
    assert.throws(() => resolveFunctionReference('f', 'a/b', 'default'), /at 'qualifier' failed to satisfy/);
  });

  it('builds ARNs with the namespace as account', () => {
    assert.equal(functionArn('us-east-1', 'ns', 'f'), 'arn:aws:lambda:us-east-1:ns:function:f');
    assert.equal(functionArn('us-east-1', 'ns', 'f', 'live'), 'arn:aws:lambda:us-east-1:ns:function:f:live');
  });
});
