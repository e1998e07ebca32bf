// The Invoke API and function URLs with LAMINA_INVOKE_AUTH=kubernetes, through inject(): the
// status codes and error shapes a caller sees, and what reaches the function.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { invokeAttributes } from '../../../operator/src/kube/auth/access-review.js';
import { KubernetesAuthorizer } from '../../../operator/src/kube/auth/authorizer.js';
import { LambdaAuthorizer } from '../../../operator/src/gateway/auth/lambda-auth.js';
import { MemoryCatalog } from '../../../operator/src/gateway/catalog/catalog.js';
import { createGateway, type Gateway } from '../../../operator/src/gateway/gateway.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { FakeAgents } from '../gateway/fake-agent.js';
import { FakeProvider, tick } from '../gateway/fake-provider.js';
import { activeFunction } from '../gateway/fixtures.js';
import { testSettings } from '../gateway/harness.js';
import { FakeReviewer } from './fake-reviewer.js';

const path = (name: string) => `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
const SIGV4 =
  'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff';

async function gatewayWith(invokeAuth: boolean) {
  const reviewer = new FakeReviewer();
  reviewer.tokens.set('alice-token', 'alice');
  reviewer.tokens.set('bob-token', 'bob');
  reviewer.rules.add(FakeReviewer.rule('alice', invokeAttributes('default', 'hello')));
  reviewer.rules.add(FakeReviewer.rule('alice', invokeAttributes('default', 'private')));
  const log = createLogger({}, 'error');
  const authorizer = new LambdaAuthorizer(
    new KubernetesAuthorizer(reviewer, { now: Date.now }),
    testSettings.region,
    log,
  );
  const catalog = new MemoryCatalog();
  const provider = new FakeProvider();
  const agents = new FakeAgents({
    hello: ({ event }) => ({ body: { event } }),
    other: () => ({ body: 'other' }),
    private: ({ event }) => ({ body: { statusCode: 200, body: JSON.stringify(event) } }),
  });
  provider.addressFor = agents.start;
  const gateway: Gateway = await createGateway({
    settings: testSettings,
    catalog,
    provider,
    log,
    urlAuthorizer: authorizer,
    ...(invokeAuth ? { invokeAuthorizer: authorizer } : {}),
  });
  await gateway.start();
  catalog.upsertFunction(activeFunction('hello'));
  catalog.upsertFunction(activeFunction('other'));
  catalog.upsertFunction(
    activeFunction('private', {
      functionUrl: {
        authType: 'KUBERNETES',
        invokeMode: 'BUFFERED',
        payloadFormatVersion: '2.0',
        cors: { allowOrigins: ['https://app.example'], allowMethods: ['GET'] },
      },
    }),
  );
  await tick();
  return {
    app: gateway.app,
    reviewer,
    agents,
    close: async () => {
      await gateway.stop();
      await agents.close();
    },
  };
}

describe('Invoke API with kubernetes auth', () => {
  let t: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => (t = await gatewayWith(true)));
  after(() => t.close());

  it('runs the function for a caller RBAC allows (Authorization: Bearer)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('hello'),
      payload: '{"a":1}',
      headers: { authorization: 'Bearer alice-token' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().event, { a: 1 });
  });

  it('accepts X-Lamina-Token next to an AWS SDK SigV4 Authorization header', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('hello'),
      headers: { authorization: SIGV4, 'x-lamina-token': 'alice-token' },
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  it('answers 403 MissingAuthenticationTokenException without a token (SigV4 alone is not one)', async () => {
    for (const headers of [{}, { authorization: SIGV4 }]) {
      const res = await t.app.inject({ method: 'POST', url: path('hello'), headers });
      assert.equal(res.statusCode, 403);
      assert.equal(res.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
      assert.match(res.json().message, /X-Lamina-Token/);
      assert.match(String(res.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
    }
  });

  it('answers 403 UnrecognizedClientException for a token the API server rejects', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('hello'),
      headers: { authorization: 'Bearer forged.jwt.value' },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'UnrecognizedClientException');
    assert.equal(res.json().message, 'The security token included in the request is invalid.');
  });

  it('answers 403 AccessDeniedException in Lambda shape when RBAC has no invoke verb', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('hello'),
      headers: { authorization: 'Bearer bob-token' },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException');
    const body = res.json();
    assert.equal(body.Type, 'User');
    assert.match(
      body.Message,
      /^User: bob is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:default:function:hello/,
    );
  });

  it('authorizes per function: alice may invoke hello but not other', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('other'),
      headers: { authorization: 'Bearer alice-token' },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException');
  });

  it('does not reveal whether a function exists to a caller who may not invoke it', async () => {
    const missing = await t.app.inject({
      method: 'POST',
      url: path('no-such-function'),
      headers: { authorization: 'Bearer bob-token' },
    });
    assert.equal(missing.statusCode, 403);
    const anon = await t.app.inject({ method: 'POST', url: path('no-such-function') });
    assert.equal(anon.statusCode, 403);
  });

  it('checks the namespace an ARN names, not the default one', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('arn:aws:lambda:us-east-1:team-b:function:hello'),
      headers: { authorization: 'Bearer alice-token' },
    });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().Message, /namespace "team-b"/);
  });

  it('checks DryRun and Event invocations too', async () => {
    for (const type of ['DryRun', 'Event']) {
      const res = await t.app.inject({
        method: 'POST',
        url: path('hello'),
        headers: { 'x-amz-invocation-type': type },
      });
      assert.equal(res.statusCode, 403, type);
    }
    const dry = await t.app.inject({
      method: 'POST',
      url: path('hello'),
      headers: { 'x-amz-invocation-type': 'DryRun', authorization: 'Bearer alice-token' },
    });
    assert.equal(dry.statusCode, 204);
  });

  it('still answers a malformed name with ValidationException (syntax reveals nothing)', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('bad name!') });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
  });
});

describe('Invoke API with auth none', () => {
  let t: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => (t = await gatewayWith(false)));
  after(() => t.close());

  it('ignores SigV4, bearer and garbage Authorization headers alike', async () => {
    for (const authorization of [SIGV4, 'Bearer forged', 'garbage\u00ff']) {
      const res = await t.app.inject({ method: 'POST', url: path('hello'), headers: { authorization } });
      assert.equal(res.statusCode, 200, `${authorization}: ${res.body}`);
    }
    assert.equal(t.reviewer.authentications, 0);
  });

  it('still guards function URLs whose authType is KUBERNETES', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/lambda-url/default/private/' });
    assert.equal(res.statusCode, 403);
  });
});

describe('function URL with authType KUBERNETES', () => {
  let t: Awaited<ReturnType<typeof gatewayWith>>;
  before(async () => (t = await gatewayWith(false)));
  after(() => t.close());

  it('runs for an allowed caller and never shows the function the caller token', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/lambda-url/default/private/x',
      headers: { authorization: 'Bearer alice-token', 'x-lamina-token': 'alice-token', 'x-keep': 'yes' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const event = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(event.headers['x-keep'], 'yes');
    assert.equal(event.headers.authorization, undefined);
    assert.equal(event.headers['x-lamina-token'], undefined);
    assert.ok(!res.body.includes('alice-token'));
  });

  it('answers Lambda URL 403 {"Message":"Forbidden"} for a denied or anonymous caller', async () => {
    for (const headers of [{}, { authorization: 'Bearer bob-token' }, { authorization: 'Bearer forged' }]) {
      const res = await t.app.inject({ method: 'GET', url: '/lambda-url/default/private/', headers });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().Message, 'Forbidden');
    }
  });

  it('answers a CORS preflight without credentials and without running the function', async () => {
    const before = t.agents.invocations.length;
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/lambda-url/default/private/',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(t.agents.invocations.length, before);
  });
});
