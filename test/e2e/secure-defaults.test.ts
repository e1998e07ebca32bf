// The installed release with the chart's secure defaults (auth.invoke and auth.store:
// kubernetes) and SigV4 on, through the gateway's Service: an anonymous invoke is refused, a
// token without the `invoke` verb is refused, a token with it runs the function; the AWS SDK
// with an access key mapped to a ServiceAccount deploys (code through the secured store) and
// runs a function, and is refused with a wrong secret or a key whose ServiceAccount has no
// RBAC in the function's namespace. The release's values are put back
// after (npm run up's local opt-out).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import {
  createFunction,
  functionArn,
  installedRelease,
  invokeUrl,
  type Release,
  RELEASE_NAMESPACE,
  setReleaseValues,
  testNamespace,
} from '../harness/release.js';
import { serviceAccountToken } from '../integration/security/identities.js';

const HANDLER = 'export const handler = async (event) => ({ echoed: event });';

describe('secure defaults on the installed release', () => {
  let release: Release;
  let restore: (() => Promise<void>) | undefined;
  let ns: { name: string; dispose(): Promise<void> };
  let other: { name: string; dispose(): Promise<void> };
  const secrets: string[] = [];
  const clients: LambdaClient[] = [];
  const key = (name: string) => ({
    name,
    accessKeyId: `LAMINA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  });
  const allowed = key('e2e-allowed');
  const foreign = key('e2e-foreign');

  const storeKey = async (k: ReturnType<typeof key>, serviceAccount: string) => {
    const name = `${k.name}-${randomBytes(3).toString('hex')}`;
    await release.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: RELEASE_NAMESPACE,
      body: {
        metadata: { name, labels: { 'lamina.dev/access-key': 'true' } },
        stringData: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, serviceAccount },
      },
    });
    secrets.push(name);
  };

  const bindInvoker = async (namespace: string, serviceAccount: string) => {
    await release.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: `${serviceAccount}-invokes` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'lamina-invoker' },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      },
    });
  };

  const sdk = (accessKeyId: string, secretAccessKey: string) => {
    const client = new LambdaClient({
      endpoint: release.gatewayUrl,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'secure');
    other = await testNamespace(release, 'secure-other');
    await createFunction(release, ns.name, 'guarded', HANDLER);
    await bindInvoker(ns.name, 'caller');
    await release.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRole({
      namespace: ns.name,
      body: {
        metadata: { name: 'deployer' },
        rules: [{ apiGroups: ['lamina.dev'], resources: ['functions'], verbs: ['create', 'get'] }],
      },
    });
    await release.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: 'caller-deploys' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
        subjects: [{ kind: 'ServiceAccount', name: 'caller', namespace: ns.name }],
      },
    });
    await bindInvoker(other.name, 'outsider');
    await storeKey(allowed, `${ns.name}/caller`);
    await storeKey(foreign, `${other.name}/outsider`);
    restore = await setReleaseValues(release, {
      'auth.invoke': 'kubernetes',
      'auth.store': 'kubernetes',
      'auth.sigv4.enabled': true,
    });
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await restore?.();
    const core = release.kc.makeApiClient(CoreV1Api);
    for (const name of secrets) {
      await core.deleteNamespacedSecret({ namespace: RELEASE_NAMESPACE, name }).catch(() => undefined);
    }
    await ns?.dispose();
    await other?.dispose();
  });

  const invoke = (headers: Record<string, string> = {}) =>
    fetch(invokeUrl(release, ns.name, 'guarded'), { method: 'POST', headers, body: '{"n":1}' });

  it('refuses an anonymous invoke and a token without the invoke verb; runs it for one with it', async () => {
    const anonymous = await invoke();
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');

    const stranger = await serviceAccountToken(release.kc, ns.name, 'stranger');
    const denied = await invoke({ authorization: `Bearer ${stranger}` });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('x-amzn-errortype'), 'AccessDeniedException');

    const caller = await serviceAccountToken(release.kc, ns.name, 'caller');
    const ran = await invoke({ authorization: `Bearer ${caller}` });
    assert.equal(ran.status, 200, await ran.clone().text());
    assert.deepEqual(await ran.json(), { echoed: { n: 1 } });
  });

  it('runs it for the AWS SDK signing with an access key, and refuses a wrong secret or a foreign key', async () => {
    const send = (client: LambdaClient) =>
      client.send(new InvokeCommand({ FunctionName: functionArn(ns.name, 'guarded'), Payload: '{"n":2}' }));
    const answer = await send(sdk(allowed.accessKeyId, allowed.secretAccessKey));
    assert.equal(answer.StatusCode, 200);
    assert.deepEqual(JSON.parse(Buffer.from(answer.Payload!).toString()), { echoed: { n: 2 } });

    await assert.rejects(send(sdk(allowed.accessKeyId, 'not-the-secret-at-all')), {
      name: 'InvalidSignatureException',
    });
    await assert.rejects(send(sdk(foreign.accessKeyId, foreign.secretAccessKey)), {
      name: 'AccessDeniedException',
    });
  });

  it('deploys with the AWS SDK and an access key, the code going through the secured store', async () => {
    const client = sdk(allowed.accessKeyId, allowed.secretAccessKey);
    const zip = new AdmZip();
    zip.addFile('index.mjs', Buffer.from(HANDLER));
    const arn = functionArn(ns.name, 'deployed');
    await client.send(
      new CreateFunctionCommand({
        FunctionName: arn,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/x',
        Code: { ZipFile: new Uint8Array(zip.toBuffer()) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
      { FunctionName: arn },
    );
    const answer = await client.send(new InvokeCommand({ FunctionName: arn, Payload: '{"n":3}' }));
    assert.deepEqual(JSON.parse(Buffer.from(answer.Payload!).toString()), { echoed: { n: 3 } });
  });
});
