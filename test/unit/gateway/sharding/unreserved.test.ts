import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chunkOf,
  type NamespaceGrants,
  parseBudget,
  planGrants,
} from '../../../../operator/src/gateway/sharding/unreserved.js';

const alive = new Set(['a', 'b', 'c']);
const idle = { used: 0, recentPeak: 0, waiting: 0, capacity: 1000 };

describe('planGrants', () => {
  it('gives waiting invokes what they need and a chunk, out of what the others leave free', () => {
    const grants: NamespaceGrants = { b: { grant: 300 } };
    assert.equal(chunkOf(1000), 50);
    assert.deepEqual(planGrants('a', grants, alive, { ...idle, used: 10, recentPeak: 10, waiting: 5 }), {
      b: { grant: 300 },
      a: { grant: 65 },
    });
    // Less room than needed: all of it, and says how many more it wants.
    assert.deepEqual(planGrants('a', { b: { grant: 990 } }, alive, { ...idle, used: 4, waiting: 10 }), {
      b: { grant: 990 },
      a: { grant: 10, wants: 4 },
    });
  });

  it('hands back what it does not use while another replica wants more, never below what runs', () => {
    const grants: NamespaceGrants = { a: { grant: 200 }, b: { grant: 800, wants: 30 } };
    assert.deepEqual(planGrants('a', grants, alive, { ...idle, used: 12, recentPeak: 150 }), {
      a: { grant: 12 },
      b: { grant: 800, wants: 30 },
    });
  });

  it('keeps a chunk of headroom over its recent peak, tops it up, gives back the excess, and drops out when idle', () => {
    const busy = { ...idle, used: 100, recentPeak: 120 };
    // 170 = peak 120 + a chunk: kept.
    assert.equal(planGrants('a', { a: { grant: 170 } }, alive, busy).a?.grant, 170);
    // 400 is more than a chunk above that: back to 170.
    assert.equal(planGrants('a', { a: { grant: 400 } }, alive, busy).a?.grant, 170);
    // Less than half a chunk left above what runs: topped up to a chunk.
    assert.equal(planGrants('a', { a: { grant: 110 } }, alive, busy).a?.grant, 150);
    // Nothing ran over the window: the entry goes.
    assert.deepEqual(planGrants('a', { a: { grant: 50 }, b: { grant: 5 } }, alive, idle), {
      b: { grant: 5 },
    });
  });

  it('removes the grants of members no longer alive, unless the members are not known yet', () => {
    const grants: NamespaceGrants = { a: { grant: 60 }, gone: { grant: 900 } };
    const use = { ...idle, used: 10, recentPeak: 10, waiting: 100 };
    assert.deepEqual(planGrants('a', grants, alive, use), { a: { grant: 160 } });
    assert.deepEqual(planGrants('a', grants, alive, use, true), {
      gone: { grant: 900 },
      a: { grant: 100, wants: 10 },
    });
  });

  it('shrinks toward what runs when the pool shrinks under the grants (a new reservation)', () => {
    const grants: NamespaceGrants = { a: { grant: 500 }, b: { grant: 400 } };
    assert.equal(
      planGrants('a', grants, alive, { ...idle, used: 80, recentPeak: 500, capacity: 600 }).a?.grant,
      200,
    );
    assert.equal(
      planGrants('a', grants, alive, { ...idle, used: 300, recentPeak: 500, capacity: 600 }).a?.grant,
      300,
    );
  });

  it('returns the same object when nothing changes (no write needed)', () => {
    const grants: NamespaceGrants = { a: { grant: 170 } };
    assert.equal(planGrants('a', grants, alive, { ...idle, used: 100, recentPeak: 120 }), grants);
  });

  it('never lets the grants add up past the pool, whatever order three replicas write in', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const capacity = 100;
    const members = ['a', 'b', 'c'];
    const used = new Map(members.map((m) => [m, 0]));
    let grants: NamespaceGrants = {};
    for (let step = 0; step < 5000; step++) {
      const m = members[Math.floor(random() * 3)]!;
      // Admission within the grant in force, or releases.
      const own = grants[m]?.grant ?? 0;
      const u = used.get(m)!;
      const next =
        random() < 0.6
          ? Math.min(own, u + Math.floor(random() * 20))
          : Math.max(0, u - Math.floor(random() * 20));
      used.set(m, next);
      const waiting = next === own && random() < 0.5 ? Math.floor(random() * 30) : 0;
      grants = planGrants(m, grants, alive, {
        used: next,
        recentPeak: next + Math.floor(random() * 10),
        waiting,
        capacity,
      });
      const total = Object.values(grants).reduce((sum, e) => sum + e.grant, 0);
      assert.ok(total <= capacity, `step ${step}: grants ${JSON.stringify(grants)} add up to ${total}`);
      for (const member of members) assert.ok((grants[member]?.grant ?? 0) >= used.get(member)!);
    }
  });
});

describe('parseBudget', () => {
  it('reads the grants and drops what is malformed', () => {
    assert.deepEqual(
      parseBudget(
        JSON.stringify({
          ns: { a: { grant: 3, wants: 2 }, b: { grant: -1 }, c: { grant: 1.5 }, d: 'x' },
          e: 4,
        }),
      ),
      { ns: { a: { grant: 3, wants: 2 } } },
    );
    assert.deepEqual(parseBudget('not json'), {});
    assert.deepEqual(parseBudget(undefined), {});
  });
});
