import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  desiredOwner,
  liveMembers,
  planShards,
  shardOf,
} from '../../../../operator/src/gateway/sharding/ring.js';

const SHARDS = 64;

function owners(members: string[]): Map<number, string | undefined> {
  return new Map(Array.from({ length: SHARDS }, (_, s) => [s, desiredOwner(s, members)]));
}

describe('shard ring', () => {
  it('puts every name in one shard, the same every time', () => {
    for (const name of ['hello', 'a', 'checkout-api', 'x'.repeat(64)]) {
      const shard = shardOf(name, SHARDS);
      assert.ok(shard >= 0 && shard < SHARDS);
      assert.equal(shardOf(name, SHARDS), shard);
    }
  });

  it('spreads shards over members roughly evenly', () => {
    const counts = new Map<string, number>();
    for (const owner of owners(['gw-a', 'gw-b', 'gw-c']).values()) {
      counts.set(owner ?? '', (counts.get(owner ?? '') ?? 0) + 1);
    }
    assert.equal(counts.size, 3);
    for (const n of counts.values()) assert.ok(n >= 10, `a member got only ${n} of ${SHARDS} shards`);
  });

  it('moves only the shards of a member that leaves or joins', () => {
    const before = owners(['gw-a', 'gw-b', 'gw-c']);
    const after = owners(['gw-a', 'gw-b']);
    for (const [shard, owner] of before) {
      if (owner !== 'gw-c') assert.equal(after.get(shard), owner, `shard ${shard} moved needlessly`);
    }
    const joined = owners(['gw-a', 'gw-b', 'gw-c', 'gw-d']);
    for (const [shard, owner] of joined) {
      if (owner !== 'gw-d') assert.equal(before.get(shard), owner, `shard ${shard} moved needlessly`);
    }
  });

  it('has no owner without members', () => {
    assert.equal(desiredOwner(3, []), undefined);
  });
});

describe('planShards', () => {
  const live = ['gw-a', 'gw-b'];
  const mine = [...owners(live)].filter(([, o]) => o === 'gw-a').map(([s]) => s);
  const theirs = [...owners(live)].filter(([, o]) => o === 'gw-b').map(([s]) => s);

  it('takes its free shards and leaves the others', () => {
    const plan = planShards('gw-a', live, new Map(), SHARDS);
    assert.deepEqual(plan.acquire, mine);
    assert.deepEqual(plan.handOver, []);
  });

  it('takes its shards from a member that is no longer live, never from a live one', () => {
    const shards = new Map(mine.map((s) => [s, { holder: s % 2 ? 'gw-b' : 'gw-dead' }]));
    const plan = planShards('gw-a', live, shards, SHARDS);
    assert.deepEqual(
      plan.acquire,
      mine.filter((s) => s % 2 === 0),
    );
  });

  it('never takes a shard from a member that is leaving but still renews; takes it once released', () => {
    // gw-c is stopping: the ring plans without it, but it still finishes its invocations.
    const shards = new Map(mine.map((s) => [s, { holder: 'gw-c' }]));
    const alive = new Set(['gw-a', 'gw-b', 'gw-c']);
    assert.deepEqual(planShards('gw-a', live, shards, SHARDS, alive).acquire, []);
    const released = new Map(mine.map((s) => [s, { holder: s % 2 ? 'gw-c' : '' }]));
    assert.deepEqual(
      planShards('gw-a', live, released, SHARDS, alive).acquire,
      mine.filter((s) => s % 2 === 0),
    );
    // Once it stops renewing it is not alive: its shards are taken.
    assert.deepEqual(planShards('gw-a', live, shards, SHARDS, new Set(live)).acquire, mine);
  });

  it('hands over what it holds of another live member', () => {
    const shards = new Map(theirs.map((s) => [s, { holder: 'gw-a' }]));
    const plan = planShards('gw-a', live, shards, SHARDS);
    assert.deepEqual(plan.handOver, theirs);
  });

  it('hands over everything when it is not live itself (leaving)', () => {
    const shards = new Map(mine.map((s) => [s, { holder: 'gw-a' }]));
    const plan = planShards('gw-a', ['gw-b'], shards, SHARDS);
    assert.deepEqual(plan.handOver, mine);
    assert.deepEqual(plan.acquire, []);
  });
});

describe('liveMembers', () => {
  it('counts a member live while its renewal was seen changing within the lease duration', () => {
    const seen = new Map([
      ['gw-a', { renewTime: '1', observedAt: 10_000 }],
      ['gw-b', { renewTime: '1', observedAt: 5_000 }],
    ]);
    assert.deepEqual(liveMembers(seen, 12_000, 4000), ['gw-a']);
    assert.deepEqual(liveMembers(seen, 8_000, 4000), ['gw-a', 'gw-b']);
  });
});
