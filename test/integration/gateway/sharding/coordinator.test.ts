// Shard ownership among gateway replicas on a real kube-apiserver: three coordinators share
// the shards with no shard held twice, a replica that stops cleanly hands its shards over at
// once, one that dies (stops renewing, keeps its Leases) loses them to the others after the
// lease duration, and a shard is released only once its work in flight is done.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { POOL_LABELS } from '../../../../operator/src/gateway/pool/pool-pod.js';
import {
  OrphanPoolReaper,
  shardedView,
  soleReplicaView,
} from '../../../../operator/src/gateway/sharding/orphan-pools.js';
import {
  type CoordinatorHooks,
  LEASE_LABEL,
  ShardCoordinator,
} from '../../../../operator/src/gateway/sharding/coordinator.js';
import { testCoordinatorOptions, testLog as log } from './coordinator-options.js';
import { adminKubeConfig, createTestNamespace, waitFor } from '../../../harness/gateway-kube.js';

const SHARDS = 16;

interface Replica {
  name: string;
  coordinator: ShardCoordinator;
  inFlight: Map<number, number>;
  acquired: number[];
  released: number[];
}

describe('shard coordinator', () => {
  let kc: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  const replicas: Replica[] = [];

  const replica = (name: string): Replica => {
    const r: Replica = { name, inFlight: new Map(), acquired: [], released: [] } as unknown as Replica;
    const hooks: CoordinatorHooks = {
      acquired: (s) => r.acquired.push(...s),
      released: (s) => r.released.push(...s),
      inFlight: (s) => r.inFlight.get(s) ?? 0,
      waiting: () => 0,
      routesChanged: () => undefined,
    };
    r.coordinator = new ShardCoordinator(kc, testCoordinatorOptions(ns.name, name, SHARDS), hooks);
    replicas.push(r);
    return r;
  };

  /** Who serves each shard, as the replicas themselves say; a shard served twice fails. */
  const servers = (rs: Replica[]) => {
    const by = new Map<number, string>();
    for (let s = 0; s < SHARDS; s++) {
      for (const r of rs) {
        if (!r.coordinator.ownsShard(s)) continue;
        assert.equal(by.get(s), undefined, `shard ${s} served by ${by.get(s)} and ${r.name}`);
        by.set(s, r.name);
      }
    }
    return by;
  };

  // The coordinator's timers do not hold the process open (a gateway's server does).
  let keepAlive: NodeJS.Timeout;

  before(async () => {
    keepAlive = setInterval(() => undefined, 1000);
    kc = await adminKubeConfig();
    ns = await createTestNamespace(kc, 'sharding');
  });

  after(async () => {
    for (const r of replicas) r.coordinator.stop();
    await ns.dispose();
    clearInterval(keepAlive);
  });

  it('gives every shard to exactly one of three replicas', async () => {
    const rs = [replica('gw-a'), replica('gw-b'), replica('gw-c')];
    await Promise.all(rs.map((r) => r.coordinator.start()));
    await waitFor(
      'all shards served',
      () => servers(rs).size === SHARDS && rs.every((r) => r.coordinator.status().ownedShards > 0),
      15_000,
    );
    const leases = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({
      namespace: ns.name,
      labelSelector: LEASE_LABEL,
    });
    const holders = new Set(
      leases.items
        .filter((l) => l.metadata?.labels?.[LEASE_LABEL] === 'shard')
        .map((l) => l.spec?.holderIdentity),
    );
    assert.deepEqual([...holders].sort(), ['gw-a', 'gw-b', 'gw-c']);
    // Routing agrees with ownership (once each has seen the others' Leases): a function is
    // local on its owner and forwarded to the owner's address elsewhere.
    const owner = servers(rs).get(rs[0]!.coordinator.shardOf('hello'))!;
    await waitFor('every replica routes to the owner', () =>
      rs.every((r) => {
        const route = r.coordinator.route('hello');
        return r.name === owner
          ? route.kind === 'local'
          : route.kind === 'remote' && route.owner === owner && route.address === `http://${owner}.test:8080`;
      }),
    );
  });

  it('hands shards over only after their work in flight is done', async () => {
    const [a, b, c] = replicas;
    const shardOfC = [...servers([a!, b!, c!])].find(([, n]) => n === 'gw-c')![0];
    c!.inFlight.set(shardOfC, 1);
    const leaving = c!.coordinator.leave(20_000);
    await waitFor(
      'all but the busy shard handed over',
      () => c!.coordinator.status().ownedShards === 1,
      10_000,
    );
    // For several rounds, the leaving replica alone serves the busy shard: the others do not
    // take it from a member that still renews, even one that is leaving (its environments
    // are still running its invocations).
    for (let i = 0; i < 8; i++) {
      assert.equal(
        servers([a!, b!, c!]).get(shardOfC),
        'gw-c',
        'the busy shard stays until its work is done',
      );
      await new Promise((r) => setTimeout(r, 250));
    }
    c!.inFlight.delete(shardOfC);
    await leaving;
    await waitFor('the others serve every shard', () => servers([a!, b!]).size === SHARDS, 10_000);
  });

  it('frees, as it leaves, the shard Lease of work that outlasted its leave timeout', async () => {
    const [a, b] = replicas;
    const d = replica('gw-d');
    await d.coordinator.start();
    await waitFor(
      'the new replica serves shards',
      () => servers([a!, b!, d]).size === SHARDS && d.coordinator.status().ownedShards > 0,
      15_000,
    );
    const stuck = [...servers([a!, b!, d])].find(([, n]) => n === 'gw-d')![0];
    d.inFlight.set(stuck, 1); // an invocation that never ends
    await d.coordinator.leave(1000);
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: `lamina-gateway-shard-${stuck}`, namespace: ns.name });
    assert.notEqual(lease.spec?.holderIdentity, 'gw-d', 'the Lease no longer names the replica that left');
    assert.ok(d.released.includes(stuck), 'its environments were let go');
    await waitFor('the others serve every shard', () => servers([a!, b!]).size === SHARDS, 10_000);
    // Having left, it still follows where shards go: a request it gets is forwarded there.
    let fn = 'f0';
    for (let i = 0; d.coordinator.shardOf(fn) !== stuck; i++) fn = `f${i}`;
    const owner = servers([a!, b!]).get(stuck)!;
    await waitFor('the replica that left routes to the new owner', () => {
      const route = d.coordinator.route(fn);
      return route.kind === 'remote' && route.owner === owner;
    });
    d.coordinator.stop();
  });

  it('takes over the shards of a replica that stops renewing, after the lease duration', async () => {
    const [a, b] = replicas;
    const owned = [...servers([a!, b!])].filter(([, n]) => n === 'gw-b').map(([s]) => s);
    b!.coordinator.stop(); // as if killed: its Leases stay, nobody renews them
    const stoppedAt = Date.now();
    await waitFor(
      "the dead replica's shards taken over",
      () => owned.every((s) => a!.coordinator.ownsShard(s)),
      10_000,
    );
    const tookMs = Date.now() - stoppedAt;
    assert.ok(tookMs >= 1500, `took over after ${tookMs} ms, before the lease could have expired`);
    assert.equal(servers([a!]).size, SHARDS);
  });
});

