// Metrics computed when scraped: the warm pool's cost and hit rate, and the unreserved pool per namespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayMetrics } from '../../../operator/src/gateway/metrics.js';
import type { WarmPoolStatus } from '../../../operator/src/gateway/pool/warm-pool.js';

const MIB = 1024 * 1024;

function metrics(pool: WarmPoolStatus[]) {
  return new GatewayMetrics(
    {
      environments: () => [],
      concurrentExecutions: () => 0,
      unreservedConcurrentExecutions: () => 0,
      namespaces: () => [],
      warmPool: () => pool,
    },
    false,
  );
}

const group = (namespace: string, overrides: Partial<WarmPoolStatus> = {}): WarmPoolStatus => ({
  namespace,
  shape: '128-512',
  target: 1,
  ready: 1,
  starting: 0,
  podMemoryBytes: 224 * MIB,
  idlePodSeconds: 0,
  ...overrides,
});

describe('warm pool metrics', () => {
  it('reports the memory the pool holds idle and the pod-seconds it has been idle, per namespace', async () => {
    const m = metrics([
      group('busy', { ready: 1, starting: 1, idlePodSeconds: 42.5 }),
      group('quiet', { target: 0, ready: 0, idlePodSeconds: 600 }),
    ]);
    const text = await m.registry.metrics();
    assert.match(
      text,
      new RegExp(`lamina_warm_pool_idle_memory_bytes\\{namespace="busy",shape="128-512"\\} ${448 * MIB}\\n`),
    );
    assert.match(text, /lamina_warm_pool_idle_memory_bytes\{namespace="quiet",shape="128-512"\} 0\n/);
    assert.match(text, /lamina_warm_pool_idle_pod_seconds_total\{namespace="busy",shape="128-512"\} 42.5\n/);
    assert.match(text, /lamina_warm_pool_idle_pod_seconds_total\{namespace="quiet",shape="128-512"\} 600\n/);
    assert.match(text, /lamina_warm_pool_target\{namespace="quiet",shape="128-512"\} 0\n/);
  });

  it('reports the share of pool-shaped cold starts served from the pool, per namespace', async () => {
    const m = metrics([]);
    for (const result of ['hit', 'hit', 'hit', 'empty'] as const)
      m.warmPoolClaims.inc({ namespace: 'a', shape: '128-512', result });
    m.warmPoolClaims.inc({ namespace: 'b', shape: '128-512', result: 'failed' });
    const text = await m.registry.metrics();
    assert.match(text, /lamina_warm_pool_hit_ratio\{namespace="a"\} 0.75\n/);
    assert.match(text, /lamina_warm_pool_hit_ratio\{namespace="b"\} 0\n/);
  });
});

describe('unreserved concurrency metrics', () => {
  it('reports per namespace what runs against the unreserved pool, and the grant of it only with several replicas', async () => {
    const sources = {
      environments: () => [],
      concurrentExecutions: () => 0,
      unreservedConcurrentExecutions: (ns: string) => (ns === 'a' ? 3 : 0),
      namespaces: () => ['a', 'b'],
    };
    const sharded = await new GatewayMetrics(
      { ...sources, unreservedGrant: (ns: string) => (ns === 'a' ? 50 : 0) },
      false,
    ).registry.metrics();
    assert.match(sharded, /lamina_unreserved_concurrent_executions\{namespace="a"\} 3\n/);
    assert.match(sharded, /lamina_unreserved_concurrency_grant\{namespace="a"\} 50\n/);
    assert.match(sharded, /lamina_unreserved_concurrency_grant\{namespace="b"\} 0\n/);
    const alone = await new GatewayMetrics(sources, false).registry.metrics();
    assert.match(alone, /lamina_unreserved_concurrent_executions\{namespace="b"\} 0\n/);
    assert.doesNotMatch(alone, /lamina_unreserved_concurrency_grant/);
  });
});
