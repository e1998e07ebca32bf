import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AsyncInvocation } from '../../../../operator/src/gateway/async/async-queue.js';
import { activeFunction, alias, publishedVersion } from '../fixtures.js';
import { tick } from '../fake-provider.js';
import { callerNamespace } from '../../../../operator/src/kube/auth/caller-namespace.js';
import { testGateway } from '../harness.js';

const path = (name: string) => `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;

describe('Invoke API', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;
  const queued: AsyncInvocation[] = [];

  before(async () => {
    t = await testGateway(
      {
        echo: ({ event, headers }) => ({
          body: {
            event,
            clientContext: headers['x-amz-client-context'] ?? null,
            arn: headers['x-lamina-invoked-function-arn'],
          },
          log: 'START RequestId: x\nhello\n',
        }),
        boom: () => ({
          body: { errorType: 'Error', errorMessage: 'boom', trace: [] },
          functionError: 'Unhandled',
        }),
      },
      { asyncQueue: { enqueue: async (i) => void queued.push(i) } },
    );
    t.catalog.upsertFunction(activeFunction('echo'));
    t.catalog.upsertFunction(activeFunction('boom'));
    t.catalog.upsertFunction(activeFunction('closed', { reservedConcurrentExecutions: 0 }));
    t.catalog.upsertVersion(publishedVersion('echo', 1));
    t.catalog.upsertAlias(alias('echo', 'live', '1'));
    await tick();
  });
  after(() => t.close());

  it('runs $LATEST and answers with the function output', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('echo'), payload: '{"a":1}' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-amz-executed-version'], '$LATEST');
    assert.match(String(res.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
    assert.equal(res.headers['x-amz-function-error'], undefined);
    assert.deepEqual(res.json().event, { a: 1 });
    assert.equal(res.json().arn, 'arn:aws:lambda:us-east-1:default:function:echo');
  });

  it('passes an empty payload as {}', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('echo') });
    assert.deepEqual(res.json().event, {});
  });

  it("refuses an unknown invocation type or log type with Lambda's ValidationException, invocation type first", async () => {
    const invalid = async (headers: Record<string, string>) => {
      const res = await t.app.inject({ method: 'POST', url: path('echo'), payload: '{}', headers });
      assert.equal(res.statusCode, 400);
      assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
      return String(res.json().message);
    };
    assert.equal(
      await invalid({ 'x-amz-invocation-type': 'Sometimes' }),
      "1 validation error detected: Value 'Sometimes' at 'invocationType' failed to satisfy constraint: " +
        'Member must satisfy enum value set: [Event, RequestResponse, DryRun]',
    );
    assert.match(await invalid({ 'x-amz-log-type': 'tail' }), /Value 'tail' at 'logType'.*\[None, Tail\]$/);
    assert.match(
      await invalid({ 'x-amz-invocation-type': 'x', 'x-amz-log-type': 'y' }),
      /Value 'x' at 'invocationType'/,
    );
  });

  it('accepts any content type as raw bytes', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '[1,2]',
      headers: { 'content-type': 'application/x-whatever' },
    });
    assert.deepEqual(res.json().event, [1, 2]);
  });

  it('runs the version an alias points to and reports it', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${path('echo')}?Qualifier=live`, payload: '{}' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-amz-executed-version'], '1');
    assert.equal(res.json().arn, 'arn:aws:lambda:us-east-1:default:function:echo:live');
  });

  it('accepts a full ARN with the namespace in the account position', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('arn:aws:lambda:us-east-1:default:function:echo:1'),
      payload: '{}',
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-amz-executed-version'], '1');
  });

  it('reports a function error with 200 and X-Amz-Function-Error', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('boom'), payload: '{}' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.json().errorMessage, 'boom');
  });

  it('returns the log tail only with LogType Tail', async () => {
    const tail = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amz-log-type': 'Tail' },
    });
    assert.equal(
      Buffer.from(String(tail.headers['x-amz-log-result']), 'base64').toString(),
      'START RequestId: x\nhello\n',
    );
    const none = await t.app.inject({ method: 'POST', url: path('echo'), payload: '{}' });
    assert.equal(none.headers['x-amz-log-result'], undefined);
  });

  it('passes the client context through', async () => {
    const cc = Buffer.from('{"custom":{"k":"v"}}').toString('base64');
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amz-client-context': cc },
    });
    assert.equal(res.json().clientContext, cc);
    const bad = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amz-client-context': 'not base64!' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.headers['x-amzn-errortype'], 'InvalidRequestContentException');
  });

  it('answers 404 with the function ARN for an unknown function or qualifier', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('nope'), payload: '{}' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-amzn-errortype'], 'ResourceNotFoundException');
    assert.equal(res.json().Message, 'Function not found: arn:aws:lambda:us-east-1:default:function:nope');
    const q = await t.app.inject({ method: 'POST', url: `${path('echo')}?Qualifier=blue`, payload: '{}' });
    assert.equal(q.json().Message, 'Function not found: arn:aws:lambda:us-east-1:default:function:echo:blue');
  });

  it('refuses a name qualifier that differs from Qualifier', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${path('echo:1')}?Qualifier=live`,
      payload: '{}',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidParameterValueException');
    assert.equal(
      res.json().message,
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  });

  it('answers ValidationException for a malformed name', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('bad name'), payload: '{}' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
    assert.match(res.json().message, /^1 validation error detected: Value 'bad name' at 'functionName'/);
  });

  it('refuses a payload that is not JSON', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('echo'), payload: "'test" });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'InvalidRequestContentException');
    assert.match(
      res.json().message,
      /^Could not parse request body into json: Could not parse payload into json: /,
    );
  });

  it('refuses a request over 6 MB with 413 RequestEntityTooLargeException', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: Buffer.alloc(6_291_457, 0x20),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers['x-amzn-errortype'], 'RequestEntityTooLargeException');
    assert.equal(
      res.json().message,
      'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
    );
    assert.ok(res.headers['x-amzn-requestid']);
  });

  it('answers DryRun with 204 after validating', async () => {
    const ok = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amz-invocation-type': 'DryRun' },
    });
    assert.equal(ok.statusCode, 204);
    const missing = await t.app.inject({
      method: 'POST',
      url: path('nope'),
      headers: { 'x-amz-invocation-type': 'DryRun' },
    });
    assert.equal(missing.statusCode, 404);
  });

  it('hands Event invocations to the async queue and answers 202', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${path('echo')}?Qualifier=live`,
      payload: '{"async":true}',
      headers: { 'x-amz-invocation-type': 'Event' },
    });
    assert.equal(res.statusCode, 202);
    assert.equal(res.body, '');
    const last = queued.at(-1);
    assert.equal(last?.functionName, 'echo');
    assert.equal(last?.qualifier, 'live');
    assert.equal(last?.payload.toString(), '{"async":true}');
    assert.equal(last?.requestId, res.headers['x-amzn-requestid']);
  });

  it('refuses an Event payload over 1 MB', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: `"${'x'.repeat(1_048_600)}"`,
      headers: { 'x-amz-invocation-type': 'Event' },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(
      res.json().message,
      '1048602 byte payload is too large for the Event invocation type (limit 1048576 bytes)',
    );
  });

  it('validates the invocation type', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      headers: { 'x-amz-invocation-type': 'Later' },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
  });

  it('throttles every invoke of a function with reserved concurrency 0', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('closed'), payload: '{}' });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '1');
    assert.deepEqual(res.json(), {
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      Type: 'User',
      message: 'Rate Exceeded.',
      __type: 'TooManyRequestsException',
    });
  });

  it('refuses a function that is not Active yet with ResourceConflictException', async () => {
    const fn = activeFunction('pending');
    fn.status = { state: 'Pending' };
    t.catalog.upsertFunction(fn);
    const res = await t.app.inject({ method: 'POST', url: path('pending'), payload: '{}' });
    assert.equal(res.statusCode, 409);
    assert.equal(res.headers['x-amzn-errortype'], 'ResourceConflictException');
  });

  it('answers unknown paths with UnknownOperationException', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/2015-03-31/nothing' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-amzn-errortype'], 'UnknownOperationException');
  });

  it('exposes metrics and health', async () => {
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(
      metrics.body,
      /lamina_invocations_total\{namespace="default",function="echo",version="\$LATEST",invocation_type="RequestResponse"\} \d+/,
    );
    assert.match(
      metrics.body,
      /lamina_throttles_total\{namespace="default",function="closed",version="\$LATEST",reason="ReservedFunctionConcurrentInvocationLimitExceeded"\} 1/,
    );
    assert.match(
      metrics.body,
      /lamina_cold_starts_total\{namespace="default",function="echo",version="\$LATEST"\} 1/,
    );
    assert.match(
      metrics.body,
      /lamina_errors_total\{namespace="default",function="boom",version="\$LATEST",error_type="Unhandled"\} 1/,
    );
    assert.match(metrics.body, /lamina_environments\{.*state="idle".*\} \d/);
    const health = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
  });
});

