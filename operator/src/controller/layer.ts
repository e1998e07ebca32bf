// The Layer reconciler: resolves the content into the artifact store and keeps the list of
// immutable layer versions in status (a new digest appends version N+1; the same digest adds
// nothing; spec.deletedVersions marks versions deleted). The list is append-only history, so
// it is decided on a fresh read and written conditional on that read's resourceVersion: a
// stale cache can never rewrite what version N means.
import type { Layer, LayerStatus } from '../api/index.js';
import { clip } from '../shared/index.js';
import { type ControllerContext, isoTime } from './context.js';
import { type Evaluation, reconciler, type StatusEvent } from './framework/reconciler.js';
import { decideLayerVersions } from './layer-versions.js';

export const reconcileLayer = reconciler<ControllerContext, Layer, LayerStatus>({
  owned: ['observedGeneration', 'state', 'stateReason', 'conditions', 'latestVersion', 'versions'],
  resources: (ctx) => ({ cache: ctx.cache.layers, client: ctx.clients.layers }),
  evaluate,
});

async function evaluate(
  ctx: ControllerContext,
  cached: Layer,
): Promise<Evaluation<Layer, LayerStatus> | undefined> {
  const content = await ctx.code.resolve(cached.spec.content);
  // Decide on the API server's copy, not the cache's.
  const layer = await ctx.clients.layers.get(cached.metadata.namespace ?? 'default', cached.metadata.name);
  if (!layer || layer.metadata.deletionTimestamp) return undefined;
  const current = layer.status ?? {};
  const common = { basis: layer, conditional: true };

  if (!content.ok) {
    const failure = { reasonCode: content.reasonCode, message: content.message };
    return {
      ...common,
      status: { state: 'Failed', stateReason: clip(content.message) },
      conditions: [
        { type: 'ContentResolved', status: 'False', reason: content.reasonCode, message: content.message },
        { type: 'Ready', status: 'False', reason: content.reasonCode, message: content.message },
      ],
      events: (previous, next) => events(previous, next, undefined, failure),
      ...(content.retryAfterMs ? { requeueAfterMs: content.retryAfterMs } : {}),
    };
  }
  const decision = decideLayerVersions(
    current.versions ?? [],
    {
      sha256: content.sha256,
      size: content.size,
      unzippedSize: content.unzippedSize,
      compatibleRuntimes: layer.spec.compatibleRuntimes,
    },
    layer.spec.deletedVersions ?? [],
    isoTime(ctx.clock.now()),
  );
  return {
    ...common,
    status: {
      state: 'Active',
      stateReason: undefined,
      versions: decision.versions,
      latestVersion: decision.latestVersion,
    },
    conditions: [
      { type: 'ContentResolved', status: 'True', reason: 'Resolved', message: `sha256 ${content.sha256}` },
      {
        type: 'Ready',
        status: 'True',
        reason: 'Active',
        message: `latest version ${decision.latestVersion ?? 'none'}`,
      },
    ],
    events: (previous, next) => events(previous, next, decision.created, undefined),
  };
}

function events(
  previous: LayerStatus,
  next: LayerStatus,
  created: number | undefined,
  failure: { reasonCode: string; message: string } | undefined,
): StatusEvent[] {
  const out: StatusEvent[] = [];
  if (created !== undefined) {
    const record = next.versions?.find((v) => v.version === created);
    out.push({
      type: 'Normal',
      reason: 'LayerVersionCreated',
      message: `Created layer version ${created} (sha256 ${record?.sha256.slice(0, 12)}…)`,
    });
  }
  const newlyDeleted = (next.versions ?? []).filter(
    (v) => v.deleted && !previous.versions?.find((p) => p.version === v.version)?.deleted,
  );
  for (const v of newlyDeleted) {
    out.push({
      type: 'Normal',
      reason: 'LayerVersionDeleted',
      message: `Layer version ${v.version} deleted: functions that pinned it keep it; new references are refused`,
    });
  }
  if (failure && (previous.state !== 'Failed' || previous.stateReason !== clip(failure.message))) {
    out.push({ type: 'Warning', reason: failure.reasonCode, message: failure.message });
  }
  return out;
}
