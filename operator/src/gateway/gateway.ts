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
import { Invoker, type InvokePort } from './dispatch/invoker.js';
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
import type { CoordinatorHooks, ShardCoordinator } from './sharding/coordinator.js';
import type { ForwardClient } from './sharding/forward.js';
import { ShardedInvoker, type ShardedInvokerSettings } from './sharding/sharded-invoker.js';
import type { UnreservedBudget, UnreservedCounts } from './sharding/unreserved-budget.js';
import type { InvokeTracing } from './tracing/invoke-tracing.js';

/** Several gateway replicas: functions sharded over them (docs/high-availability.md). */
export interface ShardingParts {
  coordinator(hooks: CoordinatorHooks): ShardCoordinator;
  /** This replica's grants of the namespaces' unreserved pools, shared with the other replicas. */
  budget?(counts: UnreservedCounts): UnreservedBudget;
  forward: ForwardClient;
  /** The secret replicas present to each other on forwarded invocations. */
  token: string;
  settings: ShardedInvokerSettings;
  /** How long a stopping replica waits for its shards' invocations before it lets go anyway. */
  leaveTimeoutMs: number;
  /**
   * How long a stopping replica then waits for its clients to close the connections they still
   * hold (a request on one is answered `Connection: close`; an idle one may be getting a request
   * just as the server would cut it) before it closes the rest.
   */
  connectionDrainMs?: number;
}

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
  sharding?: ShardingParts;
  /** Invocation spans over OTLP (docs/metrics.md, Tracing); absent: tracing off. */
  tracing?: InvokeTracing;
}

