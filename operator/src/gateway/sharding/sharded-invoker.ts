// The Invoker every route and the async processor call when the gateway runs as several
// replicas: an invocation runs here when this replica serves the function's shard, is
// forwarded to the replica that does otherwise, and waits (briefly) while a shard has no
// owner — during a hand-over or after an owner died, until its Lease moves.
import { ServiceException } from '../../errors.js';
import type { Clock } from '../../shared/index.js';
import type { InvokeOptions, InvokeOutcome, InvokePort } from '../dispatch/invoker.js';
import { FunctionMovedError } from '../environments/environment-pool.js';
import type { InvokeTarget } from '../routing/resolve-target.js';
import type { ShardCoordinator } from './coordinator.js';
import { type ForwardClient, NotOwnerError, OwnerUnreachableError } from './forward.js';

export interface ShardedInvokerSettings {
  /** How long an invocation waits for its shard to have a serving owner. */
  ownerWaitMs: number;
  /** Added to the function timeout for a forwarded invocation (cold start, queueing). */
  forwardSlackMs: number;
}

/** Waiting requests look again at least this often, besides whenever the routes change. */
const RECHECK_MS = 50;

export class ShardedInvoker {
  private readonly running = new Map<number, number>();
  private held = 0;
  /** Wakes every waiting request at once: when the routes change, or after RECHECK_MS. */
  private wake: { promise: Promise<void>; fire(): void } | undefined;

  constructor(
    private readonly local: InvokePort,
    private readonly coordinator: Pick<
      ShardCoordinator,
      'route' | 'shardOf' | 'settled' | 'nudge' | 'serves'
    >,
    private readonly forward: ForwardClient,
    private readonly clock: Clock,
    private readonly settings: ShardedInvokerSettings,
  ) {}

  resolve(functionName: string, qualifier: string | undefined, bareNamespace?: string): InvokeTarget {
    return this.local.resolve(functionName, qualifier, bareNamespace);
  }

  async invoke(target: InvokeTarget, payload: Buffer, opts: InvokeOptions): Promise<InvokeOutcome> {
    // Only the time with no owner to run it counts (not an attempt an owner was serving when
    // the function moved: its cold start may have taken seconds).
    let waitedMs = 0;
    let holding = false;
    try {
      for (;;) {
        const done = await this.attempt(target, payload, opts);
        if (done) return done.outcome;
        if (waitedMs >= this.settings.ownerWaitMs) {
          throw new ServiceException(
            `No gateway replica serves function ${target.functionName} at the moment; retry the request.`,
          );
        }
        if (!holding) {
          holding = true;
          this.held += 1;
        }
        const since = this.clock.now();
        await this.routeChange();
        waitedMs += this.clock.now() - since;
      }
    } finally {
      if (holding) this.held -= 1;
    }
  }

  /** The coordinator saw shards move (acquired, released, a new holder): waiting requests look again. */
  routesChanged(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.fire();
  }

  /** One timer and one promise for every waiting request, however many there are. */
  private routeChange(): Promise<void> {
    if (!this.wake) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      const timer = this.clock.setTimeout(() => this.routesChanged(), RECHECK_MS);
      this.wake = {
        promise,
        fire: () => {
          timer.cancel();
          resolve();
        },
      };
    }
    return this.wake.promise;
  }

  /** Requests waiting for their shard to have an owner (a leaving replica stays for them). */
  waiting(): number {
    return this.held;
  }

  /** One try: run here, or forward; undefined when the shard has no serving owner right now. */
  private async attempt(
    target: InvokeTarget,
    payload: Buffer,
    opts: InvokeOptions,
  ): Promise<{ outcome: InvokeOutcome } | undefined> {
    const route = this.coordinator.route(target.functionName);
    if (route.kind === 'local') {
      try {
        return { outcome: await this.runHere(target, payload, opts) };
      } catch (err) {
        // Its cold start was cut off by the shard moving away: nothing ran; follow the shard.
        if (!(err instanceof FunctionMovedError)) throw err;
        this.coordinator.nudge();
        return undefined;
      }
    }
    if (route.kind === 'remote') {
      try {
        const timeoutMs = target.snapshot.timeout * 1000 + this.settings.forwardSlackMs;
        return { outcome: await this.forward.invoke(route.address, target, payload, opts, timeoutMs) };
      } catch (err) {
        if (!(err instanceof NotOwnerError || err instanceof OwnerUnreachableError)) throw err;
        this.coordinator.nudge(); // the owner moved or died: look again now
      }
    }
    return undefined;
  }

  /**
   * Runs an invocation under this replica's ledger and environments, counting it against its
   * shard so a hand-over waits for it. The forward route calls this once it checked ownership.
   */
  async runHere(target: InvokeTarget, payload: Buffer, opts: InvokeOptions): Promise<InvokeOutcome> {
    const shard = this.coordinator.shardOf(target.functionName);
    this.running.set(shard, (this.running.get(shard) ?? 0) + 1);
    try {
      return await this.local.invoke(target, payload, opts);
    } finally {
      const left = (this.running.get(shard) ?? 1) - 1;
      if (left > 0) this.running.set(shard, left);
      else this.running.delete(shard);
      this.coordinator.settled(shard);
    }
  }

  inFlight(shard: number): number {
    return this.running.get(shard) ?? 0;
  }
}
