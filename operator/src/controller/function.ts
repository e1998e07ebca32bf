// The Function reconciler ($LATEST). Level-triggered: from the spec and the caches it computes
// what status should say (code digest, pinned layers, revision id, state, conditions), writes
// only the difference, and, with `publish: true`, publishes a Version when $LATEST differs
// from the newest published one.
import {
  FunctionSpec,
  type FunctionStatus,
  functionUrl,
  type LaminaFunction,
  parseImageReference,
  type PinnedLayer,
  pinnedImageUri,
  sameConfiguration,
  snapshotOfLatest,
} from '../api/index.js';
import { clip } from '../shared/index.js';
import { type ControllerContext, isoTime, versionsOf } from './context.js';
import { ImageResolver } from './image-resolver.js';
import { imageResolutionRequested, mustResolveImage } from './image-resolution.js';
import type { ConditionUpdate } from './framework/conditions.js';
import { type Evaluation, reconciler, type StatusEvent } from './framework/reconciler.js';
import { resolveLayerPins } from './layer-pins.js';
import { publish } from './publish.js';
import { type Failure, Reason } from './reasons.js';
import { revisionIdOf } from './revision.js';
import { PUBLISHED_REVISION_ANNOTATION } from './versioning.js';

type Stage = 'spec' | 'code' | 'layers' | 'size';

type Check =
  | {
      ok: true;
      codeSha256: string;
      codeSize: number;
      layers: PinnedLayer[];
      revisionId: string;
      resolvedImageUri?: string;
    }
  | ({ ok: false; stage: Stage } & Failure);

export const reconcileFunction = reconciler<ControllerContext, LaminaFunction, FunctionStatus>({
  owned: [
    'observedGeneration',
    'state',
    'stateReasonCode',
    'stateReason',
    'lastUpdateStatus',
    'conditions',
    'codeSha256',
    'codeSize',
    'resolvedImageUri',
    'imageResolvedFor',
    'revisionId',
    'layers',
    'latestVersion',
    'lastModified',
    'url',
  ],
  resources: (ctx) => ({ cache: ctx.cache.functions, client: ctx.clients.functions }),
  evaluate,
});

/** Spec, code, layers and size, in that order: the first failure is the function's state. */
async function check(ctx: ControllerContext, fn: LaminaFunction): Promise<Check> {
  const namespace = fn.metadata.namespace ?? 'default';
  const parsed = FunctionSpec.safeParse(fn.spec);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ');
    return { ok: false, stage: 'spec', reasonCode: Reason.InvalidParameterValue, message };
  }
  const spec = parsed.data;
  if (spec.image) return checkImage(ctx, fn, spec);
  if (!spec.code) {
    return {
      ok: false,
      stage: 'spec',
      reasonCode: Reason.InvalidParameterValue,
      message: 'spec.code is required',
    };
  }
  const code = await ctx.code.resolve(spec.code);
  if (!code.ok) return { ...code, stage: 'code' };

  const pins = resolveLayerPins({
    functionNamespace: namespace,
    runtime: spec.runtime ?? 'provided.al2023',
    references: spec.layers ?? [],
    previous: fn.status?.layers ?? [],
    lookup: (ns, name) => ctx.cache.layers.get(ns, name),
  });
  if (!pins.ok) return { ...pins, stage: 'layers' };

  const total = code.unzippedSize + pins.pins.reduce((sum, p) => sum + (p.unzippedSize ?? 0), 0);
  if (total > ctx.maxUnzippedBytes) {
    return {
      ok: false,
      stage: 'size',
      reasonCode: Reason.CodeTooLarge,
      message:
        `Function code combined with layers exceeds the maximum allowed size of ${ctx.maxUnzippedBytes} bytes. ` +
        `The actual size is ${total} bytes (code ${code.unzippedSize}, layers ${total - code.unzippedSize}).`,
    };
  }
  return {
    ok: true,
    codeSha256: code.sha256,
    codeSize: code.size,
    layers: pins.pins,
    revisionId: revisionIdOf(spec, code.sha256, pins.pins),
  };
}

const defaultImages = new ImageResolver();

/**
 * An image function: its tag resolved to a digest once per change of the spec or request to
 * resolve it again (image-resolution.ts; a moved tag is not followed by itself, as on Lambda;
 * published versions keep their digest).
 */
async function checkImage(ctx: ControllerContext, fn: LaminaFunction, spec: FunctionSpec): Promise<Check> {
  const image = spec.image as NonNullable<FunctionSpec['image']>;
  const ref = parseImageReference(image.uri);
  const previous = fn.status?.resolvedImageUri;
  const resolution =
    previous && !mustResolveImage(fn, ref)
      ? { ok: true as const, digest: previous.slice(previous.indexOf('@') + 1) }
      : await (ctx.images ?? defaultImages).resolve(ref);
  if (!resolution.ok) return { ...resolution, stage: 'code' };
  const codeSha256 = resolution.digest.slice('sha256:'.length);
  return {
    ok: true,
    codeSha256,
    codeSize: 0,
    layers: [],
    revisionId: revisionIdOf(spec, codeSha256, []),
    resolvedImageUri: pinnedImageUri(ref, resolution.digest),
  };
}

