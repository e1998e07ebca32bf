// Gateway configuration: read once at start from LAMINA_* environment variables (the Helm
// chart sets them), validated with zod. Invalid configuration stops the process with a
// message naming the variable.
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError, configProblems, envBool } from '../shared/index.js';
import type { RuntimeImageKey } from '../protocol/index.js';
import { type ImageMap, parseImageMap } from './environments/runtime-images.js';
import { parseShapes, type PoolShape } from './pool/shapes.js';

const int = (min: number) => z.coerce.number().int().min(min);

const ConfigEnv = z.object({
  LAMINA_GATEWAY_PORT: int(0).max(65535).default(8080),
  LAMINA_GATEWAY_HOST: z.string().default('0.0.0.0'),
  /** Namespace for bare function names (Lambda's "own account"). */
  LAMINA_DEFAULT_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Kubernetes namespace name')
    .default('default'),
  /** Region shown in ARNs and AWS_REGION. */
  LAMINA_REGION: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must look like an AWS region, e.g. us-east-1')
    .default('us-east-1'),
  /** Lambda's account concurrency limit, per namespace. */
  LAMINA_NAMESPACE_CONCURRENCY_LIMIT: int(1).default(1000),
  /** Concurrency reservations may never take. */
  LAMINA_UNRESERVED_CONCURRENCY_MINIMUM: int(0).default(100),
  /** New environments a function may start at once. */
  LAMINA_SCALING_BURST: int(0).default(1000),
  /** Environments added per interval after the burst. */
  LAMINA_SCALING_RATE: int(0).default(1000),
  LAMINA_SCALING_INTERVAL_MS: int(1).default(10_000),
  /** On-demand environments idle this long are destroyed (scale to zero). */
  LAMINA_IDLE_TIMEOUT_MS: int(1000).default(300_000),
  LAMINA_MAINTENANCE_INTERVAL_MS: int(100).default(1000),
  /** How long a cold invoke waits for its pod to become ready. */
  LAMINA_COLD_START_TIMEOUT_MS: int(1000).default(60_000),
  /** A cluster autoscaler adds nodes: cold starts no node can hold wait instead of a 429. */
  LAMINA_CLUSTER_AUTOSCALER: envBool(false),
  LAMINA_SYNC_PAYLOAD_LIMIT_BYTES: int(1).default(6_291_456),
  LAMINA_ASYNC_PAYLOAD_LIMIT_BYTES: int(1).default(1_048_576),
  LAMINA_RUNTIME_IMAGE: z.string().min(1).default('lamina/runtime:dev'),
  /** The runtime image's content revision, for tags that stay the same across builds (`:dev`). */
  LAMINA_RUNTIME_IMAGE_REVISION: z.string().default(''),
  /** The other runtime images, `<key>=<image>` comma-separated (keys: runtime-images.ts). */
  LAMINA_RUNTIME_IMAGES: z.string().default(''),
  /** Their content revisions, `<key>=<revision>` comma-separated. */
  LAMINA_RUNTIME_IMAGE_REVISIONS: z.string().default(''),
  /** Registries spoken to over plain HTTP when reading an image function's config (comma-separated). */
  LAMINA_INSECURE_REGISTRIES: z.string().default(''),
  LAMINA_STORE_URL: z.string().url('must be a URL').default('http://lamina-store.lamina-system.svc:8090'),
  /** Host suffix for host-based function URLs: <function>.<namespace>.<domain>. */
  LAMINA_URL_DOMAIN: z.string().default('lamina.local'),
  /** Who may invoke: anyone (`none`) or callers whose Kubernetes token RBAC allows `invoke`. */
  LAMINA_INVOKE_AUTH: z.enum(['none', 'kubernetes']).default('none'),
  /** Verify AWS SigV4 signatures against access-key Secrets (needs LAMINA_INVOKE_AUTH=kubernetes). */
  LAMINA_SIGV4: envBool(false),
  /** The namespace whose `lamina.dev/access-key=true` Secrets hold the access keys (the release's). */
  LAMINA_ACCESS_KEYS_NAMESPACE: z.string().default('lamina-system'),
  /** How long a TokenReview/SubjectAccessReview answer is reused. */
  LAMINA_AUTH_CACHE_TTL_MS: int(0).max(300_000).default(10_000),
  /** Comma-separated token audiences to require (empty: the API server's own). */
  LAMINA_AUTH_AUDIENCES: z.string().default(''),
  /** Generic environments kept ready per namespace and pool shape (0: no warm pool). */
  LAMINA_POOL_SIZE: int(0).max(100).default(1),
  /** A namespace without a cold start this long keeps no pool pods until its next one (0: always keeps them). */
  LAMINA_POOL_IDLE_NAMESPACE_SECONDS: int(0).default(600),
  /** Pool size per runtime image, `<key>=<size>` comma-separated; unlisted images: LAMINA_POOL_SIZE. */
  LAMINA_POOL_RUNTIME_SIZES: z.string().default(''),
  /** Pool shapes, `<memoryMB>[:<ephemeralStorageMB>]`, comma-separated. */
  LAMINA_POOL_SHAPES: z.string().default('128'),
  /** Namespaces that get a pool (comma-separated); empty: every namespace with a Function. */
  LAMINA_POOL_NAMESPACES: z.string().default(''),
  /** This gateway's identity on its pool pods; default: the host (pod) name. */
  LAMINA_POOL_OWNER: z.string().optional(),
  /** Serve Lambda's control-plane API (CreateFunction …) next to the Invoke API. */
  LAMINA_CONTROL_PLANE: z.enum(['true', 'false']).default('true'),
  /** The artifact store's URL as API clients see it; unset: the gateway serves Code.Location itself. */
  LAMINA_STORE_PUBLIC_URL: z.string().url('must be a URL').optional(),
  /** Key shared with the store for signed, expiring download URLs. */
  LAMINA_STORE_DOWNLOAD_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  LAMINA_CODE_URL_TTL_SECONDS: int(1).max(86_400).default(600),
  /** Largest zip CreateFunction/UpdateFunctionCode accept (Lambda: 50 MB). */
  LAMINA_MAX_ZIP_BYTES: int(1).default(50 * 1024 * 1024),
  /** Largest unzipped archive (Lambda: 250 MB). */
  LAMINA_MAX_UNZIPPED_BYTES: int(1).default(262_144_000),
  /** How long PublishVersion waits for the operator to number a version. */
  LAMINA_PUBLISH_TIMEOUT_MS: int(1000).default(30_000),
  /** OTLP/HTTP collector for invocation spans (base URL, or the full /v1/traces URL); unset: no tracing. */
  LAMINA_TRACING_OTLP_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^/\s]/, 'must be an http:// or https:// URL (OTLP/HTTP)')
    .optional(),
  /** Headers sent with each export, `key=value` comma-separated (as OTEL_EXPORTER_OTLP_HEADERS). */
  LAMINA_TRACING_OTLP_HEADERS: z.string().default(''),
  /** Share of invocations traced when the caller did not decide (its Sampled flag). */
  LAMINA_TRACING_SAMPLING_RATIO: z.coerce.number().min(0).max(1).default(1),
  /** Kubeconfig to use outside a cluster (defaults: in-cluster, then ~/.kube/config). */
  KUBECONFIG: z.string().optional(),
});

