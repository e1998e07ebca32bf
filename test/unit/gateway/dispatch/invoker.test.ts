// The invoker keeps each function's environment spec between invokes: what it keeps must follow
// the function, so a changed configuration is a new environment and an unchanged one is reused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_PATHS } from '../../../../operator/src/protocol/index.js';
import { activeFunction } from '../fixtures.js';
import { testGateway } from '../harness.js';

const path = (name: string) => `/2015-03-31/functions/${name}/invocations`;

describe('Invoker environment specs', () => {
  it('reuses the warm environment while the function is unchanged and builds a new one after a change', async () => {
    const t = await testGateway({
      greeter: ({ spec, environment }) => ({
        body: { greeting: spec.config.environment.GREETING, environment },
      }),
    });
    try {
      const invoke = async () => {
        const res = await t.app.inject({ method: 'POST', url: path('greeter'), payload: '{}' });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as { greeting: string; environment: string };
      };
      const withGreeting = (greeting: string, revisionId: string) => {
        const fn = activeFunction('greeter', { environment: { variables: { GREETING: greeting } } });
        return { ...fn, status: { ...fn.status, revisionId } };
      };

      t.catalog.upsertFunction(withGreeting('hello', 'rev-1'));
      const first = await invoke();
      assert.equal(first.greeting, 'hello');
      // The same function re-read from the API server (a new object, same revision): same environment.
      t.catalog.upsertFunction(withGreeting('hello', 'rev-1'));
      assert.deepEqual(await invoke(), first);

      t.catalog.upsertFunction(withGreeting('bonjour', 'rev-2'));
      const changed = await invoke();
      assert.equal(changed.greeting, 'bonjour');
      assert.notEqual(changed.environment, first.environment);
      assert.equal(t.provider.created.length, 2);
    } finally {
      await t.close();
    }
  });

  it('runs an invocation its environment refuses as busy (another replica’s invocation) on another environment', async () => {
    let unblock: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const t = await testGateway({
      f: async ({ event, environment }) => {
        if ((event as { block?: boolean }).block) await blocked;
        return { body: { environment } };
      },
    });
    try {
      t.catalog.upsertFunction(activeFunction('f'));
      const first = await t.app.inject({ method: 'POST', url: path('f'), payload: '{}' });
      assert.equal(first.statusCode, 200, first.body);
      const warm = (first.json() as { environment: string }).environment;
      // Someone else's invocation occupies the warm environment's agent.
      const address = t.provider.records.get(warm)!.address!;
      const foreign = fetch(`${address}${AGENT_PATHS.invoke}`, { method: 'POST', body: '{"block":true}' });
      while (t.agents.running === 0) await new Promise((r) => setTimeout(r, 5));

      const res = await t.app.inject({ method: 'POST', url: path('f'), payload: '{}' });
      assert.equal(res.statusCode, 200, res.body);
      assert.notEqual((res.json() as { environment: string }).environment, warm);
      assert.equal(t.provider.created.length, 2);
      unblock();
      assert.equal((await foreign).status, 200, 'the other invocation was not cut off');
    } finally {
      unblock();
      await t.close();
    }
  });

  it('runs an invocation whose environment cannot be reached (its pod is gone) on another one', async () => {
    const t = await testGateway({ f: ({ environment }) => ({ body: { environment } }) });
    try {
      t.catalog.upsertFunction(activeFunction('f'));
      const first = await t.app.inject({ method: 'POST', url: path('f'), payload: '{}' });
      assert.equal(first.statusCode, 200, first.body);
      const gone = (first.json() as { environment: string }).environment;
      await t.agents.kill(gone);

      const res = await t.app.inject({ method: 'POST', url: path('f'), payload: '{"n":1}' });
      assert.equal(res.statusCode, 200, res.body);
      assert.notEqual((res.json() as { environment: string }).environment, gone);
      assert.equal(t.provider.created.length, 2);
      assert.ok(t.provider.destroyed.includes(gone), 'the unreachable environment is destroyed');
      assert.equal(t.agents.invocations.length, 2, 'the invocation ran once');
    } finally {
      await t.close();
    }
  });
});