export interface Gateway {
  app: FastifyInstance;
  pool: EnvironmentPool;
  ledger: ConcurrencyLedger;
  scaler: BurstScaler;
  /** Runs invocations here, or on the replica that owns the function. */
  invoker: InvokePort;
  metrics: GatewayMetrics;
  sync: CatalogSync;
  coordinator?: ShardCoordinator;
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
  // Several replicas share each namespace's unreserved pool: each admits within its grant.
  const budget = parts.sharding?.budget?.(ledger);
  if (budget) ledger.setUnreservedGrants((ns) => budget.grant(ns));
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
      ...(budget ? { unreservedGrant: (ns: string) => budget.grant(ns) } : {}),
    },
    parts.processMetrics ?? false,
  );
  parts.warmPool?.onClaim((e) => metrics.warmPoolClaims.inc(e));
  // Set below, before anything runs: the pool and the sync ask it which functions are ours.
  let coordinator: ShardCoordinator | undefined;
  // Environments and provisioned concurrency follow the shards this replica holds.
  const serves = (_namespace: string, functionName: string) => coordinator?.holds(functionName) ?? true;
  const pool = new EnvironmentPool(
    parts.provider,
    ledger,
    scaler,
    clock,
    parts.log,
    poolSettings(settings),
    {
      environmentFailed: (record, reason) => {
        parts.log.warn('environment failed', { id: record.id, reason });
        metrics.environmentFailures.inc({
          namespace: record.namespace,
          function: record.functionName,
          version: record.version,
        });
      },
    },
    // Adopted environments (after a restart, or handed over by another replica) are asked
    // what they are doing: busy ones count against concurrency, generic ones are useless.
    {
      serves,
      activity: async (address) => (await agent.activity?.(address)) ?? 'idle',
      ...(budget ? { moreUnreserved: (ns: string, deadline: number) => budget.more(ns, deadline) } : {}),
    },
  );
  const environmentSettings = {
    storeUrl: settings.storeUrl,
    region: settings.region,
    defaultNamespace: settings.defaultNamespace,
  };
  const local = new Invoker({
    catalog: parts.catalog,
    pool,
    agent,
    metrics,
    clock,
    log: parts.log,
    random,
    settings: environmentSettings,
    ...(parts.tracing ? { tracing: parts.tracing } : {}),
  });
  const sync = new CatalogSync(
    parts.catalog,
    ledger,
    pool,
    environmentSettings,
    parts.log,
    parts.statusWriter,
    serves,
  );
  let invoker: InvokePort = local;
  let sharded: ShardedInvoker | undefined;
  if (parts.sharding) {
    const sharding = parts.sharding;
    coordinator = sharding.coordinator({
      acquired: () => {
        pool.adopt();
        sync.sync();
      },
      released: (shards) => {
        const moved = new Set(shards);
        pool.forget((_namespace, fn) => moved.has(coordinator?.shardOf(fn) ?? -1));
        sync.sync();
      },
      observed: (alive, lease) => void budget?.observed(lease, alive),
      // Running ones only: those still waiting for an environment follow the shard (forget()).
      inFlight: (shard) =>
        Math.max(
          0,
          (sharded?.inFlight(shard) ?? 0) -
            pool.waitingForEnvironment((_namespace, fn) => coordinator?.shardOf(fn) === shard),
        ),
      waiting: () => sharded?.waiting() ?? 0,
      routesChanged: () => sharded?.routesChanged(),
    });
    sharded = new ShardedInvoker(local, coordinator, sharding.forward, clock, sharding.settings);
    invoker = sharded;
  }
  let ready = false;
  let closing = false;
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
    ready: () => ready && (coordinator?.status().serving ?? true),
    closing: () => closing,
    ...(parts.asyncQueue ? { asyncQueue: parts.asyncQueue } : {}),
    ...(parts.urlAuthorizer ? { urlAuthorizer: parts.urlAuthorizer } : {}),
    ...(parts.invokeAuthorizer ? { invokeAuthorizer: parts.invokeAuthorizer } : {}),
    ...(parts.bareNames ? { bareNames: parts.bareNames } : {}),
    ...(parts.sigv4 ? { sigv4: parts.sigv4 } : {}),
    ...(parts.controlPlane ? { controlPlane: parts.controlPlane } : {}),
    defaultNamespace: settings.defaultNamespace,
    ...(parts.sharding && sharded && coordinator
      ? {
          forward: {
            token: parts.sharding.token,
            serves: (fn: string) => coordinator?.serves(fn) ?? false,
            resolve: (fn: string, version: string, namespace: string) =>
              local.resolve(fn, version, namespace),
            invoke: sharded.runHere.bind(sharded),
          },
          sharding: () => coordinator?.status(),
        }
      : {}),
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
    ...(coordinator ? { coordinator } : {}),
    async start() {
      await coordinator?.start(); // first: the pool adopts only the environments of our shards
      await pool.start();
      sync.sync();
      unsubscribe = parts.catalog.onChange(scheduleSync);
      writeStatusesLoop();
      ready = true;
    },
    async stop() {
      ready = false;
      closing = true;
      // Hand every shard over (its invocations in flight finish here) before closing; then
      // let the requests still open finish (forwarded to the new owners), and only then close
      // the hop they use.
      await coordinator?.leave(parts.sharding?.leaveTimeoutMs ?? 0);
      if (parts.sharding?.connectionDrainMs)
        await drainConnections(app, parts.sharding.connectionDrainMs, clock);
      await app.close();
      coordinator?.stop(); // it followed the shards for the requests still open until now
      await parts.sharding?.forward.close();
      budget?.stop();
      unsubscribe?.();
      statusTimer?.cancel();
      pool.stop();
      await agent.close();
      await parts.tracing?.shutdown();
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

/** Waits until the server has no open connection, or `maxMs`. */
async function drainConnections(app: FastifyInstance, maxMs: number, clock: Clock): Promise<void> {
  const deadline = clock.now() + maxMs;
  const open = () =>
    new Promise<number>((resolve) => app.server.getConnections((err, count) => resolve(err ? 0 : count)));
  while (clock.now() < deadline && (await open()) > 0) {
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
  }
}