function conditionsFor(result: Check): ConditionUpdate[] {
  if (result.ok) {
    return [
      { type: 'CodeResolved', status: 'True', reason: 'Resolved', message: `sha256 ${result.codeSha256}` },
      {
        type: 'LayersResolved',
        status: 'True',
        reason: 'Resolved',
        message: `${result.layers.length} layer(s) pinned`,
      },
      { type: 'Ready', status: 'True', reason: 'Active', message: `revision ${result.revisionId}` },
    ];
  }
  const failed = (type: string): ConditionUpdate => ({
    type,
    status: 'False',
    reason: result.reasonCode,
    message: clip(result.message),
  });
  const unknown = (type: string): ConditionUpdate => ({ type, status: 'Unknown', reason: 'NotEvaluated' });
  const ok = (type: string): ConditionUpdate => ({ type, status: 'True', reason: 'Resolved' });
  const stageConditions: Record<Stage, ConditionUpdate[]> = {
    spec: [unknown('CodeResolved'), unknown('LayersResolved')],
    code: [failed('CodeResolved'), unknown('LayersResolved')],
    layers: [ok('CodeResolved'), failed('LayersResolved')],
    size: [ok('CodeResolved'), ok('LayersResolved')],
  };
  return [...stageConditions[result.stage], failed('Ready')];
}

function latestVersionOf(ctx: ControllerContext, fn: LaminaFunction): string | undefined {
  const numbers = versionsOf(ctx.cache.versions, fn.metadata.namespace ?? 'default', fn.metadata.name)
    .map((v) => v.spec.version ?? 0)
    .filter((n) => n > 0);
  return numbers.length ? String(Math.max(...numbers)) : undefined;
}

async function evaluate(
  ctx: ControllerContext,
  cached: LaminaFunction,
): Promise<Evaluation<LaminaFunction, FunctionStatus>> {
  const namespace = cached.metadata.namespace ?? 'default';
  const name = cached.metadata.name;
  const now = isoTime(ctx.clock.now());
  let fn = cached;
  if (!fn.status?.state) {
    // A new function: say so at once, before a possibly slow download.
    const updated = await ctx.clients.functions.patchStatus(namespace, name, {
      state: 'Pending',
      stateReasonCode: 'Creating',
      stateReason: 'The function is being created',
      lastUpdateStatus: 'InProgress',
    });
    fn = { ...cached, status: updated.status ?? cached.status };
  }
  const current = fn.status ?? {};

  const result = await check(ctx, fn);
  const latestVersion = latestVersionOf(ctx, fn);
  // Answered whatever the outcome: a failure is the function's state, and is tried again.
  const imageResolvedFor = imageResolutionRequested(fn);
  const common = {
    basis: fn,
    conditions: conditionsFor(result),
    events: (previous: FunctionStatus) => transitions(previous, result),
  };
  if (!result.ok) {
    return {
      ...common,
      // The last good code, layers and revision stay in status: they are still referenced
      // (garbage collection) and published versions do not depend on them.
      status: {
        state: 'Failed',
        stateReasonCode: result.reasonCode,
        stateReason: clip(result.message),
        lastUpdateStatus: 'Failed',
        imageResolvedFor,
        latestVersion,
      },
      ...(result.retryAfterMs ? { requeueAfterMs: result.retryAfterMs } : {}),
    };
  }
  return {
    ...common,
    status: {
      state: 'Active',
      stateReasonCode: undefined,
      stateReason: undefined,
      lastUpdateStatus: 'Successful',
      codeSha256: result.codeSha256,
      codeSize: result.codeSize,
      resolvedImageUri: result.resolvedImageUri,
      imageResolvedFor,
      layers: result.layers,
      revisionId: result.revisionId,
      url: fn.spec.functionUrl && ctx.gatewayUrl ? functionUrl(ctx.gatewayUrl, namespace, name) : undefined,
      lastModified:
        current.revisionId === result.revisionId && current.lastModified ? current.lastModified : now,
      latestVersion,
    },
    afterwards: async (next: FunctionStatus) => {
      await ctx.syncNetworkPolicy?.(fn);
      if (fn.spec.publish) await publishIfChanged(ctx, { ...fn, status: next });
    },
  };
}

function transitions(previous: FunctionStatus, result: Check): StatusEvent[] {
  if (result.ok) {
    if (previous.state !== 'Active') {
      return [
        {
          type: 'Normal',
          reason: 'Active',
          message: `Function is Active (code sha256 ${result.codeSha256.slice(0, 12)}…, ${result.layers.length} layer(s), revision ${result.revisionId})`,
        },
      ];
    }
    if (previous.revisionId !== result.revisionId) {
      return [
        {
          type: 'Normal',
          reason: 'Updated',
          message: `Revision ${result.revisionId} (code sha256 ${result.codeSha256.slice(0, 12)}…)`,
        },
      ];
    }
    return [];
  }
  if (previous.state !== 'Failed' || previous.stateReason !== clip(result.message)) {
    return [{ type: 'Warning', reason: result.reasonCode, message: result.message }];
  }
  return [];
}

/** `publish: true`: publish when $LATEST changed since the last publish and differs from the newest version. */
async function publishIfChanged(ctx: ControllerContext, fn: LaminaFunction): Promise<void> {
  const latest = snapshotOfLatest(fn);
  if (!latest || fn.metadata.annotations?.[PUBLISHED_REVISION_ANNOTATION] === latest.revisionId) return;
  const namespace = fn.metadata.namespace ?? 'default';
  const newest = versionsOf(ctx.cache.versions, namespace, fn.metadata.name)
    .filter((v) => v.spec.version !== undefined && v.spec.snapshot)
    .sort((a, b) => (b.spec.version ?? 0) - (a.spec.version ?? 0))[0];
  if (newest?.spec.snapshot && sameConfiguration(newest.spec.snapshot, latest)) return; // cheap check on the cache
  await publish(ctx, namespace, fn.metadata.name, { kind: 'function' });
}
