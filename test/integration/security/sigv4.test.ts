// SigV4 for AWS clients, on a real API server: the gateway (in this process, as the chart's
// lamina-gateway ServiceAccount with auth.sigv4.enabled's rules) verifies signatures against
// access-key Secrets in its namespace and asks SubjectAccessReview about each key's
// ServiceAccount. The AWS SDK for JavaScript v3, boto3 and the AWS CLI, unmodified but for
// their credentials, each: a valid signature passes; a wrong secret, a request signed outside
// the 5-minute skew, a body changed after signing and a key whose ServiceAccount belongs to
// another namespace are refused with Lambda's error types.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubernetesAccess, type ControlPlaneAccess } from '../../../operator/src/control-plane/index.js';
import { ACCESS_KEY_LABEL } from '../../../operator/src/gateway/auth/access-keys.js';
import { LambdaAuthorizer } from '../../../operator/src/gateway/auth/lambda-auth.js';
import { SecretAccessKeys } from '../../../operator/src/gateway/kubernetes/access-key-secrets.js';
import { KubernetesAuthorizer } from '../../../operator/src/kube/auth/authorizer.js';
import { type CallerNamespace, callerNamespace } from '../../../operator/src/kube/auth/caller-namespace.js';
import { KubernetesAccessReviewer } from '../../../operator/src/kube/auth/kubernetes-reviewer.js';
import { VerifiedCallers } from '../../../operator/src/kube/auth/verified-callers.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { awsCliPath } from '../../harness/awscli.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';
import { repoRoot } from '../../harness/manifests.js';
import { pipTarget } from '../../harness/third-party.js';
import { startControlPlane, type ControlPlaneWorld } from '../control-plane/setup.js';
import { applyChartRbac, kubeConfigWithToken, serviceAccountToken } from './identities.js';

const run = promisify(execFile);
const BOTO3_VERSION = '1.44.8';
const PROBE = join(repoRoot, 'test/fixtures/aws-clients/sigv4_probe.py');
const FUNCTION = 'ledger';

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

