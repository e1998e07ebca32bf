// A whole gateway in-process: memory catalog, fake provider, fake agents.
import { MemoryCatalog } from '../../../operator/src/gateway/catalog/catalog.js';
import {
  createGateway,
  type GatewaySettings,
  type ShardingParts,
} from '../../../operator/src/gateway/gateway.js';
import type { AsyncQueue } from '../../../operator/src/gateway/async/async-queue.js';
import type { InvokeTracing } from '../../../operator/src/gateway/tracing/invoke-tracing.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import type { CallerNamespace } from '../../../operator/src/kube/auth/caller-namespace.js';
import { FakeAgents, type FakeHandler } from './fake-agent.js';
import { FakeProvider } from './fake-provider.js';

export const testSettings: GatewaySettings = {
  defaultNamespace: 'default',
  region: 'us-east-1',
  namespaceConcurrencyLimit: 1000,
  unreservedConcurrencyMinimum: 100,
  scaling: { burst: 1000, rate: 1000, intervalMs: 10_000 },
  idleTimeoutMs: 300_000,
  maintenanceIntervalMs: 1000,
  coldStartTimeoutMs: 5000,
  clusterAutoscaler: false,
  syncPayloadLimitBytes: 6_291_456,
  asyncPayloadLimitBytes: 1_048_576,
  storeUrl: 'http://store.test:8090',
  urlDomain: 'lamina.local',
};

export async function testGateway(
  handlers: Record<string, FakeHandler>,
  opts: {
    settings?: Partial<GatewaySettings>;
    asyncQueue?: AsyncQueue;
    random?: () => number;
    bareNames?: CallerNamespace;
    sharding?: ShardingParts;
    tracing?: InvokeTracing;
  } = {},
) {
  const catalog = new MemoryCatalog();
  const provider = new FakeProvider();
  const agents = new FakeAgents(handlers);
  provider.addressFor = agents.start;
  const gateway = await createGateway({
    settings: { ...testSettings, ...opts.settings },
    catalog,
    provider,
    log: createLogger({}, 'error'),
    ...(opts.asyncQueue ? { asyncQueue: opts.asyncQueue } : {}),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.bareNames ? { bareNames: opts.bareNames } : {}),
    ...(opts.sharding ? { sharding: opts.sharding } : {}),
    ...(opts.tracing ? { tracing: opts.tracing } : {}),
  });
  await gateway.start();
  return {
    gateway,
    catalog,
    provider,
    agents,
    app: gateway.app,
    async close() {
      await gateway.stop();
      await agents.close();
    },
  };
}
