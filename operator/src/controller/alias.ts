// The Alias reconciler: checks that the function and every version the alias routes to
// exist, then reports where traffic goes (status.resolvedVersion, additionalVersion,
// additionalVersionWeight). An alias naming a version that does not exist (yet) is Failed
// with that reason and becomes Active as soon as the version is published: version events
// re-queue the aliases of their function.
import type { Alias, AliasStatus } from '../api/index.js';
import { withControllerReference } from '../kube/index.js';
import { setConditions } from './conditions.js';
import {
  aliasesOf,
  aliasName,
  type ControllerContext,
  FUNCTION_LABEL,
  isoTime,
  versionsOf,
} from './context.js';
import { type Failure, Reason } from './reasons.js';
import { clip } from '../shared/index.js';
import { statusPatch } from './status-patch.js';
import type { ReconcileResult } from './workqueue.js';

const OWNED: (keyof AliasStatus & string)[] = [
  'observedGeneration',
  'state',
  'stateReason',
  'conditions',
  'resolvedVersion',
  'additionalVersion',
  'additionalVersionWeight',
];

export async function reconcileAlias(
  ctx: ControllerContext,
  namespace: string,
  name: string,
): Promise<ReconcileResult | void> {
  const alias = ctx.cache.aliases.get(namespace, name);
  if (!alias || alias.metadata.deletionTimestamp) return;
  const fn = ctx.cache.functions.get(namespace, alias.spec.functionName);

  if (fn?.metadata.uid) {
    const owner = withControllerReference(alias.metadata.ownerReferences, fn);
    if (owner.changed || alias.metadata.labels?.[FUNCTION_LABEL] !== fn.metadata.name) {
      await ctx.clients.aliases.patch(
        namespace,
        name,
        { metadata: { labels: { [FUNCTION_LABEL]: fn.metadata.name }, ownerReferences: owner.refs } },
        alias.metadata.resourceVersion,
      );
      return; // the update brings us back
    }
  }

  const failure = fn
    ? validate(ctx, alias)
    : { reasonCode: Reason.ResourceNotFound, message: `Function not found: ${alias.spec.functionName}` };
  const [additional, weight] =
    Object.entries(alias.spec.routingConfig?.additionalVersionWeights ?? {})[0] ?? [];
  const generation = alias.metadata.generation ?? 0;
  const current = alias.status ?? {};
  const desired: AliasStatus = failure
    ? {
        ...current,
        state: 'Failed',
        stateReason: clip(failure.message),
        resolvedVersion: undefined,
        additionalVersion: undefined,
        additionalVersionWeight: undefined,
      }
    : {
        ...current,
        state: 'Active',
        stateReason: undefined,
        resolvedVersion: alias.spec.functionVersion,
        additionalVersion: additional,
        additionalVersionWeight: weight,
      };
  desired.observedGeneration = generation;
  desired.conditions = setConditions(
    current.conditions,
    [
      failure
        ? { type: 'Ready', status: 'False', reason: failure.reasonCode, message: failure.message }
        : { type: 'Ready', status: 'True', reason: 'Active', message: describeRouting(alias) },
    ],
    isoTime(ctx.clock.now()),
    generation,
  );
  const patch = statusPatch(current, desired, OWNED);
  if (patch) await ctx.clients.aliases.patchStatus(namespace, name, patch);

  if (failure && (current.state !== 'Failed' || current.stateReason !== clip(failure.message))) {
    await ctx.events.record(alias, 'Warning', failure.reasonCode, failure.message);
  } else if (
    !failure &&
    (current.state !== 'Active' ||
      patch?.resolvedVersion !== undefined ||
      patch?.additionalVersion !== undefined)
  ) {
    await ctx.events.record(alias, 'Normal', 'Routing', describeRouting(alias));
  }
}

function describeRouting(alias: Alias): string {
  const [additional, weight] =
    Object.entries(alias.spec.routingConfig?.additionalVersionWeights ?? {})[0] ?? [];
  const primary = alias.spec.functionVersion;
  if (additional === undefined || weight === undefined)
    return `Alias ${aliasName(alias)} routes to version ${primary}`;
  const share = (w: number) => `${Math.round(w * 10_000) / 100}%`;
  return `Alias ${aliasName(alias)} routes ${share(1 - weight)} to version ${primary} and ${share(weight)} to version ${additional}`;
}

function validate(ctx: ControllerContext, alias: Alias): Failure | undefined {
  const namespace = alias.metadata.namespace ?? 'default';
  const functionName = alias.spec.functionName;
  // Two objects claiming one alias name: the older keeps it.
  const rival = aliasesOf(ctx.cache.aliases, namespace, functionName).find(
    (other) =>
      other.metadata.name !== alias.metadata.name &&
      aliasName(other) === aliasName(alias) &&
      isOlder(other, alias),
  );
  if (rival) {
    return {
      reasonCode: Reason.ResourceConflict,
      message: `Alias already exists: ${functionName}:${aliasName(alias)} (Alias object ${rival.metadata.name})`,
    };
  }
  const existing = new Set(
    versionsOf(ctx.cache.versions, namespace, functionName).flatMap((v) =>
      v.spec.version ? [String(v.spec.version)] : [],
    ),
  );
  const targets = [
    alias.spec.functionVersion,
    ...Object.keys(alias.spec.routingConfig?.additionalVersionWeights ?? {}),
  ];
  const missing = targets.filter((t) => t !== '$LATEST' && !existing.has(t));
  if (missing.length > 0) {
    return {
      reasonCode: Reason.ResourceNotFound,
      message:
        `Function not found: ${functionName}:${missing[0]} — version ${missing.join(', ')} of ${functionName} does not exist; ` +
        'the alias becomes Active when it is published',
    };
  }
  return undefined;
}

function isOlder(a: Alias, b: Alias): boolean {
  const ta = String(a.metadata.creationTimestamp ?? '');
  const tb = String(b.metadata.creationTimestamp ?? '');
  return ta !== tb ? new Date(ta).getTime() < new Date(tb).getTime() : a.metadata.name < b.metadata.name;
}
