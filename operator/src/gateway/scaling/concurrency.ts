// Concurrency accounting (LAMBDA-SPEC §6). A namespace is Lambda's account:
//
//   - it has `namespaceLimit` concurrent executions (default 1000);
//   - functions may reserve concurrency, but never so much that less than
//     `unreservedMinimum` (default 100) stays unreserved. Reservations are granted in order
//     (oldest Function first) while they fit; one that does not fit is treated as absent, as
//     Lambda refuses the PutFunctionConcurrency call that would break the minimum;
//   - a granted reservation R is the function's floor and ceiling: at most R executions,
//     0 throttles everything (ReservedFunctionConcurrentInvocationLimitExceeded);
//   - functions without a reservation share what is left (ConcurrentInvocationLimitExceeded);
//   - provisioned concurrency is held whether busy or not, so it counts against the function's
//     reservation or the unreserved pool all the time; an invoke served by an idle provisioned
//     environment needs no further capacity, one that spills over to on-demand does.
//
// With several gateway replicas, the unreserved pool is shared by functions whose owners differ:
// each replica then admits on-demand executions of unreserved functions only within the part of
// the pool it holds (its grant, sharding/unreserved.ts); provisioned concurrency of unreserved
// functions is known to every replica (the catalog is global) and comes off the pool first.
//
// Pure bookkeeping: no I/O, no clock. Limits and function settings may change at any time;
// executions already admitted are never revoked.
import type { ThrottleReason } from '../../errors.js';

export interface ConcurrencyLimits {
  namespaceLimit: number;
  unreservedMinimum: number;
}

export interface FunctionConcurrency {
  /** reservedConcurrentExecutions; undefined = unreserved. */
  reserved?: number;
  /** Provisioned environments configured over all versions and aliases. */
  provisioned: number;
  /** Sort key deciding which reservations are granted first (e.g. creationTimestamp/name). */
  order: string;
}

export type ExecutionKind = 'provisioned' | 'on-demand';
export type Admission = { admitted: true } | { admitted: false; reason: ThrottleReason };

interface FunctionState extends FunctionConcurrency {
  granted: boolean;
  onDemand: number;
  provisionedBusy: number;
}

interface NamespaceState {
  functions: Map<string, FunctionState>;
  reservedTotal: number;
  /** Held provisioned + on-demand executions of functions without a granted reservation. */
  unreservedUsed: number;
  /** The provisioned part of unreservedUsed (configured environments, busy or not). */
  unreservedProvisioned: number;
  /** The most on-demand unreserved executions counted at once since takeUnreservedPeak(). */
  peakOnDemand: number;
}

export class ConcurrencyLedger {
  private readonly namespaces = new Map<string, NamespaceState>();
  /** The part of each namespace's unreserved pool this replica holds; undefined: all of it. */
  private grantOf: ((namespace: string) => number) | undefined;

  constructor(private limits: ConcurrencyLimits) {}

  setLimits(limits: ConcurrencyLimits): void {
    this.limits = limits;
    for (const ns of this.namespaces.values()) this.regrant(ns);
  }

  /**
   * With several gateway replicas each admits on-demand executions of unreserved functions
   * only within its grant of the namespace's pool (reserved concurrency is exact already: a
   * function has one owner).
   */
  setUnreservedGrants(grantOf: ((namespace: string) => number) | undefined): void {
    this.grantOf = grantOf;
  }

  getLimits(): ConcurrencyLimits {
    return this.limits;
  }

  setFunction(namespace: string, name: string, config: FunctionConcurrency): void {
    const ns = this.namespace(namespace);
    const current = ns.functions.get(name);
    ns.functions.set(name, {
      ...config,
      granted: false,
      onDemand: current?.onDemand ?? 0,
      provisionedBusy: current?.provisionedBusy ?? 0,
    });
    this.regrant(ns);
  }

  /** Forgets a function once it has nothing in flight. */
  removeFunction(namespace: string, name: string): void {
    const ns = this.namespaces.get(namespace);
    const fn = ns?.functions.get(name);
    if (!ns || !fn) return;
    if (fn.onDemand + fn.provisionedBusy > 0) {
      fn.reserved = undefined;
      fn.provisioned = 0;
    } else {
      ns.functions.delete(name);
    }
    this.regrant(ns);
  }

