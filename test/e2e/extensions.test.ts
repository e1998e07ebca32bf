// The extension layer of examples/extension-layer through the installed release: applied with
// kubectl, its function invoked through the gateway. The extension (Python, in the layer)
// records each invoke before the invoke ends, logs each platform.report it receives over the
// Telemetry API, and logs its SHUTDOWN when the pod is deleted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import { kubeconfigPath, kubectl, kubectlPath } from '../harness/kube.js';
import { installedRelease, invokeUrl, testNamespace, waitActive, type Release } from '../harness/release.js';

describe('examples/extension-layer on the installed release', () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'extensions');
    await kubectl('apply', '-n', ns.name, '-f', 'examples/extension-layer/layer.yaml');
    await waitActive(release, ns.name, 'invoke-recorder', 'layers');
    await kubectl('apply', '-n', ns.name, '-f', 'examples/extension-layer/function.yaml');
    await waitActive(release, ns.name, 'with-extension');
  });
  after(() => ns?.dispose());

  const invoke = async () => {
    const res = await fetch(invokeUrl(release, ns.name, 'with-extension'), { method: 'POST', body: '{}' });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text) as { requestId: string; seenByExtension: string[] };
  };

  it('runs the extension beside the function: INVOKE, Telemetry API reports, SHUTDOWN on pod deletion', async () => {
    const first = await invoke();
    const second = await invoke();
    assert.deepEqual(first.seenByExtension, []);
    assert.deepEqual(second.seenByExtension, [first.requestId]);

    const core = release.kc.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace: ns.name,
      labelSelector: 'lamina.dev/function=with-extension',
    });
    const pod = pods.items.find((p) => !p.metadata?.deletionTimestamp)?.metadata?.name;
    assert.ok(pod, 'the function has an environment pod');
    const log = () => core.readNamespacedPodLog({ namespace: ns.name, name: pod });
    await waitFor(
      'the extension to log the second report',
      async () =>
        (await log()).includes(`[invoke-recorder] report ${second.requestId} `) ? true : undefined,
      15_000,
      200,
    );
    assert.match(
      await log(),
      new RegExp(`^\\[invoke-recorder\\] report ${first.requestId} [\\d.]+ ms$`, 'm'),
    );

    // Follow the pod's log while it is deleted: the extension's SHUTDOWN line is its last word.
    const follower = spawn(kubectlPath(), [
      '--kubeconfig',
      await kubeconfigPath(),
      'logs',
      '-f',
      '-n',
      ns.name,
      pod,
    ]);
    let followed = '';
    follower.stdout.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    const ended = new Promise((resolve) => follower.once('exit', resolve));
    await waitFor(
      'kubectl logs -f to start',
      async () => (followed.length > 0 ? true : undefined),
      15_000,
      100,
    );
    await core.deleteNamespacedPod({ namespace: ns.name, name: pod });
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    follower.kill();
    assert.match(followed, /^\[invoke-recorder\] shutting down \(spindown\)$/m, followed);
  });
});
