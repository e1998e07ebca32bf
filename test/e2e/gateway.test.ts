// The installed gateway (the Helm release's Deployment behind its Service) on the real
// single-node cluster with the real runtime image: Invoke API (AWS SDK) and function URL, warm
// reuse, a killed environment replaced, idle reclaim to zero pods (the release's idle timeout
// is lowered with `helm upgrade` for this file and restored after), and 50 parallel invokes
// against reserved concurrency 3. The installed operator resolves every Function.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { CoreV1Api } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import { maxOverlap } from '../harness/host-view.js';
import {
  createFunction,
  functionArn,
  installedRelease,
  setReleaseValues,
  testNamespace,
  type Release,
} from '../harness/release.js';

const IDLE_TIMEOUT_SECONDS = 20;

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

describe('gateway e2e on the local cluster', { timeout: 600_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let core: CoreV1Api;
  let restoreValues: (() => Promise<void>) | undefined;
  let gatewayUrl: string;
  let client: LambdaClient;

  const environmentPods = async (fn: string) =>
    (
      await core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: `lamina.dev/environment=true,lamina.dev/function=${fn}`,
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);

  const invoke = async (name: string, payload: unknown = {}) => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: functionArn(ns.name, name),
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    return { out, body: JSON.parse(Buffer.from(out.Payload ?? []).toString() || 'null') };
  };

  before(async () => {
    release = await installedRelease();
    gatewayUrl = release.gatewayUrl;
    restoreValues = await setReleaseValues(release, {
      'environments.idleTimeoutSeconds': IDLE_TIMEOUT_SECONDS,
    });
    ns = await testNamespace(release, 'gwe2e');
    core = release.kc.makeApiClient(CoreV1Api);
    client = new LambdaClient({
      endpoint: gatewayUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'lamina', secretAccessKey: 'lamina' },
      maxAttempts: 1,
    });
    const env = { environment: { variables: { MODE: 'e2e' } } };
    await createFunction(release, ns.name, 'echo', ECHO, { ...env, functionUrl: { authType: 'NONE' } });
    await createFunction(release, ns.name, 'slow', SLOW, { ...env, reservedConcurrentExecutions: 3 });
  });

  after(async () => {
    client?.destroy();
    await ns?.dispose();
    await restoreValues?.();
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
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => invoke('slow')));
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
      IDLE_TIMEOUT_SECONDS * 1000 + 60_000,
      1000,
    );
  });
});
