import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../../operator/src/shared/index.js';
import { loadAsyncConfig } from '../../../../operator/src/gateway/async/config.js';

describe('async configuration', () => {
  it('defaults to the embedded SQLite queue and Lambda’s delays', () => {
    const config = loadAsyncConfig({});
    assert.deepEqual(config.backend, { kind: 'sqlite', path: '/var/lib/lamina/async/events.db' });
    assert.deepEqual(config.policy.functionErrorDelaysMs, [60_000, 120_000]);
    assert.equal(config.policy.backoffInitialMs, 1000);
    assert.equal(config.policy.backoffMaxMs, 300_000);
    assert.equal(config.visibilityTimeoutMs, 60_000);
  });

  it('reads the NATS backend and custom delays', () => {
    const config = loadAsyncConfig({
      LAMINA_ASYNC_BACKEND: 'nats',
      LAMINA_ASYNC_NATS_URL: 'nats://a:4222, nats://b:4222',
      LAMINA_ASYNC_NATS_REPLICAS: '3',
      LAMINA_ASYNC_RETRY_DELAYS_MS: '10,20',
    });
    assert.deepEqual(config.backend, {
      kind: 'nats',
      servers: ['nats://a:4222', 'nats://b:4222'],
      stream: 'LAMINA_ASYNC',
      replicas: 3,
    });
    assert.deepEqual(config.policy.functionErrorDelaysMs, [10, 20]);
  });

  it('names the variable that is wrong', () => {
    assert.throws(() => loadAsyncConfig({ LAMINA_ASYNC_BACKEND: 'nats' }), /LAMINA_ASYNC_NATS_URL/);
    assert.throws(
      () => loadAsyncConfig({ LAMINA_ASYNC_RETRY_DELAYS_MS: '1m' }),
      /LAMINA_ASYNC_RETRY_DELAYS_MS/,
    );
    assert.throws(() => loadAsyncConfig({ LAMINA_ASYNC_WORKERS: '0' }), ConfigError);
    assert.throws(
      () => loadAsyncConfig({ LAMINA_ASYNC_BACKOFF_INITIAL_MS: '10', LAMINA_ASYNC_BACKOFF_MAX_MS: '5' }),
      /LAMINA_ASYNC_BACKOFF_MAX_MS/,
    );
  });
});
