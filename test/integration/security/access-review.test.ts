// Who may invoke, against the real API server: tokens from the TokenRequest API, the
// gateway's and operator's identities bound by the chart's rendered RBAC, and a grant made
// exactly as SECURITY.md tells users (kubectl create role … --verb=invoke).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { invokeAttributes } from '../../../operator/src/kube/auth/access-review.js';
import { KubernetesAuthorizer } from '../../../operator/src/kube/auth/authorizer.js';
import { KubernetesAccessReviewer } from '../../../operator/src/kube/auth/kubernetes-reviewer.js';
import { LambdaAuthorizer } from '../../../operator/src/gateway/auth/lambda-auth.js';
import { MemoryCatalog } from '../../../operator/src/gateway/catalog/catalog.js';
import { createGateway, type Gateway } from '../../../operator/src/gateway/gateway.js';
import { main as lamina } from '../../../operator/src/cli/commands.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { BlobStore } from '../../../operator/src/store/blob-store.js';
import { buildStoreServer } from '../../../operator/src/store/server.js';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';
import { kubectl } from '../../harness/kube.js';
import { FakeAgents } from '../../unit/gateway/fake-agent.js';
import { FakeProvider, tick } from '../../unit/gateway/fake-provider.js';
import { activeFunction } from '../../unit/gateway/fixtures.js';
import { testSettings } from '../../unit/gateway/harness.js';
import { helloZip } from '../../unit/store/zips.js';
import { applyChartRbac, kubeConfigWithToken, serviceAccountToken } from './identities.js';

const log = createLogger({}, 'error');