const newKey = (): Key => ({
  accessKeyId: `LAMINA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
});

const zip = () => {
  const z = new AdmZip();
  z.addFile('app.py', Buffer.from('def handler(e, c):\n    return e\n'));
  return new Uint8Array(z.toBuffer());
};

interface Outcome {
  status?: number;
  error?: string;
  message?: string;
}

async function outcomeOf(call: Promise<{ StatusCode?: number; $metadata: { httpStatusCode?: number } }>) {
  try {
    const answer = await call;
    return { status: answer.StatusCode ?? answer.$metadata.httpStatusCode } as Outcome;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { error: e.name, message: e.message, status: e.$metadata?.httpStatusCode } as Outcome;
  }
}

describe('SigV4 access keys with the AWS SDK, boto3 and the AWS CLI', () => {
  const log = createLogger({}, 'error');
  const verified = new VerifiedCallers();
  let w: ControlPlaneWorld;
  let rbac: Awaited<ReturnType<typeof applyChartRbac>> | undefined;
  let keys: SecretAccessKeys | undefined;
  let access: ControlPlaneAccess | undefined;
  let bareNames: CallerNamespace | undefined;
  let invoke: LambdaAuthorizer | undefined;
  let other: { name: string; dispose(): Promise<void> } | undefined;
  const clients: LambdaClient[] = [];
  const deployer = newKey();
  const intruder = newKey();
  const unknown = newKey();
  let arn: string;

  const sdk = (key: Key, options: { secret?: string; clockOffsetMs?: number; tamper?: boolean } = {}) => {
    const client = new LambdaClient({
      endpoint: w.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: options.secret ?? key.secretAccessKey },
      maxAttempts: 1,
      ...(options.clockOffsetMs !== undefined && { systemClockOffset: options.clockOffsetMs }),
    });
    if (options.tamper) {
      // After the signer (finalizeRequest), as a man in the middle would.
      client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { body: unknown; headers: Record<string, string> };
          request.body = '{"amount": 1000000}';
          request.headers['content-length'] = String(Buffer.byteLength(request.body as string));
          return next(args);
        },
        { step: 'deserialize' },
      );
    }
    clients.push(client);
    return client;
  };

  const storeKey = async (
    kc: KubeConfig,
    namespace: string,
    name: string,
    key: Key,
    serviceAccount: string,
  ) => {
    await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace,
      body: {
        metadata: { name, labels: { [ACCESS_KEY_LABEL]: 'true' } },
        stringData: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, serviceAccount },
      },
    });
  };

  const grant = async (kc: KubeConfig, namespace: string, serviceAccount: string) => {
    const api = kc.makeApiClient(RbacAuthorizationV1Api);
    await api.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: serviceAccount },
        rules: [
          { apiGroups: ['lamina.dev'], resources: ['functions'], verbs: ['create', 'get', 'list', 'invoke'] },
        ],
      },
    });
    await api.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: serviceAccount },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: serviceAccount },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
      },
    });
  };

  before(async () => {
    w = await startControlPlane('sigv4', {
      access: { authorize: (...args) => access!.authorize(...args) },
      bareNames: { of: (headers) => bareNames!.of(headers) },
      invokeAuthorizer: { authorizeInvoke: (...args) => invoke!.authorizeInvoke(...args) },
      sigv4: { keys: { get: (id) => keys!.get(id) }, verified },
      gatewayIdentity: async (namespace) => {
        const admin = await adminKubeConfig();
        rbac = await applyChartRbac(admin, namespace, randomBytes(3).toString('hex'), [
          '--set',
          'auth.sigv4.enabled=true',
        ]);
        const gatewayKc = kubeConfigWithToken(
          admin,
          await serviceAccountToken(admin, namespace, 'lamina-gateway'),
        );
        const reviews = new KubernetesAuthorizer(new KubernetesAccessReviewer(gatewayKc), {
          now: Date.now,
          cacheTtlMs: 0,
          verified,
        });
        access = kubernetesAccess(reviews);
        bareNames = callerNamespace(reviews, namespace);
        invoke = new LambdaAuthorizer(reviews, 'us-east-1', log);
        // The keys, read as the gateway: the chart's Role for Secrets in its own namespace.
        keys = new SecretAccessKeys(gatewayKc, namespace, log);
        await keys.start();
        return gatewayKc;
      },
    });
    other = await createTestNamespace(w.kc, 'sigv4-other');
    await grant(w.kc, w.namespace, 'deployer');
    await grant(w.kc, other.name, 'intruder');
    await storeKey(w.kc, w.namespace, 'deployer-key', deployer, `${w.namespace}/deployer`);
    await storeKey(w.kc, w.namespace, 'intruder-key', intruder, `${other.name}/intruder`);
    const deadline = Date.now() + 20_000;
    while (!(keys!.get(deployer.accessKeyId) && keys!.get(intruder.accessKeyId))) {
      assert.ok(Date.now() < deadline, 'the gateway never saw the access-key Secrets');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    arn = `arn:aws:lambda:us-east-1:${w.namespace}:function:${FUNCTION}`;
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await keys?.stop();
    await other?.dispose();
    await w?.dispose();
    await rbac?.dispose();
  });

  describe('AWS SDK for JavaScript v3', () => {
    it('creates and invokes with a valid signature, as the key’s ServiceAccount', async () => {
      const client = sdk(deployer);
      const created = await client.send(
        new CreateFunctionCommand({
          FunctionName: FUNCTION,
          Runtime: 'python3.13',
          Handler: 'app.handler',
          Role: 'arn:aws:iam::000000000000:role/x',
          Code: { ZipFile: zip() },
        }),
      );
      assert.equal(created.FunctionName, FUNCTION);
      await waitUntilFunctionActiveV2(
        { client, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
        { FunctionName: FUNCTION },
      );
      // DryRun: authorised and resolved, no environment started (no kubelet here).
      const dryRun = await outcomeOf(
        client.send(
          new InvokeCommand({ FunctionName: FUNCTION, InvocationType: 'DryRun', Payload: '{"amount":1}' }),
        ),
      );
      assert.deepEqual(dryRun, { status: 204 });
    });

    it('refuses a wrong secret, an unknown key, an old signature and a changed body', async () => {
      const call = (client: LambdaClient) =>
        outcomeOf(
          client.send(
            new InvokeCommand({ FunctionName: FUNCTION, InvocationType: 'DryRun', Payload: '{"amount":1}' }),
          ),
        );
      const wrong = await call(sdk(deployer, { secret: 'not-the-secret-at-all' }));
      assert.deepEqual([wrong.error, wrong.status], ['InvalidSignatureException', 403]);
      assert.match(wrong.message!, /does not match the signature you provided/);
      const stranger = await call(sdk(unknown));
      assert.deepEqual([stranger.error, stranger.status], ['UnrecognizedClientException', 403]);
      const old = await call(sdk(deployer, { clockOffsetMs: -6 * 60_000 }));
      assert.deepEqual([old.error, old.status], ['InvalidSignatureException', 403]);
      assert.match(old.message!, /^Signature expired: /);
      const tampered = await call(sdk(deployer, { tamper: true }));
      assert.deepEqual([tampered.error, tampered.status], ['InvalidSignatureException', 403]);
    });

    it('refuses a key whose ServiceAccount has no RBAC in the function’s namespace', async () => {
      const client = sdk(intruder);
      const invoked = await outcomeOf(
        client.send(new InvokeCommand({ FunctionName: arn, InvocationType: 'DryRun' })),
      );
      assert.deepEqual([invoked.error, invoked.status], ['AccessDeniedException', 403]);
      assert.match(invoked.message!, /system:serviceaccount:sigv4-other-[0-9a-f]+:intruder/);
      const read = await outcomeOf(client.send(new GetFunctionCommand({ FunctionName: arn })));
      assert.deepEqual([read.error, read.status], ['AccessDeniedException', 403]);
    });
  });

  describe('boto3', () => {
    let site: string;
    before(() => {
      site = pipTarget('python3', [`boto3==${BOTO3_VERSION}`]);
    });

    const boto3 = async (operation: string, fn: string, key: Key, env: Record<string, string> = {}) => {
      const { stdout } = await run(
        'python3',
        [PROBE, 'boto3', w.endpoint, operation, fn, key.accessKeyId, key.secretAccessKey],
        { env: { ...process.env, PYTHONPATH: site, AWS_CONFIG_FILE: '/dev/null', ...env } },
      );
      return JSON.parse(stdout) as Outcome;
    };

    it('passes with a valid signature (Invoke and GetFunction)', async () => {
      assert.deepEqual(await boto3('invoke', FUNCTION, deployer), { status: 204 });
      assert.deepEqual(await boto3('get', FUNCTION, deployer), { status: 200 });
    });

    it('is refused with a wrong secret, an old signature, a changed body, another namespace’s key', async () => {
      const wrong = await boto3('invoke', FUNCTION, {
        ...deployer,
        secretAccessKey: 'not-the-secret-at-all',
      });
      assert.deepEqual([wrong.error, wrong.status], ['InvalidSignatureException', 403]);
      const old = await boto3('invoke', FUNCTION, deployer, { LAMINA_PROBE_SHIFT_SECONDS: '-360' });
      assert.deepEqual([old.error, old.status], ['InvalidSignatureException', 403]);
      assert.match(old.message!, /^Signature expired: /);
      const tampered = await boto3('invoke', FUNCTION, deployer, { LAMINA_PROBE_TAMPER: '1' });
      assert.deepEqual([tampered.error, tampered.status], ['InvalidSignatureException', 403]);
      const foreign = await boto3('invoke', arn, intruder);
      assert.deepEqual([foreign.error, foreign.status], ['AccessDeniedException', 403]);
      const stranger = await boto3('get', FUNCTION, unknown);
      assert.deepEqual([stranger.error, stranger.status], ['UnrecognizedClientException', 403]);
    });
  });

  describe('AWS CLI', () => {
    let python: string;
    let payload: string;
    before(async () => {
      python = join(await awsCliPath(), '..', 'python');
      payload = join(mkdtempSync(join(tmpdir(), 'lamina-sigv4-')), 'payload.json');
      writeFileSync(payload, '{"amount": 1}');
    });

    /** `aws lambda invoke … DryRun`: the error code the CLI prints, or "ok". */
    const cli = async (fn: string, key: Key, env: Record<string, string> = {}) => {
      const args = [
        PROBE,
        'cli',
        'lambda',
        'invoke',
        '--function-name',
        fn,
        '--invocation-type',
        'DryRun',
        '--payload',
        `fileb://${payload}`,
        '--endpoint-url',
        w.endpoint,
        join(tmpdir(), `lamina-sigv4-out-${process.pid}`),
      ];
      const environment = {
        ...process.env,
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_MAX_ATTEMPTS: '1',
        AWS_PAGER: '',
        ...env,
      };
      try {
        const { stdout } = await run(python, args, { env: environment });
        return { ok: JSON.parse(stdout) as { StatusCode: number } };
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? '';
        const stated = /An error occurred \((\w+)\)[^:]*: (.*)/s.exec(stderr);
        if (!stated) throw err;
        return { error: stated[1]!, message: stated[2]!.trim() };
      }
    };

    it('passes with a valid signature', async () => {
      assert.deepEqual(await cli(FUNCTION, deployer), { ok: { StatusCode: 204 } });
    });

    it('is refused with a wrong secret, an old signature, a changed body, another namespace’s key', async () => {
      assert.equal(
        (await cli(FUNCTION, { ...deployer, secretAccessKey: 'not-the-secret-at-all' })).error,
        'InvalidSignatureException',
      );
      const old = await cli(FUNCTION, deployer, { LAMINA_PROBE_SHIFT_SECONDS: '-360' });
      assert.equal(old.error, 'InvalidSignatureException');
      assert.match(old.message!, /^Signature expired: /);
      assert.equal(
        (await cli(FUNCTION, deployer, { LAMINA_PROBE_TAMPER: '1' })).error,
        'InvalidSignatureException',
      );
      assert.equal((await cli(arn, intruder)).error, 'AccessDeniedException');
      assert.equal((await cli(FUNCTION, unknown)).error, 'UnrecognizedClientException');
    });
  });
});
