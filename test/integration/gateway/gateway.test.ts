// The assembled gateway over a real kube-apiserver: provisioned concurrency on a Version
// becomes provisioned pods and a status the user can read; an invoke whose pod cannot start
// (no kubelet here) fails with a ServiceException after the cold-start timeout, not a hang.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { Version } from '../../../operator/src/api/index.js';
import { createGateway, type Gateway } from '../../../operator/src/gateway/gateway.js';
import { KubernetesCatalog } from '../../../operator/src/gateway/kubernetes/kubernetes-catalog.js';
import { KubernetesProvider } from '../../../operator/src/gateway/kubernetes/kubernetes-provider.js';
import { KubernetesProvisionedStatusWriter } from '../../../operator/src/gateway/kubernetes/provisioned-status-writer.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import {
  adminKubeConfig,
  createTestNamespace,
  installLaminaCrds,
  waitFor,
} from '../../harness/gateway-kube.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const log = createLogger({}, 'error');
const SNAPSHOT = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  codeSha256: 'd'.repeat(64),
  codeSize: 10,
  memorySize: 128,
  timeout: 3,
  ephemeralStorageSize: 512,
  revisionId: 'r1',
};

describe('gateway on a real API server', () => {
  let kc: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let catalog: KubernetesCatalog;
  let gateway: Gateway;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;

  before(async () => {
    kc = await adminKubeConfig();
    await installLaminaCrds(kc);
    ns = await createTestNamespace(kc, 'gwi');
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'functions',
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'pc' },
        spec: { runtime: 'nodejs20.x', handler: 'index.handler', code: { inline: { 'index.mjs': 'x' } } },
      },
    });
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...GROUP,
        namespace: ns.name,
        plural: 'functions',
        name: 'pc',
        body: {
          status: { state: 'Active', codeSha256: SNAPSHOT.codeSha256, codeSize: 10, revisionId: 'r1' },
        },
      },
      mergePatch,
    );
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'versions',
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Version',
        metadata: { name: 'pc-1' },
        spec: { functionName: 'pc', version: 1, provisionedConcurrentExecutions: 2, snapshot: SNAPSHOT },
      },
    });
    catalog = new KubernetesCatalog(kc, log);
    await catalog.start();
    gateway = await createGateway({
      settings: {
        defaultNamespace: ns.name,
        region: 'us-east-1',
        namespaceConcurrencyLimit: 100,
        unreservedConcurrencyMinimum: 10,
        scaling: { burst: 10, rate: 1, intervalMs: 1000 },
        idleTimeoutMs: 60_000,
        maintenanceIntervalMs: 500,
        coldStartTimeoutMs: 1500,
        clusterAutoscaler: false,
        syncPayloadLimitBytes: 6_291_456,
        asyncPayloadLimitBytes: 1_048_576,
        storeUrl: 'http://store:8090',
        urlDomain: 'lamina.local',
      },
      catalog,
      provider: new KubernetesProvider(kc, { image: 'lamina/runtime:dev' }, log),
      statusWriter: new KubernetesProvisionedStatusWriter(kc),
      log,
    });
    await gateway.start();
  });

  after(async () => {
    await gateway?.stop();
    await catalog?.stop();
    await ns?.dispose();
  });

  it('creates the provisioned pods of a Version and reports them IN_PROGRESS while not ready', async () => {
    const pods = await waitFor('2 provisioned pods', async () => {
      const list = await core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: 'lamina.dev/initialization-type=provisioned-concurrency',
      });
      return list.items.length === 2 ? list.items : undefined;
    });
    const config = JSON.parse(pods[0]!.spec!.containers[0]!.env![0]!.value!);
    assert.equal(config.initializationType, 'provisioned-concurrency');
    assert.equal(config.version, '1');
    const version = await waitFor('provisioned status on the Version', async () => {
      const v = (await custom.getNamespacedCustomObject({
        ...GROUP,
        namespace: ns.name,
        plural: 'versions',
        name: 'pc-1',
      })) as Version;
      return v.status?.provisionedConcurrency ? v : undefined;
    });
    assert.deepEqual(version.status?.provisionedConcurrency, {
      requested: 2,
      allocated: 0,
      available: 0,
      status: 'IN_PROGRESS',
    });
  });

  it('answers a ServiceException when the cold-start pod never becomes ready', async () => {
    const started = Date.now();
    const res = await gateway.app.inject({
      method: 'POST',
      url: '/2015-03-31/functions/pc/invocations',
      payload: '{}',
    });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['x-amzn-errortype'], 'ServiceException');
    assert.ok(Date.now() - started < 5000);
  });

  it('removes provisioned pods when provisioned concurrency is lowered to 0', async () => {
    await custom.patchNamespacedCustomObject(
      {
        ...GROUP,
        namespace: ns.name,
        plural: 'versions',
        name: 'pc-1',
        body: { spec: { provisionedConcurrentExecutions: 0 } },
      },
      mergePatch,
    );
    await waitFor('provisioned pods to go', async () => {
      const list = await core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: 'lamina.dev/initialization-type=provisioned-concurrency',
      });
      return list.items.length === 0 ? true : undefined;
    });
  });
});
