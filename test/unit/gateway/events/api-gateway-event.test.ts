import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fromApiGatewayResult,
  toApiGatewayEvent,
} from '../../../../operator/src/gateway/events/api-gateway-event.js';

const ctx = { requestId: 'r1', accountId: 'default', apiId: 'calc', domainName: 'gw', timeEpoch: 0 };

describe('toApiGatewayEvent (payload format 1.0)', () => {
  it('carries single and multi-value headers and query parameters', () => {
    const event = toApiGatewayEvent(
      {
        method: 'GET',
        rawPath: '/items/7',
        rawQueryString: 'a=1&a=2&b=3',
        headers: [
          ['Accept', 'text/html'],
          ['X-Multi', 'one'],
          ['X-Multi', 'two'],
        ],
        body: Buffer.alloc(0),
        sourceIp: '1.2.3.4',
        protocol: 'HTTP/1.1',
      },
      ctx,
    );
    assert.equal(event.httpMethod, 'GET');
    assert.equal(event.path, '/items/7');
    assert.equal(event.resource, '/{proxy+}');
    assert.deepEqual(event.pathParameters, { proxy: 'items/7' });
    assert.deepEqual(event.headers, { Accept: 'text/html', 'X-Multi': 'two' });
    assert.deepEqual(event.multiValueHeaders, { Accept: ['text/html'], 'X-Multi': ['one', 'two'] });
    assert.deepEqual(event.queryStringParameters, { a: '2', b: '3' });
    assert.deepEqual(event.multiValueQueryStringParameters, { a: ['1', '2'], b: ['3'] });
    assert.equal(event.body, null);
    assert.equal(event.isBase64Encoded, false);
    const rc = event.requestContext as Record<string, unknown>;
    assert.equal(rc.requestId, 'r1');
    assert.equal(rc.httpMethod, 'GET');
    assert.equal((rc.identity as Record<string, unknown>).sourceIp, '1.2.3.4');
  });
});

describe('fromApiGatewayResult', () => {
  it('maps statusCode, headers, multiValueHeaders and body', () => {
    const res = fromApiGatewayResult(
      Buffer.from(
        JSON.stringify({
          statusCode: 404,
          headers: { 'Content-Type': 'text/plain' },
          multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'], 'X-A': ['1', '2'] },
          body: 'nope',
        }),
      ),
      false,
    );
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.headers, { 'content-type': 'text/plain', 'x-a': '1,2' });
    assert.deepEqual(res.cookies, ['a=1', 'b=2']);
    assert.equal(res.body.toString(), 'nope');
  });

  it('infers nothing: a result without statusCode is a 502', () => {
    const res = fromApiGatewayResult(Buffer.from('"hello"'), false);
    assert.equal(res.statusCode, 502);
    assert.equal(res.body.toString(), '{"message": "Internal server error"}');
    assert.equal(fromApiGatewayResult(Buffer.from('{"body":"x"}'), false).statusCode, 502);
  });

  it('answers 502 for a function error', () => {
    assert.equal(fromApiGatewayResult(Buffer.from('{"statusCode":200}'), true).statusCode, 502);
  });
});
