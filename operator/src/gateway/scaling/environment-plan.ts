// Decisions about environments that exist: which idle ones to reclaim (scale to zero) and
// how to bring provisioned environments to the configured count. Pure: the pool applies them.
import type { InitializationType } from '../../protocol/index.js';

export type { InitializationType };
export type EnvironmentState = 'starting' | 'idle' | 'busy';

export interface EnvironmentView {
  id: string;
  /** What the environment runs: namespace/function/version/config-hash. */
  key: string;
  state: EnvironmentState;
  initializationType: InitializationType;
  /** When it last became idle (ms). */
  idleSince?: number;
  /** Its function's memory size (MB), what it holds of a node. */
  memorySize?: number;
}

/** On-demand environments idle for at least `idleTimeoutMs`; provisioned ones are never reclaimed. */
export function selectIdleToReclaim(envs: EnvironmentView[], now: number, idleTimeoutMs: number): string[] {
  return envs
    .filter(
      (e) =>
        e.initializationType === 'on-demand' &&
        e.state === 'idle' &&
        e.idleSince !== undefined &&
        now - e.idleSince >= idleTimeoutMs,
    )
    .map((e) => e.id);
}

/**
 * Idle on-demand environments of other configurations to destroy so that an environment of
 * `key` needing `memorySize` MB (CPU in proportion), which no node can hold now, may fit: least
 * recently used first, as Lambda's workers evict, until they add up to what it needs. None when
 * all of them together would not (nothing is destroyed in vain). Provisioned environments and
 * busy ones are never chosen.
 */
export function selectCapacityVictims(envs: EnvironmentView[], key: string, memorySize: number): string[] {
  const candidates = envs
    .filter(
      (e) =>
        e.key !== key &&
        e.initializationType === 'on-demand' &&
        e.state === 'idle' &&
        e.idleSince !== undefined,
    )
    .sort((a, b) => a.idleSince! - b.idleSince!);
  const victims: string[] = [];
  let freed = 0;
  for (const e of candidates) {
    if (freed >= memorySize) break;
    victims.push(e.id);
    freed += e.memorySize ?? 0;
  }
  return freed >= memorySize ? victims : [];
}

export interface ProvisionedPlan {
  /** Environments to create, by key. */
  create: Map<string, number>;
  /** Idle or starting environments to destroy now. */
  destroy: string[];
  /** Busy environments to destroy once their invocation ends. */
  retire: string[];
}

/** Compares the desired provisioned count per key with the provisioned environments that exist. */
export function planProvisioned(desired: Map<string, number>, envs: EnvironmentView[]): ProvisionedPlan {
  const plan: ProvisionedPlan = { create: new Map(), destroy: [], retire: [] };
  const byKey = new Map<string, EnvironmentView[]>();
  for (const env of envs) {
    if (env.initializationType !== 'provisioned-concurrency') continue;
    const list = byKey.get(env.key) ?? [];
    list.push(env);
    byKey.set(env.key, list);
  }
  for (const [key, count] of desired) {
    const have = byKey.get(key)?.length ?? 0;
    if (count > have) plan.create.set(key, count - have);
  }
  // Remove the excess: idle first, then starting, busy ones last (after they finish).
  const rank = { idle: 0, starting: 1, busy: 2 } as const;
  for (const [key, list] of byKey) {
    let excess = list.length - (desired.get(key) ?? 0);
    for (const env of [...list].sort((a, b) => rank[a.state] - rank[b.state])) {
      if (excess <= 0) break;
      (env.state === 'busy' ? plan.retire : plan.destroy).push(env.id);
      excess -= 1;
    }
  }
  return plan;
}
