// Time enters the agent through here so durations and deadlines have one source.
export interface Clock {
  /** Wall-clock epoch milliseconds (deadlines the runtime sees). */
  now(): number;
  /** Monotonic milliseconds (durations in REPORT lines). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
