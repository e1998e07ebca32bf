// Kubernetes conditions, kept the standard way: a condition's lastTransitionTime changes only
// when its status does, so `kubectl describe` shows when something actually became true/false.
import type { Condition } from '../../api/index.js';
import { clip } from '../../shared/index.js';

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

export function setConditions(
  current: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: string,
  observedGeneration?: number,
): Condition[] {
  const next = [...(current ?? [])];
  for (const update of updates) {
    const index = next.findIndex((c) => c.type === update.type);
    const previous = index >= 0 ? next[index] : undefined;
    const condition: Condition = {
      type: update.type,
      status: update.status,
      reason: update.reason,
      ...(update.message !== undefined && { message: clip(update.message) }),
      lastTransitionTime: previous && previous.status === update.status ? previous.lastTransitionTime : now,
      ...(observedGeneration !== undefined && { observedGeneration }),
    };
    if (index >= 0) next[index] = condition;
    else next.push(condition);
  }
  return next;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
