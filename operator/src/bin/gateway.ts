// The gateway process: Lambda's Invoke API and function URLs in front of execution
// environments on Kubernetes. Configuration comes from LAMINA_* variables (see
// gateway/config.ts); invalid configuration stops the process naming the variable.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ConfigError,
  createGateway,
  ForwardClient,
  GatewayAsyncQueue,
  HttpAgentClient,
  InlineArtifacts,
  KubernetesCatalog,
  KubernetesProvider,
  KubernetesProvisionedStatusWriter,
  LambdaAuthorizer,
  loadAsyncConfig,
  loadConfig,
  loadOtlpTracing,
  loadShardingConfig,
  openEventQueue,
  PooledProvider,
  SecretAccessKeys,
  OrphanPoolReaper,
  shardedView,
  soleReplicaView,
  ShardCoordinator,
  UnreservedBudget,
  startAsyncProcessor,
  WarmPool,
} from '../gateway/index.js';
import {
  callerNamespace,
  fixedNamespace,
  KubeEventRecorder,
  KubernetesAccessReviewer,
  KubernetesAuthorizer,
  loadKubeConfig,
  VerifiedCallers,
} from '../kube/index.js';
import { allowEveryone, httpStore, kubernetesAccess, kubernetesObjects } from '../control-plane/index.js';
import { createLogger, systemClock } from '../shared/index.js';

/**
 * A single replica removes pool pods of other owners once they are this old: longer than a
 * replaced replica's termination grace, so a rolling update never takes a live pool.
 */
const SOLE_REPLICA_GRACE_MS = 90_000;

/**
 * A stopping replica of several waits this long for clients to close the keep-alive connections
 * they hold before closing the rest (undici keeps an idle one 4 s, Node's agent 5 s by default).
 */
const CONNECTION_DRAIN_MS = 12_000;

