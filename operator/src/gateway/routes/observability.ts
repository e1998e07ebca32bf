// /metrics (Prometheus text format from the gateway's own registry) and /healthz.
import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from '../metrics.js';

export interface ObservabilityOptions {
  metrics: GatewayMetrics;
  /** True once the informers have synced and environments were adopted. */
  ready: () => boolean;
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
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'starting' });
  });
}
