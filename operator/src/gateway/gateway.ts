// Assembles the gateway from its parts: catalog, environment provider, scaling rules, pool,
// invoker, catalog sync and HTTP server. bin/gateway.ts passes the Kubernetes pieces; tests
// pass in-memory ones.
import type { FastifyInstance } from 'fastify';
import type { ControlPlaneOptions } from '../control-plane/index.js';
import type { CallerNamespace } from '../kube/index.js';
import { type Clock, systemClock } from '../shared/index.js';
import type { Logger } from '../shared/index.js';
import type { AsyncQueue } from './async/async-queue.js';
import type { InvokeAuthorizer } from './auth/lambda-auth.js';
import type { SigV4Verification } from './server.js';
import type { FunctionCatalog } from './catalog/catalog.js';
import type { GatewayConfig } from './config.js';
import { CatalogSync, type ProvisionedStatusWriter } from './dispatch/catalog-sync.js';
import { Invoker } from './dispatch/invoker.js';
import { type AgentClient, HttpAgentClient } from './environments/agent-client.js';
import { EnvironmentPool } from './environments/environment-pool.js';
import type { EnvironmentProvider } from './environments/types.js';
import { GatewayMetrics } from './metrics.js';
import type { WarmPoolObserver } from './pool/pooled-provider.js';
import type { UrlAuthorizer } from './routes/function-url.js';
import type { RandomSource } from './routing/weighted-routing.js';
import { BurstScaler } from './scaling/burst-scaler.js';
import { ConcurrencyLedger } from './scaling/concurrency.js';
import { buildServer } from './server.js';

export type GatewaySettings = Pick<
  GatewayConfig,
  | 'defaultNamespace'
  | 'region'
  | 'namespaceConcurrencyLimit'
  | 'unreservedConcurrencyMinimum'
  | 'scaling'
  | 'idleTimeoutMs'
  | 'maintenanceIntervalMs'
  | 'coldStartTimeoutMs'
  | 'clusterAutoscaler'
  | 'syncPayloadLimitBytes'
  | 'asyncPayloadLimitBytes'
  | 'storeUrl'
  | 'urlDomain'
>;

export interface GatewayParts {
  settings: GatewaySettings;
  catalog: FunctionCatalog;
  provider: EnvironmentProvider;
  log: Logger;
  clock?: Clock;
  agent?: AgentClient;
  random?: RandomSource;
  statusWriter?: ProvisionedStatusWriter;
  asyncQueue?: AsyncQueue;
  urlAuthorizer?: UrlAuthorizer;
  /** The warm pool behind `provider`, for /metrics. */
  warmPool?: WarmPoolObserver;
  invokeAuthorizer?: InvokeAuthorizer;
  /** Where a caller's bare function names resolve (default: `settings.defaultNamespace`). */
  bareNames?: CallerNamespace;
  /** AWS SigV4 signatures verified against access keys (needs invokeAuthorizer). */
  sigv4?: SigV4Verification;
  /** Lambda's control-plane API, served beside the Invoke API. */
  controlPlane?: ControlPlaneOptions;
  /** Process metrics (event loop, memory) on /metrics; off in tests. */
  processMetrics?: boolean;
}

export interface Gateway {
  app: FastifyInstance;
  pool: EnvironmentPool;
  ledger: ConcurrencyLedger;
  scaler: BurstScaler;
  invoker: Invoker;
  metrics: GatewayMetrics;
  sync: CatalogSync;
  /** Adopts existing environments and starts maintenance; call before listening. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Applies new limits and scaling rules at runtime. */
  updateSettings(settings: Partial<GatewaySettings>): void;
}

