// The real single-node cluster for e2e tests: etcd, kube-apiserver, controller-manager,
// scheduler, kubelet, kube-proxy, containerd, CNI bridge and CoreDNS on this machine (or
// kind where a Docker engine exists), all set up by scripts/cluster/up.sh. That script
// is idempotent and returns within seconds when the cluster is already up, so calling
// ensureCluster() from many test files is cheap. The cluster outlives the test run on
// purpose; `npm run cluster:down` stops it and cleans up.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Cluster {
  kubeconfigPath: string;
}

const SCRIPT = join('scripts', 'cluster', 'up.sh');

// The repo root is the nearest ancestor holding the script (works from sources and dist/).
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, SCRIPT))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${SCRIPT} above ${import.meta.url}`);
    dir = parent;
  }
}

let pending: Promise<Cluster> | undefined;

/**
 * The e2e cluster's admin kubeconfig. Under `npm run test:e2e` scripts/test.mjs has
 * already run up.sh and passes KUBECONFIG with LAMINA_TEST_TIER=e2e; otherwise (a single
 * test file run by hand) this runs up.sh itself. Progress goes to stderr.
 */
export function ensureCluster(): Promise<Cluster> {
  const fromEnv = process.env.KUBECONFIG;
  if (process.env.LAMINA_TEST_TIER === 'e2e' && fromEnv && existsSync(fromEnv)) {
    return Promise.resolve({ kubeconfigPath: fromEnv });
  }
  pending ??= runUp().catch((err: unknown) => {
    pending = undefined; // let a later call retry
    throw err;
  });
  return pending;
}

function runUp(): Promise<Cluster> {
  const root = repoRoot();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, SCRIPT)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      // The last stdout line is "KUBECONFIG=<path>".
      const match = /^KUBECONFIG=(.+)$/m.exec(stdout);
      if (code === 0 && match?.[1]) {
        resolve({ kubeconfigPath: match[1].trim() });
      } else {
        reject(new Error(`${SCRIPT} failed (exit ${code ?? signal}); stdout: ${stdout.trim()}`));
      }
    });
  });
}
