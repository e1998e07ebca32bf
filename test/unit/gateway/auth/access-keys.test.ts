// Access-key Secrets → keys by id: what makes a Secret usable, and ids claimed twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accessKeyOf,
  type AccessKeySecret,
  indexAccessKeys,
  serviceAccountUser,
} from '../../../../operator/src/gateway/auth/access-keys.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (name: string, data: Record<string, string>): AccessKeySecret => ({
  metadata: { name, namespace: 'lamina-system' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const good = (name: string, id = 'LAMINAKEY0000000001') =>
  secret(name, { accessKeyId: id, secretAccessKey: 'a-long-enough-secret', serviceAccount: 'ci/deployer' });

describe('access-key Secrets', () => {
  it('maps a key to its ServiceAccount with the groups the API server gives its tokens', () => {
    const key = accessKeyOf(good('ci-key'));
    assert.deepEqual(key, {
      accessKeyId: 'LAMINAKEY0000000001',
      secretAccessKey: 'a-long-enough-secret',
      user: {
        username: 'system:serviceaccount:ci:deployer',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
      },
      source: 'lamina-system/ci-key',
    });
    assert.deepEqual(serviceAccountUser('ci', 'deployer'), (key as { user: unknown }).user);
  });

  it('refuses Secrets without a usable id, secret or ServiceAccount', () => {
    const base = {
      accessKeyId: 'LAMINAKEY0000000001',
      secretAccessKey: 'a-long-enough-secret',
      serviceAccount: 'ci/deployer',
    };
    for (const [field, value] of [
      ['accessKeyId', 'short'],
      ['accessKeyId', 'LAMINA/KEY/000000001'],
      ['secretAccessKey', 'short'],
      ['serviceAccount', 'deployer'],
      ['serviceAccount', 'ci/deployer/extra'],
      ['serviceAccount', 'Not_A_Namespace/deployer'],
    ] as const) {
      assert.ok('invalid' in accessKeyOf(secret('bad', { ...base, [field]: value })), `${field}=${value}`);
    }
    assert.ok('invalid' in accessKeyOf({ metadata: { name: 'empty' } }));
  });

  it('indexes keys by id and uses neither Secret when two claim one id', () => {
    const index = indexAccessKeys([
      good('a', 'LAMINAKEY0000000001'),
      good('b', 'LAMINAKEY0000000002'),
      good('c', 'LAMINAKEY0000000001'),
    ]);
    assert.deepEqual([...index.keys.keys()], ['LAMINAKEY0000000002']);
    assert.deepEqual(
      index.rejected.map((r) => r.source),
      ['lamina-system/a', 'lamina-system/c'],
    );
  });
});
