// A work queue in the client-go mould: a key is queued at most once, never processed by two
// workers at once (a key added while it is being processed runs again afterwards), and a
// failed key is retried with exponential backoff. Time comes from the injected clock.
import type { Clock } from '../../shared/index.js';

export interface ReconcileResult {
  /** Look again after this long even if nothing changes (e.g. waiting for an upload). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  workers: number;
  clock: Clock;
  process(key: string): Promise<ReconcileResult | void>;
  onError?(key: string, err: unknown, retryInMs: number): void;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; cancel(): void }>();
  private running = 0;
  private stopped = false;
  /** Keys collect but nothing runs until start(): reconciles must not see half-synced caches. */
  private paused = true;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: WorkQueueOptions) {}

  start(): void {
    this.paused = false;
    this.pump();
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds the key after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.options.clock.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const timer = this.options.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, cancel: timer.cancel });
  }

  /** Backoff for the n-th consecutive failure of a key. */
  retryDelay(failures: number): number {
    const base = this.options.baseDelayMs ?? 500;
    return Math.min(base * 2 ** Math.max(0, failures - 1), this.options.maxDelayMs ?? 60_000);
  }

  private pump(): void {
    while (!this.stopped && !this.paused && this.running < this.options.workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.active.add(key);
      this.running += 1;
      void this.work(key);
    }
  }

  private async work(key: string): Promise<void> {
    try {
      const result = await this.options.process(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = this.retryDelay(failures);
      this.options.onError?.(key, err, delay);
      this.addAfter(key, delay);
    } finally {
      this.active.delete(key);
      this.running -= 1;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
      if (this.running === 0 && this.queue.length === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }

  /** Resolves when nothing is queued or running (delayed retries may still be pending). */
  idle(): Promise<void> {
    if (this.running === 0 && (this.queue.length === 0 || this.paused)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, drops delayed retries, and waits for running keys to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
