// Helm's whole lifecycle on the local cluster (install and upgrade already happened in
// `npm run up`, which runs `helm upgrade --install`): uninstall removes Lamina's
// components but keeps what users own — their Functions, the CRDs and the uploaded code —
// and a fresh install serves the same functions again. This file runs last in the e2e tier
// (files run in name order) and leaves Lamina installed.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { waitFor } from '../harness/gateway-kube.js';
import { kubectl, kubeconfigPath } from '../harness/kube.js';
import { repoRoot } from '../harness/manifests.js';

const run = promisify(execFile);
const NAMESPACE = 'lamina-system';

describe('helm uninstall and install', () => {
  const gateway = process.env.LAMINA_GATEWAY;
  let helm: (...args: string[]) => Promise<{ stdout: string }>;
  let installArgs: string[];

  before(async () => {
    assert.ok(gateway, 'LAMINA_GATEWAY must be set (npm run up prints it)');
    const bin = join(
      execFileSync('bash', ['-c', '. scripts/versions.sh && printf %s "$HELM_BIN_DIR"'], {
        cwd: repoRoot,
      }).toString(),
      'helm',
    );
    const kubeconfig = await kubeconfigPath();
    helm = (...args) => run(bin, ['--kubeconfig', kubeconfig, ...args], { cwd: repoRoot });
    // Reinstall with exactly the values the release has (those npm run up passed: the local
    // auth opt-out, one replica with the SQLite queue, the node's DNS for NetworkPolicy …).
    const { stdout } = await helm('get', 'values', 'lamina', '--namespace', NAMESPACE, '--output', 'json');
    const saved = join(mkdtempSync(join(tmpdir(), 'lamina-values-')), 'values.json');
    writeFileSync(saved, stdout);
    installArgs = ['-f', saved];
  });

  it('removes the components and keeps the functions, CRDs and stored code', async () => {
    await helm('uninstall', 'lamina', '--namespace', NAMESPACE, '--wait');
    const { stdout: deployments } = await kubectl('get', 'deployments', '-n', NAMESPACE, '-o', 'name');
    assert.equal(deployments.trim(), '');
    const { stdout: claims } = await kubectl('get', 'pvc', '-n', NAMESPACE, '-o', 'name');
    assert.match(claims, /persistentvolumeclaim\/lamina-store/);
    assert.match(claims, /persistentvolumeclaim\/lamina-async/);
    const { stdout: functions } = await kubectl('get', 'fn', 'calculator', '-o', 'jsonpath={.status.state}');
    assert.equal(functions, 'Active');
  });

  it('serves the same functions after a fresh install', async () => {
    await helm(
      'install',
      'lamina',
      'charts/lamina',
      '--namespace',
      NAMESPACE,
      ...installArgs,
      '--wait',
      '--timeout',
      '5m',
    );
    const body = await waitFor(
      'the calculator to answer through the new gateway',
      async () => {
        const response = await fetch(
          `${gateway}/lambda-url/default/calculator/?num1=6&num2=7&operator=mul`,
        ).catch(() => undefined);
        return response?.status === 200 ? ((await response.json()) as { result: number }) : undefined;
      },
      120_000,
      500,
    );
    assert.equal(body.result, 42);
  });
});
