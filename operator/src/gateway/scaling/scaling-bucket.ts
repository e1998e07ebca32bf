// The burst-then-linear rule for starting new execution environments (LAMBDA-SPEC §6),
// modelled as a token bucket per function:
//
//   - capacity = `burst`: a function that has been quiet may start `burst` environments at once;
//   - refill = `rate` environments per `intervalMs`, continuously (not in steps);
//   - unused capacity does not accumulate beyond `burst`.
//
// It is stored as "debt" (environment starts not yet paid back), which decays at the refill
// rate; a start is allowed when debt + 1 <= burst. Debt is kept scaled by `intervalMs` so all
// arithmetic is on integers and the rule is obeyed exactly (a start allowed at t = 6000 ms is
// refused at 5999 ms). Changing the policy keeps the debt: raising `burst` grants the extra
// starts at once, lowering it withholds starts until the debt has decayed below the new burst.
export interface ScalingPolicy {
  /** Environments a function may start at once. */
  burst: number;
  /** Environments added per interval after the burst. */
  rate: number;
  intervalMs: number;
}

export class ScalingBucket {
  /** Outstanding starts × intervalMs. */
  private scaledDebt = 0;
  private settledAt: number;

  constructor(
    private policy: ScalingPolicy,
    now: number,
  ) {
    this.settledAt = now;
  }

  private settle(now: number): void {
    if (now <= this.settledAt) return;
    this.scaledDebt = Math.max(0, this.scaledDebt - (now - this.settledAt) * this.policy.rate);
    this.settledAt = now;
  }

  private get capacity(): number {
    return this.policy.burst * this.policy.intervalMs;
  }

  /** Whole environment starts allowed right now. */
  available(now: number): number {
    this.settle(now);
    return Math.max(0, Math.floor((this.capacity - this.scaledDebt) / this.policy.intervalMs));
  }

  /** Takes one start if the rule allows it. */
  tryTake(now: number): boolean {
    this.settle(now);
    if (this.scaledDebt + this.policy.intervalMs > this.capacity) return false;
    this.scaledDebt += this.policy.intervalMs;
    return true;
  }

  /** Milliseconds until the next start is allowed (0 if one is allowed now). */
  msUntilNext(now: number): number {
    this.settle(now);
    const excess = this.scaledDebt + this.policy.intervalMs - this.capacity;
    if (excess <= 0) return 0;
    return this.policy.rate > 0 ? Math.ceil(excess / this.policy.rate) : Number.POSITIVE_INFINITY;
  }

  /** True when no debt is left: the bucket is indistinguishable from a new one. */
  isFull(now: number): boolean {
    this.settle(now);
    return this.scaledDebt === 0;
  }

  setPolicy(policy: ScalingPolicy, now: number): void {
    this.settle(now);
    // Re-express the debt in the new interval's units, rounding against the function.
    this.scaledDebt = Math.ceil((this.scaledDebt * policy.intervalMs) / this.policy.intervalMs);
    this.policy = policy;
  }
}
