// The Version reconciler. A Version is either
//  - numbered (spec.version set, by the publisher): Active, Published=True, owned by its
//    Function, and protected by the finalizer lamina.dev/version-in-use, which holds its
//    deletion while an Alias routes to it;
//  - pending (a user's request to publish): handed to the publisher, which numbers it, or
//    answers "Unchanged" (status.version = the existing newest version; no new number), or
//    fails a CodeSha256/RevisionId precondition. Those two answers are final for the object.
import type { Version, VersionStatus } from '../api/index.js';
import { clip } from '../shared/index.js';
import {
  adoptByFunction,
  aliasesOf,
  aliasName,
  type ControllerContext,
  routedVersions,
  VERSION_IN_USE_FINALIZER,
} from './context.js';
import { findCondition } from './framework/conditions.js';
import { type Evaluation, reconciler } from './framework/reconciler.js';
import { publish } from './publish.js';

/** Published=False reasons that settle a pending Version for good. */
const FINAL_REASONS = new Set(['Unchanged', 'InvalidParameterValueException', 'PreconditionFailedException']);

export const reconcileVersion = reconciler<ControllerContext, Version, VersionStatus>({
  owned: ['observedGeneration', 'state', 'stateReason', 'conditions', 'version'],
  resources: (ctx) => ({ cache: ctx.cache.versions, client: ctx.clients.versions }),
  finalize: releaseWhenUnused,
  evaluate,
});

async function evaluate(
  ctx: ControllerContext,
  version: Version,
): Promise<Evaluation<Version, VersionStatus> | undefined> {
  if ((await adoptByFunction(ctx, ctx.clients.versions, version)).patched) return undefined; // the update brings us back
  const namespace = version.metadata.namespace ?? 'default';

  const number = version.spec.version;
  if (number !== undefined) {
    return {
      status: { state: 'Active', stateReason: undefined, version: String(number) },
      conditions: [
        {
          type: 'Published',
          status: 'True',
          reason: 'Published',
          message: `version ${number} of ${version.spec.functionName}`,
        },
        { type: 'Ready', status: 'True', reason: 'Active' },
      ],
    };
  }
  const settled = findCondition(version.status?.conditions, 'Published');
  if (
    settled &&
    settled.status === 'False' &&
    FINAL_REASONS.has(settled.reason) &&
    settled.observedGeneration === version.metadata.generation
  ) {
    return undefined;
  }

  const outcome = await publish(ctx, namespace, version.spec.functionName, {
    kind: 'version',
    name: version.metadata.name,
  });
  switch (outcome.kind) {
    case 'done':
    case 'published':
      return undefined; // the spec change brings us back to write Active
    case 'unchanged':
      await ctx.events.record(
        version,
        'Normal',
        'Unchanged',
        `$LATEST is unchanged since version ${outcome.version}; no new version was published`,
      );
      return {
        status: {
          state: 'Active',
          stateReason: `Unchanged since version ${outcome.version}: this object stands for version ${outcome.version}`,
          version: String(outcome.version),
        },
        conditions: [
          {
            type: 'Published',
            status: 'False',
            reason: 'Unchanged',
            message: `$LATEST equals version ${outcome.version}`,
          },
          { type: 'Ready', status: 'True', reason: 'Unchanged' },
        ],
      };
    case 'failed':
      await ctx.events.record(version, 'Warning', outcome.reasonCode, outcome.message);
      return {
        status: { state: 'Failed', stateReason: clip(outcome.message), version: undefined },
        conditions: [
          { type: 'Published', status: 'False', reason: outcome.reasonCode, message: outcome.message },
          { type: 'Ready', status: 'False', reason: outcome.reasonCode, message: outcome.message },
        ],
      };
    case 'waiting':
      return {
        status: { state: 'Pending', stateReason: clip(outcome.message), version: undefined },
        conditions: [
          { type: 'Published', status: 'Unknown', reason: outcome.reasonCode, message: outcome.message },
          { type: 'Ready', status: 'False', reason: outcome.reasonCode, message: outcome.message },
        ],
      };
  }
}

/** Deletion: remove our finalizer once no Alias routes to this version. */
async function releaseWhenUnused(ctx: ControllerContext, version: Version): Promise<void> {
  const finalizers = version.metadata.finalizers ?? [];
  if (!finalizers.includes(VERSION_IN_USE_FINALIZER)) return;
  const namespace = version.metadata.namespace ?? 'default';
  const fn = ctx.cache.functions.get(namespace, version.spec.functionName);
  const number = String(version.spec.version ?? '');
  // When the Function itself goes, its Aliases go too: nothing to protect.
  const users =
    fn && !fn.metadata.deletionTimestamp
      ? aliasesOf(ctx.cache.aliases, namespace, version.spec.functionName).filter((a) =>
          routedVersions(a).includes(number),
        )
      : [];
  if (users.length > 0) {
    const names = users.map(aliasName).sort().join(', ');
    await ctx.events.record(
      version,
      'Warning',
      'VersionInUse',
      `Version ${number} cannot be deleted while alias ${names} routes to it; point the alias at another version first`,
    );
    return;
  }
  await ctx.clients.versions.patch(
    namespace,
    version.metadata.name,
    { metadata: { finalizers: finalizers.filter((f) => f !== VERSION_IN_USE_FINALIZER) } },
    version.metadata.resourceVersion,
  );
}
