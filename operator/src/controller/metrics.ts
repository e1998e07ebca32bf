// Prometheus metrics of the operator, on their own registry (so several operators can run in
// one test process), served with health endpoints on the metrics port.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'lamina_operator_reconcile_total',
    help: 'Reconciles by kind and result (success, requeue, error).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'lamina_operator_reconcile_errors_total',
    help: 'Reconciles that failed and were retried with backoff, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'lamina_operator_reconcile_duration_seconds',
    help: 'Time spent in one reconcile, by kind.',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'lamina_operator_workqueue_depth',
    help: 'Keys waiting in the work queue, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'lamina_operator_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });
  readonly collected = new Counter({
    name: 'lamina_store_gc_deleted_total',
    help: 'Blobs deleted by artifact-store garbage collection.',
    registers: [this.registry],
  });

  constructor(defaultMetrics = false) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}

/** GET /metrics, /healthz (process up) and /readyz (caches synced when leading, or standing by). */
export function startMetricsServer(
  metrics: OperatorMetrics,
  host: string,
  port: number,
  ready: () => boolean,
): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch((err: unknown) => response.writeHead(500).end(String(err)));
    } else if (path === '/healthz') {
      response.writeHead(200).end('ok');
    } else if (path === '/readyz') {
      const ok = ready();
      response.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'not ready');
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}
