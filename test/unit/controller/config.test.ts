import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { operatorConfigFromEnv } from '../../../operator/src/controller/config.js';

describe('operator configuration', () => {
  it('has defaults for everything', () => {
    const config = operatorConfigFromEnv({});
    assert.equal(config.store.port, 8090);
    assert.equal(config.store.maxZipBytes, 50 * 1024 * 1024);
    assert.equal(config.store.maxUnzippedBytes, 262_144_000);
    assert.equal(config.store.embedded, true);
    assert.equal(config.lease.name, 'lamina-operator');
    assert.equal(config.watchNamespaces, undefined);
  });

  it('reads namespaces to watch and numbers', () => {
    const config = operatorConfigFromEnv({
      LAMINA_WATCH_NAMESPACES: 'a, b',
      LAMINA_MAX_UNZIPPED_BYTES: '1000',
    });
    assert.deepEqual(config.watchNamespaces, ['a', 'b']);
    assert.equal(config.store.maxUnzippedBytes, 1000);
  });

  it('stops with a message naming the bad variable', () => {
    assert.throws(() => operatorConfigFromEnv({ LAMINA_STORE_PORT: 'eighty' }), /LAMINA_STORE_PORT/);
    assert.throws(
      () => operatorConfigFromEnv({ LAMINA_STORE_EMBEDDED: 'false' }),
      /LAMINA_STORE_URL: required/,
    );
    assert.throws(
      () =>
        operatorConfigFromEnv({
          LAMINA_LEASE_DURATION_SECONDS: '5',
          LAMINA_LEASE_RENEW_DEADLINE_SECONDS: '5',
        }),
      /LAMINA_LEASE_RENEW_DEADLINE_SECONDS/,
    );
  });
});
