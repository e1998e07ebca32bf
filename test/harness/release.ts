// The Lamina release installed by `npm run up` (Helm, namespace lamina-system) as e2e tests and
// benchmarks see it: the gateway through its Service (LAMINA_GATEWAY), the operator and the
// artifact store as Deployments. Nothing here stands in for a component: a component that is
// not ready fails the caller with its log tail, and a Function the installed operator does not
// resolve fails with the operator's log tail.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, waitFor } from './gateway-kube.js';
import { kubectl } from './kube.js';
import { repoRoot } from './manifests.js';
import { provision } from './provision.js';

const run = promisify(execFile);

export const RELEASE = 'lamina';
export const RELEASE_NAMESPACE = 'lamina-system';
const COMPONENTS = ['lamina-operator', 'lamina-gateway'] as const;
const GROUP = { group: 'lamina.dev', version: 'v1alpha1' };

export interface Release {
  kc: KubeConfig;
  kubeconfigPath: string;
  /** The installed gateway's Service as clients reach it (the NodePort on the node's address). */
  gatewayUrl: string;
}

/** The last lines of a component's log (every container of its Deployment), for failure messages. */
export async function logTail(deployment: string, lines = 40): Promise<string> {
  const out = await kubectl(
    '-n',
    RELEASE_NAMESPACE,
    'logs',
    `deployment/${deployment}`,
    '--all-containers',
    `--tail=${lines}`,
  ).catch((err: { stderr?: string; message: string }) => ({
    stdout: `(no log: ${err.stderr ?? err.message})`,
  }));
  return out.stdout.trim();
}

async function componentProblem(apps: AppsV1Api, name: string): Promise<string | undefined> {
  const d = await apps
    .readNamespacedDeployment({ namespace: RELEASE_NAMESPACE, name })
    .catch((err: Error) => ({ error: err.message }));
  if ('error' in d) return `${name} is not installed in ${RELEASE_NAMESPACE}: ${d.error}`;
  const want = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  if (want < 1) return `${name} is scaled to 0 replicas`;
  if (ready < want) return `${name} has ${ready} of ${want} replicas ready`;
  return undefined;
}

/** What is not ready: each component by name with what is wrong, and the gateway Service. */
async function releaseProblems(
  kc: KubeConfig,
  gatewayUrl: string,
): Promise<Array<{ component: string; problem: string }>> {
  const apps = kc.makeApiClient(AppsV1Api);
  const problems: Array<{ component: string; problem: string }> = [];
  for (const name of COMPONENTS) {
    const problem = await componentProblem(apps, name);
    if (problem) problems.push({ component: name, problem });
  }
  if (problems.length === 0) {
    const health = await fetch(`${gatewayUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(
      (err: Error) => err,
    );
    if (health instanceof Error || !health.ok) {
      const why = health instanceof Error ? health.message : `HTTP ${health.status}`;
      problems.push({
        component: 'lamina-gateway',
        problem: `the gateway Service at ${gatewayUrl} does not answer /healthz (${why})`,
      });
    }
  }
  return problems;
}

/** Throws, naming each component that is not ready with its log tail. */
export async function assertReleaseReady(kc: KubeConfig, gatewayUrl: string): Promise<void> {
  const problems = await releaseProblems(kc, gatewayUrl);
  if (problems.length === 0) return;
  const described = await Promise.all(
    problems.map(
      async ({ component, problem }) =>
        `${problem}\n--- ${component} log tail ---\n${await logTail(component)}`,
    ),
  );
  throw new Error(`the Lamina release is not ready:\n${described.join('\n')}`);
}

let cached: Promise<Release> | undefined;

/**
 * The installed release. Under `npm test` scripts/test.mjs has run `npm run up` and passes
 * KUBECONFIG and LAMINA_GATEWAY; a single e2e file run by hand runs scripts/up.sh itself.
 */
export function installedRelease(): Promise<Release> {
  cached ??= (async () => {
    let gatewayUrl = process.env.LAMINA_GATEWAY;
    let kubeconfigPath: string;
    if (gatewayUrl && process.env.KUBECONFIG && existsSync(process.env.KUBECONFIG)) {
      // `npm run up` (or scripts/test.mjs) has installed it and said where.
      kubeconfigPath = process.env.KUBECONFIG;
    } else {
      const values = await provision('scripts/up.sh');
      kubeconfigPath = values.KUBECONFIG!;
      gatewayUrl = values.LAMINA_GATEWAY!;
      process.env.KUBECONFIG = kubeconfigPath;
      process.env.LAMINA_GATEWAY = gatewayUrl;
    }
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    await assertReleaseReady(kc, gatewayUrl);
    return { kc, kubeconfigPath, gatewayUrl };
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/** A throwaway namespace for one test file's functions (pool pods follow Functions there). */
export const testNamespace = (release: Release, prefix: string) => createTestNamespace(release.kc, prefix);

/** The function's ARN: Lamina puts the namespace in the account position. */
export const functionArn = (namespace: string, name: string, qualifier?: string) =>
  `arn:aws:lambda:us-east-1:${namespace}:function:${name}${qualifier ? `:${qualifier}` : ''}`;

/** The Invoke API URL of a function in any namespace. */
export const invokeUrl = (release: Release, namespace: string, name: string, qualifier?: string) =>
  `${release.gatewayUrl}/2015-03-31/functions/${encodeURIComponent(functionArn(namespace, name, qualifier))}/invocations`;

type Status = { state?: string; stateReason?: string; codeSha256?: string };

/**
 * Waits until the installed operator has made the object Active. A Failed object fails at
 * once with its reason; no answer in time fails with the operator's log tail.
 */
export async function waitActive(
  release: Release,
  namespace: string,
  name: string,
  plural: 'functions' | 'versions' | 'aliases' | 'layers' = 'functions',
  timeoutMs = 60_000,
): Promise<Status> {
  const custom = release.kc.makeApiClient(CustomObjectsApi);
  let last: Status = {};
  try {
    return await waitFor(
      `${plural}/${name} to become Active`,
      async () => {
        const obj = (await custom.getNamespacedCustomObject({ ...GROUP, namespace, plural, name })) as {
          status?: Status;
        };
        last = obj.status ?? {};
        if (last.state === 'Failed') throw new Error(`${plural}/${name} is Failed: ${last.stateReason}`);
        return last.state === 'Active' ? last : undefined;
      },
      timeoutMs,
      200,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message} (last status ${JSON.stringify(last)})\n` +
        `--- lamina-operator log tail ---\n${await logTail('lamina-operator')}`,
      { cause: err },
    );
  }
}

