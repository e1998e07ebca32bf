// The gateway's execution environments: which exist, which are idle or busy, and the
// lifecycle decisions applied to them — reuse an idle one, start one (within concurrency and
// the burst-then-linear rule) or throttle, reclaim idle ones, keep provisioned ones, replace
// failed ones, adopt the ones found after a restart. The rules themselves live in
// ../scaling (pure); this class applies them through an EnvironmentProvider.
import { randomBytes } from 'node:crypto';
import { ServiceException, TooManyRequestsException } from '../../errors.js';
import type { Clock, Logger } from '../../shared/index.js';
import type { BurstScaler } from '../scaling/burst-scaler.js';
import type { Admission, ConcurrencyLedger, ExecutionKind } from '../scaling/concurrency.js';
import {
  type EnvironmentState,
  type EnvironmentView,
  planProvisioned,
  selectCapacityVictims,
  selectIdleToReclaim,
} from '../scaling/environment-plan.js';
import { versionLabel } from './pod-spec.js';
import {
  type EnvironmentEvent,
  type EnvironmentProvider,
  type EnvironmentRecord,
  environmentRecord,
  type EnvironmentSpec,
  FunctionEnvironmentError,
} from './types.js';

export interface PoolSettings {
  /** How long a cold invoke waits for its new environment to become ready. */
  coldStartTimeoutMs: number;
  /** On-demand environments idle this long are destroyed. */
  idleTimeoutMs: number;
  /** How often idle environments are reclaimed and provisioned ones reconciled. */
  maintenanceIntervalMs: number;
  /**
   * A cluster autoscaler adds nodes for pending pods: a cold start that no node can hold waits
   * for one (up to the cold-start timeout) instead of being throttled.
   */
  clusterAutoscaler?: boolean;
}

/** Rounds of reclaiming idle environments of other functions to make room for one new one. */
const MAX_CAPACITY_RECLAIMS = 3;
/** How long the scheduler gets to place a pending pod once the room made for it is free. */
const CAPACITY_RECHECK_MS = 2000;
/** What a throttled caller is told to wait before retrying when the cluster is full. */
const CAPACITY_RETRY_AFTER_SECONDS = 10;

export interface Lease {
  env: EnvironmentRecord & { address: string };
  kind: ExecutionKind;
  /** The environment was created for this invoke. */
  coldStart: boolean;
  /** Provisioned concurrency exists for this version but was all busy or not ready. */
  spillover: boolean;
  /**
   * Gives the environment back; `broken` destroys it instead of reusing it; `busyElsewhere`
   * (its agent refused the invoke, running another replica's invocation) keeps it busy until
   * it says it is free.
   */
  release(outcome?: { broken?: boolean; busyElsewhere?: boolean }): void;
}

interface Waiter {
  resolve(env: PoolEnvironment): void;
  reject(err: Error): void;
}

/**
 * An invoke waiting for an environment of its function: the new one started for it, or —
 * whichever comes first — one of the function's busy ones as it is released (a cold start
 * here takes seconds, an invocation milliseconds). One whose new environment cannot start (no
 * node has room, its pod failed) keeps waiting for a released one, by its cold-start deadline.
 */
interface HandOff {
  namespace: string;
  functionName: string;
  take(env: PoolEnvironment): void;
  reject(err: Error): void;
}

interface PoolEnvironment {
  record: EnvironmentRecord;
  state: EnvironmentState;
  idleSince?: number;
  claimedBy?: Waiter;
  retire: boolean;
  /** Adopted and not yet asked what it is doing: settles when its agent first answers. */
  adopting?: Promise<void>;
  /** Idle environments destroyed so far to make room for this one, and the pending re-check. */
  capacity?: {
    reclaims: number;
    /** Reclaimed environments whose pods are still terminating (their room is not free yet). */
    awaiting: Set<string>;
    recheck?: { cancel(): void };
  };
}

export interface ProvisionedTarget {
  spec: EnvironmentSpec;
  count: number;
}

export interface PoolEvents {
  coldStart?(spec: EnvironmentSpec): void;
  environmentFailed?(record: EnvironmentRecord, reason: string): void;
}

/** With several gateway replicas: which environments are this replica's to use. */
export interface PoolScope {
  /** Whether this replica serves the function now (its shard). */
  serves(namespace: string, functionName: string): boolean;
  /**
   * What the agent at `address` is doing: running an invocation another replica started before
   * it died or handed the function over (it counts as busy), idle, or still generic (a pool pod
   * relabelled for a cold start that never specialised it: useless).
   */
  activity(address: string): Promise<'busy' | 'idle' | 'generic'>;
  /**
   * This replica's part of `namespace`'s unreserved concurrency is used up: true once it has
   * grown (try again), false when it cannot before `deadline` (the namespace is at its limit).
   */
  moreUnreserved?(namespace: string, deadline: number): Promise<boolean>;
}

