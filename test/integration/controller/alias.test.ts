// Aliases against a real API server: validated against the versions that exist, weighted
// routing reported in status, ownership, and one owner per alias name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Alias } from '../../../operator/src/api/index.js';
import { kubectl } from '../../harness/kube.js';
import {
  aliasObject,
  eventsFor,
  eventually,
  fnObject,
  setUp,
  versionObject,
  waitForFunction,
  type Environment,
} from './fixtures.js';

describe('Alias reconciler', () => {
  let env: Environment;

  before(async () => {
    env = await setUp('op-alias');
    await env.api.functions.create(env.ns, fnObject('calc', { publish: true }));
    await waitForFunction(env.api, env.ns, 'calc', 'Active');
    await eventually(async () =>
      assert.equal((await env.api.versions.get(env.ns, 'calc-v1'))?.status?.state, 'Active'),
    );
  });
  after(() => env?.dispose());

  const alias = (name: string, test: (a: Alias) => void) =>
    eventually(async () => {
      const a = await env.api.aliases.get(env.ns, name);
      assert.ok(a);
      test(a);
      return a;
    });

  it('resolves an alias to an existing version and is owned by the Function', async () => {
    await env.api.aliases.create(env.ns, aliasObject('live', 'calc', '1'));
    const a = await alias('live', (x) => assert.equal(x.status?.state, 'Active'));
    assert.equal(a.status?.resolvedVersion, '1');
    assert.equal(a.status?.additionalVersion, undefined);
    const fn = await env.api.functions.get(env.ns, 'calc');
    assert.equal(a.metadata.ownerReferences?.[0]?.uid, fn?.metadata.uid);
    assert.equal(a.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });

  it('points at $LATEST', async () => {
    await env.api.aliases.create(env.ns, aliasObject('dev', 'calc', '$LATEST'));
    const a = await alias('dev', (x) => assert.equal(x.status?.state, 'Active'));
    assert.equal(a.status?.resolvedVersion, '$LATEST');
  });

  it('fails while it routes to a version that does not exist, and turns Active when it is published', async () => {
    await env.api.aliases.create(
      env.ns,
      aliasObject('canary', 'calc', '1', { routingConfig: { additionalVersionWeights: { '2': 0.1 } } }),
    );
    const failed = await alias('canary', (x) => assert.equal(x.status?.state, 'Failed'));
    assert.match(failed.status?.stateReason ?? '', /version 2 of calc does not exist/);
    assert.equal(
      failed.status?.conditions?.find((c) => c.type === 'Ready')?.reason,
      'ResourceNotFoundException',
    );
    await eventually(async () => {
      const events = await eventsFor(env.kc, env.ns, 'canary');
      assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'ResourceNotFoundException'));
    });

    await env.api.versions.create(env.ns, versionObject('calc-next', 'calc'));
    await env.api.functions.patch(env.ns, 'calc', { spec: { publish: false, memorySize: 256 } });
    const a = await alias('canary', (x) => assert.equal(x.status?.state, 'Active'));
    assert.equal(a.status?.resolvedVersion, '1');
    assert.equal(a.status?.additionalVersion, '2');
    assert.equal(a.status?.additionalVersionWeight, 0.1);
    assert.match(
      a.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '',
      /90% to version 1 and 10% to version 2/,
    );
  });

  it('fails when its function does not exist', async () => {
    await env.api.aliases.create(env.ns, aliasObject('orphan', 'nope', '$LATEST'));
    const a = await alias('orphan', (x) => assert.equal(x.status?.state, 'Failed'));
    assert.match(a.status?.stateReason ?? '', /Function not found: nope/);
  });

  it('gives an alias name to the oldest object claiming it', async () => {
    await env.api.aliases.create(env.ns, aliasObject('live-copy', 'calc', '1', { name: 'live' }));
    const a = await alias('live-copy', (x) => assert.equal(x.status?.state, 'Failed'));
    assert.match(a.status?.stateReason ?? '', /Alias already exists: calc:live/);
  });

  it('shows function, version, canary and weight in `kubectl get al`', async () => {
    const { stdout } = await kubectl('get', 'al', '-n', env.ns);
    const row = stdout.split('\n').find((line) => line.startsWith('canary '));
    assert.ok(row, stdout);
    assert.deepEqual(row.split(/\s+/).slice(0, 6), ['canary', 'calc', '1', '2', '0.1', 'Active']);
  });
});
