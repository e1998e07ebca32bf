// The Grafana dashboard shipped in the chart queries only metrics the gateway and the
// operator register: every metric name in its PromQL is looked up in their real registries.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Registry } from 'prom-client';
import { registerAsyncMetrics } from '../../../operator/src/gateway/async/metrics.js';
import { OperatorMetrics } from '../../../operator/src/controller/metrics.js';
import { GatewayMetrics } from '../../../operator/src/gateway/metrics.js';

const dashboardPath = new URL('../../../charts/lamina/dashboards/lamina.json', import.meta.url);
const templatePath = new URL('../../../charts/lamina/templates/dashboards.yaml', import.meta.url);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as {
  panels: Panel[];
  templating: { list: { query?: string | { query: string } }[] };
};

/** Every series a Prometheus registry exposes, histograms with their _bucket/_sum/_count. */
async function exposedNames(registries: Registry[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (['histogram', 'summary'].includes(String(metric.type)))
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

/** The metric names a PromQL expression reads (identifiers starting lamina_, outside label matchers). */
const metricsIn = (expr: string) =>
  [...expr.replace(/\{[^}]*\}/g, '{}').matchAll(/\blamina_[a-z0-9_]+/g)].map((m) => m[0]);

describe('Grafana dashboard', () => {
  const queries = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
    ...dashboard.templating.list.flatMap((v) =>
      v.query === undefined
        ? []
        : [{ where: 'variable', expr: typeof v.query === 'string' ? v.query : v.query.query }],
    ),
  ];

  test('reads only metrics that the gateway (with async) or the operator registers', async () => {
    const gateway = new GatewayMetrics(
      {
        environments: () => [],
        concurrentExecutions: () => 0,
        unreservedConcurrentExecutions: () => 0,
        namespaces: () => [],
        warmPool: () => [],
      },
      false,
    );
    const queue = {
      stats: async () => ({ depth: 0, oldestEnqueuedAt: undefined, deadLettered: 0 }),
    } as unknown as Parameters<typeof registerAsyncMetrics>[1];
    registerAsyncMetrics(gateway.registry, queue);
    const known = await exposedNames([gateway.registry, new OperatorMetrics().registry]);
    const unknown = queries.flatMap(({ where, expr }) =>
      metricsIn(expr)
        .filter((name) => !known.has(name))
        .map((name) => `${where}: ${name}`),
    );
    assert.deepEqual(unknown, []);
  });

  test('has a panel for invokes, errors, throttles, duration, concurrency, cold starts, the pool and async', () => {
    const read = new Set(queries.flatMap(({ expr }) => metricsIn(expr)));
    for (const name of [
      'lamina_invocations_total',
      'lamina_errors_total',
      'lamina_throttles_total',
      'lamina_invocation_duration_seconds_bucket',
      'lamina_concurrent_executions',
      'lamina_cold_starts_total',
      'lamina_warm_pool_environments',
      'lamina_async_queue_depth',
    ])
      assert.ok(read.has(name), name);
  });

  test('the chart ships it as a ConfigMap labelled for the Grafana sidecar, off unless enabled', () => {
    const template = readFileSync(templatePath, 'utf8');
    assert.match(template, /^\{\{- if \.Values\.dashboards\.grafana\.enabled \}\}/);
    assert.match(template, /grafana_dashboard: "1"/);
    assert.match(template, /\.Files\.Get "dashboards\/lamina\.json"/);
  });
});