/**
 * How long an invoke waits for this replica's part of the unreserved pool to grow: one write
 * when the pool has room, a round (1 s) more when another replica must give some back first —
 * and writes take seconds on a busy API server.
 */
const UNRESERVED_GRANT_WAIT_MS = 5000;

/** Unplaced pods whose removal is awaited (see `unplaced`), at most. */
const MAX_UNPLACED_TRACKED = 1024;
/** How often an adopted busy environment is asked whether it finished. */
const ADOPTED_BUSY_POLL_MS = 250;
/** Polls an adopted environment's agent may leave unanswered before it counts as free. */
const ADOPTED_UNANSWERED_POLLS = 8;
/**
 * How long an invoke that finds no idle environment waits for environments just adopted (a
 * shard taken over) to answer whether they are free, before it starts a new one.
 */
const ADOPTION_WAIT_MS = 1000;

/**
 * A cold start cut off because the function's shard went to another replica: the function did
 * not run, so the sharded invoker sends the invocation after its shard instead of failing it.
 */
export class FunctionMovedError extends ServiceException {
  constructor() {
    super('The function moved to another gateway replica.');
  }
}

export class EnvironmentPool {
  private readonly envs = new Map<string, PoolEnvironment>();
  private provisionedTargets = new Map<string, ProvisionedTarget>();
  /** Keys whose provisioned environments failed to be created: retried with backoff. */
  private readonly provisionBackoff = new Map<string, { until: number; delayMs: number }>();
  /**
   * The cluster had no room for a new environment of this size or more: until `until`, or until
   * a placed pod is removed, new on-demand environments that large are refused at once instead
   * of each creating a pod that cannot be placed (a steady load on a full cluster would otherwise
   * keep the API server and scheduler busy with pods that only wait to be refused).
   */
  private noRoom?: { until: number; memorySize: number; reason: string };
  /** Pending pods deleted before any node took them: their removal frees no room. */
  private readonly unplaced = new Set<string>();
  /** Per key, invokes waiting for a busy environment to be released (oldest first). */
  private readonly handOffs = new Map<string, HandOff[]>();
  private unsubscribe?: () => void;
  private maintenanceTimer?: { cancel(): void };

  constructor(
    private readonly provider: EnvironmentProvider,
    private readonly ledger: ConcurrencyLedger,
    private readonly scaler: BurstScaler,
    private readonly clock: Clock,
    private readonly log: Logger,
    private settings: PoolSettings,
    private readonly events: PoolEvents = {},
    private readonly scope?: PoolScope,
  ) {}

  /** Starts watching the provider and adopts the environments that already exist. */
  async start(): Promise<void> {
    this.unsubscribe = this.provider.subscribe((event) => this.onProviderEvent(event));
    await this.provider.start();
    for (const record of this.provider.list()) this.onProviderEvent({ type: 'upsert', env: record });
    this.log.info('environments adopted', { count: this.envs.size });
    this.scheduleMaintenance();
  }

  /** Takes in the existing environments of functions this replica now serves. */
  adopt(): void {
    let count = 0;
    for (const record of this.provider.list()) {
      if (this.envs.has(record.id) || !this.inScope(record)) continue;
      this.onProviderEvent({ type: 'upsert', env: record });
      count += 1;
    }
    if (count > 0) this.log.info('environments adopted', { count });
  }

  /**
   * Lets go of the environments of the functions `moved` says this replica no longer serves,
   * without touching them: the replica that serves them now adopts them.
   */
  forget(moved: (namespace: string, functionName: string) => boolean): void {
    let count = 0;
    for (const env of [...this.envs.values()]) {
      if (!moved(env.record.namespace, env.record.functionName)) continue;
      if (env.claimedBy) {
        // A cold start of this replica's own caller: nobody else would ever use it.
        env.claimedBy.reject(new FunctionMovedError());
        this.destroy(env, 'the function moved to another gateway replica');
        continue;
      }
      this.envs.delete(env.record.id);
      env.capacity?.recheck?.cancel();
      count += 1;
    }
    for (const waiting of this.handOffs.values()) {
      for (const w of [...waiting]) {
        if (moved(w.namespace, w.functionName)) w.reject(new FunctionMovedError());
      }
    }
    if (count > 0) this.log.info('environments handed over', { count });
  }

