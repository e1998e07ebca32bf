// A function's life on the installed release: provisioned concurrency on an alias (its
// environments Ready before any traffic, initialised as provisioned-concurrency, overflow
// spilling to on-demand environments), then deletion — the Function's pods, its Versions and
// Aliases (owned by it) and, after garbage collection, its stored code are gone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  RELEASE_NAMESPACE,
  setReleaseValues,
  testNamespace,
  waitActive,
  type Release,
} from '../harness/release.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1' };
const PROVISIONED = 2;
const PARALLEL = 4;

// Unique code, so no other function shares its stored zip.
const CODE = `// ${randomBytes(8).toString('hex')}
export const handler = async (event) => {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, event.ms ?? 0));
  return { initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE, start, end: Date.now() };
};
`;

interface Result {
  initializationType: string;
  start: number;
  end: number;
}

describe('function life cycle on the installed release', { timeout: 600_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let restoreValues: (() => Promise<void>) | undefined;
  let codeSha256: string;

  const ready = (p: V1Pod) =>
    !p.metadata?.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const pods = async (selector: string) =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: selector })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
  const invoke = async (qualifier: string | undefined, payload: unknown = {}): Promise<Result> => {
    const res = await fetch(invokeUrl(release, ns.name, 'life', qualifier), {
      method: 'POST',
      body: JSON.stringify(payload),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text) as Result;
  };
  const create = (plural: string, body: object) =>
    custom.createNamespacedCustomObject({ ...GROUP, namespace: ns.name, plural, body });

  before(async () => {
    release = await installedRelease();
    // Garbage collection every few seconds with no grace, so deleted code goes within the test.
    restoreValues = await setReleaseValues(release, {
      'store.gcGraceSeconds': 0,
      'store.gcIntervalSeconds': 3,
    });
    ns = await testNamespace(release, 'life');
    core = release.kc.makeApiClient(CoreV1Api);
    custom = release.kc.makeApiClient(CustomObjectsApi);
    codeSha256 = (await createFunction(release, ns.name, 'life', CODE)).codeSha256!;
    assert.match(codeSha256, /^[0-9a-f]{64}$/);
  });

  after(async () => {
    await ns?.dispose();
    await restoreValues?.();
  });

  it('keeps provisioned environments Ready before traffic and spills overflow to on-demand', async () => {
    await create('versions', {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Version',
      metadata: { name: 'life-1' },
      spec: { functionName: 'life' },
    });
    await waitActive(release, ns.name, 'life-1', 'versions');
    await create('aliases', {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Alias',
      metadata: { name: 'life-live' },
      spec: {
        functionName: 'life',
        name: 'live',
        functionVersion: '1',
        provisionedConcurrentExecutions: PROVISIONED,
      },
    });
    await waitActive(release, ns.name, 'life-live', 'aliases');
    // No invoke has happened yet: the environments come from provisioned concurrency alone.
    const provisioned = await waitFor(
      `${PROVISIONED} Ready provisioned environments`,
      async () => {
        const list = (await pods('lamina.dev/function=life')).filter(ready);
        return list.length >= PROVISIONED ? list : undefined;
      },
      120_000,
      250,
    );
    assert.equal(provisioned.length, PROVISIONED);
    await waitFor(
      'the alias status to say READY',
      async () => {
        const alias = (await custom.getNamespacedCustomObject({
          ...GROUP,
          namespace: ns.name,
          plural: 'aliases',
          name: 'life-live',
        })) as { status?: { provisionedConcurrency?: { status: string; available: number } } };
        const pc = alias.status?.provisionedConcurrency;
        return pc?.status === 'READY' && pc.available === PROVISIONED ? true : undefined;
      },
      60_000,
      250,
    );

    const one = await invoke('live');
    assert.equal(one.initializationType, 'provisioned-concurrency');

    // More in flight than provisioned: the first ones run provisioned, the rest on demand.
    const results = await Promise.all(Array.from({ length: PARALLEL }, () => invoke('live', { ms: 2000 })));
    const byType = results.reduce<Record<string, number>>(
      (acc, r) => ({ ...acc, [r.initializationType]: (acc[r.initializationType] ?? 0) + 1 }),
      {},
    );
    console.log(`provisioned alias, ${PARALLEL} in flight: ${JSON.stringify(byType)}`);
    assert.deepEqual(byType, {
      'provisioned-concurrency': PROVISIONED,
      'on-demand': PARALLEL - PROVISIONED,
    });
    const metrics = await (await fetch(`${release.gatewayUrl}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`lamina_environments\\{namespace="${ns.name}",function="life",[^}]*\\} \\d+`),
      'the gateway reports the function environments',
    );
  });

  it('deleting the Function removes its pods, Versions, Aliases and, after GC, its stored code', async () => {
    const store = await core.readNamespacedService({ namespace: RELEASE_NAMESPACE, name: 'lamina-store' });
    const blobUrl = `http://${store.spec!.clusterIP}:${store.spec!.ports![0]!.port}/blobs/sha256/${codeSha256}`;
    assert.equal((await fetch(blobUrl, { method: 'HEAD' })).status, 200, 'the code is stored');

    await custom.deleteNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'functions',
      name: 'life',
    });
    await waitFor(
      'the function pods to go',
      async () => ((await pods('lamina.dev/function=life')).length === 0 ? true : undefined),
      120_000,
      500,
    );
    for (const plural of ['versions', 'aliases']) {
      await waitFor(
        `the ${plural} to go with their Function`,
        async () => {
          const list = (await custom.listNamespacedCustomObject({
            ...GROUP,
            namespace: ns.name,
            plural,
          })) as {
            items: unknown[];
          };
          return list.items.length === 0 ? true : undefined;
        },
        120_000,
        500,
      );
    }
    await waitFor(
      'the stored code to be garbage-collected',
      async () => ((await fetch(blobUrl, { method: 'HEAD' })).status === 404 ? true : undefined),
      60_000,
      1000,
    );
  });
});
