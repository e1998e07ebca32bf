import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fromFunctionUrlResult,
  toFunctionUrlEvent,
} from '../../../../operator/src/gateway/events/function-url-event.js';
import type { HttpRequest } from '../../../../operator/src/gateway/events/http-request.js';

const ctx = {
  requestId: 'id',
  accountId: 'default',
  apiId: 'hello',
  domainName: 'hello.default.lamina.local',
  timeEpoch: 1583348638390,
};

function request(extra: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'POST',
    rawPath: '/my/path',
    rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
    headers: [
      ['Header1', 'value1'],
      ['header2', 'value1'],
      ['Header2', 'value2'],
      ['Cookie', 'cookie1; cookie2'],
      ['User-Agent', 'agent'],
      ['Content-Type', 'text/plain'],
    ],
    body: Buffer.from('Hello from client!'),
    sourceIp: '10.0.0.1',
    protocol: 'HTTP/1.1',
    ...extra,
  };
}

describe('toFunctionUrlEvent (payload format 2.0)', () => {
  it('builds the documented event shape', () => {
    const event = toFunctionUrlEvent(request(), ctx);
    assert.deepEqual(event, {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/my/path',
      rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
      cookies: ['cookie1', 'cookie2'],
      headers: {
        header1: 'value1',
        header2: 'value1,value2',
        'user-agent': 'agent',
        'content-type': 'text/plain',
      },
      queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
      requestContext: {
        accountId: 'anonymous',
        apiId: 'hello',
        authentication: null,
        domainName: 'hello.default.lamina.local',
        domainPrefix: 'hello',
        http: {
          method: 'POST',
          path: '/my/path',
          protocol: 'HTTP/1.1',
          sourceIp: '10.0.0.1',
          userAgent: 'agent',
        },
        requestId: 'id',
        routeKey: '$default',
        stage: '$default',
        time: '04/Mar/2020:19:03:58 +0000',
        timeEpoch: 1583348638390,
      },
      body: 'Hello from client!',
      isBase64Encoded: false,
      pathParameters: null,
      stageVariables: null,
    });
  });

  it('base64-encodes a binary body', () => {
    const body = Buffer.from([0xff, 0x00, 0x81]);
    const event = toFunctionUrlEvent(
      request({ body, headers: [['content-type', 'application/octet-stream']] }),
      ctx,
    );
    assert.equal(event.body, body.toString('base64'));
    assert.equal(event.isBase64Encoded, true);
  });

  it('leaves out body, cookies and query parameters when there are none', () => {
    const event = toFunctionUrlEvent(
      request({ body: Buffer.alloc(0), headers: [], rawQueryString: '' }),
      ctx,
    );
    assert.equal('body' in event, false);
    assert.equal('cookies' in event, false);
    assert.equal('queryStringParameters' in event, false);
    assert.equal(event.isBase64Encoded, false);
  });
});

describe('fromFunctionUrlResult', () => {
  it('uses statusCode, headers, body and turns each cookie into a set-cookie', () => {
    const res = fromFunctionUrlResult(
      Buffer.from(
        JSON.stringify({
          statusCode: 201,
          headers: { 'Content-Type': 'text/html', 'X-Custom': 1 },
          body: '<h1>hi</h1>',
          cookies: ['a=1', 'b=2'],
        }),
      ),
      false,
    );
    assert.equal(res.statusCode, 201);
    assert.deepEqual(res.headers, { 'content-type': 'text/html', 'x-custom': '1' });
    assert.deepEqual(res.cookies, ['a=1', 'b=2']);
    assert.equal(res.body.toString(), '<h1>hi</h1>');
  });

  it('decodes a base64 body', () => {
    const res = fromFunctionUrlResult(
      Buffer.from(
        JSON.stringify({
          statusCode: 200,
          body: Buffer.from([1, 2, 3]).toString('base64'),
          isBase64Encoded: true,
        }),
      ),
      false,
    );
    assert.deepEqual([...res.body], [1, 2, 3]);
  });

  it('sends a string result as a 200 JSON body, quotes included', () => {
    const res = fromFunctionUrlResult(Buffer.from('"Hello, world!"'), false);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.body.toString(), '"Hello, world!"');
  });

  it('sends an object without statusCode and a number as JSON', () => {
    assert.equal(fromFunctionUrlResult(Buffer.from('{"a":1}'), false).body.toString(), '{"a":1}');
    assert.equal(fromFunctionUrlResult(Buffer.from('42'), false).body.toString(), '42');
  });

  it('answers 502 Internal Server Error for a function error', () => {
    const res = fromFunctionUrlResult(Buffer.from('{"errorMessage":"boom"}'), true);
    assert.equal(res.statusCode, 502);
    assert.equal(res.body.toString(), 'Internal Server Error');
  });

  it('answers 502 for a result that is not JSON or has a bad statusCode', () => {
    assert.equal(fromFunctionUrlResult(Buffer.from('not json'), false).statusCode, 502);
    assert.equal(fromFunctionUrlResult(Buffer.from('{"statusCode":"abc"}'), false).statusCode, 502);
  });
});
