// One scaling bucket per function (Lambda scales each function independently), created on
// first use and forgotten once full again so idle functions cost nothing.
import { ScalingBucket, type ScalingPolicy } from './scaling-bucket.js';

export type ScaleDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class BurstScaler {
  private readonly buckets = new Map<string, ScalingBucket>();

  constructor(private policy: ScalingPolicy) {
    assertPolicy(policy);
  }

  /** Asks to start one new environment for `functionKey` at `now`. */
  tryStart(functionKey: string, now: number): ScaleDecision {
    let bucket = this.buckets.get(functionKey);
    if (!bucket) {
      bucket = new ScalingBucket(this.policy, now);
      this.buckets.set(functionKey, bucket);
    }
    if (bucket.tryTake(now)) return { allowed: true };
    return { allowed: false, retryAfterMs: bucket.msUntilNext(now) };
  }

  available(functionKey: string, now: number): number {
    return this.buckets.get(functionKey)?.available(now) ?? this.policy.burst;
  }

  setPolicy(policy: ScalingPolicy, now: number): void {
    assertPolicy(policy);
    this.policy = policy;
    for (const bucket of this.buckets.values()) bucket.setPolicy(policy, now);
  }

  getPolicy(): ScalingPolicy {
    return this.policy;
  }

  /** Drops buckets that have fully refilled. */
  prune(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}

function assertPolicy({ burst, rate, intervalMs }: ScalingPolicy): void {
  if (!Number.isInteger(burst) || burst < 0) throw new Error(`burst must be an integer >= 0, got ${burst}`);
  if (!Number.isInteger(rate) || rate < 0) throw new Error(`rate must be an integer >= 0, got ${rate}`);
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new Error(`intervalMs must be an integer >= 1, got ${intervalMs}`);
}
