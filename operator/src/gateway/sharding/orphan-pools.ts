// What a replica that died leaves behind (a cleanly stopped replica removes its own): its
// warm-pool pods, labelled with its identity, and its member Lease. One replica at a time (the
// holder of shard 0; a single unsharded replica itself) deletes pool pods whose owner has not
// been a live member for `graceMs`, and member Leases that have not been live for as long — so
// scaling down from several replicas to one leaves nothing behind either.
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../shared/index.js';
import { POOL_LABELS } from '../pool/pool-pod.js';
import { LEASE_LABEL, type ShardCoordinator } from './coordinator.js';

/** Pods younger than this are left alone: their replica may not have registered yet. */
const MIN_AGE_MS = 30_000;

/** Who is alive, and whether this replica is the one that sweeps. */
export interface ReplicaView {
  liveMembers(): string[];
  sweeps(): boolean;
}

/** Several replicas: the coordinator's live members; the holder of shard 0 sweeps. */
export function shardedView(coordinator: Pick<ShardCoordinator, 'ownsShard' | 'status'>): ReplicaView {
  return { liveMembers: () => coordinator.status().liveMembers, sweeps: () => coordinator.ownsShard(0) };
}

/** One unsharded replica: it alone is alive (its pool owner identity) and it sweeps. */
export function soleReplicaView(identity: string): ReplicaView {
  return { liveMembers: () => [identity], sweeps: () => true };
}

export class OrphanPoolReaper {
  private readonly core: CoreV1Api;
  private readonly leases: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  /** When each owner was last seen live. */
  private readonly lastSeen = new Map<string, number>();
  /** When each member Lease was first seen not live. */
  private readonly deadSince = new Map<string, number>();

  constructor(
    kc: KubeConfig,
    private readonly replicas: ReplicaView,
    private readonly graceMs: number,
    private readonly log: Logger,
    /** The Leases' namespace (the release's); without it member Leases are left alone. */
    private readonly namespace?: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.leases = kc.makeApiClient(CoordinationV1Api);
  }

  start(intervalMs = 10_000): void {
    this.timer = setInterval(() => void this.sweep().catch((err: unknown) => this.failed(err)), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sweep(now = Date.now()): Promise<number> {
    const live = this.replicas.liveMembers();
    for (const member of live) this.lastSeen.set(member, now);
    if (!this.replicas.sweeps()) return 0;
    const pods = await this.core.listPodForAllNamespaces({ labelSelector: `${POOL_LABELS.pool}=true` });
    let deleted = 0;
    for (const pod of pods.items) {
      const owner = pod.metadata?.labels?.[POOL_LABELS.owner] ?? '';
      const created = pod.metadata?.creationTimestamp
        ? new Date(pod.metadata.creationTimestamp).getTime()
        : now;
      const seen = this.lastSeen.get(owner);
      const gone =
        seen === undefined ? now - created > Math.max(MIN_AGE_MS, this.graceMs) : now - seen > this.graceMs;
      if (!gone || live.includes(owner) || pod.metadata?.deletionTimestamp) continue;
      await this.core
        .deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace! })
        .catch(() => undefined);
      deleted += 1;
    }
    if (deleted > 0) this.log.info('removed warm-pool pods of replicas that are gone', { deleted });
    return deleted + (await this.sweepMemberLeases(live, now));
  }

  /** Member Leases of replicas that are gone: not live for `graceMs` as seen from here. */
  private async sweepMemberLeases(live: string[], now: number): Promise<number> {
    const namespace = this.namespace;
    if (!namespace) return 0;
    const list = await this.leases.listNamespacedLease({ namespace, labelSelector: `${LEASE_LABEL}=member` });
    let deleted = 0;
    for (const lease of list.items) {
      const member = lease.spec?.holderIdentity ?? '';
      if (live.includes(member)) {
        this.deadSince.delete(member);
        continue;
      }
      const since = this.deadSince.get(member) ?? now;
      this.deadSince.set(member, since);
      if (now - since < this.graceMs) continue;
      await this.leases
        .deleteNamespacedLease({ name: lease.metadata!.name!, namespace })
        .catch(() => undefined);
      this.deadSince.delete(member);
      deleted += 1;
    }
    if (deleted > 0) this.log.info('removed member Leases of replicas that are gone', { deleted });
    return deleted;
  }

  private failed(err: unknown): void {
    this.log.warn('sweeping orphaned warm-pool pods failed', { error: String(err) });
  }
}
