// The operator for integration tests, against the real API server: in this process
// (startTestOperator) or as a child process that can be SIGKILLed mid-work
// (spawnTestOperator). Both watch only the test's namespaces and keep the leader Lease and
// the artifact store (a temp dir, a free port) to themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { operatorConfigFromEnv } from '../../operator/src/controller/config.js';
import { startOperator, type RunningOperator } from '../../operator/src/controller/operator.js';
import { createLogger } from '../../operator/src/shared/log.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface TestOperatorOptions {
  /** Namespaces to watch; the first also holds the Lease. */
  namespaces: string[];
  identity?: string;
  leaseName?: string;
  storeDir?: string;
  env?: Record<string, string>;
}

/** Environment for an operator made for tests: fast leases and retries, private ports and dirs. */
export function testOperatorEnv(options: TestOperatorOptions): Record<string, string> {
  return {
    LAMINA_NAMESPACE: options.namespaces[0] ?? 'default',
    LAMINA_WATCH_NAMESPACES: options.namespaces.join(','),
    LAMINA_POD_NAME: options.identity ?? `test-${randomBytes(3).toString('hex')}`,
    LAMINA_LEASE_NAME: options.leaseName ?? 'lamina-operator',
    LAMINA_LEASE_DURATION_SECONDS: '3',
    LAMINA_LEASE_RENEW_DEADLINE_SECONDS: '2',
    LAMINA_LEASE_RETRY_MS: '250',
    LAMINA_STORE_DIR: options.storeDir ?? mkdtempSync(join(tmpdir(), 'lamina-op-store-')),
    LAMINA_STORE_HOST: '127.0.0.1',
    LAMINA_STORE_PORT: '0',
    LAMINA_METRICS_HOST: '127.0.0.1',
    LAMINA_METRICS_PORT: '0',
    LAMINA_RETRY_SECONDS: '1',
    LAMINA_FETCH_TIMEOUT_SECONDS: '10',
    ...options.env,
  };
}

export async function startTestOperator(
  kc: KubeConfig,
  options: TestOperatorOptions,
): Promise<RunningOperator> {
  const env = testOperatorEnv(options);
  const log = createLogger(
    { component: 'test-operator', identity: env.LAMINA_POD_NAME },
    (process.env.LAMINA_TEST_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'error',
  );
  return startOperator(operatorConfigFromEnv(env), { kc, log });
}

export interface ChildOperator {
  child: ChildProcess;
  /** Lines the operator logged (JSON objects). */
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The real entrypoint (operator/src/bin/operator.ts) in a child process. */
export function spawnTestOperator(kubeconfigPath: string, options: TestOperatorOptions): ChildOperator {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'operator/src/bin/operator.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigPath,
      LAMINA_LOG_LEVEL: 'info',
      ...testOperatorEnv(options),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Deletes every Lamina object in the namespace (removing finalizers first: no operator may be
 * running any more), then the namespace. Without a namespace controller in the integration
 * control plane, objects of a deleted namespace would otherwise linger.
 */
export async function deleteNamespaceCompletely(kc: KubeConfig, namespace: string): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const target = { group: 'lamina.dev', version: 'v1alpha1', namespace };
  for (const plural of ['aliases', 'versions', 'functions', 'layers']) {
    const list = (await custom.listNamespacedCustomObject({ ...target, plural })) as {
      items: Array<{ metadata: { name: string; finalizers?: string[] } }>;
    };
    for (const item of list.items) {
      if (item.metadata.finalizers?.length) {
        await custom
          .patchNamespacedCustomObject({
            ...target,
            plural,
            name: item.metadata.name,
            body: [{ op: 'remove', path: '/metadata/finalizers' }],
          })
          .catch(() => undefined);
      }
      await custom
        .deleteNamespacedCustomObject({ ...target, plural, name: item.metadata.name })
        .catch(() => undefined);
    }
  }
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name: namespace })
    .catch(() => undefined);
}
