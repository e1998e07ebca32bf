// PublishVersion through the operator: the control plane asks (a Version object naming the
// function, with the $LATEST revision it checked as a precondition) and waits for the operator
// to number it, as `kubectl apply` of a Version does. The operator stays the one place numbers
// are assigned. A refused or redundant request object is deleted: nothing is left behind.
import {
  type FunctionReference,
  type LaminaFunction,
  sameConfiguration,
  snapshotOfLatest,
  type Version,
} from '../api/index.js';
import { imageResolutionPending } from '../controller/index.js';
import {
  InvalidParameterValueException,
  PreconditionFailedException,
  ResourceConflictException,
  ServiceException,
} from '../errors.js';
import { base64Sha256, revisionIdOf } from './configuration.js';
import type { ControlPlaneContext } from './context.js';
import { kube } from './objects.js';

export interface PublishRequest {
  description?: string;
  /** Hex digest $LATEST must have. */
  codeSha256?: string;
  /** RevisionId (ours, resourceVersion-derived) $LATEST must have. */
  revisionId?: string;
}

const POLL_MS = 200;

/** The operator has taken the Function as it is: its spec, and a request to resolve its image tag again. */
const observedByOperator = (fn: LaminaFunction) =>
  fn.status?.observedGeneration === fn.metadata.generation && !imageResolutionPending(fn);

/** Waits until the operator has observed the Function's current spec; returns it then. */
export async function settled(ctx: ControlPlaneContext, ref: FunctionReference): Promise<LaminaFunction> {
  const deadline = ctx.options.now() + ctx.options.publishTimeoutMs;
  for (;;) {
    const fn = await ctx.functionOrNotFound(ref);
    if (observedByOperator(fn) && fn.status?.state !== 'Pending') return fn;
    if (ctx.options.now() > deadline) return fn;
    await ctx.options.sleep(POLL_MS);
  }
}

export async function publishVersion(
  ctx: ControlPlaneContext,
  fn: LaminaFunction,
  request: PublishRequest,
): Promise<Version> {
  const namespace = fn.metadata.namespace ?? 'default';
  const name = fn.metadata.name;
  if (request.revisionId !== undefined && request.revisionId !== revisionIdOf(fn.metadata)) {
    throw PreconditionFailedException.revision(request.revisionId);
  }
  const latest = snapshotOfLatest(fn);
  const observed = observedByOperator(fn);
  if (!latest || fn.status?.state !== 'Active' || !observed) {
    throw observed
      ? ResourceConflictException.functionState(fn.status?.state ?? 'Pending')
      : new ResourceConflictException(
          `The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:${ctx.region}:${namespace}:function:${name}`,
        );
  }
  if (request.codeSha256 !== undefined && request.codeSha256 !== latest.codeSha256) {
    // As FunctionConfiguration shows it: base64 for a zip, the manifest digest in hex for an image.
    const shown = (hex: string) => (latest.image ? hex : base64Sha256(hex));
    throw new InvalidParameterValueException(
      `CodeSHA256 (${shown(request.codeSha256)}) is different from current CodeSHA256 in $LATEST (${shown(latest.codeSha256)}). Please try again with the CodeSHA256 in $LATEST.`,
    );
  }
  const published = await ctx.versionsOf(namespace, name);
  const newest = published[published.length - 1];
  if (newest?.spec.snapshot && sameConfiguration(newest.spec.snapshot, latest)) return newest;

  const created = await kube('the version', () =>
    ctx.objects.versions.create(namespace, {
      metadata: { generateName: `${name}-v`, namespace },
      spec: {
        functionName: name,
        revisionId: latest.revisionId,
        codeSha256: latest.codeSha256,
        ...(request.description && { description: request.description }),
      },
    }),
  );
  return awaitPublication(ctx, namespace, name, created.metadata.name);
}

async function awaitPublication(
  ctx: ControlPlaneContext,
  namespace: string,
  functionName: string,
  objectName: string,
): Promise<Version> {
  const deadline = ctx.options.now() + ctx.options.publishTimeoutMs;
  const discard = () => kube('the version', () => ctx.objects.versions.delete(namespace, objectName));
  for (;;) {
    const v = await kube('the version', () => ctx.objects.versions.get(namespace, objectName));
    if (!v) throw new ResourceConflictException('The version request was deleted before it was published.');
    if (v.spec.version !== undefined && v.spec.snapshot) return v;
    const reason = v.status?.conditions?.find((c) => c.type === 'Published' && c.status === 'False');
    if (reason && reason.observedGeneration === v.metadata.generation) {
      await discard();
      if (reason.reason === 'Unchanged') {
        const existing = (await ctx.versionsOf(namespace, functionName)).find(
          (p) => String(p.spec.version) === v.status?.version,
        );
        if (existing) return existing;
        throw new ResourceConflictException('The function changed while publishing; retry.');
      }
      if (reason.reason === 'PreconditionFailedException')
        throw new PreconditionFailedException(reason.message ?? 'The function changed while publishing.');
      throw new InvalidParameterValueException(reason.message ?? reason.reason);
    }
    if (ctx.options.now() > deadline) {
      await discard();
      throw new ServiceException(
        `The Lamina operator did not publish a version of ${functionName} within ${ctx.options.publishTimeoutMs} ms; is it running?`,
      );
    }
    await ctx.options.sleep(POLL_MS);
  }
}
