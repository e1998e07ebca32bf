// kubectl for integration and e2e tests: the binary built with the cluster, at its version,
// pointed at the API server named by KUBECONFIG (scripts/test.mjs starts it).
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureControlPlane } from './control-plane.js';
import { repoRoot } from './manifests.js';

const run = promisify(execFile);

export async function kubeconfigPath(): Promise<string> {
  return process.env.KUBECONFIG ?? (await ensureControlPlane()).kubeconfigPath;
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
