import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bareNameNamespace,
  callerNamespace,
  fixedNamespace,
  namespaceOfUser,
} from '../../../../operator/src/kube/auth/caller-namespace.js';

describe('bare function names and the caller', () => {
  it("resolves a service account's bare names in its own namespace", () => {
    assert.equal(namespaceOfUser('system:serviceaccount:team-a:deployer'), 'team-a');
    assert.equal(bareNameNamespace('system:serviceaccount:team-a:deployer', 'default'), 'team-a');
  });

  it('keeps the default namespace for users, anonymous and unidentified callers', () => {
    for (const user of [
      undefined,
      'alice',
      'system:anonymous',
      'system:node:worker-1',
      'oidc:bob@example.com',
    ]) {
      assert.equal(bareNameNamespace(user, 'default'), 'default', String(user));
    }
  });

  it('does not take a namespace from a malformed service-account username', () => {
    for (const user of [
      'system:serviceaccount:team-a',
      'system:serviceaccount::deployer',
      'system:serviceaccount:Team-A:deployer',
      'system:serviceaccount:team-a:deployer:extra',
      'system:serviceaccount:-team:deployer',
      `system:serviceaccount:${'a'.repeat(64)}:deployer`,
      'xsystem:serviceaccount:team-a:deployer',
    ]) {
      assert.equal(namespaceOfUser(user), undefined, user);
    }
  });

  it('asks the identifier once per request and falls back when it names nobody', async () => {
    const asked: unknown[] = [];
    const users: Record<string, string> = { 'tok-a': 'system:serviceaccount:team-a:ci', 'tok-u': 'alice' };
    const namespaces = callerNamespace(
      {
        identify: async (headers) => {
          asked.push(headers['x-lamina-token']);
          return users[String(headers['x-lamina-token'])];
        },
      },
      'default',
    );
    assert.equal(await namespaces.of({ 'x-lamina-token': 'tok-a' }), 'team-a');
    assert.equal(await namespaces.of({ 'x-lamina-token': 'tok-u' }), 'default');
    assert.equal(await namespaces.of({ 'x-lamina-token': 'forged' }), 'default');
    assert.deepEqual(asked, ['tok-a', 'tok-u', 'forged']);
  });

  it('with auth off every caller resolves in the fixed namespace', async () => {
    assert.equal(await fixedNamespace('apps').of({ authorization: 'Bearer whatever' }), 'apps');
  });
});
