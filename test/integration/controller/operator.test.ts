// The operator under failure: killed in the middle of reconciling (a new one converges with
// nothing duplicated), and two replicas (only the Lease holder acts; the other takes over
// when the leader dies).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { RunningOperator } from '../../../operator/src/controller/operator.js';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig } from '../../harness/gateway-kube.js';
import { kubeconfigPath } from '../../harness/kube.js';
import {
  deleteNamespaceCompletely,
  spawnTestOperator,
  startTestOperator,
  type ChildOperator,
} from '../../harness/operator.js';
import {
  clientsFor,
  createNamespace,
  eventsFor,
  eventually,
  fnObject,
  layerObject,
  publishedVersions,
  sleep,
  versionObject,
  waitForFunction,
  type Clients,
} from './fixtures.js';

const leaseHolder = async (kc: KubeConfig, namespace: string) =>
  (await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace, name: 'lamina-operator' })).spec
    ?.holderIdentity;

describe('operator restart in the middle of reconciling', () => {
  let kc: KubeConfig;
  let ns: string;
  let api: Clients;
  const children: ChildOperator[] = [];

  before(async () => {
    kc = await adminKubeConfig();
    await installCrds(kc);
    ns = await createNamespace(kc, 'op-restart');
    api = clientsFor(kc);
  });
  after(async () => {
    for (const child of children) await child.kill();
    await deleteNamespaceCompletely(kc, ns);
  });

  it('converges after a SIGKILL, with no duplicate version numbers or layer versions', async (t) => {
    const storeDir = mkdtempSync(join(tmpdir(), 'lamina-restart-store-'));
    const config = await kubeconfigPath();
    const first = spawnTestOperator(config, { namespaces: [ns], identity: 'first', storeDir });
    children.push(first);

    const count = 12;
    await api.layers.create(ns, layerObject('shared'));
    for (let i = 0; i < count; i++) {
      await api.functions.create(
        ns,
        fnObject(`f${i}`, { publish: true, layers: [{ name: 'shared', version: 1 }] }),
      );
      await api.versions.create(ns, versionObject(`f${i}-manual`, `f${i}`));
    }
    // Kill as soon as work has visibly started, before it can have finished.
    await eventually(
      async () => {
        const active = (await api.functions.list(ns)).filter((f) => f.status?.state === 'Active').length;
        if (active < 1) throw new Error('nothing reconciled yet');
      },
      60_000,
      20,
    );
    await first.kill('SIGKILL');
    const activeAtKill = (await api.functions.list(ns)).filter((f) => f.status?.state === 'Active').length;
    const settledAtKill = (await api.versions.list(ns)).filter((v) => v.status?.version).length;
    // The kill must land mid-work, or this test proves nothing about convergence.
    assert.ok(
      activeAtKill < count || settledAtKill < count * 2,
      `all work had finished before the kill (${activeAtKill} Active, ${settledAtKill} versions numbered)`,
    );

    const second = spawnTestOperator(config, { namespaces: [ns], identity: 'second', storeDir });
    children.push(second);
    for (let i = 0; i < count; i++) await waitForFunction(api, ns, `f${i}`, 'Active', 60_000);
    await eventually(async () => {
      for (let i = 0; i < count; i++) {
        const manual = await api.versions.get(ns, `f${i}-manual`);
        assert.ok(manual?.status?.version, `f${i}-manual not settled`);
      }
    }, 60_000);
    await sleep(1000); // anything still in flight would show up now

    for (let i = 0; i < count; i++) {
      const numbers = await publishedVersions(api, ns, `f${i}`);
      assert.equal(new Set(numbers).size, numbers.length, `f${i} has duplicate version numbers: ${numbers}`);
      const versions = (await api.versions.list(ns)).filter(
        (v) => v.spec.functionName === `f${i}` && v.spec.snapshot,
      );
      const revisions = versions.map((v) => v.spec.snapshot?.revisionId);
      assert.equal(new Set(revisions).size, revisions.length, `f${i} published one configuration twice`);
      assert.equal(versions.length, 1, `f${i}: one configuration, one version (got ${numbers})`);
    }
    const layer = await api.layers.get(ns, 'shared');
    assert.deepEqual(
      layer?.status?.versions?.map((v) => v.version),
      [1],
    );
    assert.equal(await leaseHolder(kc, ns), 'second');
    t.diagnostic(
      `killed the first operator with ${activeAtKill}/${count} functions Active, ${settledAtKill} versions numbered`,
    );
  });
});

describe('two operator replicas', () => {
  let kc: KubeConfig;
  let ns: string;
  let api: Clients;
  let a: RunningOperator;
  let b: RunningOperator;

  before(async () => {
    kc = await adminKubeConfig();
    await installCrds(kc);
    ns = await createNamespace(kc, 'op-ha');
    api = clientsFor(kc);
    a = await startTestOperator(kc, { namespaces: [ns], identity: 'replica-a' });
    await eventually(() => assert.ok(a.isLeader()));
    b = await startTestOperator(kc, { namespaces: [ns], identity: 'replica-b' });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await deleteNamespaceCompletely(kc, ns);
  });

  it('lets only the lease holder reconcile', async () => {
    await sleep(1000); // several lease periods
    assert.equal(a.isLeader(), true);
    assert.equal(b.isLeader(), false);
    assert.equal(b.manager(), undefined, 'the standby runs no reconcilers');
    assert.equal(await leaseHolder(kc, ns), 'replica-a');
    await api.functions.create(ns, fnObject('one'));
    await waitForFunction(api, ns, 'one', 'Active');
    const events = await eventually(async () => {
      const list = await eventsFor(kc, ns, 'one');
      assert.ok(list.length > 0);
      return list;
    });
    assert.deepEqual([...new Set(events.map((e) => e.reportingInstance))], ['replica-a']);
  });

  it('fails over when the leader dies without releasing the lease', async () => {
    await a.stop({ release: false }); // a crash: the lease stays held until it expires
    await eventually(() => assert.ok(b.isLeader(), 'replica-b took over'), 20_000);
    assert.equal(await leaseHolder(kc, ns), 'replica-b');
    await api.functions.create(ns, fnObject('two'));
    await waitForFunction(api, ns, 'two', 'Active');
  });
});
