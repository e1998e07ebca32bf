// The gateway's Kubernetes adapters against a real kube-apiserver (no kubelet: pods stay
// Pending): pods are created with the right spec and owner, the informers see them, a
// restarted gateway adopts them, a cold start that never becomes ready times out and
// deletes its pod, and provisioned status lands on the status subresource only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { LaminaFunction, Version } from '../../../operator/src/api/index.js';
import { ServiceException } from '../../../operator/src/errors.js';
import { EnvironmentPool } from '../../../operator/src/gateway/environments/environment-pool.js';
import { environmentSpec } from '../../../operator/src/gateway/environments/environment-spec.js';
import { AGENT_MEMORY_MIB } from '../../../operator/src/gateway/environments/pod-spec.js';
import type { EnvironmentEvent } from '../../../operator/src/gateway/environments/types.js';
import { KubernetesCatalog } from '../../../operator/src/gateway/kubernetes/kubernetes-catalog.js';
import { KubernetesProvider } from '../../../operator/src/gateway/kubernetes/kubernetes-provider.js';
import { KubernetesProvisionedStatusWriter } from '../../../operator/src/gateway/kubernetes/provisioned-status-writer.js';
import { BurstScaler } from '../../../operator/src/gateway/scaling/burst-scaler.js';
import { ConcurrencyLedger } from '../../../operator/src/gateway/scaling/concurrency.js';
import { systemClock } from '../../../operator/src/shared/clock.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import {
  adminKubeConfig,
  createTestNamespace,
  installLaminaCrds,
  waitFor,
} from '../../harness/gateway-kube.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1' };
const SHA = 'c'.repeat(64);
const log = createLogger({}, 'error');
const settings = { storeUrl: 'http://lamina-store.lamina-system.svc:8090', region: 'us-east-1' };