  /**
   * Invokes of the functions `matches` selects that wait for an environment (their own cold
   * start, or one of the function's busy ones): nothing of them has run, so a replica handing
   * the function over need not wait for them — forget() sends them after the function.
   */
  waitingForEnvironment(matches: (namespace: string, functionName: string) => boolean): number {
    let count = 0;
    for (const waiting of this.handOffs.values()) {
      for (const w of waiting) if (matches(w.namespace, w.functionName)) count += 1;
    }
    return count;
  }

  stop(): void {
    this.maintenanceTimer?.cancel();
    this.unsubscribe?.();
    this.provider.stop();
  }

  setSettings(settings: PoolSettings): void {
    this.settings = settings;
  }

  /** An environment for one invoke of `spec.key`, or a typed error (429 when throttled). */
  async acquire(spec: EnvironmentSpec): Promise<Lease> {
    const { namespace, functionName } = spec;
    const provisionedExists = this.hasProvisioned(spec.key);
    const warmProvisioned = this.findIdle(spec.key, 'provisioned-concurrency');
    if (warmProvisioned) {
      this.ledger.tryAcquire(namespace, functionName, 'provisioned');
      return this.lease(warmProvisioned, 'provisioned', false, false);
    }
    const admission = await this.admit(namespace, functionName);
    if (!admission.admitted) throw new TooManyRequestsException(admission.reason);
    let warm = this.findIdle(spec.key, 'on-demand');
    // Found and leased in one synchronous step: invokes woken together must not find the same one.
    if (!warm && (await this.afterAdoption(spec.key))) warm = this.findIdle(spec.key, 'on-demand');
    if (warm) return this.lease(warm, 'on-demand', false, provisionedExists);

    const full = this.refusedForRoom(spec);
    if (full && !this.hasBusy(spec.key)) {
      this.ledger.release(namespace, functionName, 'on-demand');
      throw full;
    }
    // A spare: one started for an invoke that another environment served meanwhile.
    const spare = full ? undefined : this.findSpare(spec.key);
    let waiting: Promise<{ env: PoolEnvironment; own: boolean }>;
    if (full) {
      // No room for another, but this function's own will be free in a moment: wait for one.
      waiting = this.waitForRelease(spec, full).then((env) => ({ env, own: false }));
    } else if (spare) {
      waiting = this.claim(spare, spec); // no new pod needed
    } else {
      const decision = this.scaler.tryStart(`${namespace}/${functionName}`, this.clock.now());
      if (!decision.allowed) {
        this.ledger.release(namespace, functionName, 'on-demand');
        throw new TooManyRequestsException(
          'FunctionInvocationRateLimitExceeded',
          decision.retryAfterMs / 1000,
        );
      }
      waiting = this.startClaimed({ ...spec, initializationType: 'on-demand' });
    }
    try {
      const { env, own } = await waiting;
      if (own) this.events.coldStart?.(spec);
      return this.lease(env, 'on-demand', own, provisionedExists);
    } catch (err) {
      this.ledger.release(namespace, functionName, 'on-demand');
      throw err;
    }
  }

  /** Admits an on-demand execution, waiting for a larger part of the unreserved pool if need be. */
  private async admit(namespace: string, functionName: string): Promise<Admission> {
    let admission = this.ledger.tryAcquire(namespace, functionName, 'on-demand');
    const more = this.scope?.moreUnreserved;
    if (admission.admitted || admission.reason !== 'ConcurrentInvocationLimitExceeded' || !more) {
      return admission;
    }
    const deadline = this.clock.now() + UNRESERVED_GRANT_WAIT_MS;
    while (!admission.admitted && (await more(namespace, deadline))) {
      admission = this.ledger.tryAcquire(namespace, functionName, 'on-demand');
    }
    return admission;
  }

  /** Lets the provider get ahead what a first cold start of `spec` will need. */
  prepare(spec: EnvironmentSpec): void {
    this.provider.prepare?.(spec);
  }

  /** The provisioned environments wanted per key; the pool converges to them. */
  setProvisioned(targets: ProvisionedTarget[]): void {
    this.provisionedTargets = new Map(targets.filter((t) => t.count > 0).map((t) => [t.spec.key, t]));
    this.reconcileProvisioned();
  }

  /** Ready provisioned environments for a key, and how many exist in any state. */
  provisionedCount(key: string): { ready: number; total: number } {
    let ready = 0;
    let total = 0;
    for (const env of this.envs.values()) {
      if (env.record.key !== key || env.record.initializationType !== 'provisioned-concurrency') continue;
      total += 1;
      if (env.state !== 'starting' && env.record.ready) ready += 1;
    }
    return { ready, total };
  }

