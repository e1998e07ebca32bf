// The installed release's warm pool on the local cluster, with the real runtime image (the
// chart's default pool: one generic pod per namespace that has Functions): a cold invoke is served by a specialised pool pod (which now belongs to the
// Function), the pool refills, a function with a service account still gets a pod of its
// own, and two functions specialised from the pool see nothing of each other.
// No timings here: cold-start figures belong to `npm run bench`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  RELEASE,
  RELEASE_NAMESPACE,
  testNamespace,
  type Release,
} from '../harness/release.js';

// Every function runs the same code; what differs is its environment (SECRET) and identity.
const PROBE = `import { existsSync, readdirSync, writeFileSync } from 'node:fs';
export const handler = async (event) => {
  if (event.write) writeFileSync('/tmp/' + event.write, process.env.SECRET ?? '');
  return {
    secret: process.env.SECRET,
    others: Object.keys(process.env).filter((k) => k.startsWith('SECRET_')),
    tmp: readdirSync('/tmp'),
    task: readdirSync('/var/task'),
    sees: event.look ? existsSync('/tmp/' + event.look) : null,
    token: existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  };
};
`;

interface Probe {
  secret?: string;
  tmp: string[];
  task: string[];
  sees: boolean | null;
  token: boolean;
}

describe('warm pool e2e on the local cluster', { timeout: 600_000 }, () => {
  let release: Release;
  let core: CoreV1Api;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  // The chart names the pool's owner after the release, so a restarted gateway adopts it.
  const owner = `${RELEASE}.${RELEASE_NAMESPACE}`;

  const pods = async (selector: string) =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: selector })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
  const ready = (p: V1Pod) =>
    (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const readyPoolPod = () =>
    waitFor(
      'a ready pool pod',
      async () => (await pods(`lamina.dev/pool=true,lamina.dev/pool-owner=${owner}`)).find(ready),
      120_000,
      250,
    );
  const functionPods = (fn: string) => pods(`lamina.dev/environment=true,lamina.dev/function=${fn}`);

  async function invoke(name: string, payload: unknown = {}): Promise<Probe> {
    const res = await fetch(invokeUrl(release, ns.name, name), {
      method: 'POST',
      body: JSON.stringify(payload),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text) as Probe;
  }

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'poole2e');
    core = release.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'reader' } } });
    const env = (secret: string) => ({ environment: { variables: { SECRET: secret } } });
    await createFunction(release, ns.name, 'alpha', PROBE, env('alpha-secret'));
    await createFunction(release, ns.name, 'beta', PROBE, env('beta-secret'));
    await createFunction(release, ns.name, 'withsa', PROBE, { ...env('sa'), serviceAccountName: 'reader' });
  });

  after(async () => {
    await ns?.dispose();
  });

  it('serves a cold invoke from a pool pod, which then belongs to the function', async () => {
    const poolPod = await readyPoolPod();
    const poolName = poolPod.metadata!.name!;
    const result = await invoke('alpha', { write: 'alpha.txt' });
    assert.equal(result.secret, 'alpha-secret');
    const [pod, ...more] = await functionPods('alpha');
    assert.equal(more.length, 0);
    assert.equal(pod?.metadata?.name, poolName, 'the pool pod itself runs alpha');
    const labels = pod.metadata?.labels ?? {};
    assert.equal(labels['lamina.dev/from-pool'], 'true');
    assert.equal(labels['lamina.dev/pool'], undefined, 'no longer offered by the pool');
    assert.equal(labels['lamina.dev/version'], 'LATEST');
    const agentLog = await core.readNamespacedPodLog({ namespace: ns.name, name: poolName });
    assert.match(agentLog, /"msg":"standby runtime takes the function".*"runtime":"nodejs20.x"/);
    const fn = (await release.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'lamina.dev',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: 'functions',
      name: 'alpha',
    })) as { metadata: { uid: string } };
    assert.deepEqual(
      pod.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
      [['Function', 'alpha', fn.metadata.uid]],
    );
    // Warm now: the same environment answers again and kept its /tmp.
    const again = await invoke('alpha');
    assert.ok(again.tmp.includes('alpha.txt'));
    assert.equal((await functionPods('alpha')).length, 1);
  });

  it('refills the pool in the background and reports it in /metrics', async () => {
    const refill = await readyPoolPod();
    assert.equal(refill.metadata?.labels?.['lamina.dev/function'], undefined);
    const metrics = await (await fetch(`${release.gatewayUrl}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`lamina_warm_pool_claims_total\\{namespace="${ns.name}",shape="128-512",result="hit"\\} 1`),
    );
    assert.match(
      metrics,
      new RegExp(`lamina_warm_pool_target\\{namespace="${ns.name}",shape="128-512"\\} 1`),
    );
    await waitFor('the gauge to show the ready pool pod', async () => {
      const text = await (await fetch(`${release.gatewayUrl}/metrics`)).text();
      return new RegExp(
        `lamina_warm_pool_environments\\{namespace="${ns.name}",shape="128-512",state="ready"\\} 1`,
      ).test(text);
    });
  });

  it('isolates two functions specialised from the pool: no shared files or environment', async () => {
    await readyPoolPod();
    const beta = await invoke('beta', { look: 'alpha.txt' });
    const [betaPod] = await functionPods('beta');
    assert.equal(betaPod?.metadata?.labels?.['lamina.dev/from-pool'], 'true');
    assert.equal(beta.secret, 'beta-secret');
    assert.equal(beta.sees, false, "alpha's /tmp file is not visible to beta");
    assert.ok(!beta.tmp.includes('alpha.txt'));
    assert.equal(beta.token, false, 'no service account token in a pool environment');
    const alpha = await invoke('alpha', { look: 'alpha.txt' });
    assert.equal(alpha.secret, 'alpha-secret');
    assert.equal(alpha.sees, true);
    // A specialised environment refuses to be specialised again (here: with beta's function).
    const [alphaPod] = await functionPods('alpha');
    const res = await fetch(`http://${alphaPod!.status!.podIP}:8080/lamina/v1/specialize`, {
      method: 'POST',
      body: JSON.stringify({
        functionName: 'beta',
        namespace: ns.name,
        version: '$LATEST',
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        memorySize: 128,
        timeout: 3,
        code: { url: 'http://127.0.0.1:1/none', sha256: 'a'.repeat(64) },
        functionArn: `arn:aws:lambda:us-east-1:${ns.name}:function:beta`,
      }),
    });
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('x-amzn-errortype'), 'Lamina.AlreadySpecialized');
    assert.equal((await invoke('alpha')).secret, 'alpha-secret');
  });

  it('still cold-starts a function with a service account through pod creation', async () => {
    const poolPod = await readyPoolPod();
    const result = await invoke('withsa');
    assert.equal(result.secret, 'sa');
    assert.equal(result.token, true, 'the service account token is mounted');
    const [pod] = await functionPods('withsa');
    assert.equal(pod?.metadata?.labels?.['lamina.dev/from-pool'], undefined);
    assert.notEqual(pod?.metadata?.name, poolPod.metadata?.name);
    assert.equal(pod?.spec?.serviceAccountName, 'reader');
    const still = await pods(`lamina.dev/pool=true,lamina.dev/pool-owner=${owner}`);
    assert.ok(
      still.some((p) => p.metadata?.name === poolPod.metadata?.name),
      'the pool pod was not used',
    );
  });
});
