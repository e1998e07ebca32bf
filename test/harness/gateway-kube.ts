// Kubernetes helpers for the gateway's integration and e2e tests, with client-node only
// (no kubectl): the admin kubeconfig, Lamina's CRDs installed from crds/, and a throwaway
// namespace per test file.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { ensureControlPlane } from './control-plane.js';

export async function adminKubeConfig(): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG ?? (await ensureControlPlane()).kubeconfigPath);
  return kc;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates or updates every CRD in crds/ and waits until each is Established. */
export { installCrds as installLaminaCrds } from './crds.js';

export async function createTestNamespace(kc: KubeConfig, prefix: string) {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'lamina.dev/test': 'true' } } } });
  // Without kube-controller-manager nobody creates the default ServiceAccount, and the
  // ServiceAccount admission plugin refuses pods without it.
  await core
    .createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  return {
    name,
    /**
     * Deletes the Lamina objects first: with no namespace controller in the integration
     * control plane, a deleted namespace keeps its objects (Terminating) forever.
     */
    dispose: async () => {
      const custom = kc.makeApiClient(CustomObjectsApi);
      for (const plural of ['aliases', 'versions', 'functions', 'layers']) {
        await custom
          .deleteCollectionNamespacedCustomObject({
            group: 'lamina.dev',
            version: 'v1alpha1',
            namespace: name,
            plural,
          })
          .catch(() => undefined);
      }
      await core
        .deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 })
        .catch(() => undefined);
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
