// The operator as one object: the artifact store (embedded, or a remote one), metrics and
// health endpoints, and the reconcilers — which run only while this replica holds the
// leader Lease. Losing the lease stops them at once; bin/operator.ts then exits so the pod
// restarts clean, tests simply observe it.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { KubeEventRecorder, LeaderElector } from '../kube/index.js';
import { type Clock, systemClock } from '../shared/index.js';
import type { Logger } from '../shared/index.js';
import type { ArtifactStore } from '../store/index.js';
import { startStore, StoreClient } from '../store/index.js';
import { CodeResolver } from './code.js';
import { ImageResolver } from './image-resolver.js';
import type { OperatorConfig } from './config.js';
import { startGarbageCollector } from './gc.js';
import { Manager } from './manager.js';
import { OperatorMetrics, startMetricsServer } from './metrics.js';

export interface OperatorDependencies {
  kc: KubeConfig;
  log: Logger;
  clock?: Clock;
  /** Called after the reconcilers stopped because the lease was lost (not on stop()). */
  onLostLeadership?(): void;
  defaultMetrics?: boolean;
  /**
   * Work that runs only while this replica leads, once the caches are synced (the event
   * source pollers), given the operator's metrics registry; stopped before the reconcilers
   * when leadership ends.
   */
  whileLeading?(manager: Manager, registry: Registry): Promise<{ stop(): Promise<void> }>;
}

export interface RunningOperator {
  /** Base URL of the artifact store this operator uses. */
  storeUrl: string;
  store: ArtifactStore;
  metricsPort: number;
  isLeader(): boolean;
  /** The running manager while leading (tests inspect its caches and queues). */
  manager(): Manager | undefined;
  /** Stops everything; `release: false` leaves the lease held, as a crash would. */
  stop(options?: { release?: boolean }): Promise<void>;
}

export async function startOperator(
  config: OperatorConfig,
  deps: OperatorDependencies,
): Promise<RunningOperator> {
  const { kc, log } = deps;
  const clock = deps.clock ?? systemClock;
  const embedded = config.store.embedded
    ? await startStore(config.store, log.child({ component: 'store' }))
    : undefined;
  const store: ArtifactStore = embedded?.store ?? new StoreClient(config.store.url as string);
  const storeUrl = embedded?.url ?? (config.store.url as string);

  const metrics = new OperatorMetrics(deps.defaultMetrics);
  let manager: Manager | undefined;
  let gc: { stop(): void } | undefined;
  let leading: { stop(): Promise<void> } | undefined;
  let stopping = false;
  const metricsServer = await startMetricsServer(metrics, config.metrics.host, config.metrics.port, () =>
    manager ? manager.isSynced : true,
  );

  const events = new KubeEventRecorder(kc, config.identity, clock, log);
  const code = new CodeResolver(store, {
    maxZipBytes: config.store.maxZipBytes,
    fetchTimeoutMs: config.fetchTimeoutMs,
    retryAfterMs: config.retryAfterMs,
  });
  const images = new ImageResolver({
    insecureRegistries: config.insecureRegistries,
    fetchTimeoutMs: config.fetchTimeoutMs,
    retryAfterMs: config.retryAfterMs,
  });

  // Leadership changes are applied one after another, never overlapping.
  let transition = Promise.resolve();
  const lead = () =>
    (transition = transition.then(async () => {
      if (stopping || manager) return;
      metrics.leader.set(1);
      const next = new Manager({
        kc,
        namespaces: config.watchNamespaces,
        code,
        images,
        events,
        clock,
        log,
        metrics,
        workers: config.workers,
        maxUnzippedBytes: config.store.maxUnzippedBytes,
        gatewayUrl: config.gatewayUrl,
      });
      manager = next;
      await next
        .start()
        .catch((err: unknown) => log.error('manager failed to start', { error: String(err) }));
      if (config.gc.enabled && !config.watchNamespaces) {
        gc = startGarbageCollector({ store, cache: next.context.cache, clock, log, metrics, ...config.gc });
      } else if (config.gc.enabled) {
        log.warn('artifact-store garbage collection is off: it needs the operator to watch every namespace');
      }
      if (deps.whileLeading && next.isSynced) {
        leading = await deps
          .whileLeading(next, metrics.registry)
          .catch(
            (err: unknown) => (log.error('leader work failed to start', { error: String(err) }), undefined),
          );
      }
    }));
  const standDown = (lost: boolean) =>
    (transition = transition.then(async () => {
      metrics.leader.set(0);
      gc?.stop();
      gc = undefined;
      await leading?.stop();
      leading = undefined;
      const current = manager;
      manager = undefined;
      await current?.stop();
      if (lost) deps.onLostLeadership?.();
    }));

  const elector = new LeaderElector(kc, {
    namespace: config.namespace,
    name: config.lease.name,
    identity: config.identity,
    leaseDurationMs: config.lease.durationMs,
    renewDeadlineMs: config.lease.renewDeadlineMs,
    retryPeriodMs: config.lease.retryPeriodMs,
    clock,
    log,
    onStartedLeading: () => void lead(),
    onStoppedLeading: () => void standDown(!stopping),
  });
  elector.start();
  log.info('operator started', {
    identity: config.identity,
    lease: `${config.namespace}/${config.lease.name}`,
    storeUrl,
  });

  return {
    storeUrl,
    store,
    metricsPort: metricsServer.port,
    isLeader: () => elector.isLeader && manager !== undefined,
    manager: () => manager,
    async stop({ release = true } = {}) {
      stopping = true;
      await elector.stop(release);
      await standDown(false);
      await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
      await embedded?.close();
    },
  };
}
