import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activeFunction } from '../fixtures.js';
import { tick } from '../fake-provider.js';
import { testGateway } from '../harness.js';

describe('Function URLs', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;

  before(async () => {
    t = await testGateway({
      web: ({ event }) => {
        const e = event as { rawPath: string; queryStringParameters?: Record<string, string>; body?: string };
        return {
          body: {
            statusCode: 201,
            headers: { 'content-type': 'text/plain', 'access-control-allow-origin': 'https://fn.example' },
            cookies: ['a=1', 'b=2'],
            body: `path=${e.rawPath} q=${e.queryStringParameters?.q ?? ''} body=${e.body ?? ''}`,
          },
        };
      },
      plain: () => ({ body: 'Hello, world!' }),
      broken: () => ({ body: { errorMessage: 'x' }, functionError: 'Unhandled' }),
      rest: ({ event }) => ({
        body: {
          statusCode: 200,
          body: JSON.stringify({ method: (event as { httpMethod: string }).httpMethod }),
        },
      }),
      restBad: () => ({ body: 'no statusCode' }),
      raw: ({ event }) => ({ body: event }),
    });
    const cors = {
      allowOrigins: ['https://app.example'],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['content-type'],
      maxAge: 60,
    };
    t.catalog.upsertFunction(
      activeFunction('web', {
        functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED', payloadFormatVersion: '2.0', cors },
      }),
    );
    t.catalog.upsertFunction(
      activeFunction('plain', {
        functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED', payloadFormatVersion: '2.0' },
      }),
    );
    t.catalog.upsertFunction(
      activeFunction('broken', {
        functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED', payloadFormatVersion: '2.0' },
      }),
    );
    t.catalog.upsertFunction(
      activeFunction('rest', {
        functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED', payloadFormatVersion: '1.0' },
      }),
    );
    t.catalog.upsertFunction(
      activeFunction('restBad', {
        functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED', payloadFormatVersion: '1.0' },
      }),
    );
    t.catalog.upsertFunction(
      activeFunction('raw', {
        functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED', payloadFormatVersion: '2.0' },
      }),
    );
    t.catalog.upsertFunction(
      activeFunction('private', {
        functionUrl: { authType: 'KUBERNETES', invokeMode: 'BUFFERED', payloadFormatVersion: '2.0' },
      }),
    );
    t.catalog.upsertFunction(activeFunction('nourl'));
    await tick();
  });
  after(() => t.close());

  it('maps an HTTP request to a 2.0 event and the result back to HTTP', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/lambda-url/default/web/items/7?q=search',
      payload: 'hello',
      headers: { 'content-type': 'text/plain', origin: 'https://app.example' },
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.body, 'path=/items/7 q=search body=hello');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    // The URL's CORS settings override the function's own CORS headers.
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
    assert.ok(res.headers['x-amzn-requestid']);
  });

  it('builds the full 2.0 event', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/lambda-url/default/raw/a%20b?x=1&x=2',
      headers: { cookie: 'c1=v1; c2=v2', 'user-agent': 'test' },
    });
    const event = res.json();
    assert.equal(event.version, '2.0');
    assert.equal(event.rawPath, '/a%20b');
    assert.equal(event.requestContext.http.path, '/a b');
    assert.equal(event.rawQueryString, 'x=1&x=2');
    assert.deepEqual(event.queryStringParameters, { x: '1,2' });
    assert.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
    assert.equal(event.requestContext.http.method, 'GET');
    assert.equal(event.requestContext.http.userAgent, 'test');
    assert.equal(event.requestContext.requestId, res.headers['x-amzn-requestid']);
  });

  it('sends a plain string result as a JSON body with quotes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/lambda-url/default/plain/' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.body, '"Hello, world!"');
  });

  it('answers 502 Internal Server Error when the function fails', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/lambda-url/default/broken' });
    assert.equal(res.statusCode, 502);
    assert.equal(res.body, 'Internal Server Error');
  });

  it('answers a CORS preflight without invoking the function', async () => {
    const before = t.agents.invocations.length;
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/lambda-url/default/web/x',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(res.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(res.headers['access-control-max-age'], '60');
    assert.equal(t.agents.invocations.length, before);
  });

  it('uses the API Gateway 1.0 event and response with payloadFormatVersion 1.0', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/lambda-url/default/rest/x' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { method: 'PUT' });
    const bad = await t.app.inject({ method: 'GET', url: '/lambda-url/default/restBad/' });
    assert.equal(bad.statusCode, 502);
    assert.deepEqual(bad.json(), { message: 'Internal server error' });
  });

  it('serves the same function on its own host name', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/metrics?q=1',
      headers: { host: 'raw.default.lamina.local:8080' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().rawPath, '/metrics');
  });

  it('has no URL for a function without functionUrl', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/lambda-url/default/nourl/' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-amzn-errortype'], 'ResourceNotFoundException');
  });

  it('refuses a KUBERNETES-auth URL when no authorizer allows it', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/lambda-url/default/private/' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException');
  });
});
