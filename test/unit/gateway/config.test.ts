import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../operator/src/gateway/config.js';

describe('gateway config', () => {
  it('has Lambda-like defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.defaultNamespace, 'default');
    assert.equal(c.namespaceConcurrencyLimit, 1000);
    assert.equal(c.unreservedConcurrencyMinimum, 100);
    assert.deepEqual(c.scaling, { burst: 1000, rate: 1000, intervalMs: 10_000 });
    assert.equal(c.syncPayloadLimitBytes, 6_291_456);
    assert.equal(c.asyncPayloadLimitBytes, 1_048_576);
    assert.equal(c.runtimeImage, 'lamina/runtime:dev');
    assert.equal(c.storeUrl, 'http://lamina-store.lamina-system.svc:8090');
  });

  it('reads LAMINA_* variables', () => {
    const c = loadConfig({
      LAMINA_SCALING_BURST: '10',
      LAMINA_SCALING_RATE: '1',
      LAMINA_SCALING_INTERVAL_MS: '6000',
    });
    assert.deepEqual(c.scaling, { burst: 10, rate: 1, intervalMs: 6000 });
  });

  it('turns tracing on only with an OTLP endpoint, with its headers and sampling ratio', () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.deepEqual(
      loadConfig({
        LAMINA_TRACING_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
        LAMINA_TRACING_OTLP_HEADERS: 'x-tenant=a, authorization=Bearer%20t0k',
        LAMINA_TRACING_SAMPLING_RATIO: '0.25',
      }).tracing,
      {
        otlpEndpoint: 'http://otel-collector.observability:4318',
        headers: { 'x-tenant': 'a', authorization: 'Bearer t0k' },
        samplingRatio: 0.25,
      },
    );
    assert.throws(
      () => loadConfig({ LAMINA_TRACING_OTLP_ENDPOINT: 'collector:4318' }),
      /LAMINA_TRACING_OTLP_ENDPOINT/,
    );
    assert.throws(() => loadConfig({ LAMINA_TRACING_SAMPLING_RATIO: '2' }), /LAMINA_TRACING_SAMPLING_RATIO/);
    assert.throws(
      () =>
        loadConfig({ LAMINA_TRACING_OTLP_ENDPOINT: 'http://c:4318', LAMINA_TRACING_OTLP_HEADERS: 'novalue' }),
      /LAMINA_TRACING_OTLP_HEADERS/,
    );
  });

  it('stops on invalid configuration, naming the variable', () => {
    assert.throws(
      () => loadConfig({ LAMINA_GATEWAY_PORT: 'eighty' }),
      (e: unknown) => e instanceof ConfigError && /LAMINA_GATEWAY_PORT/.test(e.message),
    );
    assert.throws(() => loadConfig({ LAMINA_DEFAULT_NAMESPACE: 'Bad_NS' }), /LAMINA_DEFAULT_NAMESPACE/);
    assert.throws(() => loadConfig({ LAMINA_STORE_URL: 'not a url' }), /LAMINA_STORE_URL/);
    assert.throws(
      () =>
        loadConfig({
          LAMINA_NAMESPACE_CONCURRENCY_LIMIT: '50',
          LAMINA_UNRESERVED_CONCURRENCY_MINIMUM: '100',
        }),
      /LAMINA_UNRESERVED_CONCURRENCY_MINIMUM/,
    );
  });
});
