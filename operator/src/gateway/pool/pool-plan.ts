// What the warm pool should do now (pure): from the wanted size per namespace and shape and
// the pool pods that exist, which pods to create and which to delete; and from cold-start
// demand, which namespaces keep a pool at all.
import type { Clock } from '../../shared/index.js';
export interface PoolPodView {
  id: string;
  namespace: string;
  shape: string;
  ready: boolean;
  failed: boolean;
  /** Made from another template than the pool's current one (an upgrade, a rebuilt image). */
  outdated: boolean;
}

export interface PoolGroup {
  namespace: string;
  shape: string;
}

export interface PoolPlan {
  create: Array<PoolGroup & { count: number }>;
  delete: string[];
}

export const groupKey = (namespace: string, shape: string) => `${namespace}/${shape}`;

/**
 * `desired` maps namespace/shape → size. Failed and outdated pods are always deleted (their
 * replacement is created in the same pass); pods of groups no longer wanted are deleted; a group with
 * too many pods loses the ones that are not ready first. `pending` counts creations whose
 * pods are not visible yet, so a pass never creates the same pod twice.
 */
export function planPool(
  desired: ReadonlyMap<string, number>,
  pods: readonly PoolPodView[],
  pending: ReadonlyMap<string, number> = new Map(),
): PoolPlan {
  const plan: PoolPlan = { create: [], delete: [] };
  const byGroup = new Map<string, PoolPodView[]>();
  for (const pod of pods) {
    if (pod.failed || pod.outdated) {
      plan.delete.push(pod.id);
      continue;
    }
    const key = groupKey(pod.namespace, pod.shape);
    if (!desired.has(key)) {
      plan.delete.push(pod.id);
      continue;
    }
    byGroup.set(key, [...(byGroup.get(key) ?? []), pod]);
  }
  for (const [key, size] of desired) {
    const live = byGroup.get(key) ?? [];
    const have = live.length + (pending.get(key) ?? 0);
    if (have < size) {
      const [namespace = '', shape = ''] = splitKey(key);
      plan.create.push({ namespace, shape, count: size - have });
    } else if (live.length > size) {
      const excess = [...live].sort((a, b) => Number(a.ready) - Number(b.ready)).slice(0, live.length - size);
      plan.delete.push(...excess.map((p) => p.id));
    }
  }
  return plan;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

// ---- Demand: which namespaces keep their pool ------------------------------------------

export interface PoolDemandSettings {
  /** Pool pods per shape of a namespace in demand. */
  size: number;
  /** A namespace without demand this long keeps no pool pods; 0 keeps every pool. */
  idleNamespaceMs: number;
}

/**
 * When each namespace last showed demand for its pool. Demand is a cold start that looked
 * for a pool pod (found or not), or a Function appearing in the namespace — so a namespace's
 * first Function gets its pool pod before its first invoke, and so does a namespace seen
 * for the first time (after a gateway restart every namespace starts in demand). A namespace
 * without demand for `idleNamespaceMs` keeps no pool pod; its next cold start goes through
 * pod creation and brings the pool back.
 */
export class PoolDemand {
  private readonly lastDemand = new Map<string, number>();
  private readonly functionCounts = new Map<string, number>();

  constructor(
    private readonly settings: PoolDemandSettings,
    private readonly clock: Clock,
  ) {}

  /**
   * The namespaces that have Functions now, one entry per Function. A namespace first seen,
   * or with more Functions than last time, is in demand; namespaces gone are forgotten.
   */
  observeFunctions(namespacePerFunction: Iterable<string>): void {
    const counts = new Map<string, number>();
    for (const namespace of namespacePerFunction) counts.set(namespace, (counts.get(namespace) ?? 0) + 1);
    const now = this.clock.now();
    for (const [namespace, count] of counts)
      if (count > (this.functionCounts.get(namespace) ?? 0)) this.lastDemand.set(namespace, now);
    for (const namespace of this.functionCounts.keys())
      if (!counts.has(namespace)) this.lastDemand.delete(namespace);
    this.functionCounts.clear();
    for (const [namespace, count] of counts) this.functionCounts.set(namespace, count);
  }

  /** A cold start looked for a pool pod. True when the namespace had no pool (refill now). */
  coldStart(namespace: string): boolean {
    const wasIdle = this.targetSize(namespace) === 0;
    this.lastDemand.set(namespace, this.clock.now());
    return wasIdle;
  }

  /** Pool pods per shape the namespace should hold now. */
  targetSize(namespace: string): number {
    const { size, idleNamespaceMs } = this.settings;
    if (idleNamespaceMs === 0) return size;
    const last = this.lastDemand.get(namespace);
    return last !== undefined && this.clock.now() - last < idleNamespaceMs ? size : 0;
  }

  /** Namespaces with Functions, as last observed. */
  namespaces(): string[] {
    return [...this.functionCounts.keys()];
  }
}
