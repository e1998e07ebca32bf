// What a user and a platform team see: `kubectl get` and `kubectl describe`, Prometheus
// metrics, and artifact-store garbage collection driven by what the cluster references.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collectGarbage } from '../../../operator/src/controller/gc.js';
import { OperatorMetrics } from '../../../operator/src/controller/metrics.js';
import { systemClock } from '../../../operator/src/shared/clock.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { kubectl } from '../../harness/kube.js';
import { rawZip } from '../../unit/store/zips.js';
import {
  eventually,
  fnObject,
  layerObject,
  setUp,
  sleep,
  waitForFunction,
  type Environment,
} from './fixtures.js';

describe('what users and operators see', () => {
  let env: Environment;

  before(async () => {
    env = await setUp('op-obs');
    await env.api.layers.create(env.ns, layerObject('deps'));
    await env.api.functions.create(
      env.ns,
      fnObject('hello', { publish: true, layers: [{ name: 'deps', version: 1 }] }),
    );
    await env.api.functions.create(env.ns, fnObject('broken', { layers: [{ name: 'deps', version: 7 }] }));
    await waitForFunction(env.api, env.ns, 'hello', 'Active');
    await waitForFunction(env.api, env.ns, 'broken', 'Failed');
    await eventually(async () =>
      assert.equal((await env.api.versions.get(env.ns, 'hello-v1'))?.status?.state, 'Active'),
    );
  });
  after(() => env?.dispose());

  it('`kubectl get fn,lv,ver` shows state, latest version and layer version', async () => {
    const { stdout } = await kubectl('get', 'fn,lv,ver', '-n', env.ns);
    assert.match(stdout, /function\.lamina\.dev\/hello\s+nodejs20\.x\s+Active\s+1\s/);
    assert.match(stdout, /function\.lamina\.dev\/broken\s+nodejs20\.x\s+Failed\s/);
    assert.match(stdout, /layer\.lamina\.dev\/deps\s+1\s+Active\s/);
    assert.match(stdout, /version\.lamina\.dev\/hello-v1\s+hello\s+1\s+Active\s/);
  });

  it('`kubectl get fn -o wide` gives the reason a function failed', async () => {
    const { stdout } = await kubectl('get', 'fn', 'broken', '-n', env.ns, '-o', 'wide');
    assert.match(stdout, /Layer version .*deps:7 does not exist; the latest version is 1/);
  });

  it('`kubectl describe fn` shows conditions and events', async () => {
    const { stdout } = await kubectl('describe', 'fn', 'broken', '-n', env.ns);
    assert.match(stdout, /Type:\s+LayersResolved[\s\S]*Status:\s+False/);
    assert.match(stdout, /Warning\s+LayerNotFound/);
    const hello = await kubectl('describe', 'fn', 'hello', '-n', env.ns);
    assert.match(hello.stdout, /Normal\s+Active/);
    assert.match(hello.stdout, /Normal\s+Published\s+.*Published version 1/);
  });

  it('writes nothing once converged (idempotent reconciles, no hot loop)', async () => {
    const versions = async () =>
      Object.fromEntries(
        (
          await Promise.all([
            env.api.functions.list(env.ns),
            env.api.layers.list(env.ns),
            env.api.versions.list(env.ns),
          ])
        )
          .flat()
          .map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
      );
    const before = await versions();
    await sleep(1500);
    assert.deepEqual(await versions(), before);
  });

  it('serves Prometheus metrics by kind', async () => {
    const response = await fetch(`http://127.0.0.1:${env.operator.metricsPort}/metrics`);
    const text = await response.text();
    assert.match(text, /lamina_operator_reconcile_total\{kind="Function",result="success"\} [1-9]/);
    assert.match(text, /lamina_operator_reconcile_duration_seconds_bucket\{le="[^"]+",kind="Layer"\}/);
    assert.match(text, /lamina_operator_leader 1/);
    assert.equal((await fetch(`http://127.0.0.1:${env.operator.metricsPort}/readyz`)).status, 200);
  });

  it('garbage-collects only unreferenced blobs older than the grace period', async () => {
    const orphan = await env.operator.store.put(rawZip([{ name: 'orphan.js', data: 'nobody uses me' }]));
    const manager = env.operator.manager();
    assert.ok(manager);
    const options = {
      store: env.operator.store,
      cache: manager.context.cache,
      clock: systemClock,
      log: createLogger({}, 'error'),
      metrics: new OperatorMetrics(),
      intervalMs: 1000,
    };
    assert.deepEqual(await collectGarbage({ ...options, graceMs: 3_600_000 }), [], 'too young to collect');
    const collected = await collectGarbage({ ...options, graceMs: 0 });
    assert.ok(collected.includes(orphan.sha256));
    assert.equal(await env.operator.store.stat(orphan.sha256), undefined);
    // (The failed function's freshly zipped code is collectable too: status never recorded it,
    // and inline code is simply zipped again on its next reconcile.)
    const hello = await env.api.functions.get(env.ns, 'hello');
    assert.ok(await env.operator.store.stat(hello?.status?.codeSha256 ?? ''), 'function code kept');
    assert.ok(await env.operator.store.stat(hello?.status?.layers?.[0]?.sha256 ?? ''), 'pinned layer kept');
  });
});
