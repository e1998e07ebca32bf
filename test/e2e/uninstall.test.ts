// Helm's whole lifecycle on the local cluster (install and upgrade already happened in
// `npm run up`, which runs `helm upgrade --install`): uninstall removes Lamina's
// components but keeps what users own — their Functions, the CRDs and the uploaded code —
// and a fresh install serves the same functions again. The fresh install is the one a user
// with an existing cluster makes: Lamina's images pushed to a registry
// (scripts/registry/push-images.sh, to the test tier's registry) and `helm install` with
// `images.*` pointing there; the kubelet pulls them. This file runs last in the e2e tier
// (files run in name order) and leaves Lamina installed with the values `npm run up` gave it.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { waitFor } from '../harness/gateway-kube.js';
import { kubectl, kubeconfigPath } from '../harness/kube.js';
import { repoRoot } from '../harness/manifests.js';
import { ensureRegistry } from '../harness/registry.js';

const run = promisify(execFile);
const NAMESPACE = 'lamina-system';

interface PodList {
  items: Array<{
    metadata: { name: string; deletionTimestamp?: string };
    spec: { containers: Array<{ name: string; image: string }> };
    status: { containerStatuses?: Array<{ name: string; imageID: string; ready: boolean }> };
  }>;
}

/** The image, image ID and kubelet "Pulled" messages of one container of each live pod. */
async function containerImages(namespace: string, selector: string, container: string) {
  const { stdout } = await kubectl('get', 'pods', '-n', namespace, '-l', selector, '-o', 'json');
  const pods = (JSON.parse(stdout) as PodList).items.filter((pod) => !pod.metadata.deletionTimestamp);
  return Promise.all(
    pods.map(async (pod) => {
      const { stdout: pulled } = await kubectl(
        'get',
        'events',
        '-n',
        namespace,
        '--field-selector',
        `involvedObject.name=${pod.metadata.name},reason=Pulled`,
        '-o',
        'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
      );
      return {
        pod: pod.metadata.name,
        image: pod.spec.containers.find((c) => c.name === container)?.image,
        imageID: pod.status.containerStatuses?.find((c) => c.name === container)?.imageID,
        pulled: pulled.trim(),
      };
    }),
  );
}

