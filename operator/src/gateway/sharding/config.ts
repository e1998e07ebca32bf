// Configuration of several gateway replicas (LAMINA_SHARDING_*; the chart sets them from the
// pod's name and IP). Absent identity: one replica, no sharding (tests, `npm run gateway`).
import { z } from 'zod';
import { ConfigError, configProblems } from '../../shared/index.js';

const int = (min: number) => z.coerce.number().int().min(min);

const ShardingEnv = z.object({
  /** This replica's identity (the pod name); sharding is on when set. */
  LAMINA_SHARDING_IDENTITY: z.string().optional(),
  /** Where the other replicas reach this one, e.g. http://10.88.0.12:8080. */
  LAMINA_SHARDING_ADDRESS: z.string().url().optional(),
  /** Namespace of the Leases (the release's). */
  LAMINA_SHARDING_NAMESPACE: z.string().default('lamina-system'),
  /** The secret replicas present to each other; required with sharding. */
  LAMINA_SHARDING_TOKEN: z.string().optional(),
  LAMINA_SHARDING_SHARDS: int(1).max(4096).default(64),
  LAMINA_SHARDING_LEASE_MS: int(1000).default(10_000),
  LAMINA_SHARDING_RENEW_MS: int(100).default(1000),
  LAMINA_SHARDING_HAND_OVER_HOLD_MS: int(0).default(2000),
  /** Default: two lease durations and 5 s (a dead owner's shards move after one, plus a round). */
  LAMINA_SHARDING_OWNER_WAIT_MS: int(0).optional(),
  LAMINA_SHARDING_LEAVE_TIMEOUT_MS: int(0).default(20_000),
});

export interface ShardingConfig {
  identity: string;
  address: string;
  namespace: string;
  token: string;
  shardCount: number;
  leaseDurationMs: number;
  renewIntervalMs: number;
  /** A replica stops serving this long after its last renewal: well before others take over. */
  fenceAfterMs: number;
  handOverHoldMs: number;
  ownerWaitMs: number;
  leaveTimeoutMs: number;
}

export function loadShardingConfig(
  env: Record<string, string | undefined> = process.env,
): ShardingConfig | undefined {
  const parsed = ShardingEnv.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid gateway configuration: ${configProblems(parsed.error)}`);
  }
  const c = parsed.data;
  if (!c.LAMINA_SHARDING_IDENTITY) return undefined;
  if (!c.LAMINA_SHARDING_ADDRESS || !c.LAMINA_SHARDING_TOKEN) {
    throw new ConfigError(
      'invalid gateway configuration: LAMINA_SHARDING_ADDRESS and LAMINA_SHARDING_TOKEN: required with LAMINA_SHARDING_IDENTITY',
    );
  }
  if (c.LAMINA_SHARDING_RENEW_MS * 2 >= c.LAMINA_SHARDING_LEASE_MS) {
    throw new ConfigError(
      'invalid gateway configuration: LAMINA_SHARDING_RENEW_MS: must be less than half of LAMINA_SHARDING_LEASE_MS',
    );
  }
  return {
    identity: c.LAMINA_SHARDING_IDENTITY,
    address: c.LAMINA_SHARDING_ADDRESS,
    namespace: c.LAMINA_SHARDING_NAMESPACE,
    token: c.LAMINA_SHARDING_TOKEN,
    shardCount: c.LAMINA_SHARDING_SHARDS,
    leaseDurationMs: c.LAMINA_SHARDING_LEASE_MS,
    renewIntervalMs: c.LAMINA_SHARDING_RENEW_MS,
    // Two renewals may fail before the replica fences itself; the others wait the whole lease.
    fenceAfterMs: c.LAMINA_SHARDING_LEASE_MS - c.LAMINA_SHARDING_RENEW_MS,
    handOverHoldMs: c.LAMINA_SHARDING_HAND_OVER_HOLD_MS,
    ownerWaitMs: c.LAMINA_SHARDING_OWNER_WAIT_MS ?? c.LAMINA_SHARDING_LEASE_MS * 2 + 5000,
    leaveTimeoutMs: c.LAMINA_SHARDING_LEAVE_TIMEOUT_MS,
  };
}
