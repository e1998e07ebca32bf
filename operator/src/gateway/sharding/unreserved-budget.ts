// This replica's grants of the namespaces' unreserved pools (unreserved.ts decides them), kept
// in the Lease `lamina-gateway-budget` in the release's namespace: one annotation holding every
// replica's grants, written only over the version read. The coordinator's round hands over the
// Lease as its LIST saw it, with the members alive then; an invoke that finds the grant used up
// asks for more and waits (at most until its deadline) for a write that raises it.
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../../kube/index.js';
import type { Clock, Logger } from '../../shared/index.js';
import { LEASE_LABEL } from './coordinator.js';
import { type Budget, parseBudget, planGrants } from './unreserved.js';

export const BUDGET_LEASE = 'lamina-gateway-budget';
export const GRANTS_ANNOTATION = 'lamina.dev/unreserved-grants';

/** What the concurrency ledger counts of each namespace's unreserved pool on this replica. */
export interface UnreservedCounts {
  namespaceNames(): string[];
  unreservedOnDemand(namespace: string): { used: number; capacity: number };
  takeUnreservedPeak(namespace: string): number;
}

export interface UnreservedBudgetOptions {
  /** Namespace of the Lease (the release's). */
  namespace: string;
  identity: string;
  /** Rounds over which a replica's peak use is remembered before headroom is given back (10). */
  peakRounds?: number;
  clock: Clock;
  log: Logger;
}

interface Waiter {
  resolve(more: boolean): void;
  timer: { cancel(): void };
}

export class UnreservedBudget {
  private readonly api: CoordinationV1Api;
  /** The Lease as last read or written, and the grants in it. */
  private lease: V1Lease | undefined;
  private budget: Budget = {};
  /** The grant in force here per namespace: never above what the Lease says. */
  private readonly local = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Per namespace, the peak of each of the last `peakRounds` rounds. */
  private readonly peaks = new Map<string, number[]>();
  private alive: ReadonlySet<string> | undefined;
  private writing: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly options: UnreservedBudgetOptions,
    private readonly counts: UnreservedCounts,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  /** This replica's grant of `namespace`'s shared unreserved pool. */
  grant(namespace: string): number {
    return this.local.get(namespace) ?? 0;
  }

  /**
   * A round of the coordinator: the budget Lease as its LIST saw it (undefined: none yet) and
   * the members alive then.
   */
  observed(lease: V1Lease | undefined, alive: ReadonlySet<string>): Promise<void> {
    this.alive = alive;
    if (lease && !olderThan(lease, this.lease)) this.adopt(lease);
    for (const namespace of this.namespaces()) {
      const window = this.peaks.get(namespace) ?? [];
      window.push(this.counts.takeUnreservedPeak(namespace));
      if (window.length > (this.options.peakRounds ?? 10)) window.shift();
      this.peaks.set(namespace, window);
    }
    return this.settle();
  }