/** `k=v,k2=v2` (values may be percent-encoded, as OTEL_EXPORTER_OTLP_HEADERS). */
function parseHeaders(value: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new ConfigError(
        `invalid gateway configuration: LAMINA_TRACING_OTLP_HEADERS: "${pair}" is not key=value`,
      );
    const value = pair.slice(eq + 1).trim();
    try {
      headers[pair.slice(0, eq).trim()] = decodeURIComponent(value);
    } catch {
      headers[pair.slice(0, eq).trim()] = value; // a % that starts no escape is itself
    }
  }
  return headers;
}

export interface GatewayConfig {
  port: number;
  host: string;
  defaultNamespace: string;
  region: string;
  namespaceConcurrencyLimit: number;
  unreservedConcurrencyMinimum: number;
  scaling: { burst: number; rate: number; intervalMs: number };
  idleTimeoutMs: number;
  maintenanceIntervalMs: number;
  coldStartTimeoutMs: number;
  clusterAutoscaler: boolean;
  syncPayloadLimitBytes: number;
  asyncPayloadLimitBytes: number;
  runtimeImage: string;
  runtimeImageRevision: string;
  runtimeImages: ImageMap;
  /** host[:port] of registries read over plain HTTP (image functions' ENTRYPOINT and CMD). */
  insecureRegistries: string[];
  runtimeImageRevisions: ImageMap;
  storeUrl: string;
  urlDomain: string;
  /** Invoke API authentication; function URLs follow their own authType either way. */
  auth: {
    invoke: 'none' | 'kubernetes';
    /** SigV4 verification on, with its access keys in this namespace. */
    sigv4?: { accessKeysNamespace: string };
    cacheTtlMs: number;
    audiences: string[];
  };
  pool: {
    size: number;
    /** Per runtime image, instead of `size`. */
    sizes: Partial<Record<RuntimeImageKey, number>>;
    idleNamespaceSeconds: number;
    shapes: PoolShape[];
    namespaces: string[];
    owner: string;
  };
  /** Environment pods run in the function's own namespace. */
  podNamespacePolicy: 'function-namespace';
  controlPlane: {
    enabled: boolean;
    publicStoreUrl?: string;
    downloadKey?: string;
    codeUrlTtlSeconds: number;
    maxZipBytes: number;
    maxUnzippedBytes: number;
    publishTimeoutMs: number;
  };
  /** Invocation spans over OTLP; absent: tracing off. */
  tracing?: { otlpEndpoint: string; headers: Record<string, string>; samplingRatio: number };
  kubeconfig?: string;
}

