// The reconcile scaffold every kind shares (Knative's generated reconcilers are the model):
// read the object from the cache, hand deletions to the kind's finalizer, ask the kind for
// its evaluation, then the common tail — observedGeneration, conditions (transition times
// kept), a status merge patch of the owned fields only when something changed, events.
// A kind's file holds only its evaluation: what its status should say and why.
import type { Condition, CustomObject } from '../../api/index.js';
import type { EventRecorder, ReadCache, ResourceClient } from '../../kube/index.js';
import type { Clock } from '../../shared/index.js';
import { type ConditionUpdate, setConditions } from './conditions.js';
import { statusPatch } from './status-patch.js';
import type { ReconcileResult } from './workqueue.js';

/** The status fields the scaffold fills in for every kind. */
export interface CommonStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface StatusEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What a kind's evaluation decided. */
export interface Evaluation<O, S extends CommonStatus> {
  /** The status fields the kind decides; fields absent here keep their current value. */
  status: Omit<S, keyof CommonStatus>;
  conditions: ConditionUpdate[];
  /**
   * The copy the status is decided on, when it is not the cached one (a fresh read, or the
   * object after an earlier status write in the same reconcile).
   */
  basis?: O;
  /** Write the status only if the object is still at the basis' resourceVersion. */
  conditional?: boolean;
  /** Events to record once the status is written; given the status before and after. */
  events?(previous: S, next: S, patch: Record<string, unknown> | undefined): StatusEvent[];
  /** Runs after the status and events (e.g. publishing a version); its result is the reconcile's. */
  afterwards?(next: S): Promise<ReconcileResult | void>;
  requeueAfterMs?: number;
}

/** What the scaffold needs from a controller's context. */
export interface ReconcilerContext {
  clock: Clock;
  events: EventRecorder;
}

export interface KindReconciler<
  C extends ReconcilerContext,
  O extends CustomObject<unknown, S>,
  S extends CommonStatus,
> {
  /** The status fields this reconciler writes; others are left alone. */
  owned: readonly (keyof S & string)[];
  /** The kind's informer cache (reads) and client (writes). */
  resources(ctx: C): { cache: ReadCache<O>; client: ResourceClient<O> };
  /** An object being deleted (deletionTimestamp set); by default nothing is done. */
  finalize?(ctx: C, object: O): Promise<ReconcileResult | void>;
  /** The kind's own logic; `undefined` when there is nothing to write this time (e.g. an update is on its way). */
  evaluate(ctx: C, object: O): Promise<Evaluation<O, S> | undefined>;
}

export const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The reconcile function the work queue runs for one kind. */
export function reconciler<
  C extends ReconcilerContext,
  O extends CustomObject<unknown, S>,
  S extends CommonStatus,
>(
  kind: KindReconciler<C, O, S>,
): (ctx: C, namespace: string, name: string) => Promise<ReconcileResult | void> {
  return async (ctx, namespace, name) => {
    const { cache, client } = kind.resources(ctx);
    const cached = cache.get(namespace, name);
    if (!cached) return;
    if (cached.metadata.deletionTimestamp) return kind.finalize?.(ctx, cached);
    const evaluation = await kind.evaluate(ctx, cached);
    if (!evaluation) return;

    const object = evaluation.basis ?? cached;
    const generation = object.metadata.generation ?? 0;
    const current = (object.status ?? {}) as S;
    const next = {
      ...current,
      ...evaluation.status,
      observedGeneration: generation,
      conditions: setConditions(
        current.conditions,
        evaluation.conditions,
        isoTime(ctx.clock.now()),
        generation,
      ),
    } as S;
    const patch = statusPatch(current, next, kind.owned);
    if (patch) {
      const resourceVersion = evaluation.conditional ? object.metadata.resourceVersion : undefined;
      await client.patchStatus(namespace, name, patch, resourceVersion);
    }
    for (const event of evaluation.events?.(current, next, patch) ?? [])
      await ctx.events.record(object, event.type, event.reason, event.message);
    const after = await evaluation.afterwards?.(next);
    if (after) return after;
    if (evaluation.requeueAfterMs) return { requeueAfterMs: evaluation.requeueAfterMs };
  };
}
