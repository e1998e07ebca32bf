// Assembly of asynchronous invocation for the gateway process: open the configured backend,
// give the Invoke route its AsyncQueue, and (once the gateway's Invoker exists) start the
// processor with its metrics on the gateway's registry.
import type { Registry } from 'prom-client';
import type { FunctionCatalog } from '../catalog/catalog.js';
import type { Invoker } from '../dispatch/invoker.js';
import type { Clock, Logger } from '../../shared/index.js';
import type { AsyncConfig } from './config.js';
import type { EventQueue } from './event-queue.js';
import { InvokerFunctionPort } from './function-port.js';
import type { GatewayAsyncQueue } from './gateway-queue.js';
import { registerAsyncMetrics } from './metrics.js';
import { NatsEventQueue } from './nats/nats-queue.js';
import { AsyncProcessor, type DeadLetterNotice } from './processor.js';
import { SqliteEventQueue } from './sqlite/sqlite-queue.js';

export async function openEventQueue(config: AsyncConfig): Promise<EventQueue> {
  const { backend, visibilityTimeoutMs } = config;
  if (backend.kind === 'sqlite') return new SqliteEventQueue({ path: backend.path, visibilityTimeoutMs });
  return NatsEventQueue.open({
    servers: backend.servers,
    stream: backend.stream,
    replicas: backend.replicas,
    visibilityTimeoutMs,
  });
}

export interface AsyncProcessorDeps {
  config: AsyncConfig;
  queue: GatewayAsyncQueue;
  invoker: Pick<Invoker, 'resolve' | 'invoke'>;
  catalog: Pick<FunctionCatalog, 'getFunction'>;
  log: Logger;
  registry?: Registry;
  clock?: Clock;
  onDeadLetter?: (notice: DeadLetterNotice) => void;
}

export interface AsyncRuntime {
  processor: AsyncProcessor;
  /** Stops leasing and drains the attempts in flight (the queue stays open for enqueues). */
  stop(): Promise<void>;
}

export function startAsyncProcessor(deps: AsyncProcessorDeps): AsyncRuntime {
  const { config, queue, log } = deps;
  const metrics = deps.registry ? registerAsyncMetrics(deps.registry, queue.events) : undefined;
  const processor = new AsyncProcessor({
    queue: queue.events,
    functions: new InvokerFunctionPort(deps.invoker, deps.catalog),
    log: log.child({ part: 'async' }),
    visibilityTimeoutMs: config.visibilityTimeoutMs,
    workers: config.workers,
    pollIntervalMs: config.pollIntervalMs,
    policy: config.policy,
    deliveryMaxAgeMs: config.deliveryMaxAgeMs,
    ...(metrics ? { metrics } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.onDeadLetter ? { onDeadLetter: deps.onDeadLetter } : {}),
  });
  const unsubscribe = queue.onEnqueued((invocation) => {
    metrics?.enqueued.inc({ namespace: invocation.namespace, function: invocation.functionName });
    processor.notify();
  });
  processor.start();
  return {
    processor,
    async stop() {
      unsubscribe();
      await processor.stop();
    },
  };
}
