import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_TOKEN_LENGTH,
  credentialFrom,
  withoutCredentials,
} from '../../../../operator/src/kube/auth/credentials.js';

describe('caller credentials', () => {
  it('takes the token from Authorization: Bearer', () => {
    assert.deepEqual(credentialFrom({ authorization: 'Bearer abc.def' }), {
      kind: 'token',
      token: 'abc.def',
    });
    assert.deepEqual(credentialFrom({ authorization: 'bearer   abc' }), { kind: 'token', token: 'abc' });
  });

  it('ignores a SigV4 Authorization header and falls back to X-Lamina-Token', () => {
    const sigv4 = 'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, Signature=ab';
    assert.deepEqual(credentialFrom({ authorization: sigv4 }), { kind: 'none' });
    assert.deepEqual(credentialFrom({ authorization: sigv4, 'x-lamina-token': 'tok' }), {
      kind: 'token',
      token: 'tok',
    });
    assert.deepEqual(credentialFrom({ 'x-lamina-token': 'Bearer tok' }), { kind: 'token', token: 'tok' });
  });

  it('prefers Authorization: Bearer over X-Lamina-Token', () => {
    assert.deepEqual(credentialFrom({ authorization: 'Bearer a', 'x-lamina-token': 'b' }), {
      kind: 'token',
      token: 'a',
    });
  });

  it('refuses oversized tokens and tokens with control bytes without sending them anywhere', () => {
    assert.equal(credentialFrom({ 'x-lamina-token': 'a'.repeat(MAX_TOKEN_LENGTH + 1) }).kind, 'malformed');
    assert.equal(credentialFrom({ 'x-lamina-token': 'a\u0000b' }).kind, 'malformed');
    assert.equal(credentialFrom({ 'x-lamina-token': 'tök' }).kind, 'malformed');
    assert.equal(credentialFrom({ 'x-lamina-token': 'a b' }).kind, 'malformed');
  });

  it('treats no header, an empty one and Basic auth as no token', () => {
    assert.deepEqual(credentialFrom({}), { kind: 'none' });
    assert.deepEqual(credentialFrom({ authorization: '', 'x-lamina-token': ' ' }), { kind: 'none' });
    assert.deepEqual(credentialFrom({ authorization: 'Basic dXNlcjpwYXNz' }), { kind: 'none' });
  });

  it('drops both credential headers (any case) from what a function would see', () => {
    const pairs: Array<[string, string]> = [
      ['Authorization', 'Bearer x'],
      ['X-Lamina-Token', 'y'],
      ['accept', '*/*'],
    ];
    assert.deepEqual(withoutCredentials(pairs), [['accept', '*/*']]);
  });
});