describe('Invoke API: bare names in the caller’s namespace', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;

  before(async () => {
    t = await testGateway(
      { echo: ({ headers }) => ({ body: { arn: headers['x-lamina-invoked-function-arn'] } }) },
      {
        // A service account of team-a sends ci-token; anyone else is not identified.
        bareNames: callerNamespace(
          {
            identify: async (headers) =>
              headers['x-lamina-token'] === 'ci-token' ? 'system:serviceaccount:team-a:ci' : undefined,
          },
          'default',
        ),
      },
    );
    t.catalog.upsertFunction(activeFunction('echo'));
    t.catalog.upsertFunction(activeFunction('echo', {}, 'team-a'));
    await tick();
  });
  after(() => t.close());

  const invokedArn = async (name: string, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'POST', url: path(name), payload: '{}', headers });
    assert.equal(res.statusCode, 200, res.body);
    return String(res.json().arn);
  };

  it("runs a service account's bare name in its own namespace", async () => {
    assert.equal(
      await invokedArn('echo', { 'x-lamina-token': 'ci-token' }),
      'arn:aws:lambda:us-east-1:team-a:function:echo',
    );
  });

  it('runs an unidentified caller’s bare name in the default namespace, and an ARN where it says', async () => {
    assert.equal(await invokedArn('echo'), 'arn:aws:lambda:us-east-1:default:function:echo');
    assert.equal(
      await invokedArn('arn:aws:lambda:us-east-1:default:function:echo', { 'x-lamina-token': 'ci-token' }),
      'arn:aws:lambda:us-east-1:default:function:echo',
    );
  });
});
