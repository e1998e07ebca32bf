// AddPermission, GetPolicy and RemovePermission on a real API server, with the AWS SDK v3:
// the statements become RoleBindings of the function's invoke Role, written by the gateway's
// ServiceAccount holding exactly the chart's rules — and they decide who may invoke: a
// ServiceAccount refused before AddPermission is let through after it, and refused again
// after RemovePermission.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  GetFunctionCommand,
  GetPolicyCommand,
  InvokeCommand,
  LambdaClient,
  RemovePermissionCommand,
} from '@aws-sdk/client-lambda';
import { RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubernetesAccess, type ControlPlaneAccess } from '../../../operator/src/control-plane/index.js';
import { LambdaAuthorizer } from '../../../operator/src/gateway/auth/lambda-auth.js';
import { KubernetesAuthorizer } from '../../../operator/src/kube/auth/authorizer.js';
import { type CallerNamespace, callerNamespace } from '../../../operator/src/kube/auth/caller-namespace.js';
import { KubernetesAccessReviewer } from '../../../operator/src/kube/auth/kubernetes-reviewer.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { applyChartRbac, kubeConfigWithToken, serviceAccountToken } from '../security/identities.js';
import { failure, pythonZip, ROLE, startControlPlane, type ControlPlaneWorld } from './setup.js';