describe('TokenReview + SubjectAccessReview on the real API server', () => {
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let admin: KubeConfig;
  let rbac: Awaited<ReturnType<typeof applyChartRbac>>;
  let gatewayKc: KubeConfig;
  let operatorKc: KubeConfig;
  const tokens: Record<string, string> = {};
  const suffix = randomBytes(3).toString('hex');
  const uploaderBinding = `lamina-sec-uploader-${suffix}`;

  before(async () => {
    admin = await adminKubeConfig();
    ns = await createTestNamespace(admin, 'sec-auth');
    await installCrds(admin);
    rbac = await applyChartRbac(admin, ns.name, suffix);
    gatewayKc = kubeConfigWithToken(admin, await serviceAccountToken(admin, ns.name, 'lamina-gateway'));
    operatorKc = kubeConfigWithToken(admin, await serviceAccountToken(admin, ns.name, 'lamina-operator'));
    for (const sa of ['caller-ok', 'caller-no']) tokens[sa] = await serviceAccountToken(admin, ns.name, sa);
    tokens.audienceBound = await serviceAccountToken(admin, ns.name, 'caller-ok', ['lamina']);
    // The grant, as documented.
    await kubectl(
      '-n',
      ns.name,
      'create',
      'role',
      'fn-invoker',
      '--verb=invoke',
      '--resource=functions.lamina.dev',
      '--resource-name=hello',
    );
    await kubectl(
      '-n',
      ns.name,
      'create',
      'rolebinding',
      'fn-invoker',
      '--role=fn-invoker',
      `--serviceaccount=${ns.name}:caller-ok`,
    );
    await kubectl(
      'create',
      'clusterrolebinding',
      uploaderBinding,
      `--clusterrole=${rbac.clusterRoleName('lamina-artifact-uploader')}`,
      `--serviceaccount=${ns.name}:caller-ok`,
    );
  });
  after(async () => {
    await kubectl('delete', 'clusterrolebinding', uploaderBinding, '--ignore-not-found').catch(
      () => undefined,
    );
    await rbac?.dispose();
    await ns?.dispose();
  });

  const bearer = (name: string) => ({ authorization: `Bearer ${tokens[name]}` });

  it('allows the caller with the invoke verb on hello and refuses the others, as the gateway identity', async () => {
    const authorizer = new KubernetesAuthorizer(new KubernetesAccessReviewer(gatewayKc), { now: Date.now });
    const hello = invokeAttributes(ns.name, 'hello');
    const ok = await authorizer.check(bearer('caller-ok'), hello);
    assert.deepEqual(ok, { outcome: 'allowed', user: `system:serviceaccount:${ns.name}:caller-ok` });
    const no = await authorizer.check(bearer('caller-no'), hello);
    assert.equal(no.outcome, 'denied');
    const otherFunction = await authorizer.check(bearer('caller-ok'), invokeAttributes(ns.name, 'goodbye'));
    assert.equal(otherFunction.outcome, 'denied');
    const otherNamespace = await authorizer.check(bearer('caller-ok'), invokeAttributes('default', 'hello'));
    assert.equal(otherNamespace.outcome, 'denied');
    // A well-formed JWT the API server did not sign.
    const forged = tokens['caller-ok']!.replace(/\.[^.]+$/, '.c2lnbmF0dXJl');
    assert.deepEqual(await authorizer.check({ authorization: `Bearer ${forged}` }, hello), {
      outcome: 'unauthenticated',
      why: 'token not accepted',
    });
  });

  it('answers 200 and 403 AccessDeniedException through the gateway', async () => {
    const authorizer = new LambdaAuthorizer(
      new KubernetesAuthorizer(new KubernetesAccessReviewer(gatewayKc), { now: Date.now }),
      'us-east-1',
      log,
    );
    const catalog = new MemoryCatalog();
    const provider = new FakeProvider();
    const agents = new FakeAgents({ hello: () => ({ body: 'hi' }) });
    provider.addressFor = agents.start;
    const gateway: Gateway = await createGateway({
      settings: { ...testSettings, defaultNamespace: ns.name },
      catalog,
      provider,
      log,
      invokeAuthorizer: authorizer,
      urlAuthorizer: authorizer,
    });
    await gateway.start();
    try {
      catalog.upsertFunction(activeFunction('hello', {}, ns.name));
      await tick();
      const invoke = (headers: Record<string, string>) =>
        gateway.app.inject({ method: 'POST', url: '/2015-03-31/functions/hello/invocations', headers });
      const allowed = await invoke({ 'x-lamina-token': tokens['caller-ok']! });
      assert.equal(allowed.statusCode, 200, allowed.body);
      const denied = await invoke(bearer('caller-no'));
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.headers['x-amzn-errortype'], 'AccessDeniedException');
      assert.match(denied.json().Message, new RegExp(`User: system:serviceaccount:${ns.name}:caller-no`));
      const anonymous = await invoke({});
      assert.equal(anonymous.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
    } finally {
      await gateway.stop();
      await agents.close();
    }
  });

  it('requires a dedicated audience when configured, and such a token is useless against the API server', async () => {
    const authorizer = new KubernetesAuthorizer(
      new KubernetesAccessReviewer(gatewayKc, { audiences: ['lamina'] }),
      { now: Date.now },
    );
    const hello = invokeAttributes(ns.name, 'hello');
    assert.equal((await authorizer.check(bearer('audienceBound'), hello)).outcome, 'allowed');
    assert.equal((await authorizer.check(bearer('caller-ok'), hello)).outcome, 'unauthenticated');
    const asCaller = kubeConfigWithToken(admin, tokens.audienceBound!).makeApiClient(CoreV1Api);
    await assert.rejects(asCaller.listNamespacedPod({ namespace: ns.name }), (err: { code?: number }) => {
      assert.equal(err.code, 401);
      return true;
    });
  });

  it('lets only an uploader with create on artifacts.lamina.dev write to the store, as the operator identity', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lamina-sec-store-'));
    const authorizer = new KubernetesAuthorizer(new KubernetesAccessReviewer(operatorKc), { now: Date.now });
    const app = buildStoreServer({
      store: new BlobStore({ directory: dir, maxZipBytes: 1 << 20, maxUnzippedBytes: 1 << 20 }),
      maxZipBytes: 1 << 20,
      access: authorizer,
    });
    try {
      const zip = helloZip();
      const upload = (headers: Record<string, string>) =>
        app.inject({
          method: 'POST',
          url: '/blobs',
          payload: zip,
          headers: { ...headers, 'content-type': 'application/zip' },
        });
      const anonymous = await upload({});
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="lamina-store"');
      const denied = await upload(bearer('caller-no'));
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().errorType, 'AccessDeniedException');
      const created = await upload(bearer('caller-ok'));
      assert.equal(created.statusCode, 201, created.body);
      const sha = created.json().sha256 as string;
      // Reads by digest stay open (execution environments fetch code this way).
      assert.equal((await app.inject({ method: 'GET', url: `/blobs/sha256/${sha}` })).statusCode, 200);
      // The uploader role grants create only: not the list of every digest, not delete.
      assert.equal(
        (await app.inject({ method: 'GET', url: '/blobs', headers: bearer('caller-ok') })).statusCode,
        403,
      );
      const del = await app.inject({
        method: 'DELETE',
        url: `/blobs/sha256/${sha}`,
        headers: bearer('caller-ok'),
      });
      assert.equal(del.statusCode, 403);

      // `lamina push --token` is the same upload from the command line.
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const file = join(dir, 'function.zip');
      await writeFile(file, zip);
      const token = bearer('caller-ok').authorization.slice('Bearer '.length);
      assert.equal(await lamina(['push', file, '--store', address, '--token', token]), 0);
      assert.equal(await lamina(['push', file, '--store', address]), 1);
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
