// ServiceAccounts with real tokens (TokenRequest API, signed by the API server's
// service-account key) and KubeConfigs that authenticate with them, plus the chart's RBAC
// rendered by helm and applied under names unique to the test run (the control plane is
// shared, ClusterRoles are cluster-scoped).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../harness/manifests.js';

export async function serviceAccountToken(
  admin: KubeConfig,
  namespace: string,
  name: string,
  audiences: string[] = [],
): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  await core
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name } } })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences, expirationSeconds: 600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`no token for ${namespace}/${name}`);
  return token;
}

/** The admin kubeconfig's cluster, with a bearer token as the user. */
export function kubeConfigWithToken(admin: KubeConfig, token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'token-user', token }],
    contexts: [{ name: 'token', cluster: cluster.name, user: 'token-user' }],
    currentContext: 'token',
  });
  return kc;
}

let helmBinary: string | undefined;

export function helmPath(): string {
  if (!helmBinary) {
    execFileSync('bash', ['scripts/k8s/build.sh', 'helm'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    helmBinary = join(
      execFileSync('bash', ['-c', '. scripts/versions.sh && printf %s "$HELM_BIN_DIR"'], {
        cwd: repoRoot,
      }).toString(),
      'helm',
    );
  }
  return helmBinary;
}

/** `helm template` of the chart into `namespace`, as parsed objects. */
export function renderChart(namespace: string, ...args: string[]): KubernetesObject[] {
  const out = execFileSync(
    helmPath(),
    ['template', 'lamina', join(repoRoot, 'charts', 'lamina'), '--namespace', namespace, ...args],
    { cwd: repoRoot, maxBuffer: 16 << 20 },
  ).toString();
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
}

type RbacObject = KubernetesObject & { roleRef?: { kind: string; name: string } };

/**
 * The chart's RBAC objects with cluster-scoped names suffixed, applied with the admin
 * identity. Returns the created objects' cleanup.
 */
export async function applyChartRbac(
  admin: KubeConfig,
  namespace: string,
  suffix: string,
  helmArgs: string[] = [],
): Promise<{ clusterRoleName: (name: string) => string; dispose: () => Promise<void> }> {
  const rename = (name: string) => `${name}-${suffix}`;
  const objects = renderChart(namespace, ...helmArgs)
    .filter((o) => o.apiVersion === 'rbac.authorization.k8s.io/v1' || o.kind === 'ServiceAccount')
    .map((o) => {
      const obj = structuredClone(o) as RbacObject;
      if (obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding') {
        obj.metadata = { ...obj.metadata, name: rename(obj.metadata?.name ?? '') };
      } else {
        obj.metadata = { ...obj.metadata, namespace };
      }
      if (obj.roleRef?.kind === 'ClusterRole')
        obj.roleRef = { ...obj.roleRef, name: rename(obj.roleRef.name) };
      return obj;
    });
  const api = KubernetesObjectApi.makeApiClient(admin);
  for (const obj of objects) await api.create(obj);
  return {
    clusterRoleName: rename,
    async dispose() {
      for (const obj of objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')) {
        await api.delete(obj).catch(() => undefined);
      }
    },
  };
}
