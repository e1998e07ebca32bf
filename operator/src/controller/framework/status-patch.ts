// The status merge patch from what a reconciler wants: only the fields it owns, `null` for
// the ones it wants gone, and nothing at all when the status already says it (so an
// idempotent reconcile writes nothing and does not wake itself up again).
import { canonicalJson } from '../../api/index.js';

export function statusPatch<S extends object>(
  current: S | undefined,
  desired: Partial<S>,
  owned: readonly (keyof S & string)[],
): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const key of owned) {
    const want = desired[key];
    const have = current?.[key];
    if (canonicalJson(want ?? null) !== canonicalJson(have ?? null)) patch[key] = want ?? null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
