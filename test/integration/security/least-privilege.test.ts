// Least privilege, shown on the real API server: the chart's RBAC rendered by helm and
// applied, each component authenticating with a token for its own ServiceAccount. Forbidden
// calls are made for real and must fail with 403; the calls each component needs succeed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';
import { applyChartRbac, kubeConfigWithToken, serviceAccountToken } from './identities.js';

interface Question {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** undefined = the test namespace; '' = cluster scope */
  namespace?: string;
}

const q = (verb: string, resource: string, group = '', extra: Partial<Question> = {}): Question => ({
  verb,
  group,
  resource,
  ...extra,
});

/** What each component needs (from its code) and what it must never have. */
const EXPECTATIONS: Record<
  'lamina-gateway' | 'lamina-operator',
  { allowed: Question[]; forbidden: Question[] }
> = {
  'lamina-gateway': {
    allowed: [
      q('list', 'functions', 'lamina.dev'),
      q('watch', 'aliases', 'lamina.dev'),
      q('patch', 'versions', 'lamina.dev', { subresource: 'status' }),
      q('create', 'pods'),
      q('delete', 'pods'),
      q('create', 'tokenreviews', 'authentication.k8s.io', { namespace: '' }),
      q('create', 'subjectaccessreviews', 'authorization.k8s.io', { namespace: '' }),
      // Sharding: member and shard Leases in the release's namespace only.
      q('list', 'leases', 'coordination.k8s.io'),
      q('update', 'leases', 'coordination.k8s.io'),
    ],
    forbidden: [
      q('update', 'leases', 'coordination.k8s.io', { namespace: 'kube-system' }),
      q('create', 'functions', 'lamina.dev'),
      q('patch', 'functions', 'lamina.dev'),
      q('delete', 'functions', 'lamina.dev'),
      q('patch', 'functions', 'lamina.dev', { subresource: 'status' }),
      q('get', 'secrets'),
      q('list', 'secrets'),
      q('get', 'configmaps'),
      q('create', 'pods', '', { subresource: 'exec' }),
      q('get', 'pods', '', { subresource: 'log' }),
      q('create', 'serviceaccounts', '', { subresource: 'token' }),
      q('create', 'rolebindings', 'rbac.authorization.k8s.io'),
      q('create', 'deployments', 'apps'),
      q('create', 'networkpolicies', 'networking.k8s.io'),
      q('get', 'nodes', '', { namespace: '' }),
      q('invoke', 'functions', 'lamina.dev'),
      q('create', 'artifacts', 'lamina.dev', { namespace: '' }),
    ],
  },
  'lamina-operator': {
    allowed: [
      q('list', 'functions', 'lamina.dev'),
      q('patch', 'functions', 'lamina.dev', { subresource: 'status' }),
      q('create', 'versions', 'lamina.dev'),
      q('create', 'events'),
      q('patch', 'networkpolicies', 'networking.k8s.io'),
      q('delete', 'networkpolicies', 'networking.k8s.io'),
      // Event source mappings: the pollers invoke functions through the gateway as the operator.
      q('invoke', 'functions', 'lamina.dev'),
      q('create', 'tokenreviews', 'authentication.k8s.io', { namespace: '' }),
      q('create', 'subjectaccessreviews', 'authorization.k8s.io', { namespace: '' }),
    ],
    forbidden: [
      q('create', 'pods'),
      q('delete', 'pods'),
      q('list', 'pods'),
      q('get', 'secrets'),
      q('create', 'functions', 'lamina.dev'),
      q('delete', 'functions', 'lamina.dev'),
      q('delete', 'versions', 'lamina.dev'),
      q('create', 'rolebindings', 'rbac.authorization.k8s.io'),
      q('create', 'serviceaccounts', '', { subresource: 'token' }),
      q('get', 'nodes', '', { namespace: '' }),
    ],
  },
};