export { ConfigError };

export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = ConfigEnv.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid gateway configuration: ${configProblems(parsed.error)}`);
  }
  const c = parsed.data;
  if (c.LAMINA_UNRESERVED_CONCURRENCY_MINIMUM > c.LAMINA_NAMESPACE_CONCURRENCY_LIMIT) {
    throw new ConfigError(
      'invalid gateway configuration: LAMINA_UNRESERVED_CONCURRENCY_MINIMUM: must not exceed LAMINA_NAMESPACE_CONCURRENCY_LIMIT',
    );
  }
  if (c.LAMINA_SIGV4 && c.LAMINA_INVOKE_AUTH !== 'kubernetes') {
    throw new ConfigError(
      'invalid gateway configuration: LAMINA_SIGV4: needs LAMINA_INVOKE_AUTH=kubernetes (RBAC decides what a key may do)',
    );
  }
  let shapes: PoolShape[];
  try {
    shapes = parseShapes(c.LAMINA_POOL_SHAPES);
  } catch (err) {
    throw new ConfigError(`invalid gateway configuration: LAMINA_POOL_SHAPES: ${(err as Error).message}`);
  }
  const imageMap = (name: string): ImageMap => {
    try {
      return parseImageMap(c[name as keyof typeof c] as string);
    } catch (err) {
      throw new ConfigError(`invalid gateway configuration: ${name}: ${(err as Error).message}`);
    }
  };
  const runtimeImages = imageMap('LAMINA_RUNTIME_IMAGES');
  const runtimeImageRevisions = imageMap('LAMINA_RUNTIME_IMAGE_REVISIONS');
  const poolSizes: Partial<Record<RuntimeImageKey, number>> = {};
  for (const [key, value] of Object.entries(imageMap('LAMINA_POOL_RUNTIME_SIZES'))) {
    if (!/^\d{1,3}$/.test(value ?? '') || Number(value) > 100)
      throw new ConfigError(
        `invalid gateway configuration: LAMINA_POOL_RUNTIME_SIZES: "${key}=${value}": size must be 0-100`,
      );
    poolSizes[key as RuntimeImageKey] = Number(value);
  }
  return {
    port: c.LAMINA_GATEWAY_PORT,
    host: c.LAMINA_GATEWAY_HOST,
    defaultNamespace: c.LAMINA_DEFAULT_NAMESPACE,
    region: c.LAMINA_REGION,
    namespaceConcurrencyLimit: c.LAMINA_NAMESPACE_CONCURRENCY_LIMIT,
    unreservedConcurrencyMinimum: c.LAMINA_UNRESERVED_CONCURRENCY_MINIMUM,
    scaling: {
      burst: c.LAMINA_SCALING_BURST,
      rate: c.LAMINA_SCALING_RATE,
      intervalMs: c.LAMINA_SCALING_INTERVAL_MS,
    },
    idleTimeoutMs: c.LAMINA_IDLE_TIMEOUT_MS,
    maintenanceIntervalMs: c.LAMINA_MAINTENANCE_INTERVAL_MS,
    coldStartTimeoutMs: c.LAMINA_COLD_START_TIMEOUT_MS,
    clusterAutoscaler: c.LAMINA_CLUSTER_AUTOSCALER,
    syncPayloadLimitBytes: c.LAMINA_SYNC_PAYLOAD_LIMIT_BYTES,
    asyncPayloadLimitBytes: c.LAMINA_ASYNC_PAYLOAD_LIMIT_BYTES,
    runtimeImage: c.LAMINA_RUNTIME_IMAGE,
    runtimeImageRevision: c.LAMINA_RUNTIME_IMAGE_REVISION,
    runtimeImages,
    insecureRegistries: c.LAMINA_INSECURE_REGISTRIES.split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    runtimeImageRevisions,
    storeUrl: c.LAMINA_STORE_URL,
    urlDomain: c.LAMINA_URL_DOMAIN,
    auth: {
      invoke: c.LAMINA_INVOKE_AUTH,
      ...(c.LAMINA_SIGV4 && { sigv4: { accessKeysNamespace: c.LAMINA_ACCESS_KEYS_NAMESPACE } }),
      cacheTtlMs: c.LAMINA_AUTH_CACHE_TTL_MS,
      audiences: c.LAMINA_AUTH_AUDIENCES.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    pool: {
      size: c.LAMINA_POOL_SIZE,
      sizes: poolSizes,
      idleNamespaceSeconds: c.LAMINA_POOL_IDLE_NAMESPACE_SECONDS,
      shapes,
      namespaces: c.LAMINA_POOL_NAMESPACES.split(',')
        .map((n) => n.trim())
        .filter(Boolean),
      // In a cluster the host name is the pod name, stable across container restarts (the
      // pool is adopted); host processes (tests, benchmarks) must not share one.
      owner:
        c.LAMINA_POOL_OWNER ?? (env.KUBERNETES_SERVICE_HOST ? hostname() : `${hostname()}-${process.pid}`),
    },
    podNamespacePolicy: 'function-namespace',
    controlPlane: {
      enabled: c.LAMINA_CONTROL_PLANE === 'true',
      ...(c.LAMINA_STORE_PUBLIC_URL ? { publicStoreUrl: c.LAMINA_STORE_PUBLIC_URL } : {}),
      ...(c.LAMINA_STORE_DOWNLOAD_KEY ? { downloadKey: c.LAMINA_STORE_DOWNLOAD_KEY } : {}),
      codeUrlTtlSeconds: c.LAMINA_CODE_URL_TTL_SECONDS,
      maxZipBytes: c.LAMINA_MAX_ZIP_BYTES,
      maxUnzippedBytes: c.LAMINA_MAX_UNZIPPED_BYTES,
      publishTimeoutMs: c.LAMINA_PUBLISH_TIMEOUT_MS,
    },
    ...(c.LAMINA_TRACING_OTLP_ENDPOINT
      ? {
          tracing: {
            otlpEndpoint: c.LAMINA_TRACING_OTLP_ENDPOINT,
            headers: parseHeaders(c.LAMINA_TRACING_OTLP_HEADERS),
            samplingRatio: c.LAMINA_TRACING_SAMPLING_RATIO,
          },
        }
      : {}),
    ...(c.KUBECONFIG ? { kubeconfig: c.KUBECONFIG } : {}),
  };
}
