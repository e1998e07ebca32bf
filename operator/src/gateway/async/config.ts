// Configuration of asynchronous invocation, from LAMINA_ASYNC_* variables (the Helm chart
// sets them), parsed once at start with zod. An invalid value stops the gateway with a
// message naming the variable, like the rest of the gateway configuration.
import { z } from 'zod';
import { ConfigError, configProblems } from '../../shared/index.js';
import { LAMBDA_RETRY_POLICY, type RetryPolicy } from './decisions.js';

const int = (min: number) => z.coerce.number().int().min(min);
const delays = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'must be comma-separated milliseconds, e.g. 60000,120000')
  .transform((v) => v.split(',').map(Number));

const AsyncEnv = z.object({
  /** sqlite: one file on the gateway's volume (single replica). nats: JetStream (several replicas). */
  LAMINA_ASYNC_BACKEND: z.enum(['sqlite', 'nats']).default('sqlite'),
  LAMINA_ASYNC_SQLITE_PATH: z.string().min(1).default('/var/lib/lamina/async/events.db'),
  LAMINA_ASYNC_NATS_URL: z.string().min(1).optional(),
  LAMINA_ASYNC_NATS_STREAM: z
    .string()
    .regex(/^[A-Z0-9_-]{1,32}$/, 'must be 1–32 of A-Z, 0-9, _ and -')
    .default('LAMINA_ASYNC'),
  LAMINA_ASYNC_NATS_REPLICAS: int(1).max(5).default(1),
  /** How long a leased event stays hidden; running attempts extend it every third of this. */
  LAMINA_ASYNC_VISIBILITY_TIMEOUT_MS: int(1000).default(60_000),
  LAMINA_ASYNC_WORKERS: int(1).max(1024).default(16),
  LAMINA_ASYNC_POLL_INTERVAL_MS: int(10).default(1000),
  LAMINA_ASYNC_RETRY_DELAYS_MS: delays.default([...LAMBDA_RETRY_POLICY.functionErrorDelaysMs]),
  LAMINA_ASYNC_BACKOFF_INITIAL_MS: int(1).default(LAMBDA_RETRY_POLICY.backoffInitialMs),
  LAMINA_ASYNC_BACKOFF_MAX_MS: int(1).default(LAMBDA_RETRY_POLICY.backoffMaxMs),
  LAMINA_ASYNC_DELIVERY_MAX_AGE_MS: int(1000).default(21_600_000),
});

export type AsyncBackendConfig =
  { kind: 'sqlite'; path: string } | { kind: 'nats'; servers: string[]; stream: string; replicas: number };

export interface AsyncConfig {
  backend: AsyncBackendConfig;
  visibilityTimeoutMs: number;
  workers: number;
  pollIntervalMs: number;
  policy: RetryPolicy;
  deliveryMaxAgeMs: number;
}

export function loadAsyncConfig(env: Record<string, string | undefined> = process.env): AsyncConfig {
  const parsed = AsyncEnv.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid async configuration: ${configProblems(parsed.error)}`);
  }
  const c = parsed.data;
  if (c.LAMINA_ASYNC_BACKEND === 'nats' && !c.LAMINA_ASYNC_NATS_URL) {
    throw new ConfigError(
      'invalid async configuration: LAMINA_ASYNC_NATS_URL: required when LAMINA_ASYNC_BACKEND=nats',
    );
  }
  if (c.LAMINA_ASYNC_BACKOFF_MAX_MS < c.LAMINA_ASYNC_BACKOFF_INITIAL_MS) {
    throw new ConfigError(
      'invalid async configuration: LAMINA_ASYNC_BACKOFF_MAX_MS: must not be below LAMINA_ASYNC_BACKOFF_INITIAL_MS',
    );
  }
  return {
    backend:
      c.LAMINA_ASYNC_BACKEND === 'nats'
        ? {
            kind: 'nats',
            servers: (c.LAMINA_ASYNC_NATS_URL ?? '').split(',').map((s) => s.trim()),
            stream: c.LAMINA_ASYNC_NATS_STREAM,
            replicas: c.LAMINA_ASYNC_NATS_REPLICAS,
          }
        : { kind: 'sqlite', path: c.LAMINA_ASYNC_SQLITE_PATH },
    visibilityTimeoutMs: c.LAMINA_ASYNC_VISIBILITY_TIMEOUT_MS,
    workers: c.LAMINA_ASYNC_WORKERS,
    pollIntervalMs: c.LAMINA_ASYNC_POLL_INTERVAL_MS,
    policy: {
      ...LAMBDA_RETRY_POLICY,
      functionErrorDelaysMs: c.LAMINA_ASYNC_RETRY_DELAYS_MS,
      backoffInitialMs: c.LAMINA_ASYNC_BACKOFF_INITIAL_MS,
      backoffMaxMs: c.LAMINA_ASYNC_BACKOFF_MAX_MS,
    },
    deliveryMaxAgeMs: c.LAMINA_ASYNC_DELIVERY_MAX_AGE_MS,
  };
}