/** client-node returns model classes; compare their data. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** RBAC decisions follow the API server's informers: ask until the answer is `wanted`. */
async function eventually(question: () => Promise<boolean>, wanted: boolean, what: string) {
  for (let attempt = 0; attempt < 50; attempt++) {
    if ((await question()) === wanted) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what} never became ${wanted}`);
}

describe('function policies as RBAC (AddPermission, GetPolicy, RemovePermission)', () => {
  let w: ControlPlaneWorld;
  let gatewayKc: KubeConfig;
  let rbac: Awaited<ReturnType<typeof applyChartRbac>> | undefined;
  let access: ControlPlaneAccess | undefined;
  let bareNames: CallerNamespace | undefined;
  let invokes: LambdaAuthorizer | undefined;
  let owner: LambdaClient;
  const clients: LambdaClient[] = [];
  const tokens: Record<string, string> = {};

  const clientWith = (token: string) => {
    const client = new LambdaClient({
      endpoint: w.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLAMINA', secretAccessKey: 'unused' },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-lamina-token'] = token;
        return next(args);
      },
      { step: 'build' },
    );
    clients.push(client);
    return client;
  };

  const serviceAccountWith = async (name: string, rules: Array<{ resources: string[]; verbs: string[] }>) => {
    const rbacApi = w.kc.makeApiClient(RbacAuthorizationV1Api);
    if (rules.length) {
      await rbacApi.createNamespacedRole({
        namespace: w.namespace,
        body: { metadata: { name }, rules: rules.map((r) => ({ apiGroups: ['lamina.dev'], ...r })) },
      });
      await rbacApi.createNamespacedRoleBinding({
        namespace: w.namespace,
        body: {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects: [{ kind: 'ServiceAccount', name, namespace: w.namespace }],
        },
      });
    }
    tokens[name] = await serviceAccountToken(w.kc, w.namespace, name);
    return clientWith(tokens[name]);
  };

  /** Whether the gateway's Invoke API lets `token` through to the function. */
  const mayInvoke = async (name: string, functionName: string) => {
    const denied = await invokes!
      .authorizeInvoke({ authorization: `Bearer ${tokens[name]}` }, w.namespace, functionName)
      .then(
        () => false,
        (err: { code?: string }) => err.code === 'AccessDeniedException',
      );
    return !denied;
  };

  const create = (client: LambdaClient, name: string) =>
    client.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Role: ROLE,
        Code: { ZipFile: pythonZip() },
      }),
    );

  before(async () => {
    w = await startControlPlane('cppol', {
      access: { authorize: (...args) => access!.authorize(...args) },
      bareNames: { of: (headers) => bareNames!.of(headers) },
      invokeAuthorizer: {
        authorizeInvoke: (headers, namespace, name) => invokes!.authorizeInvoke(headers, namespace, name),
      },
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
        invokes = new LambdaAuthorizer(reviews, 'us-east-1', createLogger({}, 'error'));
        return gatewayKc;
      },
    });
    owner = await serviceAccountWith('owner', [
      { resources: ['functions'], verbs: ['create', 'get', 'update', 'invoke'] },
    ]);
    await create(owner, 'guarded');
    await create(owner, 'squatted');
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await w?.dispose();
    await rbac?.dispose();
  });

  it('lets a ServiceAccount invoke after AddPermission names it, and not after RemovePermission', async () => {
    const stranger = await serviceAccountWith('stranger', []);
    const before = await failure(stranger.send(new InvokeCommand({ FunctionName: 'guarded' })));
    assert.deepEqual([before.name, before.status], ['AccessDeniedException', 403]);
    assert.equal(await mayInvoke('stranger', 'guarded'), false);

    const added = await owner.send(
      new AddPermissionCommand({
        FunctionName: 'guarded',
        StatementId: 'let-stranger-in',
        Action: 'lambda:InvokeFunction',
        Principal: `arn:aws:iam::${w.namespace}:role/lamina/stranger`,
      }),
    );
    const arn = `arn:aws:lambda:us-east-1:${w.namespace}:function:guarded`;
    const statement = {
      Sid: 'let-stranger-in',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${w.namespace}:role/lamina/stranger` },
      Action: 'lambda:InvokeFunction',
      Resource: arn,
    };
    assert.deepEqual(JSON.parse(added.Statement ?? ''), statement);

    // What kubectl sees: the function's invoke Role and one RoleBinding for the statement.
    const rbacApi = w.kc.makeApiClient(RbacAuthorizationV1Api);
    const role = await rbacApi.readNamespacedRole({ namespace: w.namespace, name: 'lamina-invoke-guarded' });
    assert.deepEqual(plain(role.rules), [
      { apiGroups: ['lamina.dev'], resources: ['functions'], verbs: ['invoke'], resourceNames: ['guarded'] },
    ]);
    const binding = await rbacApi.readNamespacedRoleBinding({
      namespace: w.namespace,
      name: 'lamina-policy-guarded.let-stranger-in',
    });
    assert.deepEqual(plain(binding.subjects), [
      { kind: 'ServiceAccount', name: 'stranger', namespace: w.namespace },
    ]);
    assert.equal(binding.metadata?.labels?.['lamina.dev/function'], 'guarded');
    assert.equal(binding.metadata?.ownerReferences?.[0]?.kind, 'Function');

    await eventually(() => mayInvoke('stranger', 'guarded'), true, 'stranger may invoke guarded');
    // Through the gateway the call now reaches the function (no node runs it here, so it
    // fails later, but not with the caller's refusal).
    const through = await stranger.send(new InvokeCommand({ FunctionName: 'guarded' })).then(
      (r) => ({ name: 'ok', status: r.StatusCode }),
      (err: { name: string; $metadata?: { httpStatusCode?: number } }) => ({
        name: err.name,
        status: err.$metadata?.httpStatusCode,
      }),
    );
    assert.notEqual(through.name, 'AccessDeniedException');
    assert.notEqual(through.status, 403);

    const policy = await owner.send(new GetPolicyCommand({ FunctionName: 'guarded' }));
    assert.deepEqual(JSON.parse(policy.Policy ?? ''), {
      Version: '2012-10-17',
      Id: 'default',
      Statement: [statement],
    });
    const fn = await owner.send(new GetFunctionCommand({ FunctionName: 'guarded' }));
    assert.equal(policy.RevisionId, fn.Configuration?.RevisionId);

    const again = await failure(
      owner.send(
        new AddPermissionCommand({
          FunctionName: 'guarded',
          StatementId: 'let-stranger-in',
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      ),
    );
    assert.deepEqual([again.name, again.status], ['ResourceConflictException', 409]);
    assert.match(again.message, /The statement id \(let-stranger-in\) provided already exists/);

    await owner.send(
      new RemovePermissionCommand({ FunctionName: 'guarded', StatementId: 'let-stranger-in' }),
    );
    await eventually(() => mayInvoke('stranger', 'guarded'), false, 'stranger may invoke guarded');
    const afterRemoval = await failure(stranger.send(new InvokeCommand({ FunctionName: 'guarded' })));
    assert.deepEqual([afterRemoval.name, afterRemoval.status], ['AccessDeniedException', 403]);

    const none = await failure(owner.send(new GetPolicyCommand({ FunctionName: 'guarded' })));
    assert.deepEqual([none.name, none.status], ['ResourceNotFoundException', 404]);
    assert.equal(none.message, 'The resource you requested does not exist.');
    const gone = await failure(
      owner.send(new RemovePermissionCommand({ FunctionName: 'guarded', StatementId: 'let-stranger-in' })),
    );
    assert.deepEqual([gone.name, gone.status], ['ResourceNotFoundException', 404]);
  });

  it("'*' lets every authenticated caller invoke; GetPolicy shows each statement", async () => {
    const anyone = await serviceAccountWith('anyone', []);
    assert.equal(await mayInvoke('anyone', 'guarded'), false);
    for (const [sid, principal] of [
      ['everyone', '*'],
      ['a-user', 'user:alice'],
    ] as const) {
      await owner.send(
        new AddPermissionCommand({
          FunctionName: 'guarded',
          StatementId: sid,
          Action: 'lambda:InvokeFunction',
          Principal: principal,
        }),
      );
    }
    await eventually(() => mayInvoke('anyone', 'guarded'), true, 'anyone may invoke guarded');
    const policy = JSON.parse(
      (await owner.send(new GetPolicyCommand({ FunctionName: 'guarded' }))).Policy ?? '',
    );
    assert.deepEqual(
      policy.Statement.map((s: { Sid: string; Principal: unknown }) => [s.Sid, s.Principal]),
      [
        ['a-user', { AWS: 'user:alice' }],
        ['everyone', '*'],
      ],
    );
    await anyone.send(new GetPolicyCommand({ FunctionName: 'guarded' })).then(
      () => assert.fail('a caller without get functions read the policy'),
      (err: { name: string }) => assert.equal(err.name, 'AccessDeniedException'),
    );
    for (const sid of ['everyone', 'a-user'])
      await owner.send(new RemovePermissionCommand({ FunctionName: 'guarded', StatementId: sid }));
    await eventually(() => mayInvoke('anyone', 'guarded'), false, 'anyone may invoke guarded');
  });

  it('refuses what RBAC cannot express, callers who could not invoke themselves, and stale revisions — writing nothing', async () => {
    const editor = await serviceAccountWith('editor', [
      { resources: ['functions'], verbs: ['get', 'update'] },
    ]);
    const addAs = (client: LambdaClient, extra: Record<string, unknown> = {}) =>
      failure(
        client.send(
          new AddPermissionCommand({
            FunctionName: 'guarded',
            StatementId: 'refused',
            Action: 'lambda:InvokeFunction',
            Principal: '*',
            ...extra,
          }),
        ),
      );
    const escalation = await addAs(editor);
    assert.deepEqual([escalation.name, escalation.status], ['AccessDeniedException', 403]);
    assert.match(
      escalation.message,
      /lambda:AddPermission .* verb "invoke" on functions.lamina.dev "guarded"/,
    );

    const service = await addAs(owner, { Principal: 's3.amazonaws.com', SourceArn: undefined });
    assert.equal(service.name, 'InvalidParameterValueException');
    assert.match(
      service.message,
      /s3\.amazonaws\.com .* arn:aws:iam::<namespace>:role\/lamina\/<serviceaccount>/,
    );
    const condition = await addAs(owner, { SourceArn: 'arn:aws:s3:::bucket' });
    assert.equal(condition.name, 'InvalidParameterValueException');
    const qualified = await addAs(owner, { Qualifier: '1' });
    assert.equal(qualified.name, 'InvalidParameterValueException');
    assert.match(qualified.message, /Omit the qualifier/);
    const action = await addAs(owner, { Action: 'lambda:GetFunction' });
    assert.equal(action.name, 'InvalidParameterValueException');
    const stale = await addAs(owner, { RevisionId: '00000000-0000-0000-0000-000000000000' });
    assert.deepEqual([stale.name, stale.status], ['PreconditionFailedException', 412]);
    const missing = await failure(
      owner.send(
        new AddPermissionCommand({
          FunctionName: 'absent',
          StatementId: 'x',
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      ),
    );
    assert.equal(missing.name, 'ResourceNotFoundException');

    const rbacApi = w.kc.makeApiClient(RbacAuthorizationV1Api);
    const bindings = await rbacApi.listNamespacedRoleBinding({
      namespace: w.namespace,
      labelSelector: 'lamina.dev/function',
    });
    assert.deepEqual(
      bindings.items.map((b) => b.metadata?.name),
      [],
    );
  });

  it('will not bind principals to a Role of the same name that grants more than invoke', async () => {
    const rbacApi = w.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbacApi.createNamespacedRole({
      namespace: w.namespace,
      body: {
        metadata: { name: 'lamina-invoke-squatted' },
        rules: [
          {
            apiGroups: ['lamina.dev'],
            resources: ['functions'],
            verbs: ['invoke'],
            resourceNames: ['squatted'],
          },
          { apiGroups: [''], resources: ['pods'], verbs: ['create'] },
        ],
      },
    });
    const refused = await failure(
      owner.send(
        new AddPermissionCommand({
          FunctionName: 'squatted',
          StatementId: 'x',
          Action: 'lambda:InvokeFunction',
          Principal: '*',
        }),
      ),
    );
    assert.deepEqual([refused.name, refused.status], ['ResourceConflictException', 409]);
    assert.match(refused.message, /grants more than invoke/);
  });

  it("cannot be used by the gateway's ServiceAccount to bind anything but what it holds", async () => {
    const gatewayRbac = gatewayKc.makeApiClient(RbacAuthorizationV1Api);
    await assert.rejects(
      gatewayRbac.createNamespacedRoleBinding({
        namespace: w.namespace,
        body: {
          metadata: { name: 'escalate' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'stranger', namespace: w.namespace }],
        },
      }),
      (err: { code?: number }) => err.code === 403,
    );
    await assert.rejects(
      gatewayRbac.createNamespacedRole({
        namespace: w.namespace,
        body: {
          metadata: { name: 'secrets-reader' },
          rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
        },
      }),
      (err: { code?: number }) => err.code === 403,
    );
  });
});
