// The operator's configuration, from the environment (Helm values become env vars). Parsed
// once at start; an invalid value stops the process with a message naming the variable.
import { hostname } from 'node:os';
import { z } from 'zod';
import { envBool, envInt, parseEnv } from '../shared/index.js';
import { type StoreConfig, storeConfigFrom, StoreEnv } from '../store/index.js';

const OperatorEnv = StoreEnv.extend({
  /** Where the leader Lease lives (the operator's own namespace). */
  LAMINA_NAMESPACE: z.string().min(1).optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  /** Leader-election identity; the pod name in the cluster. */
  LAMINA_POD_NAME: z.string().min(1).optional(),
  HOSTNAME: z.string().min(1).optional(),
  /** Comma-separated namespaces to watch; empty means all. */
  LAMINA_WATCH_NAMESPACES: z.string().optional(),
  LAMINA_LEASE_NAME: z.string().min(1).default('lamina-operator'),
  LAMINA_LEASE_DURATION_SECONDS: envInt(15, 1),
  LAMINA_LEASE_RENEW_DEADLINE_SECONDS: envInt(10, 1),
  LAMINA_LEASE_RETRY_MS: envInt(2000, 50),
  /** Run the artifact store inside the operator (default) or use one at LAMINA_STORE_URL. */
  LAMINA_STORE_EMBEDDED: envBool(true),
  LAMINA_STORE_URL: z.url().optional(),
  LAMINA_GC_ENABLED: envBool(true),
  LAMINA_GC_INTERVAL_SECONDS: envInt(600, 1),
  LAMINA_GC_GRACE_SECONDS: envInt(3600, 0),
  LAMINA_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  LAMINA_METRICS_PORT: envInt(8081, 0, 65_535),
  LAMINA_WORKERS: envInt(4, 1, 64),
  LAMINA_FETCH_TIMEOUT_SECONDS: envInt(60, 1),
  LAMINA_RETRY_SECONDS: envInt(30, 1),
  /** The gateway's base URL as clients see it (for status.url of functions with a URL). */
  LAMINA_GATEWAY_URL: z.url().optional(),
  /** Comma-separated host[:port] of registries spoken to over plain HTTP (image functions). */
  LAMINA_INSECURE_REGISTRIES: z.string().optional(),
})
  .refine((env) => env.LAMINA_STORE_EMBEDDED || env.LAMINA_STORE_URL, {
    path: ['LAMINA_STORE_URL'],
    message: 'required when LAMINA_STORE_EMBEDDED=false',
  })
  .refine((env) => env.LAMINA_LEASE_RENEW_DEADLINE_SECONDS < env.LAMINA_LEASE_DURATION_SECONDS, {
    path: ['LAMINA_LEASE_RENEW_DEADLINE_SECONDS'],
    message: 'must be shorter than LAMINA_LEASE_DURATION_SECONDS',
  });

export interface OperatorConfig {
  namespace: string;
  identity: string;
  watchNamespaces?: string[];
  lease: { name: string; durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  store: StoreConfig & { embedded: boolean; url?: string };
  gc: { enabled: boolean; intervalMs: number; graceMs: number };
  metrics: { host: string; port: number };
  workers: number;
  fetchTimeoutMs: number;
  retryAfterMs: number;
  gatewayUrl?: string;
  insecureRegistries: string[];
}

export function operatorConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const e = parseEnv(OperatorEnv, env);
  const watch = (e.LAMINA_WATCH_NAMESPACES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    namespace: e.LAMINA_NAMESPACE ?? e.POD_NAMESPACE ?? 'lamina-system',
    identity: e.LAMINA_POD_NAME ?? e.HOSTNAME ?? hostname(),
    ...(watch.length > 0 && { watchNamespaces: watch }),
    lease: {
      name: e.LAMINA_LEASE_NAME,
      durationMs: e.LAMINA_LEASE_DURATION_SECONDS * 1000,
      renewDeadlineMs: e.LAMINA_LEASE_RENEW_DEADLINE_SECONDS * 1000,
      retryPeriodMs: e.LAMINA_LEASE_RETRY_MS,
    },
    store: { ...storeConfigFrom(e), embedded: e.LAMINA_STORE_EMBEDDED, url: e.LAMINA_STORE_URL },
    gc: {
      enabled: e.LAMINA_GC_ENABLED,
      intervalMs: e.LAMINA_GC_INTERVAL_SECONDS * 1000,
      graceMs: e.LAMINA_GC_GRACE_SECONDS * 1000,
    },
    metrics: { host: e.LAMINA_METRICS_HOST, port: e.LAMINA_METRICS_PORT },
    workers: e.LAMINA_WORKERS,
    fetchTimeoutMs: e.LAMINA_FETCH_TIMEOUT_SECONDS * 1000,
    retryAfterMs: e.LAMINA_RETRY_SECONDS * 1000,
    gatewayUrl: e.LAMINA_GATEWAY_URL,
    insecureRegistries: (e.LAMINA_INSECURE_REGISTRIES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
