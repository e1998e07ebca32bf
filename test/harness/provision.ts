// Runs one of the repository's provisioning scripts (the control plane, the local cluster)
// and returns the `NAME=value` lines it prints on stdout, KUBECONFIG among them. The
// scripts are idempotent, so concurrent callers in one process share one run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './manifests.js';

const running = new Map<string, Promise<Record<string, string>>>();

export function provision(script: string, args: string[] = []): Promise<Record<string, string>> {
  const key = [script, ...args].join(' ');
  let pending = running.get(key);
  if (!pending) {
    pending = run(script, args).catch((err: unknown) => {
      running.delete(key); // let a later call retry
      throw err;
    });
    running.set(key, pending);
  }
  return pending;
}

function run(script: string, args: string[]): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    // Progress (and a first-time build, which takes minutes) goes to stderr.
    const child = spawn('bash', [join(repoRoot, script), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const values = Object.fromEntries(
        [...stdout.matchAll(/^([A-Z_]+)=(.+)$/gm)].map(([, k, v]) => [k, v!.trim()]),
      );
      if (code === 0 && values.KUBECONFIG) resolve(values);
      else
        reject(
          new Error(`${script} ${args.join(' ')} failed (exit ${code ?? signal}); stdout: ${stdout.trim()}`),
        );
    });
  });
}
