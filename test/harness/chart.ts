// The Helm chart as the chart tests render it: helm built from its Go module on first use
// (cached, like every other tool here) and `helm template` of charts/lamina as the release
// `lamina` in lamina-system.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './manifests.js';

const run = promisify(execFile);

export const CHART_DIR = join(repoRoot, 'charts', 'lamina');

/** `npm run up`'s shape: one gateway replica on the SQLite queue, no NATS. */
export const SINGLE_REPLICA_SETS = [
  '--set',
  'gateway.replicas=1',
  '--set',
  'async.backend=sqlite',
  '--set',
  'nats.enabled=false',
];

/** The helm binary, built first when missing. */
export function helmBinary(): string {
  execFileSync('bash', ['scripts/k8s/build.sh', 'helm'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(
    execFileSync('bash', ['-c', '. scripts/versions.sh && printf %s "$HELM_BIN_DIR"'], {
      cwd: repoRoot,
    }).toString(),
    'helm',
  );
}

/** `helm template lamina charts/lamina --namespace lamina-system …args`. */
export function helmTemplate(helm: string, ...args: string[]) {
  return run(helm, ['template', 'lamina', CHART_DIR, '--namespace', 'lamina-system', ...args], {
    maxBuffer: 16 << 20,
  });
}
