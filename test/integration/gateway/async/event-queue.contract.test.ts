// The EventQueue contract, run against every backend (SQLite file, NATS JetStream on a real
// nats-server): what the processor relies on to lose nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EventQueue, LeasedEvent } from '../../../../operator/src/gateway/async/event-queue.js';
import { BACKENDS, type BackendHarness } from './backends.js';

const VISIBILITY_MS = 2000;
const body = (text: string) => Buffer.from(text);

/** Leases until one comes back or the bound passes (the bound is a safety net, not a timing claim). */
async function leaseWithin(queue: EventQueue, boundMs: number): Promise<LeasedEvent | undefined> {
  const end = Date.now() + boundMs;
  while (Date.now() < end) {
    const lease = await queue.lease();
    if (lease) return lease;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

async function drain(queue: EventQueue, count: number, boundMs: number): Promise<LeasedEvent[]> {
  const got: LeasedEvent[] = [];
  const end = Date.now() + boundMs;
  while (got.length < count && Date.now() < end) {
    const lease = await queue.lease();
    if (lease) got.push(lease);
  }
  return got;
}

for (const [name, makeHarness] of BACKENDS) {
  describe(`EventQueue contract: ${name}`, () => {
    let harness: BackendHarness;
    let n = 0;
    const open = (key = `q${++n}`) => harness.open(`${key}`, VISIBILITY_MS);

    before(async () => {
      harness = await makeHarness();
    });
    after(async () => {
      await harness?.dispose();
    });

    it('hands out an enqueued event and forgets it once acked', async () => {
      const queue = await open();
      try {
        await queue.enqueue({ id: 'e1', body: body('{"a":1}') });
        const lease = await leaseWithin(queue, 5000);
        assert.ok(lease);
        assert.equal(lease.id, 'e1');
        assert.equal(lease.body.toString(), '{"a":1}');
        assert.equal(lease.deliveryCount, 1);
        await queue.ack(lease);
        assert.equal((await queue.stats()).depth, 0);
        assert.equal(await queue.lease(), undefined);
      } finally {
        await queue.close();
      }
    });

    it('hides a leased event, then delivers it again after the visibility timeout (at-least-once)', async () => {
      const queue = await open();
      try {
        await queue.enqueue({ id: 'e1', body: body('1') });
        const first = await leaseWithin(queue, 5000);
        assert.ok(first);
        const leasedAt = Date.now();
        assert.equal(await queue.lease(), undefined, 'a leased event is invisible to other leases');
        const again = await leaseWithin(queue, VISIBILITY_MS * 5);
        assert.ok(again, 'the unacked event came back');
        assert.ok(Date.now() - leasedAt >= VISIBILITY_MS - 100, 'not before the visibility timeout');
        assert.equal(again.id, 'e1');
        assert.equal(again.deliveryCount, 2);
        await queue.ack(again);
        assert.equal((await queue.stats()).depth, 0);
      } finally {
        await queue.close();
      }
    });

    it('keeps a lease alive while it is extended', async () => {
      const queue = await open();
      try {
        await queue.enqueue({ id: 'e1', body: body('1') });
        const lease = await leaseWithin(queue, 5000);
        assert.ok(lease);
        for (let i = 0; i < 4; i++) {
          await new Promise((r) => setTimeout(r, VISIBILITY_MS / 2));
          await queue.extend(lease);
        }
        assert.equal(await queue.lease(), undefined, 'still leased after twice the visibility timeout');
        await queue.ack(lease);
      } finally {
        await queue.close();
      }
    });

    it('requeues with a due time and a new body, not handing it out before it is due', async () => {
      const queue = await open();
      try {
        await queue.enqueue({ id: 'e1', body: body('v1') });
        const lease = await leaseWithin(queue, 5000);
        assert.ok(lease);
        const dueAt = Date.now() + 1500;
        await queue.requeue(lease, dueAt, body('v2'));
        const again = await leaseWithin(queue, 10_000);
        assert.ok(again);
        assert.ok(Date.now() >= dueAt, 'leased only once due');
        assert.equal(again.id, 'e1');
        assert.equal(again.body.toString(), 'v2');
        await queue.requeue(again, Date.now());
        const third = await leaseWithin(queue, 5000);
        assert.equal(third?.body.toString(), 'v2', 'requeue without a body keeps the body');
        await queue.ack(third!);
      } finally {
        await queue.close();
      }
    });

    it('does not hand out an event enqueued with a future due time early', async () => {
      const queue = await open();
      try {
        const dueAt = Date.now() + 1500;
        await queue.enqueue({ id: 'later', body: body('x'), dueAt });
        const lease = await leaseWithin(queue, 10_000);
        assert.ok(lease);
        assert.ok(Date.now() >= dueAt);
        await queue.ack(lease);
      } finally {
        await queue.close();
      }
    });

    it('hands out every event exactly once when all are acked (order not required); a repeated id is one event', async () => {
      const queue = await open();
      try {
        const ids = Array.from({ length: 50 }, (_, i) => `e${i}`);
        await Promise.all(ids.map((id) => queue.enqueue({ id, body: body(id) })));
        await queue.enqueue({ id: 'e7', body: body('duplicate') });
        assert.equal((await queue.stats()).depth, 50);
        const leases = await drain(queue, 50, 20_000);
        for (const lease of leases) await queue.ack(lease);
        assert.deepEqual(leases.map((l) => l.id).sort(), [...ids].sort());
        assert.equal(leases.find((l) => l.id === 'e7')?.body.toString(), 'e7');
        assert.equal(await queue.lease(), undefined);
      } finally {
        await queue.close();
      }
    });

    it('keeps events across a close and a restart of the backend, leased ones included', async () => {
      const key = `durable${++n}`;
      let queue = await open(key);
      const ids = ['a', 'b', 'c', 'd', 'e'];
      for (const id of ids) await queue.enqueue({ id, body: body(id) });
      const inFlight = await leaseWithin(queue, 5000);
      assert.ok(inFlight);
      await queue.close();
      await harness.restart();
      queue = await open(key);
      try {
        assert.equal((await queue.stats()).depth, 5);
        const leases = await drain(queue, 5, VISIBILITY_MS * 10);
        for (const lease of leases) await queue.ack(lease);
        assert.deepEqual(leases.map((l) => l.id).sort(), ids);
      } finally {
        await queue.close();
      }
    });

    it('reports depth, oldest age and dead letters', async () => {
      const queue = await open();
      try {
        const empty = await queue.stats();
        assert.equal(empty.depth, 0);
        assert.equal(empty.oldestEnqueuedAt, undefined);
        const before = Date.now();
        await queue.enqueue({ id: 'x', body: body('x') });
        await queue.enqueue({ id: 'y', body: body('y') });
        const stats = await queue.stats();
        assert.equal(stats.depth, 2);
        assert.ok(stats.oldestEnqueuedAt !== undefined && stats.oldestEnqueuedAt >= before - 1000);
        assert.ok(stats.oldestEnqueuedAt <= Date.now());
        const lease = await leaseWithin(queue, 5000);
        assert.ok(lease);
        assert.equal((await queue.stats()).depth, 2, 'a leased event still counts');
        await queue.deadLetter(lease, 'RetriesExhausted');
        const after = await queue.stats();
        assert.equal(after.depth, 1);
        assert.equal(after.deadLettered, 1);
        const [dead] = await queue.deadLetters(10);
        assert.equal(dead?.id, lease.id);
        assert.equal(dead?.reason, 'RetriesExhausted');
        assert.equal(dead?.body.toString(), lease.body.toString());
      } finally {
        await queue.close();
      }
    });

    it('ignores a second ack of the same lease', async () => {
      const queue = await open();
      try {
        await queue.enqueue({ id: 'once', body: body('1') });
        const lease = await leaseWithin(queue, 5000);
        assert.ok(lease);
        await queue.ack(lease);
        await queue.ack(lease);
        await queue.enqueue({ id: 'other', body: body('2') });
        await queue.requeue(lease, Date.now());
        assert.equal((await queue.stats()).depth, 1);
      } finally {
        await queue.close();
      }
    });
  });
}
