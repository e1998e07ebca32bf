// Requests waiting for their function's shard to have an owner: they run as soon as the
// coordinator says the routes changed (not on a timer each), all of them on one timer
// meanwhile, and give up with ServiceException after the owner wait.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InvokeOutcome, InvokePort } from '../../../../operator/src/gateway/dispatch/invoker.js';
import type { ShardRoute } from '../../../../operator/src/gateway/sharding/coordinator.js';
import type { ForwardClient } from '../../../../operator/src/gateway/sharding/forward.js';
import { ShardedInvoker } from '../../../../operator/src/gateway/sharding/sharded-invoker.js';
import type { InvokeTarget } from '../../../../operator/src/gateway/routing/resolve-target.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';
import { ServiceException } from '../../../../operator/src/errors.js';
import { FunctionMovedError } from '../../../../operator/src/gateway/environments/environment-pool.js';

const target = { functionName: 'orders', namespace: 'team-a', snapshot: { timeout: 3 } } as InvokeTarget;
const outcome = { statusCode: 200 } as unknown as InvokeOutcome;

function setup() {
  const clock = new ManualClock(1_000);
  let route: ShardRoute = { kind: 'wait' };
  let ran = 0;
  const local: InvokePort = {
    resolve: () => target,
    invoke: async () => {
      ran += 1;
      return outcome;
    },
  };
  const coordinator = {
    route: () => route,
    shardOf: () => 7,
    settled: () => undefined,
    nudge: () => undefined,
    serves: () => route.kind === 'local',
  };
  const invoker = new ShardedInvoker(local, coordinator, {} as ForwardClient, clock, {
    ownerWaitMs: 15_000,
    forwardSlackMs: 1_000,
  });
  return {
    clock,
    invoker,
    serveHere: () => (route = { kind: 'local' }),
    ran: () => ran,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ShardedInvoker waiting for an owner', () => {
  it('runs every waiting request when the routes change, without time passing', async () => {
    const { clock, invoker, serveHere, ran } = setup();
    const waiting = Array.from({ length: 100 }, () => invoker.invoke(target, Buffer.from('{}'), {} as never));
    await settle();
    assert.equal(invoker.waiting(), 100);
    assert.equal(clock.pendingTimers(), 1, 'one timer for all of them');
    serveHere();
    invoker.routesChanged();
    const outcomes = await Promise.all(waiting);
    assert.equal(ran(), 100);
    assert.ok(outcomes.every((o) => o === outcome));
    assert.equal(invoker.waiting(), 0);
    assert.equal(clock.now(), 1_000, 'no time passed');
  });

  it('looks again on its own timer when nothing says the routes changed', async () => {
    const { clock, invoker, serveHere, ran } = setup();
    const waiting = invoker.invoke(target, Buffer.from('{}'), {} as never);
    await settle();
    serveHere(); // a hand-over hold ran out: nothing announces it
    clock.advance(50);
    assert.equal(await waiting, outcome);
    assert.equal(ran(), 1);
  });

  it('counts only the time with no owner: a long attempt cut off by a move does not use it up', async () => {
    const clock = new ManualClock(1_000);
    let calls = 0;
    const local: InvokePort = {
      resolve: () => target,
      invoke: async () => {
        calls += 1;
        if (calls === 1) {
          clock.advance(20_000); // a cold start that took 20 s, then the function moved
          throw new FunctionMovedError();
        }
        return outcome;
      },
    };
    const coordinator = {
      route: (): ShardRoute => ({ kind: 'local' }),
      shardOf: () => 7,
      settled: () => undefined,
      nudge: () => undefined,
      serves: () => true,
    };
    const invoker = new ShardedInvoker(local, coordinator, {} as ForwardClient, clock, {
      ownerWaitMs: 15_000,
      forwardSlackMs: 1_000,
    });
    const waiting = invoker.invoke(target, Buffer.from('{}'), {} as never);
    await settle();
    clock.advance(50);
    assert.equal(await waiting, outcome);
    assert.equal(calls, 2);
  });

  it('answers ServiceException once the owner wait is over', async () => {
    const { clock, invoker, ran } = setup();
    const waiting = invoker.invoke(target, Buffer.from('{}'), {} as never);
    const failed = assert.rejects(waiting, (err: unknown) => {
      assert.ok(err instanceof ServiceException);
      assert.match(err.message, /No gateway replica serves function orders/);
      return true;
    });
    for (let t = 0; t <= 15_000; t += 50) {
      await settle();
      clock.advance(50);
    }
    await failed;
    assert.equal(ran(), 0);
    assert.equal(invoker.waiting(), 0);
  });
});