describe('gateway Kubernetes adapters', () => {
  let kc: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let catalog: KubernetesCatalog;
  let fn: LaminaFunction;
  const providers: KubernetesProvider[] = [];

  before(async () => {
    kc = await adminKubeConfig();
    await installLaminaCrds(kc);
    ns = await createTestNamespace(kc, 'gw');
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'functions',
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'calc' },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          memorySize: 256,
          code: { inline: { 'index.mjs': 'export const handler = async () => 1;' } },
          environment: { variables: { MODE: 'test' }, secretRefs: [{ name: 'calc-secrets' }] },
        },
      },
    });
    // Stand in for the operator: mark the function Active with its resolved code.
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...GROUP,
        namespace: ns.name,
        plural: 'functions',
        name: 'calc',
        body: { status: { state: 'Active', codeSha256: SHA, codeSize: 10, revisionId: 'r1' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    catalog = new KubernetesCatalog(kc, log);
    await catalog.start();
    fn = await waitFor('the catalog to see the active function', () => {
      const f = catalog.getFunction(ns.name, 'calc');
      return f?.status?.state === 'Active' ? f : undefined;
    });
  });

  after(async () => {
    for (const p of providers) p.stop();
    await catalog?.stop();
    await ns?.dispose();
  });

  /** An environment pool over `p` whose cold starts give up after 1.5 s. */
  function poolOver(p: KubernetesProvider) {
    return new EnvironmentPool(
      p,
      new ConcurrencyLedger({ namespaceLimit: 10, unreservedMinimum: 0 }),
      new BurstScaler({ burst: 5, rate: 1, intervalMs: 1000 }),
      systemClock,
      log,
      { coldStartTimeoutMs: 1500, idleTimeoutMs: 60_000, maintenanceIntervalMs: 60_000 },
    );
  }

  function provider() {
    const p = new KubernetesProvider(kc, { image: 'lamina/runtime:dev' }, log);
    providers.push(p);
    return p;
  }

  it('reads Functions through the informer, with the uid needed for ownership', () => {
    assert.ok(fn.metadata.uid);
    assert.equal(fn.spec.memorySize, 256);
  });

  it('creates an environment pod with the right spec, owned by the Function, and sees it', async () => {
    const p = provider();
    const events: EnvironmentEvent[] = [];
    p.subscribe((e) => events.push(e));
    await p.start();
    const spec = environmentSpec(fn, '$LATEST', { ...snapshotOf(fn) }, 'on-demand', settings);
    const id = `${ns.name}/calc-latest-spec`;
    await p.create(spec, id);
    const pod = await core.readNamespacedPod({ namespace: ns.name, name: 'calc-latest-spec' });
    const c = pod.spec!.containers[0]!;
    assert.equal(c.image, 'lamina/runtime:dev');
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    // the function's 256 MB plus the agent's own share
    assert.equal(c.resources?.requests?.memory, `${256 + AGENT_MEMORY_MIB}Mi`);
    assert.equal(c.resources?.limits?.memory, `${256 + AGENT_MEMORY_MIB}Mi`);
    assert.equal(c.resources?.requests?.cpu, '145m');
    assert.equal(c.resources?.limits?.cpu, undefined);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(c.readinessProbe?.httpGet?.path, '/healthz');
    assert.deepEqual(JSON.parse(JSON.stringify(c.envFrom)), [
      { prefix: 'LAMINA_SECRET_', secretRef: { name: 'calc-secrets' } },
    ]);
    const config = JSON.parse(c.env!.find((e) => e.name === 'LAMINA_FUNCTION')!.value!);
    assert.equal(config.functionArn, `arn:aws:lambda:us-east-1:${ns.name}:function:calc`);
    assert.deepEqual(config.environment, { MODE: 'test' });
    assert.equal(pod.spec!.automountServiceAccountToken, false);
    assert.equal(pod.spec!.enableServiceLinks, false);
    assert.equal(pod.spec!.securityContext?.runAsUser, 993);
    assert.equal(pod.spec!.securityContext?.runAsNonRoot, true);
    assert.equal(pod.spec!.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(pod.spec!.volumes!.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit, '512Mi');
    assert.deepEqual(pod.metadata!.labels!['lamina.dev/environment'], 'true');
    assert.equal(pod.metadata!.labels!['lamina.dev/function'], 'calc');
    assert.equal(pod.metadata!.labels!['lamina.dev/version'], 'LATEST');
    const owner = pod.metadata!.ownerReferences![0]!;
    assert.deepEqual(
      { kind: owner.kind, name: owner.name, uid: owner.uid, apiVersion: owner.apiVersion },
      { kind: 'Function', name: 'calc', uid: fn.metadata.uid, apiVersion: 'lamina.dev/v1alpha1' },
    );
    const seen = await waitFor('the pod informer event', () =>
      events.find((e) => e.type === 'upsert' && e.env.id === id),
    );
    assert.equal(seen.type === 'upsert' && seen.env.key, spec.key);
    assert.equal(seen.type === 'upsert' && seen.env.ready, false, 'no kubelet: never ready');
  });

  it('adopts existing environment pods after a gateway restart', async () => {
    const p = provider();
    const pool = poolOver(p);
    await pool.start();
    const adopted = pool.views().find((v) => v.id === `${ns.name}/calc-latest-spec`);
    assert.ok(adopted, 'the pod made before the restart is known');
    assert.equal(adopted.state, 'starting');
    pool.stop();
  });

  it('times out a cold start whose pod never becomes ready, and deletes that pod', async () => {
    const p = provider();
    const pool = poolOver(p);
    await pool.start();
    const spec = environmentSpec(fn, '$LATEST', snapshotOf(fn), 'on-demand', settings);
    // By name: the pod adopted from the test before may go too (it never becomes ready either).
    const before = new Set(
      (await core.listNamespacedPod({ namespace: ns.name })).items.map((pod) => pod.metadata!.name!),
    );
    await assert.rejects(pool.acquire(spec), ServiceException);
    await waitFor('the timed-out pod to be deleted', async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns.name })).items;
      return pods.every((pod) => before.has(pod.metadata!.name!)) ? true : undefined;
    });
    pool.stop();
  });

  it('writes provisioned concurrency to the status subresource without touching other fields', async () => {
    const body = {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Version',
      metadata: { name: 'calc-1' },
      spec: {
        functionName: 'calc',
        version: 1,
        provisionedConcurrentExecutions: 2,
        snapshot: { ...snapshotOf(fn) },
      },
    };
    await custom.createNamespacedCustomObject({ ...GROUP, namespace: ns.name, plural: 'versions', body });
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...GROUP,
        namespace: ns.name,
        plural: 'versions',
        name: 'calc-1',
        body: { status: { state: 'Active', version: '1' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await new KubernetesProvisionedStatusWriter(kc).write('Version', ns.name, 'calc-1', {
      requested: 2,
      allocated: 0,
      available: 0,
      status: 'IN_PROGRESS',
    });
    const version = (await custom.getNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'versions',
      name: 'calc-1',
    })) as Version;
    assert.deepEqual(version.status?.provisionedConcurrency, {
      requested: 2,
      allocated: 0,
      available: 0,
      status: 'IN_PROGRESS',
    });
    assert.equal(version.status?.state, 'Active');
    assert.equal(version.status?.version, '1');
    const seen = await waitFor('the catalog to see version 1', () =>
      catalog.getVersion(ns.name, 'calc', '1'),
    );
    assert.equal(seen.spec.provisionedConcurrentExecutions, 2);
  });
});

function snapshotOf(fn: LaminaFunction) {
  return {
    runtime: fn.spec.runtime,
    handler: fn.spec.handler,
    codeSha256: fn.status!.codeSha256!,
    codeSize: fn.status!.codeSize!,
    memorySize: fn.spec.memorySize ?? 128,
    timeout: fn.spec.timeout ?? 3,
    ephemeralStorageSize: 512,
    environment: fn.spec.environment,
    layers: [],
    revisionId: fn.status!.revisionId!,
  };
}
