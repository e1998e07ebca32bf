// /metrics (Prometheus text format from the gateway's own registry) and /healthz.
import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from '../metrics.js';
import type { CoordinatorStatus } from '../sharding/coordinator.js';

export interface ObservabilityOptions {
  metrics: GatewayMetrics;
  /** True once the informers have synced and environments were adopted. */
  ready: () => boolean;
  /** Several replicas: which shards this one serves, and whether its member Lease is fresh. */
  sharding?: () => CoordinatorStatus | undefined;
}

export async function observabilityRoutes(
  app: FastifyInstance,
  options: ObservabilityOptions,
): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  app.get('/healthz', async (_request, reply) => {
    const ready = options.ready();
    const sharding = options.sharding?.();
    const status = ready ? 'ok' : sharding && !sharding.serving ? 'fenced' : 'starting';
    return reply.code(ready ? 200 : 503).send({ status, ...(sharding ? { sharding } : {}) });
  });
}
