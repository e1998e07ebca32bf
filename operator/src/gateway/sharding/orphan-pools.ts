// Warm-pool pods of a replica that died without cleaning up (a cleanly stopped replica deletes
// its own): each replica keeps its own pool pods, labelled with its identity, so a killed
// replica's pods would otherwise wait forever. The holder of shard 0 — one replica at a
// time — deletes pool pods whose owner has not been a live member for a lease duration.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../shared/index.js';
import { POOL_LABELS } from '../pool/pool-pod.js';
import type { ShardCoordinator } from './coordinator.js';

/** Pods younger than this are left alone: their replica may not have registered yet. */
const MIN_AGE_MS = 30_000;

export class OrphanPoolReaper {
  private readonly core: CoreV1Api;
  private timer: NodeJS.Timeout | undefined;
  /** When each owner was last seen live. */
  private readonly lastSeen = new Map<string, number>();

  constructor(
    kc: KubeConfig,
    private readonly coordinator: Pick<ShardCoordinator, 'ownsShard' | 'status'>,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  start(intervalMs = 10_000): void {
    this.timer = setInterval(() => void this.sweep().catch((err: unknown) => this.failed(err)), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sweep(now = Date.now()): Promise<number> {
    const live = this.coordinator.status().liveMembers;
    for (const member of live) this.lastSeen.set(member, now);
    if (!this.coordinator.ownsShard(0)) return 0;
    const pods = await this.core.listPodForAllNamespaces({ labelSelector: `${POOL_LABELS.pool}=true` });
    let deleted = 0;
    for (const pod of pods.items) {
      const owner = pod.metadata?.labels?.[POOL_LABELS.owner] ?? '';
      const created = pod.metadata?.creationTimestamp
        ? new Date(pod.metadata.creationTimestamp).getTime()
        : now;
      const seen = this.lastSeen.get(owner);
      const gone = seen === undefined ? now - created > MIN_AGE_MS : now - seen > this.graceMs;
      if (!gone || live.includes(owner) || pod.metadata?.deletionTimestamp) continue;
      await this.core
        .deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace! })
        .catch(() => undefined);
      deleted += 1;
    }
    if (deleted > 0) this.log.info('removed warm-pool pods of replicas that are gone', { deleted });
    return deleted;
  }

  private failed(err: unknown): void {
    this.log.warn('sweeping orphaned warm-pool pods failed', { error: String(err) });
  }
}
