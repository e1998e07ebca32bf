// Kubernetes access for integration and e2e tests: the real API server named by KUBECONFIG
// (scripts/test.mjs starts it), the kubectl built with it, and throwaway namespaces.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { ensureControlPlane } from './controlPlane.js';
import { repoRoot } from './manifests.js';

const run = promisify(execFile);

export async function kubeconfigPath(): Promise<string> {
  return process.env.KUBECONFIG ?? (await ensureControlPlane()).kubeconfigPath;
}

export async function kubeConfig(): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(await kubeconfigPath());
  return kc;
}

let kubectlBinary: string | undefined;

/** The kubectl built by scripts/k8s/build.sh, at the cluster's own version. */
export function kubectlPath(): string {
  kubectlBinary ??= join(
    execFileSync('bash', ['-c', '. scripts/versions.sh && printf %s "$K8S_BIN_DIR"'], {
      cwd: repoRoot,
    }).toString(),
    'kubectl',
  );
  return kubectlBinary;
}

export async function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(kubectlPath(), ['--kubeconfig', await kubeconfigPath(), ...args], { cwd: repoRoot });
}

/** Applies crds/ the way a user does and waits until the API server serves them. */
export async function installCrds(): Promise<void> {
  await kubectl('apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds'));
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds'));
}

/** A fresh namespace for one test file; `dispose()` deletes it. */
export async function testNamespace(prefix: string) {
  const kc = await kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'lamina.dev/test': 'true' } } } });
  return {
    name,
    kc,
    objects: KubernetesObjectApi.makeApiClient(kc),
    dispose: () => core.deleteNamespace({ name }).then(() => undefined),
  };
}
