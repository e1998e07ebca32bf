// A real kube-apiserver + etcd for integration tests (no mocks of the Kubernetes API).
// All the work is done by scripts/k8s/control-plane.sh: it builds the binaries from the
// Kubernetes Go modules on first use (cached), starts them on 127.0.0.1 only and is
// idempotent, so calling this from many test files is cheap. The processes outlive the
// test run on purpose (the next run starts in well under a second);
// `scripts/k8s/control-plane.sh down` stops them.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ControlPlane {
  kubeconfigPath: string;
}

const SCRIPT = join('scripts', 'k8s', 'control-plane.sh');

// The repo root is the nearest ancestor holding the script, so this works both from
// the sources (tsx) and from a compiled copy under dist/.
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, SCRIPT))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${SCRIPT} above ${import.meta.url}`);
    dir = parent;
  }
}

let pending: Promise<ControlPlane> | undefined;

/**
 * Starts (or reuses) the test control plane and returns its admin kubeconfig path.
 * Progress (and a first-time build, which takes minutes) is shown on stderr.
 */
export function ensureControlPlane(): Promise<ControlPlane> {
  pending ??= runUp().catch((err: unknown) => {
    pending = undefined; // let a later call retry
    throw err;
  });
  return pending;
}

function runUp(): Promise<ControlPlane> {
  const root = repoRoot();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, SCRIPT), 'up'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // The script prints exactly one "KUBECONFIG=<path>" line on stdout when ready.
      const match = /^KUBECONFIG=(.+)$/m.exec(stdout);
      if (code === 0 && match?.[1]) {
        resolve({ kubeconfigPath: match[1].trim() });
      } else {
        reject(new Error(`${SCRIPT} up failed (exit ${code ?? signal}); stdout: ${stdout.trim()}`));
      }
    });
  });
}
