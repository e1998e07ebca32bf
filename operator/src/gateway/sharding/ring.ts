// Which gateway replica owns which function (docs/high-availability.md). Pure: the decisions
// take what the replica last observed (members, shard holders, its own in-flight work) and a
// clock reading, and say what to do; `coordinator.ts` does it with Kubernetes Leases.
//
// Functions are spread over a fixed number of shards by the hash of their *name* (not their
// namespace): every function, alias and version of one name lands in one shard, so a
// replica that is handed `ns/name:alias` or an ARN knows the shard before it has resolved the
// namespace, and everything one function's concurrency rules touch has exactly one owner.
// Shards are spread over the live replicas by rendezvous hashing: when a replica joins or
// leaves, only the shards it gains or loses move.
import { createHash } from 'node:crypto';

/** FNV-1a over the function's name: cheap enough for every request. */
export function shardOf(functionName: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < functionName.length; i++) {
    hash ^= functionName.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}

function score(shard: number, member: string): bigint {
  return createHash('sha256').update(`${shard}/${member}`).digest().readBigUInt64BE(0);
}

/** The live member a shard belongs to (highest rendezvous score), or undefined when none is live. */
export function desiredOwner(shard: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const member of members) {
    const s = score(shard, member);
    if (s > bestScore || (s === bestScore && best !== undefined && member < best)) {
      best = member;
      bestScore = s;
    }
  }
  return best;
}

export interface ShardView {
  /** The member named in the shard's Lease ('' when released or never held). */
  holder: string;
}

export interface ShardDecisions {
  /** Free shards (or held by a member no longer live) this replica should take now. */
  acquire: number[];
  /** Shards this replica holds that belong to another live member: drain, then release. */
  handOver: number[];
}

/**
 * What `self` should do with each shard. `ring` is the members shards are planned over: the
 * live ones that are not leaving (including `self`, unless it is leaving). `alive` is every
 * member still renewing, leaving ones too. A shard held by an alive member is never taken, not
 * even from one that is leaving: its holder hands it over after finishing the work it has in
 * flight on the shard's environments, and only then may another replica use them. A shard is
 * taken when it is free or its holder stopped renewing.
 */
export function planShards(
  self: string,
  ring: readonly string[],
  shards: ReadonlyMap<number, ShardView>,
  shardCount: number,
  alive: ReadonlySet<string> = new Set(ring),
): ShardDecisions {
  const acquire: number[] = [];
  const handOver: number[] = [];
  for (let shard = 0; shard < shardCount; shard++) {
    const holder = shards.get(shard)?.holder ?? '';
    const owner = desiredOwner(shard, ring);
    if (holder === self) {
      if (owner !== self) handOver.push(shard);
    } else if (owner === self && (holder === '' || !alive.has(holder))) {
      acquire.push(shard);
    }
  }
  return { acquire, handOver };
}

/**
 * Members whose Lease renewal this replica has seen change within `leaseDurationMs` are live.
 * Time is this replica's own clock at observation, never the writer's timestamp, so clock
 * skew between nodes cannot make a dead member look alive or a live one dead.
 */
export interface MemberObservation {
  renewTime: string;
  observedAt: number;
  /** The member is stopping: no shards are planned for it, but it still holds what it has. */
  leaving?: boolean;
}

export function liveMembers(
  observations: ReadonlyMap<string, MemberObservation>,
  now: number,
  leaseDurationMs: number,
): string[] {
  return [...observations]
    .filter(([, o]) => now - o.observedAt < leaseDurationMs)
    .map(([name]) => name)
    .sort();
}