  /**
   * An invoke found this replica's grant of `namespace` used up: true once the grant is larger
   * (try again), false when no more can come before `deadline`.
   */
  more(namespace: string, deadline: number): Promise<boolean> {
    const { clock, identity } = this.options;
    const wait = deadline - clock.now();
    if (this.stopped || wait <= 0) return Promise.resolve(false);
    // The whole pool is this replica's and in use: the namespace is at its limit.
    const grants = this.budget[namespace] ?? {};
    const others = Object.entries(grants).filter(([m]) => m !== identity);
    const { used, capacity } = this.counts.unreservedOnDemand(namespace);
    if (others.every(([, e]) => e.grant === 0) && used >= capacity) return Promise.resolve(false);
    return new Promise((resolve) => {
      const set = this.waiters.get(namespace) ?? new Set<Waiter>();
      this.waiters.set(namespace, set);
      const waiter: Waiter = {
        resolve,
        timer: clock.setTimeout(() => {
          set.delete(waiter);
          resolve(false);
        }, wait),
      };
      set.add(waiter);
      void this.settle();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const set of this.waiters.values()) {
      for (const w of set) {
        w.timer.cancel();
        w.resolve(false);
      }
    }
    this.waiters.clear();
  }

  private namespaces(): Set<string> {
    return new Set([...this.counts.namespaceNames(), ...Object.keys(this.budget)]);
  }

  /** Plans every namespace's grants; undefined when nothing changes. */
  private plan(): Budget | undefined {
    const { identity } = this.options;
    // Before the first round this replica knows no members: remove nobody's grant.
    const keepOthers = this.alive === undefined;
    const alive = this.alive ?? new Set<string>();
    const next: Budget = {};
    let changed = false;
    for (const namespace of this.namespaces()) {
      const current = this.budget[namespace] ?? {};
      const { used, capacity } = this.counts.unreservedOnDemand(namespace);
      const recentPeak = Math.max(used, ...(this.peaks.get(namespace) ?? []));
      const waiting = this.waiters.get(namespace)?.size ?? 0;
      const planned = planGrants(
        identity,
        current,
        alive,
        { used, recentPeak, waiting, capacity },
        keepOthers,
      );
      if (planned !== current) changed = true;
      if (Object.keys(planned).length > 0) next[namespace] = planned;
    }
    return changed ? next : undefined;
  }

  /** One write at a time; a request made meanwhile plans again after it. */
  private settle(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.again = false;
        await this.writeOnce();
      } while (this.again && !this.stopped);
    })()
      .catch((err: unknown) =>
        this.options.log.warn('unreserved budget write failed', { error: String(err) }),
      )
      .finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }

  private async writeOnce(): Promise<void> {
    const { identity } = this.options;
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = this.plan();
      if (!next) return;
      // Lower first: nothing is admitted here past a grant this replica is giving back.
      for (const namespace of this.namespaces()) {
        const planned = next[namespace]?.[identity]?.grant ?? 0;
        if (planned < this.grant(namespace)) this.setLocal(namespace, planned);
      }
      try {
        this.adopt(await this.write(next));
        return;
      } catch (err) {
        // Another replica wrote meanwhile (or someone deleted the Lease): plan over what is there.
        if (!isConflict(err) && !isNotFound(err)) throw err;
        this.adopt(await this.read());
      }
    }
  }

  /** Takes a version of the Lease as the truth: its grants, and this replica's grant in force. */
  private adopt(lease: V1Lease | undefined): void {
    const { identity } = this.options;
    this.lease = lease;
    this.budget = parseBudget(lease?.metadata?.annotations?.[GRANTS_ANNOTATION]);
    for (const namespace of new Set([...this.local.keys(), ...Object.keys(this.budget)])) {
      this.setLocal(namespace, this.budget[namespace]?.[identity]?.grant ?? 0);
    }
  }

  private setLocal(namespace: string, grant: number): void {
    const before = this.grant(namespace);
    if (grant > 0) this.local.set(namespace, grant);
    else this.local.delete(namespace);
    if (grant <= before) return;
    const set = this.waiters.get(namespace);
    if (!set) return;
    this.waiters.delete(namespace);
    for (const w of set) {
      w.timer.cancel();
      w.resolve(true);
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    const { namespace } = this.options;
    try {
      return await this.api.readNamespacedLease({ name: BUDGET_LEASE, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private write(budget: Budget): Promise<V1Lease> {
    const { namespace } = this.options;
    const annotations = { [GRANTS_ANNOTATION]: JSON.stringify(budget) };
    if (!this.lease) {
      // Labelled like the shard Leases: the coordinator's one LIST per round brings it along.
      const labels = { [LEASE_LABEL]: 'budget' };
      return this.api.createNamespacedLease({
        namespace,
        body: { metadata: { name: BUDGET_LEASE, namespace, labels, annotations }, spec: {} },
      });
    }
    const metadata = this.lease.metadata ?? {};
    return this.api.replaceNamespacedLease({
      name: BUDGET_LEASE,
      namespace,
      body: {
        ...this.lease,
        metadata: { ...metadata, annotations: { ...metadata.annotations, ...annotations } },
      },
    });
  }
}

/** Whether `a` is an older version than `b` (a LIST may be served from a cache behind a write). */
function olderThan(a: V1Lease, b: V1Lease | undefined): boolean {
  const x = Number(a.metadata?.resourceVersion);
  const y = Number(b?.metadata?.resourceVersion);
  return Number.isFinite(x) && Number.isFinite(y) && x < y;
}
