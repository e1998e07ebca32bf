// The AWS SDK for JavaScript v3 against the gateway over a real socket, unchanged: only the
// endpoint and dummy credentials differ from talking to AWS.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  InvokeCommand,
  LambdaClient,
  LambdaServiceException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { activeFunction, alias, publishedVersion } from './fixtures.js';
import { tick } from './fake-provider.js';
import { testGateway } from './harness.js';

describe('AWS SDK v3 InvokeCommand against the gateway', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;
  let client: LambdaClient;

  before(async () => {
    t = await testGateway({
      add: ({ event }) => {
        const { a, b } = event as { a: number; b: number };
        return { body: { sum: a + b }, log: 'adding\n' };
      },
      fail: () => ({ body: { errorType: 'Error', errorMessage: 'nope' }, functionError: 'Unhandled' }),
    });
    t.catalog.upsertFunction(activeFunction('add'));
    t.catalog.upsertFunction(activeFunction('fail'));
    t.catalog.upsertFunction(activeFunction('closed', { reservedConcurrentExecutions: 0 }));
    t.catalog.upsertVersion(publishedVersion('add', 1));
    t.catalog.upsertAlias(alias('add', 'live', '1'));
    await tick();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    client = new LambdaClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'lamina', secretAccessKey: 'lamina' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    client.destroy();
    await t.close();
  });

  it('invokes and reads payload, executed version and log tail', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'add',
        Qualifier: 'live',
        Payload: Buffer.from(JSON.stringify({ a: 2, b: 3 })),
        LogType: 'Tail',
      }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '1');
    assert.equal(out.FunctionError, undefined);
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), { sum: 5 });
    assert.equal(Buffer.from(out.LogResult!, 'base64').toString(), 'adding\n');
    assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('invokes by full ARN', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:default:function:add',
        Payload: Buffer.from('{"a":1,"b":1}'),
      }),
    );
    assert.equal(out.ExecutedVersion, '$LATEST');
  });

  it('reads a function error', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'fail' }));
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
  });

  it('raises a typed ResourceNotFoundException', async () => {
    await assert.rejects(client.send(new InvokeCommand({ FunctionName: 'missing' })), (err: unknown) => {
      assert.ok(err instanceof ResourceNotFoundException);
      assert.equal(err.message, 'Function not found: arn:aws:lambda:us-east-1:default:function:missing');
      assert.equal(err.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  it('raises a typed TooManyRequestsException with its Reason', async () => {
    await assert.rejects(client.send(new InvokeCommand({ FunctionName: 'closed' })), (err: unknown) => {
      assert.ok(err instanceof TooManyRequestsException);
      assert.equal(err.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
      assert.equal(err.retryAfterSeconds, '1');
      assert.equal(err.message, 'Rate Exceeded.');
      return true;
    });
  });

  it('raises the 413 under its real error code', async () => {
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'add', Payload: Buffer.alloc(6_291_457, 0x20) })),
      (err: unknown) => {
        assert.ok(err instanceof LambdaServiceException);
        assert.equal(err.name, 'RequestEntityTooLargeException');
        assert.equal(
          err.message,
          'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
        );
        return true;
      },
    );
  });

  it('raises InvalidParameterValueException for a qualifier mismatch', async () => {
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'add:1', Qualifier: 'live' })),
      (err: unknown) => err instanceof Error && err.name === 'InvalidParameterValueException',
    );
  });
});