const calculatorAnswers = (gateway: string) =>
  waitFor(
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

describe('helm uninstall and install', () => {
  const gateway = process.env.LAMINA_GATEWAY!;
  let helm: (...args: string[]) => Promise<{ stdout: string }>;
  let savedValues: unknown;
  let restoreArgs: string[];
  let restored = false;
  /** `--set images.operator=<registry>/lamina-test/operator:<tag>@<digest>` and the runtime's. */
  const pushed: Record<'operator' | 'runtime', string> = { operator: '', runtime: '' };

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
    savedValues = JSON.parse(stdout);
    const saved = join(mkdtempSync(join(tmpdir(), 'lamina-values-')), 'values.json');
    writeFileSync(saved, stdout);
    restoreArgs = ['-f', saved];
  });

  after(async () => {
    // A failure above must not leave the cluster without Lamina, or on the test's images.
    if (!restored) await restoreRelease();
  });

  /** The release with the values saved before the test (installed again if it is gone). */
  const restoreRelease = () =>
    helm(
      'upgrade',
      '--install',
      'lamina',
      'charts/lamina',
      '--namespace',
      NAMESPACE,
      ...restoreArgs,
      '--wait',
      '--timeout',
      '5m',
    );

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

  it('serves the same functions after a fresh install from images pulled from a registry', async (t) => {
    // As README "Install on your own cluster": push the images, then point images.* at them.
    // A tag of its own per run, so the kubelet has never seen it and pulls (function pods pull
    // IfNotPresent); layers uncompressed: the registry is on this machine.
    const registry = await ensureRegistry();
    const tag = `e2e-${Date.now().toString(36)}`;
    const started = Date.now();
    const { stdout } = await run(
      'bash',
      [
        'scripts/registry/push-images.sh',
        '--insecure',
        '--uncompressed',
        `${registry}/lamina-test`,
        tag,
        'operator',
        'runtime',
      ],
      { cwd: repoRoot, maxBuffer: 16 << 20 },
    );
    t.diagnostic(`pushed the operator and runtime images in ${Date.now() - started} ms`);
    for (const name of ['operator', 'runtime'] as const) {
      const ref = new RegExp(
        `^--set images\\.${name}=(${registry}/lamina-test/${name}:${tag}@sha256:[0-9a-f]{64})$`,
        'm',
      );
      pushed[name] =
        ref.exec(stdout)?.[1] ?? assert.fail(`push-images.sh printed no images.${name}: ${stdout}`);
    }
    // The calculator's environment and the warm pool from the old install would be adopted as
    // they are: remove them, so the environment that answers below runs the pushed image.
    for (const selector of ['lamina.dev/function=calculator', 'lamina.dev/pool=true'])
      await kubectl('delete', 'pods', '-n', 'default', '-l', selector, '--wait=true');

    await helm(
      'install',
      'lamina',
      'charts/lamina',
      '--namespace',
      NAMESPACE,
      ...restoreArgs,
      '--set',
      `images.operator=${pushed.operator}`,
      '--set',
      `images.runtime=${pushed.runtime}`,
      '--set',
      'images.pullPolicy=Always',
      '--wait',
      '--timeout',
      '5m',
    );
    const body = await calculatorAnswers(gateway);
    assert.equal(body.result, 42);

    // Every component runs the pushed image, by the digest the registry gave it (containerd
    // reports the registry's digest as the image ID), and the kubelet pulled it from there:
    // the operator and gateway with pullPolicy Always, the runtime under its new tag.
    const expectations = [
      { namespace: NAMESPACE, selector: 'app.kubernetes.io/component=operator', container: 'operator' },
      { namespace: NAMESPACE, selector: 'app.kubernetes.io/component=gateway', container: 'gateway' },
      { namespace: 'default', selector: 'lamina.dev/function=calculator', container: 'function' },
    ];
    for (const { namespace, selector, container } of expectations) {
      const ref = container === 'function' ? pushed.runtime : pushed.operator;
      const pods = await containerImages(namespace, selector, container);
      assert.ok(pods.length > 0, `no pod ${selector}`);
      for (const pod of pods) {
        const facts = JSON.stringify(pod);
        assert.equal(pod.image, ref, facts);
        assert.ok(pod.imageID?.startsWith(`${registry}/`), facts);
        assert.ok(pod.imageID?.endsWith(`@${ref.split('@')[1]}`), facts);
        if (container !== 'function')
          assert.ok(pod.pulled.includes(`Successfully pulled image "${ref}"`), facts);
      }
    }
    // The runtime image may have been pulled for another pod of the pool started at the same time.
    const { stdout: pulls } = await kubectl(
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'reason=Pulled',
      '-o',
      'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
    );
    assert.ok(pulls.includes(`Successfully pulled image "${pushed.runtime}"`), pulls);
  });

  it('restores the release as npm run up installed it', async () => {
    await restoreRelease();
    restored = true;
    const { stdout } = await helm('get', 'values', 'lamina', '--namespace', NAMESPACE, '--output', 'json');
    assert.deepEqual(JSON.parse(stdout), savedValues);
    await kubectl(
      'rollout',
      'status',
      '-n',
      NAMESPACE,
      'deployment/lamina-operator',
      'deployment/lamina-gateway',
      '--timeout=180s',
    );
    // The environments and pool pods started from the pushed runtime image go (the gateway
    // replaces the pool's too); the next invoke starts one from the release's own image.
    const leftovers = (
      await containerImages('default', 'app.kubernetes.io/managed-by=lamina-gateway', 'function')
    )
      .filter((pod) => pod.image === pushed.runtime)
      .map((pod) => pod.pod);
    if (leftovers.length > 0) await kubectl('delete', 'pods', '-n', 'default', '--wait=true', ...leftovers);
    // And containerd forgets the pulled references, so the next run pulls again.
    await run('bash', ['scripts/registry/forget-pulled.sh', pushed.operator, pushed.runtime], {
      cwd: repoRoot,
    });
    const body = await calculatorAnswers(gateway);
    assert.equal(body.result, 42);
    const [calculator] = await containerImages('default', 'lamina.dev/function=calculator', 'function');
    assert.notEqual(calculator?.image, pushed.runtime);
  });
});
