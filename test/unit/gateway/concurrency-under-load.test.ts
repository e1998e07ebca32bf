// The gateway's throttling end to end with fake agents: parallel invokes never exceed the
// reservation, every extra call is a 429 with the right Reason, none is lost or hangs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeFunction } from './fixtures.js';
import { tick } from './fake-provider.js';
import { testGateway } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('concurrency under load', () => {
  it('runs at most 3 of 50 parallel invokes when reserved is 3 and 429s the rest', async () => {
    const t = await testGateway({ slow: async () => (await sleep(200), { body: 'done' }) });
    try {
      t.catalog.upsertFunction(activeFunction('slow', { reservedConcurrentExecutions: 3 }));
      await tick();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          t.app.inject({ method: 'POST', url: '/2015-03-31/functions/slow/invocations', payload: '{}' }),
        ),
      );
      const ok = responses.filter((r) => r.statusCode === 200);
      const throttled = responses.filter((r) => r.statusCode === 429);
      assert.equal(ok.length + throttled.length, 50);
      assert.equal(ok.length, 3);
      assert.equal(t.agents.maxRunning, 3);
      for (const r of throttled) {
        assert.equal(r.json().Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
      }
    } finally {
      await t.close();
    }
  });

  it('throttles scale-out beyond the burst with FunctionInvocationRateLimitExceeded, then reuses warm environments', async () => {
    const t = await testGateway(
      { slow: async () => (await sleep(100), { body: 'done' }) },
      { settings: { scaling: { burst: 2, rate: 1, intervalMs: 60_000 } } },
    );
    try {
      t.catalog.upsertFunction(activeFunction('slow'));
      await tick();
      const call = () =>
        t.app.inject({ method: 'POST', url: '/2015-03-31/functions/slow/invocations', payload: '{}' });
      const first = await Promise.all(Array.from({ length: 5 }, call));
      assert.deepEqual(first.map((r) => r.statusCode).sort(), [200, 200, 429, 429, 429]);
      const throttled = first.find((r) => r.statusCode === 429)!;
      assert.equal(throttled.json().Reason, 'FunctionInvocationRateLimitExceeded');
      assert.equal(throttled.headers['retry-after'], '60');
      // Two warm environments now exist: two parallel calls need no new one.
      const second = await Promise.all([call(), call()]);
      assert.deepEqual(
        second.map((r) => r.statusCode),
        [200, 200],
      );
      assert.equal(t.provider.created.length, 2);
    } finally {
      await t.close();
    }
  });

  it('applies a lowered namespace limit at runtime', async () => {
    const t = await testGateway({ slow: async () => (await sleep(100), { body: 'done' }) });
    try {
      t.catalog.upsertFunction(activeFunction('slow'));
      await tick();
      t.gateway.updateSettings({ namespaceConcurrencyLimit: 2, unreservedConcurrencyMinimum: 0 });
      const responses = await Promise.all(
        Array.from({ length: 4 }, () =>
          t.app.inject({ method: 'POST', url: '/2015-03-31/functions/slow/invocations', payload: '{}' }),
        ),
      );
      const throttled = responses.filter((r) => r.statusCode === 429);
      assert.equal(throttled.length, 2);
      assert.equal(throttled[0]!.json().Reason, 'ConcurrentInvocationLimitExceeded');
    } finally {
      await t.close();
    }
  });
});
