// Publishing a version: the one place version numbers are assigned, for both `publish: true`
// on a Function and a user-created Version object. Per function, publishes take turns
// (KeyedMutex) and read the API server, not the caches, so a number is decided on fresh data.
//
// Order of writes, chosen so a crash at any point never reuses a number:
//  1. the Function's lamina.dev/last-version annotation is raised to N, conditional on the
//     Function's resourceVersion (a concurrent writer makes this fail and we start over);
//  2. the Version gets spec.version = N and its snapshot (CEL keeps both immutable after).
// A crash between 1 and 2 leaves N unused: the next attempt takes N+1. Numbers may skip,
// never repeat — Lambda promises the same ("version numbers only increase").
import { type LaminaFunction, snapshotOfLatest, type Version } from '../api/index.js';
import { controllerReference, isAlreadyExists, withControllerReference } from '../kube/index.js';
import { type ControllerContext, FUNCTION_LABEL, VERSION_IN_USE_FINALIZER } from './context.js';
import { Reason } from './reasons.js';
import {
  decidePublication,
  LAST_VERSION_ANNOTATION,
  lastAssignedVersion,
  PUBLISHED_REVISION_ANNOTATION,
  type PublishedVersion,
} from './versioning.js';

export type PublishRequest = { kind: 'function' } | { kind: 'version'; name: string };

export type PublishOutcome =
  | { kind: 'published'; version: number; name: string }
  | { kind: 'unchanged'; version: number }
  | { kind: 'failed'; reasonCode: string; message: string }
  /** Not now: the function is missing or not Active yet; its next change brings us back. */
  | { kind: 'waiting'; reasonCode: string; message: string }
  /** The Version object was already handled (or deleted) meanwhile. */
  | { kind: 'done' };

export function publish(
  ctx: ControllerContext,
  namespace: string,
  functionName: string,
  request: PublishRequest,
): Promise<PublishOutcome> {
  return ctx.publishLock.run(`${namespace}/${functionName}`, () =>
    publishLocked(ctx, namespace, functionName, request),
  );
}

async function publishLocked(
  ctx: ControllerContext,
  namespace: string,
  functionName: string,
  request: PublishRequest,
): Promise<PublishOutcome> {
  const { clients } = ctx;
  const fn = await clients.functions.get(namespace, functionName);
  if (!fn || fn.metadata.deletionTimestamp) {
    return {
      kind: 'waiting',
      reasonCode: Reason.ResourceNotFound,
      message: `Function not found: ${functionName}`,
    };
  }
  const latest = snapshotOfLatest(fn);
  if (!latest || fn.status?.state !== 'Active' || fn.status.observedGeneration !== fn.metadata.generation) {
    return {
      kind: 'waiting',
      reasonCode: 'FunctionNotReady',
      message: `Function ${functionName} is ${fn.status?.state ?? 'Pending'}; the version is published once it is Active`,
    };
  }

  let target: Version | undefined;
  if (request.kind === 'version') {
    target = await clients.versions.get(namespace, request.name);
    if (!target || target.metadata.deletionTimestamp || target.spec.version !== undefined)
      return { kind: 'done' };
  }

  const all = (await clients.versions.list(namespace)).filter(
    (v) => v.spec.functionName === functionName && !v.metadata.deletionTimestamp,
  );
  const published = all.flatMap((v): PublishedVersion[] =>
    v.spec.version !== undefined && v.spec.snapshot
      ? [{ version: v.spec.version, snapshot: v.spec.snapshot }]
      : [],
  );
  const decision = decidePublication({
    latest,
    published,
    lastAssigned: lastAssignedVersion(fn.metadata.annotations),
    preconditions: target && { codeSha256: target.spec.codeSha256, revisionId: target.spec.revisionId },
  });
  if (
    decision.kind === 'unchanged' &&
    !target &&
    fn.metadata.annotations?.[PUBLISHED_REVISION_ANNOTATION] !== latest.revisionId
  ) {
    await clients.functions.patch(
      namespace,
      functionName,
      { metadata: { annotations: { [PUBLISHED_REVISION_ANNOTATION]: latest.revisionId } } },
      fn.metadata.resourceVersion,
    );
  }
  if (decision.kind !== 'publish') return decision;

  const version = decision.version;
  await clients.functions.patch(
    namespace,
    functionName,
    {
      metadata: {
        annotations: {
          [LAST_VERSION_ANNOTATION]: String(version),
          ...(!target && { [PUBLISHED_REVISION_ANNOTATION]: latest.revisionId }),
        },
      },
    },
    fn.metadata.resourceVersion,
  );

  const labels = { [FUNCTION_LABEL]: functionName };
  let name: string;
  if (target) {
    await clients.versions.patch(
      namespace,
      target.metadata.name,
      {
        metadata: {
          labels,
          ownerReferences: withControllerReference(target.metadata.ownerReferences, fn).refs,
          finalizers: [...new Set([...(target.metadata.finalizers ?? []), VERSION_IN_USE_FINALIZER])],
        },
        spec: { version, snapshot: latest },
      },
      target.metadata.resourceVersion,
    );
    name = target.metadata.name;
  } else {
    name = await createVersion(ctx, fn, namespace, version, latest);
  }
  ctx.log.info('published version', { namespace, function: functionName, version, name });
  await ctx.events.record(fn, 'Normal', 'Published', `Published version ${version} (Version ${name})`);
  return { kind: 'published', version, name };
}

async function createVersion(
  ctx: ControllerContext,
  fn: LaminaFunction,
  namespace: string,
  version: number,
  snapshot: NonNullable<ReturnType<typeof snapshotOfLatest>>,
): Promise<string> {
  const functionName = fn.metadata.name;
  const body = (metadata: { name?: string; generateName?: string }) => ({
    metadata: {
      ...metadata,
      namespace,
      labels: { [FUNCTION_LABEL]: functionName },
      ownerReferences: [controllerReference(fn)],
      finalizers: [VERSION_IN_USE_FINALIZER],
    },
    spec: { functionName, version, snapshot },
  });
  try {
    return (await ctx.clients.versions.create(namespace, body({ name: `${functionName}-v${version}` })))
      .metadata.name;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    // A user object already has that name: let the API server pick a unique one.
    return (
      await ctx.clients.versions.create(namespace, body({ generateName: `${functionName}-v${version}-` }))
    ).metadata.name;
  }
}