async function main(): Promise<void> {
  const log = createLogger({ component: 'gateway' });
  let config;
  let asyncConfig;
  let shardingConfig;
  try {
    config = loadConfig();
    asyncConfig = loadAsyncConfig();
    shardingConfig = loadShardingConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const kc = loadKubeConfig(config.kubeconfig);

  // TokenReview + SubjectAccessReview: always for KUBERNETES function URLs, and for the
  // Invoke API when LAMINA_INVOKE_AUTH=kubernetes.
  // SigV4 callers are verified against access-key Secrets and asked about as their ServiceAccount.
  const verified = new VerifiedCallers();
  const reviews = new KubernetesAuthorizer(
    new KubernetesAccessReviewer(kc, { audiences: config.auth.audiences }),
    { now: Date.now, cacheTtlMs: config.auth.cacheTtlMs, verified },
  );
  let accessKeys: SecretAccessKeys | undefined;
  if (config.auth.sigv4) {
    accessKeys = new SecretAccessKeys(
      kc,
      config.auth.sigv4.accessKeysNamespace,
      log.child({ part: 'access-keys' }),
    );
    await accessKeys.start();
  }
  const authorizer = new LambdaAuthorizer(reviews, config.region, log.child({ part: 'auth' }));
  // Bare function names resolve in the caller's namespace when its token names one.
  const bareNames =
    config.auth.invoke === 'kubernetes'
      ? callerNamespace(reviews, config.defaultNamespace)
      : fixedNamespace(config.defaultNamespace);
  const catalog = new KubernetesCatalog(kc, log.child({ part: 'catalog' }));
  await catalog.start();
  const pods = new KubernetesProvider(
    kc,
    {
      image: config.runtimeImage,
      images: config.runtimeImages,
      insecureRegistries: config.insecureRegistries,
    },
    log.child({ part: 'environments' }),
  );
  const warmPool = new WarmPool(
    kc,
    {
      image: config.runtimeImage,
      imageRevision: config.runtimeImageRevision,
      images: config.runtimeImages,
      imageRevisions: config.runtimeImageRevisions,
      ...config.pool,
      reconcileIntervalMs: 1000,
    },
    () =>
      catalog
        .functions()
        .map((fn) => ({ namespace: fn.metadata.namespace ?? 'default', runtime: fn.spec.runtime })),
    log.child({ part: 'warm-pool' }),
  );
  const provider = new PooledProvider(
    pods,
    warmPool,
    new HttpAgentClient(),
    log,
    config.coldStartTimeoutMs,
    new InlineArtifacts(log.child({ part: 'inline-artifacts' })),
  );
  // Event invocations: stored durably before the 202, processed under the same rules.
  const asyncQueue = new GatewayAsyncQueue(await openEventQueue(asyncConfig));
  // OpenTelemetry's SDK is loaded only when tracing is on.
  const tracing = config.tracing
    ? (await loadOtlpTracing()).createOtlpTracing({
        endpoint: config.tracing.otlpEndpoint,
        headers: config.tracing.headers,
        samplingRatio: config.tracing.samplingRatio,
        instanceId: hostname(),
        log: log.child({ part: 'tracing' }),
      })
    : undefined;
  const gateway = await createGateway({
    settings: config,
    ...(tracing ? { tracing } : {}),
    asyncQueue,
    catalog,
    provider,
    warmPool: provider,
    statusWriter: new KubernetesProvisionedStatusWriter(kc),
    urlAuthorizer: authorizer,
    ...(config.auth.invoke === 'kubernetes' ? { invokeAuthorizer: authorizer } : {}),
    bareNames,
    ...(accessKeys ? { sigv4: { keys: accessKeys, verified } } : {}),
    ...(config.controlPlane.enabled
      ? {
          // Lambda's control plane writes the custom resources as this gateway, after asking
          // RBAC about the caller when invoke auth is on.
          controlPlane: {
            objects: kubernetesObjects(kc),
            store: httpStore(config.storeUrl),
            downloads: {
              key: config.controlPlane.downloadKey ?? randomBytes(32).toString('hex'),
              ttlSeconds: config.controlPlane.codeUrlTtlSeconds,
              ...(config.controlPlane.publicStoreUrl && {
                storePublicUrl: config.controlPlane.publicStoreUrl,
              }),
            },
            access: config.auth.invoke === 'kubernetes' ? kubernetesAccess(reviews) : allowEveryone,
            region: config.region,
            defaultNamespace: config.defaultNamespace,
            bareNames,
            code: {
              maxZipBytes: config.controlPlane.maxZipBytes,
              maxUnzippedBytes: config.controlPlane.maxUnzippedBytes,
            },
            concurrency: {
              namespaceLimit: config.namespaceConcurrencyLimit,
              unreservedMinimum: config.unreservedConcurrencyMinimum,
            },
            publishTimeoutMs: config.controlPlane.publishTimeoutMs,
            now: Date.now,
            sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
          },
        }
      : {}),
    log,
    processMetrics: true,
    ...(shardingConfig
      ? {
          // Several replicas: functions sharded over them by Leases, the others forward.
          sharding: {
            coordinator: (hooks) =>
              new ShardCoordinator(
                kc,
                { ...shardingConfig, clock: systemClock, log: log.child({ part: 'sharding' }) },
                hooks,
              ),
            budget: (counts) =>
              new UnreservedBudget(
                kc,
                {
                  namespace: shardingConfig.namespace,
                  identity: shardingConfig.identity,
                  clock: systemClock,
                  log: log.child({ part: 'sharding' }),
                },
                counts,
              ),
            forward: new ForwardClient(shardingConfig.token),
            token: shardingConfig.token,
            settings: {
              ownerWaitMs: shardingConfig.ownerWaitMs,
              forwardSlackMs: config.coldStartTimeoutMs + 10_000,
            },
            leaveTimeoutMs: shardingConfig.leaveTimeoutMs,
            connectionDrainMs: CONNECTION_DRAIN_MS,
          },
        }
      : {}),
  });
  await gateway.start();
  // One replica at a time removes the warm-pool pods of replicas that are gone (died, or were
  // scaled away when the release went from several replicas to one).
  const reaper =
    gateway.coordinator && shardingConfig
      ? new OrphanPoolReaper(
          kc,
          shardedView(gateway.coordinator),
          shardingConfig.leaseDurationMs * 2,
          log.child({ part: 'sharding' }),
          shardingConfig.namespace,
        )
      : new OrphanPoolReaper(
          kc,
          soleReplicaView(config.pool.owner),
          SOLE_REPLICA_GRACE_MS,
          log.child({ part: 'warm-pool' }),
        );
  reaper.start();
  const events = new KubeEventRecorder(kc, 'lamina-gateway', systemClock, log.child({ part: 'events' }));
  const asyncRuntime = startAsyncProcessor({
    config: asyncConfig,
    queue: asyncQueue,
    invoker: gateway.invoker,
    catalog,
    registry: gateway.metrics.registry,
    log,
    onDeadLetter: (notice) =>
      void events.record(
        {
          apiVersion: 'lamina.dev/v1alpha1',
          kind: 'Function',
          metadata: { name: notice.functionName, namespace: notice.namespace },
        },
        'Warning',
        notice.reason,
        `Event ${notice.requestId} was not delivered: ${notice.message}`,
      ),
  });
  const address = await gateway.app.listen({ port: config.port, host: config.host });
  log.info('gateway listening', {
    address,
    defaultNamespace: config.defaultNamespace,
    region: config.region,
    invokeAuth: config.auth.invoke,
    ...(config.tracing
      ? {
          tracing: { otlpEndpoint: config.tracing.otlpEndpoint, samplingRatio: config.tracing.samplingRatio },
        }
      : {}),
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    reaper.stop();
    await asyncRuntime.stop(); // drain attempts in flight: they need the environments
    await gateway.stop(); // no more 202s
    await asyncQueue.close();
    await warmPool.drain();
    await catalog.stop();
    await accessKeys?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `gateway failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
