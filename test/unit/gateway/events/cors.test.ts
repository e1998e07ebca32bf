import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isPreflight,
  preflightHeaders,
  responseCorsHeaders,
} from '../../../../operator/src/gateway/events/cors.js';

const cors = {
  allowOrigins: ['https://app.example.com'],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['content-type'],
  exposeHeaders: ['x-trace'],
  maxAge: 300,
  allowCredentials: true,
};

describe('function URL CORS', () => {
  it('recognises a preflight request', () => {
    assert.equal(isPreflight('OPTIONS', { origin: 'o', 'access-control-request-method': 'GET' }), true);
    assert.equal(isPreflight('OPTIONS', {}), false);
  });

  it('answers a preflight from an allowed origin', () => {
    assert.deepEqual(
      preflightHeaders(cors, { origin: 'https://app.example.com', 'access-control-request-method': 'POST' }),
      {
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '300',
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      },
    );
  });

  it('gives no CORS headers to another origin or method', () => {
    assert.deepEqual(
      preflightHeaders(cors, { origin: 'https://evil.example', 'access-control-request-method': 'GET' }),
      {},
    );
    assert.deepEqual(
      preflightHeaders(cors, {
        origin: 'https://app.example.com',
        'access-control-request-method': 'DELETE',
      }),
      {},
    );
  });

  it('allows any origin with "*"', () => {
    const out = responseCorsHeaders({ allowOrigins: ['*'] }, { origin: 'https://x.test' });
    assert.deepEqual(out, { 'access-control-allow-origin': '*' });
  });

  it('adds expose headers and credentials to responses', () => {
    assert.deepEqual(responseCorsHeaders(cors, { origin: 'https://app.example.com' }), {
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-expose-headers': 'x-trace',
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    });
  });
});
