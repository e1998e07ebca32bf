// Gateway replicas sharing a namespace's unreserved concurrency on a real kube-apiserver: each
// replica's coordinator lists the Leases every round and hands the budget Lease to its
// UnreservedBudget; invokes on one replica ask for more. The grants in the Lease never add up
// past the pool, not even while three replicas ask at once; a busy replica gets most of the
// pool once the others have given back their headroom; a dead replica's grant is taken back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ShardCoordinator } from '../../../../operator/src/gateway/sharding/coordinator.js';
import {
  BUDGET_LEASE,
  GRANTS_ANNOTATION,
  UnreservedBudget,
} from '../../../../operator/src/gateway/sharding/unreserved-budget.js';
import { parseBudget } from '../../../../operator/src/gateway/sharding/unreserved.js';
import { systemClock } from '../../../../operator/src/shared/clock.js';
import { testCoordinatorOptions, testLog as log } from './coordinator-options.js';
import { adminKubeConfig, createTestNamespace, waitFor } from '../../../harness/gateway-kube.js';

const CAPACITY = 100;

/** One replica: a coordinator, its budget, and the executions it counts (as the ledger would). */
interface Replica {
  name: string;
  coordinator: ShardCoordinator;
  budget: UnreservedBudget;
  used: number;
  peak: number;
}

describe('the unreserved budget shared by gateway replicas', () => {
  let kc: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  const replicas: Replica[] = [];
  let keepAlive: NodeJS.Timeout;

  const replica = (name: string): Replica => {
    const r = { name, used: 0, peak: 0 } as Replica;
    r.budget = new UnreservedBudget(
      kc,
      { namespace: ns.name, identity: name, peakRounds: 3, clock: systemClock, log },
      {
        namespaceNames: () => ['fns'],
        unreservedOnDemand: () => ({ used: r.used, capacity: CAPACITY }),
        takeUnreservedPeak: () => {
          const peak = Math.max(r.peak, r.used);
          r.peak = r.used;
          return peak;
        },
      },
    );
    r.coordinator = new ShardCoordinator(kc, testCoordinatorOptions(ns.name, name, 4), {
      acquired: () => undefined,
      released: () => undefined,
      inFlight: () => 0,
      waiting: () => 0,
      routesChanged: () => undefined,
      observed: (alive, lease) => void r.budget.observed(lease, alive),
    });
    replicas.push(r);
    return r;
  };

  /** Admits one execution on `r` the way the pool does: within its grant, asking for more. */
  const admit = async (r: Replica, waitMs = 2500): Promise<boolean> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (r.used < r.budget.grant('fns')) {
        r.used += 1;
        r.peak = Math.max(r.peak, r.used);
        return true;
      }
      if (!(await r.budget.more('fns', deadline))) return false;
    }
  };

  const grants = async () => {
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: BUDGET_LEASE, namespace: ns.name });
    return parseBudget(lease.metadata?.annotations?.[GRANTS_ANNOTATION]).fns ?? {};
  };
  const total = (g: Record<string, { grant: number }>) => Object.values(g).reduce((s, e) => s + e.grant, 0);

  before(async () => {
    keepAlive = setInterval(() => undefined, 1000);
    kc = await adminKubeConfig();
    ns = await createTestNamespace(kc, 'budget');
  });

  after(async () => {
    for (const r of replicas) {
      r.coordinator.stop();
      r.budget.stop();
    }
    await ns.dispose();
    clearInterval(keepAlive);
  });

  it('never grants more than the pool while three replicas ask at once, and admits the pool in full', async () => {
    const rs = [replica('gw-a'), replica('gw-b'), replica('gw-c')];
    await Promise.all(rs.map((r) => r.coordinator.start()));
    // 150 invokes for a pool of 100, spread over the three replicas and sent together.
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => admit(rs[i % 3]!)));
    const admitted = results.filter(Boolean).length;
    const g = await grants();
    assert.ok(total(g) <= CAPACITY, `grants ${JSON.stringify(g)} add up past the pool`);
    for (const r of rs) {
      assert.ok(
        r.used <= (g[r.name]?.grant ?? 0),
        `${r.name} runs ${r.used}, granted ${JSON.stringify(g[r.name])}`,
      );
    }
    assert.equal(admitted, CAPACITY, `admitted ${admitted} of 150 with a pool of ${CAPACITY}`);
  });

  it('lets one busy replica have the pool once the others are idle', { timeout: 40_000 }, async () => {
    const [a, b, c] = replicas;
    b!.used = 0;
    c!.used = 0;
    a!.used = 0;
    // The idle ones give back their grants within a few rounds; a takes nearly all.
    const results = await Promise.all(Array.from({ length: 95 }, () => admit(a!, 5000)));
    assert.equal(results.filter(Boolean).length, 95);
    const g = await grants();
    assert.ok(total(g) <= CAPACITY, `grants ${JSON.stringify(g)}`);
    assert.ok((g['gw-a']?.grant ?? 0) >= 95, `gw-a holds ${JSON.stringify(g['gw-a'])}`);
    // At the limit: the next invoke is refused, not left waiting (the test's timeout is shorter
    // than this wait) for a grant that cannot come.
    a!.used = CAPACITY;
    await waitFor(
      'gw-a holds the whole pool',
      async () => (await grants())['gw-a']?.grant === CAPACITY,
      10_000,
    );
    assert.equal(await admit(a!, 120_000), false);
  });

  it('takes back the grant of a replica that stopped renewing', async () => {
    const [a, b] = replicas;
    a!.used = 0;
    b!.used = 40;
    const results = await Promise.all(Array.from({ length: 10 }, () => admit(b!, 8000)));
    assert.equal(results.filter(Boolean).length, 10);
    b!.coordinator.stop(); // as if killed: its grant stays in the Lease, nobody renews its member Lease
    b!.budget.stop();
    await waitFor(
      'the dead replica’s grant is removed',
      async () => (await grants())['gw-b'] === undefined,
      15_000,
    );
    const results2 = await Promise.all(Array.from({ length: 90 }, () => admit(a!, 5000)));
    assert.equal(results2.filter(Boolean).length, 90);
  });

  it('writes the grants again when the Lease is deleted', async () => {
    const [a] = replicas;
    a!.used = 0;
    await kc
      .makeApiClient(CoordinationV1Api)
      .deleteNamespacedLease({ name: BUDGET_LEASE, namespace: ns.name });
    const results = await Promise.all(Array.from({ length: 20 }, () => admit(a!, 5000)));
    assert.equal(results.filter(Boolean).length, 20);
    // Its next change of grant finds no Lease, counts nothing as granted, and creates it anew.
    await waitFor(
      'the budget Lease written again with what gw-a runs',
      async () => ((await grants().catch(() => undefined))?.['gw-a']?.grant ?? 0) >= 20,
      15_000,
    );
  });
});