describe('orphaned warm-pool pods', () => {
  it('are removed by the holder of shard 0 once their replica is gone; a live replica’s stay', async () => {
    const kc = await adminKubeConfig();
    const ns = await createTestNamespace(kc, 'orphans');
    const core = kc.makeApiClient(CoreV1Api);
    try {
      const pod = (name: string, owner: string) =>
        core.createNamespacedPod({
          namespace: ns.name,
          body: {
            metadata: { name, labels: { [POOL_LABELS.pool]: 'true', [POOL_LABELS.owner]: owner } },
            spec: { containers: [{ name: 'agent', image: 'lamina/runtime:dev' }] },
          },
        });
      await pod('of-live', 'gw-live');
      await pod('of-dead', 'gw-dead');
      let holdsShardZero = false;
      const reaper = new OrphanPoolReaper(
        kc,
        shardedView({
          ownsShard: (s) => s === 0 && holdsShardZero,
          status: () => ({
            identity: 'gw-live',
            serving: true,
            liveMembers: ['gw-live'],
            ownedShards: 1,
            drainingShards: 0,
            lastRenewalAgeMs: 0,
          }),
        }),
        8000,
        log,
        ns.name,
      );
      const later = Date.now() + 60_000; // both pods old enough to judge
      assert.equal(await reaper.sweep(later), 0, 'only the holder of shard 0 sweeps');
      holdsShardZero = true;
      assert.equal(await reaper.sweep(later), 1);
      const left = await core.listNamespacedPod({ namespace: ns.name });
      const alive = left.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name);
      assert.deepEqual(alive, ['of-live']);

      // A member Lease nobody renews any more goes after the grace; a live member's stays.
      const leases = kc.makeApiClient(CoordinationV1Api);
      for (const member of ['gw-live', 'gw-dead']) {
        await leases.createNamespacedLease({
          namespace: ns.name,
          body: {
            metadata: { name: `lamina-gateway-member-${member}`, labels: { [LEASE_LABEL]: 'member' } },
            spec: { holderIdentity: member, leaseDurationSeconds: 4 },
          },
        });
      }
      const members = async () =>
        (await leases.listNamespacedLease({ namespace: ns.name })).items
          .map((l) => l.spec?.holderIdentity)
          .sort();
      assert.equal(await reaper.sweep(later), 0, 'first seen not live: the grace starts');
      await reaper.sweep(later + 9000);
      assert.deepEqual(await members(), ['gw-live']);
    } finally {
      await ns.dispose();
    }
  });

  it('are removed by a single unsharded replica too (scaled down from several): pods of other owners go', async () => {
    const kc = await adminKubeConfig();
    const ns = await createTestNamespace(kc, 'orphans-sole');
    const core = kc.makeApiClient(CoreV1Api);
    try {
      for (const [name, owner] of [
        ['of-self', 'lamina.lamina-system'],
        ['of-scaled-away', 'lamina-gateway-5f9c-x2'],
      ] as const) {
        await core.createNamespacedPod({
          namespace: ns.name,
          body: {
            metadata: { name, labels: { [POOL_LABELS.pool]: 'true', [POOL_LABELS.owner]: owner } },
            spec: { containers: [{ name: 'agent', image: 'lamina/runtime:dev' }] },
          },
        });
      }
      const reaper = new OrphanPoolReaper(kc, soleReplicaView('lamina.lamina-system'), 90_000, log);
      assert.equal(await reaper.sweep(Date.now() + 60_000), 0, 'a replaced replica may still be terminating');
      assert.equal(await reaper.sweep(Date.now() + 120_000), 1);
      const left = await core.listNamespacedPod({ namespace: ns.name });
      const alive = left.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name);
      assert.deepEqual(alive, ['of-self']);
    } finally {
      await ns.dispose();
    }
  });
});