  /** Admits one execution or says why not. */
  tryAcquire(namespace: string, name: string, kind: ExecutionKind): Admission {
    const ns = this.namespace(namespace);
    const fn = this.entry(ns, name);
    if (kind === 'provisioned') {
      fn.provisionedBusy += 1;
      return { admitted: true };
    }
    if (fn.granted) {
      if (held(fn) + 1 > (fn.reserved ?? 0)) {
        return { admitted: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
      }
    } else if (
      ns.unreservedUsed + 1 > this.unreservedPool(ns) ||
      (this.grantOf && onDemand(ns) + 1 > this.grantOf(namespace))
    ) {
      return { admitted: false, reason: 'ConcurrentInvocationLimitExceeded' };
    }
    this.countOnDemand(ns, fn);
    return { admitted: true };
  }

  /**
   * Counts an execution that is already running and cannot be refused: one found busy in an
   * environment adopted from another replica. Released like any other.
   */
  hold(namespace: string, name: string, kind: ExecutionKind): void {
    const ns = this.namespace(namespace);
    const fn = this.entry(ns, name);
    if (kind === 'provisioned') {
      fn.provisionedBusy += 1;
      return;
    }
    this.countOnDemand(ns, fn);
  }

  release(namespace: string, name: string, kind: ExecutionKind): void {
    const ns = this.namespaces.get(namespace);
    const fn = ns?.functions.get(name);
    if (!ns || !fn) return;
    if (kind === 'provisioned') {
      fn.provisionedBusy = Math.max(0, fn.provisionedBusy - 1);
    } else if (fn.onDemand > 0) {
      fn.onDemand -= 1;
      if (!fn.granted) ns.unreservedUsed -= 1;
    }
  }

  /** Executions in flight for a function (provisioned busy + on-demand). */
  concurrentExecutions(namespace: string, name: string): number {
    const fn = this.namespaces.get(namespace)?.functions.get(name);
    return fn ? fn.onDemand + fn.provisionedBusy : 0;
  }

  /** In-flight executions of unreserved functions plus their held provisioned environments. */
  unreservedConcurrentExecutions(namespace: string): number {
    return this.namespaces.get(namespace)?.unreservedUsed ?? 0;
  }

  /** Capacity left to functions without a reservation. */
  unreservedPool(ns: NamespaceState | string): number {
    const state = typeof ns === 'string' ? this.namespaces.get(ns) : ns;
    return this.limits.namespaceLimit - (state?.reservedTotal ?? 0);
  }

  /**
   * What the replicas share of a namespace's unreserved pool: the pool less the provisioned
   * concurrency of unreserved functions, and this replica's on-demand executions of it now.
   */
  unreservedOnDemand(namespace: string): { used: number; capacity: number } {
    const ns = this.namespaces.get(namespace);
    if (!ns) return { used: 0, capacity: this.limits.namespaceLimit };
    return { used: onDemand(ns), capacity: Math.max(0, this.unreservedPool(ns) - ns.unreservedProvisioned) };
  }

  /** The most on-demand unreserved executions at once since the last call; starts again from now. */
  takeUnreservedPeak(namespace: string): number {
    const ns = this.namespaces.get(namespace);
    if (!ns) return 0;
    const peak = ns.peakOnDemand;
    ns.peakOnDemand = onDemand(ns);
    return peak;
  }

  /** The reservation in force for a function (undefined when none is granted). */
  grantedReservation(namespace: string, name: string): number | undefined {
    const fn = this.namespaces.get(namespace)?.functions.get(name);
    return fn?.granted ? fn.reserved : undefined;
  }

  namespaceNames(): string[] {
    return [...this.namespaces.keys()];
  }

  private entry(ns: NamespaceState, name: string): FunctionState {
    let fn = ns.functions.get(name);
    if (!fn) {
      fn = { provisioned: 0, order: '~', granted: false, onDemand: 0, provisionedBusy: 0 };
      ns.functions.set(name, fn);
    }
    return fn;
  }

  private namespace(name: string): NamespaceState {
    let ns = this.namespaces.get(name);
    if (!ns) {
      ns = {
        functions: new Map(),
        reservedTotal: 0,
        unreservedUsed: 0,
        unreservedProvisioned: 0,
        peakOnDemand: 0,
      };
      this.namespaces.set(name, ns);
    }
    return ns;
  }

  /** Recomputes which reservations are granted and the unreserved usage they imply. */
  private regrant(ns: NamespaceState): void {
    const reservable = Math.max(0, this.limits.namespaceLimit - this.limits.unreservedMinimum);
    const candidates = [...ns.functions.entries()]
      .filter(([, fn]) => fn.reserved !== undefined)
      .sort(([a, x], [b, y]) => (x.order < y.order ? -1 : x.order > y.order ? 1 : a < b ? -1 : 1));
    let total = 0;
    for (const fn of ns.functions.values()) fn.granted = false;
    for (const [, fn] of candidates) {
      const reserved = fn.reserved ?? 0;
      if (total + reserved <= reservable) {
        fn.granted = true;
        total += reserved;
      }
    }
    ns.reservedTotal = total;
    ns.unreservedUsed = 0;
    ns.unreservedProvisioned = 0;
    for (const fn of ns.functions.values()) {
      if (fn.granted) continue;
      ns.unreservedUsed += held(fn);
      ns.unreservedProvisioned += fn.provisioned;
    }
  }

  private countOnDemand(ns: NamespaceState, fn: FunctionState): void {
    fn.onDemand += 1;
    if (fn.granted) return;
    ns.unreservedUsed += 1;
    ns.peakOnDemand = Math.max(ns.peakOnDemand, onDemand(ns));
  }
}

/** On-demand executions of a namespace's functions without a granted reservation. */
function onDemand(ns: NamespaceState): number {
  return ns.unreservedUsed - ns.unreservedProvisioned;
}

/** Capacity a function occupies: provisioned environments are held even when idle. */
function held(fn: FunctionState): number {
  return fn.provisioned + fn.onDemand;
}
