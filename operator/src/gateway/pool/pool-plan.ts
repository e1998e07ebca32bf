// What the warm pool should do now (pure): from the wanted size per namespace and shape and
// the pool pods that exist, which pods to create and which to delete.
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
