// Pod Security Admission, checked by the API server itself: every pod Lamina creates passes the
// `restricted` profile. Functions run in a namespace that enforces it (a warm-pool pod, a pod
// created for a cold start, the specialised pool pod), and the release's own namespace would
// admit its pods under `restricted` (a server-side dry run of the label reports any pod that
// would violate it).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubectl } from '../harness/kube.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  RELEASE_NAMESPACE,
  testNamespace,
  type Release,
} from '../harness/release.js';

const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};
const HELLO = 'export const handler = async () => ({ ok: true, user: process.getuid() });\n';

describe('Pod Security Admission: restricted', { timeout: 300_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'psa');
    await release.kc
      .makeApiClient(CoreV1Api)
      .patchNamespace(
        { name: ns.name, body: { metadata: { labels: RESTRICTED } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  });

  after(async () => {
    await ns?.dispose();
  });

  const invoke = async (name: string) => {
    const res = await fetch(invokeUrl(release, ns.name, name), { method: 'POST', body: '{}' });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text) as { ok: boolean; user: number };
  };

  it('runs functions from the warm pool and from new pods in a namespace that enforces restricted', async () => {
    await createFunction(release, ns.name, 'pooled', HELLO); // 128 MB: the pool's shape
    await createFunction(release, ns.name, 'created', HELLO, { memorySize: 256 }); // its own pod
    for (const name of ['pooled', 'created']) {
      const result = await invoke(name);
      assert.equal(result.ok, true);
      assert.notEqual(result.user, 0, 'not root');
    }
    const pods = await release.kc
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: ns.name, labelSelector: 'lamina.dev/environment=true' });
    assert.ok(pods.items.length >= 2, 'the environments were admitted in the restricted namespace');
    const events = await release.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns.name });
    const refused = events.items.filter((e) => /violates PodSecurity/.test(e.message ?? ''));
    assert.deepEqual(
      refused.map((e) => e.message),
      [],
    );
  });

  it("would admit the release's own pods under restricted", async () => {
    const { stderr } = await kubectl(
      'label',
      '--dry-run=server',
      '--overwrite',
      'namespace',
      RELEASE_NAMESPACE,
      'pod-security.kubernetes.io/enforce=restricted',
    );
    assert.doesNotMatch(stderr, /violate/i, stderr);
  });
});
