// The I/O edge of artifact-store garbage collection: every interval (leader only), gather
// what the caches say is referenced, ask the pure decision (store/gc.ts) what to delete,
// delete it. Only safe when the operator watches every namespace: a blob referenced from an
// unwatched namespace would look unreferenced, so the manager disables GC otherwise.
import type { ArtifactStore } from '../store/index.js';
import { blobsToCollect, referencedDigests } from '../store/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Caches } from './context.js';
import type { OperatorMetrics } from './metrics.js';

export interface GcOptions {
  store: ArtifactStore;
  cache: Caches;
  clock: Clock;
  log: Logger;
  metrics: OperatorMetrics;
  intervalMs: number;
  graceMs: number;
}

export async function collectGarbage(options: GcOptions): Promise<string[]> {
  const { store, cache, clock, log, metrics, graceMs } = options;
  const referenced = referencedDigests({
    functions: cache.functions.list(),
    versions: cache.versions.list(),
    layers: cache.layers.list(),
  });
  const doomed = blobsToCollect({ blobs: await store.list(), referenced, now: clock.now(), graceMs });
  for (const sha256 of doomed) {
    await store.delete(sha256);
    metrics.collected.inc();
    log.info('garbage-collected zip', { sha256 });
  }
  return doomed;
}

/** Runs collectGarbage every interval until stopped. */
export function startGarbageCollector(options: GcOptions): { stop(): void } {
  let timer: { cancel(): void } | undefined;
  let stopped = false;
  const tick = () => {
    collectGarbage(options)
      .catch((err: unknown) => options.log.warn('garbage collection failed', { error: String(err) }))
      .finally(() => {
        if (!stopped) timer = options.clock.setTimeout(tick, options.intervalMs);
      });
  };
  timer = options.clock.setTimeout(tick, options.intervalMs);
  return {
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
