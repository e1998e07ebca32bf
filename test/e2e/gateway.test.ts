// The gateway as a host process against the real single-node cluster and the real runtime
// image: Invoke API (AWS SDK) and function URL, warm reuse, a killed environment replaced,
// idle reclaim to zero pods, and 50 parallel invokes against reserved concurrency 3.
//
// Code reaches the environments through the artifact store. When the operator is running it
// resolves the Function (status.codeSha256) and the in-cluster store serves the zip; until
// then this test stands in for both: it zips the inline code, serves it from the host on the
// node's bridge address and writes the Function's status as the operator would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ensureCluster } from '../harness/cluster.js';
import { createTestNamespace, installLaminaCrds, waitFor } from '../harness/gatewayKube.js';
import { startGatewayProcess, type GatewayProcess } from '../harness/gatewayProcess.js';
import { createInlineFunction, resolveCodeOrStandIn, type StandIn } from '../harness/gatewayStandIn.js';

const IDLE_TIMEOUT_MS = 20_000;

const ECHO = `let invocations = 0;
export const handler = async (event, context) => {
  invocations += 1;
  return { event, invocations, version: context.functionVersion, mode: process.env.MODE };
};
`;
const SLOW = `export const handler = async () => {
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { start, end: Date.now() };
};
`;

/** The highest number of intervals open at the same instant. */
function maxOverlap(intervals: Array<{ start: number; end: number }>): number {
  const points = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.d));
  return max;
}

describe('gateway e2e on the local cluster', { timeout: 600_000 }, () => {
  let kc: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let core: CoreV1Api;
  let standIn: StandIn | undefined;
  let gateway: GatewayProcess | undefined;
  let gatewayUrl: string;
  let client: LambdaClient;

  async function startGateway(kubeconfig: string, storeUrl: string | undefined) {
    gateway = await startGatewayProcess({
      KUBECONFIG: kubeconfig,
      LAMINA_DEFAULT_NAMESPACE: ns.name,
      LAMINA_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      LAMINA_COLD_START_TIMEOUT_MS: '90000',
      LAMINA_LOG_LEVEL: 'warn',
      ...(storeUrl ? { LAMINA_STORE_URL: storeUrl } : {}),
    });
    gatewayUrl = gateway.url;
    client = new LambdaClient({
      endpoint: gatewayUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'lamina', secretAccessKey: 'lamina' },
      maxAttempts: 1,
    });
  }

  const environmentPods = async (fn: string) =>
    (
      await core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: `lamina.dev/environment=true,lamina.dev/function=${fn}`,
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);

  const invoke = async (name: string, payload: unknown = {}) => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)) }),
    );
    return { out, body: JSON.parse(Buffer.from(out.Payload ?? []).toString() || 'null') };
  };

  before(async () => {
    const { kubeconfigPath } = await ensureCluster();
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await installLaminaCrds(kc);
    ns = await createTestNamespace(kc, 'gwe2e');
    core = kc.makeApiClient(CoreV1Api);
    const env = { environment: { variables: { MODE: 'e2e' } } };
    await createInlineFunction(kc, ns.name, 'echo', ECHO, { ...env, functionUrl: { authType: 'NONE' } });
    await createInlineFunction(kc, ns.name, 'slow', SLOW, { ...env, reservedConcurrentExecutions: 3 });
    standIn = await resolveCodeOrStandIn(kc, ns.name, { echo: ECHO, slow: SLOW });
    await startGateway(kubeconfigPath, standIn.storeUrl);
  });

  after(async () => {
    client?.destroy();
    await gateway?.stop();
    standIn?.close();
    await ns?.dispose();
  });

  it('invokes through the Invoke API with a cold start, then reuses the warm environment', async () => {
    const first = await invoke('echo', { n: 1 });
    assert.equal(first.out.StatusCode, 200);
    assert.equal(first.out.ExecutedVersion, '$LATEST');
    assert.equal(first.out.FunctionError, undefined, JSON.stringify(first.body));
    assert.deepEqual(first.body.event, { n: 1 });
    assert.equal(first.body.mode, 'e2e');
    const second = await invoke('echo', { n: 2 });
    assert.equal(second.body.invocations, first.body.invocations + 1, 'same environment, state kept');
    assert.equal((await environmentPods('echo')).length, 1);
  });

  it('serves the function URL', async () => {
    const res = await fetch(`${gatewayUrl}/lambda-url/${ns.name}/echo/hello?x=1`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      event: { rawPath: string; queryStringParameters: Record<string, string> };
    };
    assert.equal(body.event.rawPath, '/hello');
    assert.deepEqual(body.event.queryStringParameters, { x: '1' });
  });

  it('replaces a killed environment', async () => {
    const [pod] = await environmentPods('echo');
    assert.ok(pod);
    await core.deleteNamespacedPod({ namespace: ns.name, name: pod.metadata!.name!, gracePeriodSeconds: 0 });
    await waitFor('the gateway to forget the killed pod', async () => {
      const pods = await environmentPods('echo');
      return pods.every((p) => p.metadata?.name !== pod.metadata?.name) ? true : undefined;
    });
    const after = await invoke('echo', { n: 3 });
    assert.equal(after.out.FunctionError, undefined);
    assert.equal(after.body.invocations, 1, 'a fresh environment');
  });

  it('never runs more than 3 of 50 parallel invokes with reserved concurrency 3; the rest get 429 at once', async () => {
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => invoke('slow')));
    const elapsed = Date.now() - started;
    const ok = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => r.value.body as { start: number; end: number });
    const throttled = results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
    assert.equal(ok.length + throttled.length, 50, 'none lost');
    assert.equal(ok.length, 3, 'the three admitted invokes all ran');
    for (const err of throttled) {
      assert.ok(err instanceof TooManyRequestsException, String(err));
      assert.equal(err.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
    }
    assert.ok(maxOverlap(ok) <= 3);
    assert.ok(elapsed < 120_000, `took ${elapsed} ms`);
    const metrics = await (await fetch(`${gatewayUrl}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `lamina_throttles_total\\{namespace="${ns.name}",function="slow",version="\\$LATEST",reason="ReservedFunctionConcurrentInvocationLimitExceeded"\\} ${throttled.length}`,
      ),
    );
    // Warm now: three parallel invokes all run, overlapping.
    const warm = await Promise.all([invoke('slow'), invoke('slow'), invoke('slow')]);
    assert.equal(maxOverlap(warm.map((w) => w.body as { start: number; end: number })), 3);
  });

  it('reclaims idle environments down to zero pods', async () => {
    await waitFor(
      'idle environments to be reclaimed',
      async () =>
        (await environmentPods('echo')).length + (await environmentPods('slow')).length === 0
          ? true
          : undefined,
      IDLE_TIMEOUT_MS + 60_000,
      1000,
    );
  });
});
