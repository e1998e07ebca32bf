// The Layer reconciler: resolves the content into the artifact store and keeps the list of
// immutable layer versions in status (a new digest appends version N+1; the same digest adds
// nothing; spec.deletedVersions marks versions deleted). The list is append-only history, so
// it is decided on a fresh read and written conditional on that read's resourceVersion: a
// stale cache can never rewrite what version N means.
import type { Layer, LayerStatus } from '../api/index.js';
import { setConditions } from './conditions.js';
import { type ControllerContext, isoTime } from './context.js';
import { decideLayerVersions } from './layer-versions.js';
import { clip } from '../shared/index.js';
import { statusPatch } from './status-patch.js';
import type { ReconcileResult } from './workqueue.js';

const OWNED: (keyof LayerStatus & string)[] = [
  'observedGeneration',
  'state',
  'stateReason',
  'conditions',
  'latestVersion',
  'versions',
];

export async function reconcileLayer(
  ctx: ControllerContext,
  namespace: string,
  name: string,
): Promise<ReconcileResult | void> {
  const cached = ctx.cache.layers.get(namespace, name);
  if (!cached || cached.metadata.deletionTimestamp) return;
  const content = await ctx.code.resolve(cached.spec.content);

  // Decide on the API server's copy, not the cache's.
  const layer = await ctx.clients.layers.get(namespace, name);
  if (!layer || layer.metadata.deletionTimestamp) return;
  const generation = layer.metadata.generation ?? 0;
  const now = isoTime(ctx.clock.now());
  const current = layer.status ?? {};

  let desired: LayerStatus;
  let created: number | undefined;
  if (content.ok) {
    const decision = decideLayerVersions(
      current.versions ?? [],
      {
        sha256: content.sha256,
        size: content.size,
        unzippedSize: content.unzippedSize,
        compatibleRuntimes: layer.spec.compatibleRuntimes,
      },
      layer.spec.deletedVersions ?? [],
      now,
    );
    created = decision.created;
    desired = {
      ...current,
      state: 'Active',
      stateReason: undefined,
      versions: decision.versions,
      latestVersion: decision.latestVersion,
      conditions: setConditions(
        current.conditions,
        [
          {
            type: 'ContentResolved',
            status: 'True',
            reason: 'Resolved',
            message: `sha256 ${content.sha256}`,
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Active',
            message: `latest version ${decision.latestVersion ?? 'none'}`,
          },
        ],
        now,
        generation,
      ),
    };
  } else {
    desired = {
      ...current,
      state: 'Failed',
      stateReason: clip(content.message),
      conditions: setConditions(
        current.conditions,
        [
          { type: 'ContentResolved', status: 'False', reason: content.reasonCode, message: content.message },
          { type: 'Ready', status: 'False', reason: content.reasonCode, message: content.message },
        ],
        now,
        generation,
      ),
    };
  }
  desired.observedGeneration = generation;

  const patch = statusPatch(current, desired, OWNED);
  if (patch) await ctx.clients.layers.patchStatus(namespace, name, patch, layer.metadata.resourceVersion);
  await recordEvents(ctx, layer, current, desired, created, content.ok ? undefined : content);
  if (!content.ok && content.retryAfterMs) return { requeueAfterMs: content.retryAfterMs };
}

async function recordEvents(
  ctx: ControllerContext,
  layer: Layer,
  previous: LayerStatus,
  next: LayerStatus,
  created: number | undefined,
  failure: { reasonCode: string; message: string } | undefined,
): Promise<void> {
  if (created !== undefined) {
    const record = next.versions?.find((v) => v.version === created);
    await ctx.events.record(
      layer,
      'Normal',
      'LayerVersionCreated',
      `Created layer version ${created} (sha256 ${record?.sha256.slice(0, 12)}…)`,
    );
  }
  const newlyDeleted = (next.versions ?? []).filter(
    (v) => v.deleted && !previous.versions?.find((p) => p.version === v.version)?.deleted,
  );
  for (const v of newlyDeleted) {
    await ctx.events.record(
      layer,
      'Normal',
      'LayerVersionDeleted',
      `Layer version ${v.version} deleted: functions that pinned it keep it; new references are refused`,
    );
  }
  if (failure && (previous.state !== 'Failed' || previous.stateReason !== clip(failure.message))) {
    await ctx.events.record(layer, 'Warning', failure.reasonCode, failure.message);
  }
}
