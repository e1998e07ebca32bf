// The pollers as the operator runs them while it leads: the gateway invoker, on-failure
// delivery (an async invoke of a function, or a POST to an http(s) URL) and the supervisor.
import { request } from 'undici';
import type { EventSourceMapping, LaminaFunction, SourceKind } from '../api/index.js';
import type { ReadCache, ResourceClient } from '../kube/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { EventSourcesConfig } from './config.js';
import type { Registry } from 'prom-client';
import { type FunctionInvoker, GatewayInvoker } from './invoke-client.js';
import { EventSourceMetrics } from './metrics.js';
import type { SourceAdapter } from './source.js';
import { EventSourceSupervisor } from './supervisor.js';

export interface EventSourceDependencies {
  mappings: ReadCache<EventSourceMapping> & {
    on(handler: (event: string, object: EventSourceMapping) => void): void;
  };
  functions: ReadCache<LaminaFunction>;
  client: Pick<ResourceClient<EventSourceMapping>, 'get' | 'patchStatus'>;
  sources: Partial<Record<Exclude<SourceKind, 'schedule'>, SourceAdapter>>;
  clock: Clock;
  log: Logger;
  /** Tests inject their own; by default the gateway at config.gatewayUrl. */
  invoker?: FunctionInvoker;
  /** Where the per-mapping metrics go (the operator's registry). */
  registry?: Registry;
}

export async function startEventSources(
  config: EventSourcesConfig,
  deps: EventSourceDependencies,
): Promise<{ stop(): Promise<void> }> {
  const invoker = deps.invoker ?? new GatewayInvoker(config.gatewayUrl ?? 'http://127.0.0.1:8080');
  const supervisor = new EventSourceSupervisor({
    ...deps,
    invoker,
    region: config.region,
    deliverFailure: (namespace, destination, record) => deliver(invoker, namespace, destination, record),
    ...(deps.registry && { metrics: new EventSourceMetrics(deps.registry) }),
  });
  supervisor.start();
  deps.log.info('event source pollers started', { gateway: config.gatewayUrl });
  return {
    async stop() {
      await supervisor.stop();
      if (!deps.invoker) await invoker.close();
    },
  };
}

async function deliver(
  invoker: FunctionInvoker,
  namespace: string,
  destination: string,
  record: Record<string, unknown>,
): Promise<void> {
  const body = Buffer.from(JSON.stringify(record));
  const fn = /^function:([a-zA-Z0-9-_.]+)(?::([a-zA-Z0-9-_$]+))?$/.exec(destination);
  if (fn?.[1]) {
    const qualifier = fn[2] && fn[2] !== '$LATEST' ? fn[2] : undefined;
    const outcome = await invoker.invoke(
      { namespace, name: fn[1], ...(qualifier && { qualifier }) },
      body,
      'Event',
    );
    if (outcome.kind !== 'success')
      throw new Error(
        `on-failure destination ${destination}: ${'message' in outcome ? outcome.message : outcome.kind}`,
      );
    return;
  }
  const response = await request(destination, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });
  await response.body.dump();
  if (response.statusCode < 200 || response.statusCode >= 300)
    throw new Error(`on-failure destination ${destination}: HTTP ${response.statusCode}`);
}