  /** Destroys (or retires once idle) on-demand environments whose configuration is gone. */
  retireStale(isCurrent: (key: string) => boolean): void {
    for (const env of [...this.envs.values()]) {
      if (env.record.initializationType !== 'on-demand' || isCurrent(env.record.key)) continue;
      if (env.state === 'idle') this.destroy(env, 'configuration changed');
      else env.retire = true;
    }
  }

  views(): Array<EnvironmentView & { record: EnvironmentRecord }> {
    return [...this.envs.values()].map((env) => ({
      id: env.record.id,
      key: env.record.key,
      state: env.state,
      initializationType: env.record.initializationType,
      ...(env.idleSince !== undefined ? { idleSince: env.idleSince } : {}),
      ...(env.record.memorySize !== undefined ? { memorySize: env.record.memorySize } : {}),
      record: env.record,
    }));
  }

  /** One maintenance pass: reclaim idle environments, converge provisioned ones. */
  maintain(): void {
    const now = this.clock.now();
    for (const id of selectIdleToReclaim(this.views(), now, this.settings.idleTimeoutMs)) {
      const env = this.envs.get(id);
      if (env) this.destroy(env, 'idle');
    }
    this.reconcileProvisioned();
    this.scaler.prune(now);
  }

  private scheduleMaintenance(): void {
    this.maintenanceTimer = this.clock.setTimeout(() => {
      try {
        this.maintain();
      } catch (err) {
        this.log.error('environment maintenance failed', { error: String(err) });
      }
      this.scheduleMaintenance();
    }, this.settings.maintenanceIntervalMs);
  }

  private hasProvisioned(key: string): boolean {
    return this.provisionedTargets.has(key);
  }

  private findIdle(key: string, type: EnvironmentRecord['initializationType']): PoolEnvironment | undefined {
    let best: PoolEnvironment | undefined;
    for (const env of this.envs.values()) {
      if (
        env.record.key === key &&
        env.record.initializationType === type &&
        env.state === 'idle' &&
        env.record.ready &&
        env.record.address &&
        !env.retire
      ) {
        // Most recently used first: keeps the others idle so they can be reclaimed.
        if (!best || (env.idleSince ?? 0) > (best.idleSince ?? 0)) best = env;
      }
    }
    return best;
  }

  private lease(env: PoolEnvironment, kind: ExecutionKind, coldStart: boolean, spillover: boolean): Lease {
    env.state = 'busy';
    env.idleSince = undefined;
    let released = false;
    return {
      env: env.record as EnvironmentRecord & { address: string },
      kind,
      coldStart,
      spillover,
      release: (outcome = {}) => {
        if (released) return;
        released = true;
        this.ledger.release(env.record.namespace, env.record.functionName, kind);
        if (this.envs.get(env.record.id) !== env) return; // already gone
        if (outcome.busyElsewhere && this.scope && !env.retire) this.checkAdoptedBusy(env);
        else if (outcome.broken || outcome.busyElsewhere) this.destroy(env, 'broken');
        else if (env.retire) this.destroy(env, 'retired');
        else this.free(env);
      },
    };
  }

  /** An environment that can take an invoke: to the oldest invoke waiting for one, else idle. */
  private free(env: PoolEnvironment): void {
    if (this.handOff(env)) return;
    env.state = 'idle';
    env.idleSince = this.clock.now();
  }

  /** Whether `key` has on-demand environments running an invoke now (to be released soon). */
  private hasBusy(key: string): boolean {
    for (const env of this.envs.values()) {
      if (
        env.record.key === key &&
        env.record.initializationType === 'on-demand' &&
        env.state === 'busy' &&
        !env.retire
      ) {
        return true;
      }
    }
    return false;
  }

  /** A released on-demand environment goes straight to an invoke waiting for one; false if none. */
  private handOff(env: PoolEnvironment): boolean {
    if (env.record.initializationType !== 'on-demand') return false;
    const next = this.handOffs.get(env.record.key)?.[0];
    if (!next) return false;
    env.state = 'busy'; // before the taker runs: nothing else may find it idle meanwhile
    next.take(env);
    return true;
  }

  /** Queues a hand-off for `key` (oldest first); the returned function takes it out again. */
  private queueHandOff(key: string, handOff: HandOff): () => void {
    const queue = this.handOffs.get(key) ?? [];
    queue.push(handOff);
    this.handOffs.set(key, queue);
    return () => {
      const i = queue.indexOf(handOff);
      if (i >= 0) queue.splice(i, 1);
      if (queue.length === 0 && this.handOffs.get(key) === queue) this.handOffs.delete(key);
    };
  }

