// Who may use the control plane, on a real API server: with invoke auth on, each call needs
// the caller's own RBAC verb (TokenReview + SubjectAccessReview), and the writes are made by
// the gateway's ServiceAccount holding exactly the chart's rules (rbac.yaml), no more.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  ListFunctionsCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  AuthorizationV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { LaminaFunction } from '../../../operator/src/api/index.js';
import { kubernetesAccess, type ControlPlaneAccess } from '../../../operator/src/control-plane/index.js';
import { KubernetesAuthorizer } from '../../../operator/src/kube/auth/authorizer.js';
import { type CallerNamespace, callerNamespace } from '../../../operator/src/kube/auth/caller-namespace.js';
import { KubernetesAccessReviewer } from '../../../operator/src/kube/auth/kubernetes-reviewer.js';
import { applyChartRbac, kubeConfigWithToken, serviceAccountToken } from '../security/identities.js';
import { createTestNamespace } from '../../harness/gateway-kube.js';
import { failure, pythonZip, ROLE, startControlPlane, type ControlPlaneWorld } from './setup.js';

describe('control-plane identity with auth on', () => {
  let w: ControlPlaneWorld;
  let gatewayKc: KubeConfig;
  let rbac: Awaited<ReturnType<typeof applyChartRbac>> | undefined;
  let access: ControlPlaneAccess | undefined;
  let bareNames: CallerNamespace | undefined;
  const clients: LambdaClient[] = [];

  /** A Lambda client that sends `token` the way SDK users do (X-Lamina-Token). */
  const clientWith = (token?: string) => {
    const client = new LambdaClient({
      endpoint: w.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLAMINA', secretAccessKey: 'unused' },
      maxAttempts: 1,
    });
    if (token) {
      client.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-lamina-token'] = token;
          return next(args);
        },
        { step: 'build' },
      );
    }
    clients.push(client);
    return client;
  };

  const userWith = async (name: string, rules: Array<{ resources: string[]; verbs: string[] }>) => {
    const rbacApi = w.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbacApi.createNamespacedRole({
      namespace: w.namespace,
      body: {
        metadata: { name },
        rules: rules.map((r) => ({ apiGroups: ['lamina.dev'], ...r })),
      },
    });
    await rbacApi.createNamespacedRoleBinding({
      namespace: w.namespace,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: w.namespace }],
      },
    });
    return serviceAccountToken(w.kc, w.namespace, name);
  };

  before(async () => {
    w = await startControlPlane('cpid', {
      access: { authorize: (...args) => access!.authorize(...args) },
      bareNames: { of: (headers) => bareNames!.of(headers) },
      gatewayIdentity: async (namespace) => {
        const { adminKubeConfig } = await import('../../harness/gateway-kube.js');
        const admin = await adminKubeConfig();
        rbac = await applyChartRbac(admin, namespace, randomBytes(3).toString('hex'));
        gatewayKc = kubeConfigWithToken(admin, await serviceAccountToken(admin, namespace, 'lamina-gateway'));
        const reviews = new KubernetesAuthorizer(new KubernetesAccessReviewer(gatewayKc), {
          now: Date.now,
          cacheTtlMs: 0,
        });
        access = kubernetesAccess(reviews);
        bareNames = callerNamespace(reviews, namespace);
        return gatewayKc;
      },
    });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await w?.dispose();
    await rbac?.dispose();
  });

  it('refuses callers without a token or without the RBAC verb, and writes nothing for them', async () => {
    const viewer = await userWith('viewer', [{ resources: ['functions'], verbs: ['get', 'list'] }]);
    const create = (client: LambdaClient) =>
      client.send(
        new CreateFunctionCommand({
          FunctionName: 'guarded',
          Runtime: 'python3.13',
          Handler: 'app.handler',
          Role: ROLE,
          Code: { ZipFile: pythonZip() },
        }),
      );
    const anonymous = await failure(create(clientWith()));
    assert.deepEqual([anonymous.name, anonymous.status], ['MissingAuthenticationTokenException', 403]);
    const denied = await failure(create(clientWith(viewer)));
    assert.deepEqual([denied.name, denied.status], ['AccessDeniedException', 403]);
    assert.match(denied.message, /lambda:CreateFunction .* verb "create" on functions.lamina.dev "guarded"/);
    const forged = await failure(create(clientWith('not-a-token')));
    assert.equal(forged.name, 'UnrecognizedClientException');
    assert.equal(await w.kubectlGet('functions', 'guarded'), undefined);
  });

  it('lets a caller do what its RBAC allows, written by the gateway with the chart rules', async () => {
    const deployer = clientWith(
      await userWith('deployer', [
        { resources: ['functions'], verbs: ['create', 'get', 'list', 'update', 'delete'] },
        { resources: ['versions'], verbs: ['create', 'list'] },
      ]),
    );
    const viewer = clientWith(await serviceAccountToken(w.kc, w.namespace, 'viewer'));
    const created = await deployer.send(
      new CreateFunctionCommand({
        FunctionName: 'allowed',
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Role: ROLE,
        Code: { ZipFile: pythonZip() },
      }),
    );
    assert.equal(created.State, 'Pending');
    assert.equal((await w.kubectlGet<LaminaFunction>('functions', 'allowed'))?.spec.runtime, 'python3.13');
    await waitUntilFunctionActiveV2(
      { client: deployer, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
      { FunctionName: 'allowed' },
    );
    assert.equal(
      (await viewer.send(new GetFunctionCommand({ FunctionName: 'allowed' }))).Configuration?.State,
      'Active',
    );
    const readOnly = await failure(
      viewer.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'allowed', Timeout: 9 })),
    );
    assert.equal(readOnly.name, 'AccessDeniedException');
    assert.equal((await deployer.send(new PublishVersionCommand({ FunctionName: 'allowed' }))).Version, '1');
  });

  it("resolves a service account's bare names in its own namespace, and an ARN where it points", async () => {
    const own = await createTestNamespace(w.kc, 'cpid-own');
    try {
      const rbacApi = w.kc.makeApiClient(RbacAuthorizationV1Api);
      await rbacApi.createNamespacedRole({
        namespace: own.name,
        body: {
          metadata: { name: 'builder' },
          rules: [{ apiGroups: ['lamina.dev'], resources: ['functions'], verbs: ['create', 'get', 'list'] }],
        },
      });
      await rbacApi.createNamespacedRoleBinding({
        namespace: own.name,
        body: {
          metadata: { name: 'builder' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'builder' },
          subjects: [{ kind: 'ServiceAccount', name: 'builder', namespace: own.name }],
        },
      });
      const builder = clientWith(await serviceAccountToken(w.kc, own.name, 'builder'));
      const created = await builder.send(
        new CreateFunctionCommand({
          FunctionName: 'own',
          Runtime: 'python3.13',
          Handler: 'app.handler',
          Role: ROLE,
          Code: { ZipFile: pythonZip() },
        }),
      );
      const ownArn = `arn:aws:lambda:us-east-1:${own.name}:function:own`;
      assert.equal(created.FunctionArn, ownArn);
      const written = (await w.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: 'lamina.dev',
        version: 'v1alpha1',
        namespace: own.name,
        plural: 'functions',
        name: 'own',
      })) as LaminaFunction;
      assert.equal(written.spec.handler, 'app.handler');
      assert.equal(await w.kubectlGet('functions', 'own'), undefined, 'nothing in the default namespace');
      assert.equal(
        (await builder.send(new GetFunctionCommand({ FunctionName: 'own' }))).Configuration?.FunctionArn,
        ownArn,
      );
      const listed = await builder.send(new ListFunctionsCommand({}));
      assert.deepEqual(
        listed.Functions?.map((f) => f.FunctionArn),
        [ownArn],
      );
      // An ARN names its namespace whoever calls: the builder has no rights in the default one.
      const elsewhere = await failure(
        builder.send(
          new GetFunctionCommand({
            FunctionName: `arn:aws:lambda:us-east-1:${w.namespace}:function:allowed`,
          }),
        ),
      );
      assert.equal(elsewhere.name, 'AccessDeniedException');
      assert.match(elsewhere.message, new RegExp(`in namespace "${w.namespace}"`));
    } finally {
      await own.dispose();
    }
  });

  it("gives the gateway's ServiceAccount the control plane's verbs and nothing beyond", async () => {
    const api = gatewayKc.makeApiClient(AuthorizationV1Api);
    const may = async (verb: string, resource: string, group = 'lamina.dev', subresource?: string) =>
      (
        await api.createSelfSubjectAccessReview({
          body: {
            spec: {
              resourceAttributes: {
                verb,
                group,
                resource,
                namespace: w.namespace,
                ...(subresource ? { subresource } : {}),
              },
            },
          },
        })
      ).status?.allowed === true;
    for (const [verb, resource] of [
      ['create', 'functions'],
      ['patch', 'functions'],
      ['delete', 'functions'],
      ['get', 'functions'],
      ['create', 'versions'],
      ['delete', 'versions'],
      ['create', 'aliases'],
      ['patch', 'aliases'],
      ['create', 'layers'],
      ['patch', 'layers'],
    ] as const) {
      assert.equal(await may(verb, resource), true, `${verb} ${resource}`);
    }
    assert.equal(await may('patch', 'functions', 'lamina.dev', 'status'), false, 'status is the operator’s');
    assert.equal(await may('patch', 'versions'), false, 'published versions are immutable');
    assert.equal(await may('get', 'secrets', ''), false);
    // Function policies: Roles and RoleBindings it creates, never changes, and cannot escalate.
    const rbacGroup = 'rbac.authorization.k8s.io';
    assert.equal(await may('create', 'rolebindings', rbacGroup), true);
    assert.equal(await may('create', 'roles', rbacGroup), true);
    assert.equal(await may('invoke', 'functions'), true, 'to create and bind invoke Roles');
    for (const verb of ['update', 'patch', 'bind', 'escalate'])
      assert.equal(await may(verb, 'roles', rbacGroup), false, `${verb} roles`);
    assert.equal(await may('create', 'clusterrolebindings', rbacGroup), false);
  });
});
