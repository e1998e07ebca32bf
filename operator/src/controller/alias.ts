// The Alias reconciler: checks that the function and every version the alias routes to
// exist, then reports where traffic goes (status.resolvedVersion, additionalVersion,
// additionalVersionWeight). An alias naming a version that does not exist (yet) is Failed
// with that reason and becomes Active as soon as the version is published: version events
// re-queue the aliases of their function.
import type { Alias, AliasStatus } from '../api/index.js';
import { clip } from '../shared/index.js';
import { adoptByFunction, aliasesOf, aliasName, type ControllerContext, versionsOf } from './context.js';
import { type Evaluation, reconciler, type StatusEvent } from './framework/reconciler.js';
import { type Failure, Reason } from './reasons.js';

export const reconcileAlias = reconciler<ControllerContext, Alias, AliasStatus>({
  owned: [
    'observedGeneration',
    'state',
    'stateReason',
    'conditions',
    'resolvedVersion',
    'additionalVersion',
    'additionalVersionWeight',
  ],
  resources: (ctx) => ({ cache: ctx.cache.aliases, client: ctx.clients.aliases }),
  evaluate,
});

async function evaluate(
  ctx: ControllerContext,
  alias: Alias,
): Promise<Evaluation<Alias, AliasStatus> | undefined> {
  const { fn, patched } = await adoptByFunction(ctx, ctx.clients.aliases, alias);
  if (patched) return undefined; // the update brings us back

  const failure = fn
    ? validate(ctx, alias)
    : { reasonCode: Reason.ResourceNotFound, message: `Function not found: ${alias.spec.functionName}` };
  if (failure) {
    return {
      status: {
        state: 'Failed',
        stateReason: clip(failure.message),
        resolvedVersion: undefined,
        additionalVersion: undefined,
        additionalVersionWeight: undefined,
      },
      conditions: [{ type: 'Ready', status: 'False', reason: failure.reasonCode, message: failure.message }],
      events: (previous): StatusEvent[] =>
        previous.state !== 'Failed' || previous.stateReason !== clip(failure.message)
          ? [{ type: 'Warning', reason: failure.reasonCode, message: failure.message }]
          : [],
    };
  }
  const [additional, weight] =
    Object.entries(alias.spec.routingConfig?.additionalVersionWeights ?? {})[0] ?? [];
  return {
    status: {
      state: 'Active',
      stateReason: undefined,
      resolvedVersion: alias.spec.functionVersion,
      additionalVersion: additional,
      additionalVersionWeight: weight,
    },
    conditions: [{ type: 'Ready', status: 'True', reason: 'Active', message: describeRouting(alias) }],
    events: (previous, _next, patch): StatusEvent[] =>
      previous.state !== 'Active' ||
      patch?.resolvedVersion !== undefined ||
      patch?.additionalVersion !== undefined
        ? [{ type: 'Normal', reason: 'Routing', message: describeRouting(alias) }]
        : [],
  };
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