/** Creates a Function whose code is one inline `index.mjs` and waits until it is Active. */
export async function createFunction(
  release: Release,
  namespace: string,
  name: string,
  code: string | Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<Status> {
  await release.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...GROUP,
    namespace,
    plural: 'functions',
    body: {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Function',
      metadata: { name },
      spec: {
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        timeout: 10,
        code: { inline: typeof code === 'string' ? { 'index.mjs': code } : code },
        ...extra,
      },
    },
  });
  return waitActive(release, namespace, name);
}

const helmBinary = async () =>
  (await run('bash', ['-c', '. scripts/versions.sh && printf %s "$HELM_BIN_DIR/helm"'], { cwd: repoRoot }))
    .stdout;

async function helm(release: Release, ...args: string[]): Promise<string> {
  const { stdout } = await run(await helmBinary(), [...args, '--kubeconfig', release.kubeconfigPath], {
    cwd: repoRoot,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

async function waitRolledOut(release: Release): Promise<void> {
  for (const name of COMPONENTS) {
    await kubectl('-n', RELEASE_NAMESPACE, 'rollout', 'status', `deployment/${name}`, '--timeout=180s').catch(
      async (err: Error) => {
        // Say why: a pod Pending on a full node, crashing, or not ready.
        const pods = await kubectl('-n', RELEASE_NAMESPACE, 'get', 'pods', '-o', 'wide').then(
          (r) => r.stdout,
          String,
        );
        const events = await kubectl(
          '-n',
          RELEASE_NAMESPACE,
          'get',
          'events',
          '--field-selector',
          'type=Warning',
          '--sort-by=.lastTimestamp',
        ).then((r) => r.stdout, String);
        throw new Error(
          `${name} did not roll out: ${err.message}\n${pods}\n${events.split('\n').slice(-15).join('\n')}\n` +
            `--- ${name} log tail ---\n${await logTail(name)}`,
          { cause: err },
        );
      },
    );
  }
  await waitFor(
    'the gateway Service to answer after the upgrade',
    async () => (await fetch(`${release.gatewayUrl}/healthz`).catch(() => undefined))?.ok || undefined,
    60_000,
    250,
  );
  // A replica's readiness may drop for a probe or two on a loaded node just after a rollout
  // (the rollout itself counted it available): it gets a minute to be ready again.
  await waitFor(
    'every component ready after the upgrade',
    async () => (await releaseProblems(release.kc, release.gatewayUrl)).length === 0 || undefined,
    60_000,
    1000,
  ).catch(() => undefined);
  await assertReleaseReady(release.kc, release.gatewayUrl);
}

/**
 * `helm upgrade --reuse-values [-f file…] --set …` on the installed release (a knob a test needs,
 * such as a short idle timeout, or a values file such as values-ha.yaml; `--set` wins over the
 * files), waiting for the rollout. Returns a function that puts the release's values back exactly
 * as they were.
 */
export async function setReleaseValues(
  release: Release,
  values: Record<string, string | number | boolean>,
  valuesFiles: string[] = [],
): Promise<() => Promise<void>> {
  const saved = join(mkdtempSync(join(tmpdir(), 'lamina-values-')), 'values.json');
  writeFileSync(saved, await helm(release, 'get', 'values', RELEASE, '-n', RELEASE_NAMESPACE, '-o', 'json'));
  const files = valuesFiles.flatMap((file) => ['-f', file]);
  const sets = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  await helm(
    release,
    'upgrade',
    RELEASE,
    'charts/lamina',
    '-n',
    RELEASE_NAMESPACE,
    '--reuse-values',
    ...files,
    ...sets,
  );
  const restore = async () => {
    await helm(release, 'upgrade', RELEASE, 'charts/lamina', '-n', RELEASE_NAMESPACE, '-f', saved);
    await waitRolledOut(release);
  };
  try {
    await waitRolledOut(release);
  } catch (err) {
    // The caller never gets the restore function: put the values back before failing.
    await restore().catch(() => undefined);
    throw err;
  }
  return restore;
}