describe('least privilege of the chart RBAC', () => {
  let admin: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let rbac: Awaited<ReturnType<typeof applyChartRbac>>;
  const as: Record<string, KubeConfig> = {};

  before(async () => {
    admin = await adminKubeConfig();
    ns = await createTestNamespace(admin, 'sec-rbac');
    await installCrds(admin);
    // The gateway's own rights; the control plane's write rules (controlPlane.enabled, the
    // default) are checked in controlPlaneIdentity.test.ts.
    rbac = await applyChartRbac(admin, ns.name, randomBytes(3).toString('hex'), [
      '--set',
      'controlPlane.enabled=false',
    ]);
    for (const sa of ['lamina-gateway', 'lamina-operator', 'some-function']) {
      as[sa] = kubeConfigWithToken(admin, await serviceAccountToken(admin, ns.name, sa));
    }
  });
  after(async () => {
    await rbac?.dispose();
    await ns?.dispose();
  });

  for (const [component, { allowed, forbidden }] of Object.entries(EXPECTATIONS)) {
    it(`${component}: allowed exactly what its code calls, refused the rest (SelfSubjectAccessReview)`, async () => {
      const api = as[component]!.makeApiClient(AuthorizationV1Api);
      const ask = async (question: Question) => {
        const review = await api.createSelfSubjectAccessReview({
          body: {
            spec: {
              resourceAttributes: {
                verb: question.verb,
                group: question.group,
                resource: question.resource,
                ...(question.subresource ? { subresource: question.subresource } : {}),
                ...(question.namespace === '' ? {} : { namespace: question.namespace ?? ns.name }),
              },
            },
          },
        });
        return review.status?.allowed === true;
      };
      const wrong: string[] = [];
      for (const question of allowed)
        if (!(await ask(question))) wrong.push(`missing ${JSON.stringify(question)}`);
      for (const question of forbidden)
        if (await ask(question)) wrong.push(`has ${JSON.stringify(question)}`);
      assert.deepEqual(wrong, []);
    });
  }

  const forbidden = async (call: Promise<unknown>) =>
    assert.rejects(call, (err: { code?: number }) => {
      assert.equal(err.code, 403);
      return true;
    });

  it('gateway: creating a Function or reading a Secret fails with 403 on the wire', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'db-password' }, stringData: { password: 'hunter2' } },
    });
    const custom = as['lamina-gateway']!.makeApiClient(CustomObjectsApi);
    await forbidden(
      custom.createNamespacedCustomObject({
        group: 'lamina.dev',
        version: 'v1alpha1',
        namespace: ns.name,
        plural: 'functions',
        body: {
          apiVersion: 'lamina.dev/v1alpha1',
          kind: 'Function',
          metadata: { name: 'planted' },
          spec: { runtime: 'nodejs20.x', handler: 'index.handler', code: { inline: { 'index.mjs': 'x' } } },
        },
      }),
    );
    const gatewayCore = as['lamina-gateway']!.makeApiClient(CoreV1Api);
    await forbidden(gatewayCore.readNamespacedSecret({ namespace: ns.name, name: 'db-password' }));
    await forbidden(
      as['lamina-gateway']!.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: ns.name,
        body: {
          metadata: { name: 'escalate' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'lamina-gateway', namespace: ns.name }],
        },
      }),
    );
    // What it needs works.
    await gatewayCore.listNamespacedPod({ namespace: ns.name });
  });

  it('operator: creating a pod or reading a Secret fails with 403 on the wire', async () => {
    const core = as['lamina-operator']!.makeApiClient(CoreV1Api);
    await forbidden(
      core.createNamespacedPod({
        namespace: ns.name,
        body: { metadata: { name: 'planted' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      }),
    );
    await forbidden(core.readNamespacedSecret({ namespace: ns.name, name: 'db-password' }));
    const custom = as['lamina-operator']!.makeApiClient(CustomObjectsApi);
    await custom.listNamespacedCustomObject({
      group: 'lamina.dev',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: 'functions',
    });
  });

  it('a function execution role (its own ServiceAccount) gets nothing from Lamina', async () => {
    const core = as['some-function']!.makeApiClient(CoreV1Api);
    await forbidden(core.listNamespacedPod({ namespace: ns.name }));
    await forbidden(
      as['some-function']!.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
        group: 'lamina.dev',
        version: 'v1alpha1',
        namespace: ns.name,
        plural: 'functions',
      }),
    );
  });
});