export async function createGateway(parts: GatewayParts): Promise<Gateway> {
  const clock = parts.clock ?? systemClock;
  let settings = parts.settings;
  const agent = parts.agent ?? new HttpAgentClient();
  const random = parts.random ?? Math.random;
  const ledger = new ConcurrencyLedger({
    namespaceLimit: settings.namespaceConcurrencyLimit,
    unreservedMinimum: settings.unreservedConcurrencyMinimum,
  });
  const scaler = new BurstScaler(settings.scaling);
  const poolSettings = (s: GatewaySettings) => ({
    coldStartTimeoutMs: s.coldStartTimeoutMs,
    clusterAutoscaler: s.clusterAutoscaler,
    idleTimeoutMs: s.idleTimeoutMs,
    maintenanceIntervalMs: s.maintenanceIntervalMs,
  });
  const metrics: GatewayMetrics = new GatewayMetrics(
    {
      environments: () => pool.views(),
      concurrentExecutions: (ns, fn) => ledger.concurrentExecutions(ns, fn),
      unreservedConcurrentExecutions: (ns) => ledger.unreservedConcurrentExecutions(ns),
      namespaces: () => ledger.namespaceNames(),
      ...(parts.warmPool ? { warmPool: () => parts.warmPool?.status() ?? [] } : {}),
    },
    parts.processMetrics ?? false,
  );
  parts.warmPool?.onClaim((e) => metrics.warmPoolClaims.inc(e));
  const pool = new EnvironmentPool(parts.provider, ledger, scaler, clock, parts.log, poolSettings(settings), {
    environmentFailed: (record, reason) => {
      parts.log.warn('environment failed', { id: record.id, reason });
      metrics.environmentFailures.inc({
        namespace: record.namespace,
        function: record.functionName,
        version: record.version,
      });
    },
  });
  const environmentSettings = {
    storeUrl: settings.storeUrl,
    region: settings.region,
    defaultNamespace: settings.defaultNamespace,
  };
  const invoker = new Invoker({
    catalog: parts.catalog,
    pool,
    agent,
    metrics,
    clock,
    log: parts.log,
    random,
    settings: environmentSettings,
  });
  const sync = new CatalogSync(
    parts.catalog,
    ledger,
    pool,
    environmentSettings,
    parts.log,
    parts.statusWriter,
  );
  let ready = false;
  const app = await buildServer({
    invoker,
    catalog: parts.catalog,
    metrics,
    log: parts.log,
    region: settings.region,
    urlDomain: settings.urlDomain,
    syncPayloadLimitBytes: settings.syncPayloadLimitBytes,
    asyncPayloadLimitBytes: settings.asyncPayloadLimitBytes,
    random,
    now: () => clock.now(),
    ready: () => ready,
    ...(parts.asyncQueue ? { asyncQueue: parts.asyncQueue } : {}),
    ...(parts.urlAuthorizer ? { urlAuthorizer: parts.urlAuthorizer } : {}),
    ...(parts.invokeAuthorizer ? { invokeAuthorizer: parts.invokeAuthorizer } : {}),
    ...(parts.bareNames ? { bareNames: parts.bareNames } : {}),
    ...(parts.sigv4 ? { sigv4: parts.sigv4 } : {}),
    ...(parts.controlPlane ? { controlPlane: parts.controlPlane } : {}),
    defaultNamespace: settings.defaultNamespace,
  });

  let unsubscribe: (() => void) | undefined;
  let statusTimer: { cancel(): void } | undefined;
  let syncQueued = false;
  const scheduleSync = () => {
    if (syncQueued) return;
    syncQueued = true;
    setImmediate(() => {
      syncQueued = false;
      sync.sync();
    });
  };
  const writeStatusesLoop = () => {
    statusTimer = clock.setTimeout(
      () => {
        void sync.writeStatuses().finally(writeStatusesLoop);
      },
      Math.max(1000, settings.maintenanceIntervalMs),
    );
  };

  return {
    app,
    pool,
    ledger,
    scaler,
    invoker,
    metrics,
    sync,
    async start() {
      await pool.start();
      sync.sync();
      unsubscribe = parts.catalog.onChange(scheduleSync);
      writeStatusesLoop();
      ready = true;
    },
    async stop() {
      ready = false;
      unsubscribe?.();
      statusTimer?.cancel();
      pool.stop();
      await app.close();
      await agent.close();
    },
    updateSettings(next) {
      settings = { ...settings, ...next };
      ledger.setLimits({
        namespaceLimit: settings.namespaceConcurrencyLimit,
        unreservedMinimum: settings.unreservedConcurrencyMinimum,
      });
      scaler.setPolicy(settings.scaling, clock.now());
      pool.setSettings(poolSettings(settings));
    },
  };
}