  /** Waits (up to the cold-start timeout) for one of `spec`'s busy environments to be released. */
  private waitForRelease(spec: EnvironmentSpec, error: Error): Promise<PoolEnvironment> {
    return new Promise<PoolEnvironment>((resolve, reject) => {
      const handOff: HandOff = {
        namespace: spec.namespace,
        functionName: spec.functionName,
        take: (env) => {
          done();
          resolve(env);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const dequeue = this.queueHandOff(spec.key, handOff);
      const timer = this.clock.setTimeout(() => handOff.reject(error), this.settings.coldStartTimeoutMs);
      const done = () => {
        timer.cancel();
        dequeue();
      };
    });
  }

  /**
   * Waits until the environments just adopted for `key` have all said whether they are free
   * (at most ADOPTION_WAIT_MS; false when there were none): taking over a shard should not start new
   * environments beside the ones it brought. (Waking on the first answer let every invoke
   * waiting meanwhile but one start a new environment.)
   */
  private async afterAdoption(key: string): Promise<boolean> {
    const adopting = [...this.envs.values()].filter((e) => e.record.key === key && e.adopting);
    if (adopting.length === 0) return false;
    let timer: { cancel(): void } | undefined;
    await Promise.race([
      Promise.all(adopting.map((e) => e.adopting)),
      new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, ADOPTION_WAIT_MS))),
    ]);
    timer?.cancel();
    return true;
  }

  /**
   * The 429 for a new environment while the cluster is known to have no room for it, unless
   * idle environments of other functions could make that room (then it is tried: makeRoom).
   */
  private refusedForRoom(spec: EnvironmentSpec): TooManyRequestsException | undefined {
    const noRoom = this.noRoom;
    const now = this.clock.now();
    if (!noRoom || this.settings.clusterAutoscaler) return undefined;
    if (now >= noRoom.until) {
      this.noRoom = undefined;
      return undefined;
    }
    if (spec.config.memorySize < noRoom.memorySize) return undefined;
    if (selectCapacityVictims(this.views(), spec.key, spec.config.memorySize).length > 0) return undefined;
    return new TooManyRequestsException(
      'ClusterCapacityExceeded',
      Math.max(1, Math.ceil((noRoom.until - now) / 1000)),
      `No node has room for a new execution environment of function ${spec.functionName}: ${noRoom.reason}`,
    );
  }

  private newId(spec: EnvironmentSpec): string {
    const version = versionLabel(spec.version).toLowerCase();
    const name = `${spec.functionName.slice(0, 40)}-${version.slice(0, 8)}-${randomBytes(4).toString('hex')}`;
    return `${spec.namespace}/${name}`;
  }

  private register(spec: EnvironmentSpec, id: string): PoolEnvironment {
    const env: PoolEnvironment = {
      record: environmentRecord(spec, id),
      state: 'starting',
      retire: false,
    };
    this.envs.set(id, env);
    return env;
  }

  /**
   * Creates an environment reserved for the caller and waits until it is ready (`own`), or until
   * one of the function's busy environments is released first (`own` false; the new one becomes
   * a spare). If the new one cannot start (no node has room, its pod failed) while the function
   * has busy environments, the caller goes on waiting for a released one, by the same deadline.
   */
  private startClaimed(spec: EnvironmentSpec): Promise<{ env: PoolEnvironment; own: boolean }> {
    const env = this.register(spec, this.newId(spec));
    const claimed = this.claim(env, spec);
    // Readiness arrives through the provider's events, possibly before this call returns.
    this.provider.create(spec, env.record.id).then(
      (record) => this.created(env, record),
      (err: unknown) => {
        this.envs.delete(env.record.id);
        this.log.error('environment creation failed', { key: spec.key, error: String(err) });
        const reason = err instanceof FunctionEnvironmentError ? ` ${err.message}` : '';
        env.claimedBy?.reject(
          new ServiceException(`The execution environment could not be created.${reason}`),
        );
      },
    );
    return claimed;
  }

  /** An on-demand environment of `key` still starting that no invoke waits for any more. */
  private findSpare(key: string): PoolEnvironment | undefined {
    for (const env of this.envs.values()) {
      if (
        env.record.key === key &&
        env.record.initializationType === 'on-demand' &&
        env.state === 'starting' &&
        !env.claimedBy &&
        !env.retire &&
        !env.record.unschedulable
      ) {
        return env;
      }
    }
    return undefined;
  }

  /** The caller waits for `env` (starting) to be ready, or for a released one first. */
  private claim(
    env: PoolEnvironment,
    spec: EnvironmentSpec,
  ): Promise<{ env: PoolEnvironment; own: boolean }> {
    return new Promise<{ env: PoolEnvironment; own: boolean }>((resolve, reject) => {
      /** Set once the caller waits for a release instead: what it gets at the deadline. */
      let displacedBy: Error | undefined;
      const timer = this.clock.setTimeout(() => {
        const pending = env.record.unschedulable;
        const err =
          displacedBy ??
          new ServiceException(
            `The execution environment did not become ready within ${this.settings.coldStartTimeoutMs} ms` +
              (pending ? `: pod ${env.record.id} is waiting for a node (${pending}).` : '.'),
          );
        handOff.reject(err); // the deadline: no more waiting, for a release or the environment
        this.destroy(env, 'cold start timed out');
      }, this.settings.coldStartTimeoutMs);
      const started = this.clock.now();
      let settled = false;
      const settle = () => {
        settled = true;
        timer.cancel();
        dequeue();
        if (env.claimedBy === waiter) env.claimedBy = undefined;
      };
      const waiter: Waiter = {
        resolve: (e) => {
          if (settled) return;
          settle();
          if (e !== env) {
            // Served by one of the function's own first: this one becomes a spare once ready.
            const left = this.settings.coldStartTimeoutMs - (this.clock.now() - started);
            this.expireUnclaimed(env, Math.max(0, left), 'cold start timed out');
          }
          resolve({ env: e, own: e === env });
        },
        reject: (err) => {
          if (settled) return;
          if (!displacedBy && this.hasBusy(spec.key) && !(err instanceof FunctionMovedError)) {
            // Its environment will not serve it, but the function's own will be free soon.
            displacedBy = err;
            if (env.claimedBy === waiter) env.claimedBy = undefined;
            return;
          }
          settle();
          reject(err);
        },
      };
      const handOff: HandOff = {
        namespace: spec.namespace,
        functionName: spec.functionName,
        take: (e) => waiter.resolve(e),
        reject: (err) => {
          if (settled) return;
          settle();
          reject(err);
        },
      };
      // Whichever comes first serves it: its new environment, or one of the function's released.
      const dequeue = this.queueHandOff(spec.key, handOff);
      env.claimedBy = waiter;
    });
  }

  /**
   * A provider may hand over an environment that already existed under its own id (a
   * specialised warm-pool pod, already ready): the entry moves to that id.
   */
  private created(env: PoolEnvironment, record: EnvironmentRecord): void {
    if (record.id === env.record.id) return; // readiness follows through the provider's events
    if (this.envs.get(env.record.id) !== env) {
      this.provider.destroy(record.id).catch(() => undefined); // gave up on it meanwhile
      return;
    }
    this.envs.delete(env.record.id);
    env.record = { ...env.record, id: record.id };
    this.envs.set(record.id, env);
    this.update(env, record);
  }

  private reconcileProvisioned(): void {
    const desired = new Map([...this.provisionedTargets].map(([key, t]) => [key, t.count]));
    const plan = planProvisioned(desired, this.views());
    for (const id of plan.destroy) {
      const env = this.envs.get(id);
      if (env) this.destroy(env, 'provisioned concurrency lowered');
    }
    for (const id of plan.retire) {
      const env = this.envs.get(id);
      if (env) env.retire = true;
    }
    const now = this.clock.now();
    for (const [key, count] of plan.create) {
      const target = this.provisionedTargets.get(key);
      if (!target || (this.provisionBackoff.get(key)?.until ?? 0) > now) continue;
      const spec: EnvironmentSpec = {
        ...target.spec,
        initializationType: 'provisioned-concurrency',
        config: { ...target.spec.config, initializationType: 'provisioned-concurrency' },
      };
      for (let i = 0; i < count; i++) {
        const env = this.register(spec, this.newId(spec));
        this.provider.create(spec, env.record.id).then(
          (record) => this.created(env, record),
          (err: unknown) => {
            this.envs.delete(env.record.id);
            const delayMs = Math.min(60_000, (this.provisionBackoff.get(key)?.delayMs ?? 500) * 2);
            if ((this.provisionBackoff.get(key)?.until ?? 0) <= this.clock.now()) {
              this.log.error('provisioned environment creation failed', {
                key,
                retryInMs: delayMs,
                error: String(err),
              });
            }
            this.provisionBackoff.set(key, { until: this.clock.now() + delayMs, delayMs });
          },
        );
      }
    }
  }

  private onProviderEvent(event: EnvironmentEvent): void {
    if (event.type === 'delete') {
      if (event.removed) {
        this.roomFreed(event.id);
        // A placed pod is gone: its room may take the next new environment.
        if (!this.unplaced.delete(event.id)) this.noRoom = undefined;
      }
      const env = this.envs.get(event.id);
      if (!env) return;
      this.envs.delete(event.id);
      env.claimedBy?.reject(new ServiceException('The execution environment was deleted while starting.'));
      return;
    }
    const known = this.envs.get(event.env.id);
    if (known) {
      this.update(known, event.env);
      return;
    }
    if (!this.inScope(event.env)) return; // another replica's
    // Found, not made by this process: an environment from before a restart, or of a function
    // handed over by another replica. Adopt it.
    const env: PoolEnvironment = {
      record: event.env,
      state: event.env.ready ? 'idle' : 'starting',
      retire: false,
      ...(event.env.ready ? { idleSince: this.clock.now() } : {}),
    };
    this.envs.set(event.env.id, env);
    if (event.env.failure) this.fail(env, event.env.failure);
    else if (env.state === 'idle' && this.scope) this.checkAdoptedBusy(env);
    else if (env.state === 'starting' && env.record.initializationType === 'on-demand') {
      // Its caller was another process's: it gets the cold-start time to become ready, then goes.
      this.expireUnclaimed(
        env,
        this.settings.coldStartTimeoutMs,
        'adopted while starting and never became ready',
      );
    }
  }

  /** A starting environment nobody waits for any more is destroyed if it is not ready by then. */
  private expireUnclaimed(env: PoolEnvironment, afterMs: number, reason: string): void {
    this.clock.setTimeout(() => {
      if (this.envs.get(env.record.id) === env && env.state === 'starting' && !env.claimedBy) {
        this.destroy(env, reason);
      }
    }, afterMs);
  }

  private inScope(record: EnvironmentRecord): boolean {
    return !this.scope || this.scope.serves(record.namespace, record.functionName);
  }

  /**
   * An adopted environment may still be running an invocation its previous replica started:
   * until its agent says it is free it is busy and counts against the function's concurrency,
   * so a failover never lets more executions run than the function may have.
   */
  private checkAdoptedBusy(env: PoolEnvironment): void {
    const scope = this.scope;
    const address = env.record.address;
    if (!scope || !address) return;
    const { namespace, functionName } = env.record;
    const kind: ExecutionKind =
      env.record.initializationType === 'provisioned-concurrency' ? 'provisioned' : 'on-demand';
    env.state = 'busy';
    env.idleSince = undefined;
    this.ledger.hold(namespace, functionName, kind);
    let answered: () => void = () => undefined;
    env.adopting = new Promise<void>((resolve) => (answered = resolve));
    let unanswered = 0;
    const check = async () => {
      // An agent that does not answer (a loaded node) may still be running that invocation:
      // it stays busy for a few more polls; then its next invoke tells.
      const activity = await scope.activity(address).catch(() => undefined);
      env.adopting = undefined;
      if (activity === undefined) unanswered += 1;
      const busy = activity === 'busy' || (activity === undefined && unanswered < ADOPTED_UNANSWERED_POLLS);
      if (busy && this.envs.get(env.record.id) === env) {
        this.clock.setTimeout(() => void check(), ADOPTED_BUSY_POLL_MS);
        return;
      }
      this.ledger.release(namespace, functionName, kind);
      if (this.envs.get(env.record.id) !== env || env.state !== 'busy') return;
      if (activity === 'generic') this.destroy(env, 'adopted without its function (specialisation cut off)');
      else if (env.retire) this.destroy(env, 'retired');
      else this.free(env);
    };
    void check().finally(() => answered());
  }

  private update(env: PoolEnvironment, record: EnvironmentRecord): void {
    if (this.envs.get(env.record.id) !== env) return;
    env.record = { ...record, key: env.record.key };
    if (record.failure) {
      this.fail(env, record.failure);
      return;
    }
    if (env.state === 'starting' && record.unschedulable && !record.ready) {
      this.makeRoom(env);
      return;
    }
    if (env.state === 'starting' && record.ready && record.address) {
      if (record.initializationType === 'provisioned-concurrency') this.provisionBackoff.delete(record.key);
      if (env.claimedBy) env.claimedBy.resolve(env);
      else this.free(env);
    }
  }

  /**
   * No node can hold this new environment: destroy idle environments of other functions, least
   * recently used first, that add up to its size (the scheduler then retries the pending pod),
   * for a few rounds; then — unless a cluster autoscaler will add a node — answer the waiting
   * invoke with a 429 at once rather than letting it wait out the cold-start timeout.
   */
  private makeRoom(env: PoolEnvironment): void {
    const capacity = (env.capacity ??= { reclaims: 0, awaiting: new Set() });
    // Room made last time is still being freed, or the scheduler is still looking at it.
    if (capacity.awaiting.size > 0 || capacity.recheck) return;
    // A spare (on-demand, its invoke served by another environment meanwhile) is not worth
    // another function's warm environment.
    const wanted = env.claimedBy !== undefined || env.record.initializationType !== 'on-demand';
    const victims =
      wanted && capacity.reclaims < MAX_CAPACITY_RECLAIMS
        ? selectCapacityVictims(this.views(), env.record.key, env.record.memorySize ?? 0)
        : [];
    if (victims.length > 0) {
      capacity.reclaims += 1;
      this.log.info('reclaiming idle environments to make room', {
        for: env.record.id,
        reclaimed: victims,
        scheduler: env.record.unschedulable,
      });
      for (const id of victims) {
        const victim = this.envs.get(id);
        if (!victim) continue;
        capacity.awaiting.add(id);
        this.destroy(victim, `making room for ${env.record.id}`);
      }
      return;
    }
    if (this.settings.clusterAutoscaler) return;
    // Provisioned environments have no caller waiting: they stay pending until room appears.
    if (env.record.initializationType !== 'on-demand' && !env.claimedBy) return;
    const memorySize = env.record.memorySize ?? 0;
    const now = this.clock.now();
    // A window still open keeps the smaller size it knew had no room; an expired one says nothing.
    const known = this.noRoom && now < this.noRoom.until ? this.noRoom.memorySize : memorySize;
    this.noRoom = {
      until: now + CAPACITY_RETRY_AFTER_SECONDS * 1000,
      memorySize: Math.min(memorySize, known),
      reason: env.record.unschedulable ?? 'no node has room',
    };
    if (!env.claimedBy) {
      // Nobody waits for it (adopted while pending, or its invoke was served meanwhile): it
      // only holds a place in line — but it said the cluster is full (the window above).
      this.destroy(env, 'no node has room');
      return;
    }
    this.events.environmentFailed?.(env.record, 'no node has room');
    env.claimedBy.reject(
      new TooManyRequestsException(
        'ClusterCapacityExceeded',
        CAPACITY_RETRY_AFTER_SECONDS,
        `No node has room for a new execution environment of function ${env.record.functionName}: ${env.record.unschedulable}`,
      ),
    );
    this.destroy(env, 'no node has room');
  }

  /**
   * A reclaimed environment's pod is gone: once all the room made for a pending environment is
   * free, the scheduler gets a moment to place it before the next round of makeRoom.
   */
  private roomFreed(id: string): void {
    for (const env of this.envs.values()) {
      const capacity = env.capacity;
      if (!capacity?.awaiting.delete(id) || capacity.awaiting.size > 0) continue;
      capacity.recheck = this.clock.setTimeout(() => {
        capacity.recheck = undefined;
        if (this.envs.get(env.record.id) === env && env.state === 'starting' && env.record.unschedulable)
          this.makeRoom(env);
      }, CAPACITY_RECHECK_MS);
    }
  }

  private fail(env: PoolEnvironment, reason: string): void {
    this.events.environmentFailed?.(env.record, reason);
    env.claimedBy?.reject(new ServiceException(`The execution environment failed to start: ${reason}`));
    if (env.state === 'busy') {
      env.retire = true; // the running invoke fails on its own and releases it
      return;
    }
    this.destroy(env, reason);
  }

  private destroy(env: PoolEnvironment, reason: string): void {
    if (this.envs.get(env.record.id) !== env) return;
    this.envs.delete(env.record.id);
    env.capacity?.recheck?.cancel();
    if (env.record.unschedulable && !env.record.ready) {
      this.unplaced.add(env.record.id);
      // Bounded should a removal never be seen: forgetting the oldest only lets its late removal
      // end a refusal window early (one more pod tried), never refuse anything.
      if (this.unplaced.size > MAX_UNPLACED_TRACKED)
        this.unplaced.delete(this.unplaced.values().next().value!);
    }
    this.log.debug('destroying environment', { id: env.record.id, reason });
    this.provider.destroy(env.record.id).catch((err: unknown) => {
      this.log.warn('environment deletion failed', { id: env.record.id, error: String(err) });
    });
  }
}
