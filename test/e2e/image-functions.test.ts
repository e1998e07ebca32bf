// Container-image functions on the installed release, with the path users have: images built
// offline with buildah, pushed to the test tier's registry (scripts/registry/up.sh) and pulled
// by the kubelet. The runtime is AWS's own Go client (aws-lambda-go) as the image's entry
// point, unchanged; the agent serves its Runtime API from the sidecar. Also: a version keeps
// the digest its tag had; a missing image fails the Function (and its invoke) at once; an
// entry point that exits at start is answered 200 Unhandled with Runtime.ExitError and its
// output in LogType Tail; the image's own output is in the tail of every invoke.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import { repoRoot } from '../harness/manifests.js';
import { buildImage, ensureRegistry, pushImage } from '../harness/registry.js';
import { installedRelease, invokeUrl, testNamespace, waitActive, type Release } from '../harness/release.js';
import { goBootstrap, pipTargetForPython } from '../harness/third-party.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1' };
const DEBIAN = 'docker.io/library/debian:trixie-slim';
/** The default runtime image (always built by `npm run up`): Debian trixie's Python 3.13. */
const RUNTIME_IMAGE = 'docker.io/lamina/runtime:dev';
const AWSLAMBDARIC_VERSION = '4.2.2';

interface Status {
  state?: string;
  stateReasonCode?: string;
  stateReason?: string;
  codeSha256?: string;
  resolvedImageUri?: string;
}

describe('container-image functions', { timeout: 300_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let registry = '';
  let repository = '';
  const digests: Record<string, string> = {};
  const custom = () => release.kc.makeApiClient(CustomObjectsApi);

  const createFunction = (name: string, spec: Record<string, unknown>) =>
    custom().createNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'functions',
      body: { apiVersion: 'lamina.dev/v1alpha1', kind: 'Function', metadata: { name }, spec },
    });
  const status = async (plural: string, name: string) =>
    (
      (await custom().getNamespacedCustomObject({ ...GROUP, namespace: ns.name, plural, name })) as {
        status?: Status;
      }
    ).status ?? {};
  const invoke = async (
    name: string,
    payload: unknown,
    qualifier?: string,
    headers: Record<string, string> = {},
  ) => {
    const started = Date.now();
    const res = await fetch(invokeUrl(release, ns.name, name, qualifier), {
      method: 'POST',
      body: JSON.stringify(payload),
      headers,
    });
    return {
      status: res.status,
      error: res.headers.get('x-amz-function-error'),
      errorType: res.headers.get('x-amzn-errortype'),
      requestId: res.headers.get('x-amzn-requestid') ?? '',
      log: Buffer.from(res.headers.get('x-amz-log-result') ?? '', 'base64').toString('utf8'),
      text: await res.text(),
      ms: Date.now() - started,
    };
  };

  before(async () => {
    release = await installedRelease();
    registry = await ensureRegistry();
    ns = await testNamespace(release, 'images');
    repository = `e2e/${ns.name}/hello`;
    // aws-lambda-go's static bootstrap alone in an image; _HANDLER marks which build answers.
    const bootstrap = goBootstrap(join(repoRoot, 'test/fixtures/functions/third-party/go'));
    for (const mark of ['one', 'two']) {
      await buildImage(`localhost/lamina-test/image-hello:${mark}`, {
        from: 'scratch',
        files: [[bootstrap, '/var/runtime/bootstrap']],
        entrypoint: ['/var/runtime/bootstrap'],
        env: { _HANDLER: `build-${mark}` },
      });
    }
    await buildImage('localhost/lamina-test/image-exits:v1', {
      from: DEBIAN,
      entrypoint: [
        '/bin/sh',
        '-c',
        'echo "loading configuration"; echo "fatal: no configuration found" >&2; exit 3',
      ],
    });
    digests.one = await pushImage('localhost/lamina-test/image-hello:one', registry, `${repository}:live`);
  });
  after(async () => {
    await ns?.dispose();
  });

  it("runs an image whose entry point is aws-lambda-go's bootstrap, pinned to its tag's digest", async (t) => {
    await createFunction('hello', { image: { uri: `${registry}/${repository}:live` }, timeout: 10 });
    const active = (await waitActive(release, ns.name, 'hello')) as Status;
    assert.equal(`sha256:${active.codeSha256}`, digests.one);
    const first = await invoke('hello', { action: 'echo', value: 'from an image' });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.error, null, first.text);
    const body = JSON.parse(first.text) as Record<string, unknown>;
    assert.equal(body.echo, 'from an image');
    assert.equal(body.handler, 'build-one');
    assert.equal(body.functionArn, `arn:aws:lambda:us-east-1:${ns.name}:function:hello`);
    assert.equal(body.hasDeadline, true);
    const warm = await invoke('hello', { action: 'echo', value: 'again' });
    assert.equal(warm.status, 200, warm.text);
    t.diagnostic(
      `cold start (pod creation, pull, sidecar, runtime) ${first.ms} ms; warm invoke ${warm.ms} ms`,
    );

    const failed = await invoke('hello', { action: 'error' });
    assert.equal(failed.status, 200, failed.text);
    assert.equal(failed.error, 'Unhandled');
    assert.match(failed.text, /go handler was asked to fail/);
  });

  it('keeps a published version on the digest it had; the moved tag reaches $LATEST at its next change', async () => {
    await custom().createNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'versions',
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Version',
        metadata: { name: 'hello-v1' },
        spec: { functionName: 'hello' },
      },
    });
    await waitActive(release, ns.name, 'hello-v1', 'versions');
    digests.two = await pushImage('localhost/lamina-test/image-hello:two', registry, `${repository}:live`);
    assert.notEqual(digests.two, digests.one);
    await custom().patchNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'functions',
      name: 'hello',
      body: [{ op: 'add', path: '/spec/description', value: 'the tag moved' }],
    });
    await waitFor(
      '$LATEST to resolve the moved tag',
      async () =>
        `sha256:${(await status('functions', 'hello')).codeSha256}` === digests.two ? true : undefined,
      30_000,
      200,
    );
    const v1 = await invoke('hello', { action: 'echo', value: 'v1' }, '1');
    assert.equal(v1.status, 200, v1.text);
    assert.equal((JSON.parse(v1.text) as { handler: string }).handler, 'build-one');
    const latest = await invoke('hello', { action: 'echo', value: 'latest' });
    assert.equal(latest.status, 200, latest.text);
    assert.equal((JSON.parse(latest.text) as { handler: string }).handler, 'build-two');
  });

  it('resets an image function that timed out: the agent kills its runtime and re-initialises it for the next invoke', async () => {
    await createFunction('sleepy', { image: { uri: `${registry}/${repository}:live` }, timeout: 2 });
    await waitActive(release, ns.name, 'sleepy');
    const hung = await invoke('sleepy', { action: 'hang' });
    assert.equal(hung.status, 200, hung.text);
    assert.equal(hung.error, 'Unhandled');
    assert.match(hung.text, /Task timed out after 2\.00 seconds/);
    const next = await invoke('sleepy', { action: 'echo', value: 'after the reset' });
    assert.equal(next.status, 200, next.text);
    assert.equal((JSON.parse(next.text) as { echo: string }).echo, 'after the reset');
  });

  it("runs AWS's Python client (awslambdaric) as the entry point, with imageConfig's command and working directory", async (t) => {
    const ric = pipTargetForPython('3.13', [`awslambdaric==${AWSLAMBDARIC_VERSION}`]);
    await buildImage('localhost/lamina-test/image-ric:v1', {
      from: RUNTIME_IMAGE,
      plainFiles: [
        [ric, '/opt/ric'],
        [join(repoRoot, 'test/fixtures/functions/python/basic/app.py'), '/var/task/app.py'],
      ],
      entrypoint: ['/usr/bin/python3', '-m', 'awslambdaric'],
      env: { PYTHONPATH: '/opt/ric' },
    });
    await pushImage('localhost/lamina-test/image-ric:v1', registry, `${repository}-ric:v1`);
    await createFunction('ric', {
      image: {
        uri: `${registry}/${repository}-ric:v1`,
        imageConfig: { command: ['app.handler'], workingDirectory: '/var/task' },
      },
      timeout: 10,
    });
    await waitActive(release, ns.name, 'ric');
    const first = await invoke('ric', { action: 'context_fields' });
    assert.equal(first.status, 200, first.text);
    const ctx = JSON.parse(first.text) as Record<string, unknown>;
    assert.equal(ctx.function_name, 'ric');
    assert.equal(ctx.memory_limit_in_mb, '128');
    assert.ok((ctx.remaining as number) > 0);
    const echo = await invoke('ric', { action: 'echo', via: 'awslambdaric' });
    assert.deepEqual((JSON.parse(echo.text) as { event: unknown }).event, {
      action: 'echo',
      via: 'awslambdaric',
    });
    t.diagnostic(`awslambdaric image: first invoke ${first.ms} ms`);
  });

  it('fails a Function whose image does not exist, and its invoke at once', async () => {
    await createFunction('missing', { image: { uri: `${registry}/${repository}-missing:v1` } });
    const failed = await waitFor(
      'the Function to fail',
      async () => {
        const s = await status('functions', 'missing');
        return s.state === 'Failed' ? s : undefined;
      },
      30_000,
      200,
    );
    assert.equal(failed.stateReasonCode, 'InvalidImage');
    assert.match(failed.stateReason ?? '', /does not exist/);
    const res = await invoke('missing', {});
    assert.equal(res.status, 409, res.text);
    assert.equal(res.errorType, 'ResourceConflictException');
    assert.match(res.text, /Failed/);
  });

  it('answers at once when a pinned image is not in its registry', async () => {
    const absent = `${registry}/${repository}-gone@sha256:${'0'.repeat(64)}`;
    await createFunction('unpullable', { image: { uri: absent } });
    await waitActive(release, ns.name, 'unpullable');
    const res = await invoke('unpullable', {});
    assert.equal(res.status, 500, res.text);
    // The gateway reads the image's ENTRYPOINT and CMD before it creates the pod: the registry's
    // 404 is the answer (an image it can read but the kubelet cannot pull gives ErrImagePull).
    assert.match(res.text, /could not be created\. reading the configuration of .*answered 404/);
  });

  it('answers an entry point that exits at start as Lambda does: 200 Unhandled, Runtime.ExitError, its output in the tail', async () => {
    await pushImage('localhost/lamina-test/image-exits:v1', registry, `${repository}-exits:v1`);
    await createFunction('exits', { image: { uri: `${registry}/${repository}-exits:v1` } });
    await waitActive(release, ns.name, 'exits');
    for (const attempt of [1, 2]) {
      // The second invoke retries Init in the same environment, as Lambda does.
      const res = await invoke('exits', {}, undefined, { 'X-Amz-Log-Type': 'Tail' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.error, 'Unhandled', res.text);
      const body = JSON.parse(res.text) as { errorType: string; errorMessage: string };
      assert.equal(body.errorType, 'Runtime.ExitError');
      assert.equal(
        body.errorMessage,
        `RequestId: ${res.requestId} Error: Runtime exited with error: exit status 3`,
      );
      assert.match(res.log, /loading configuration/, `attempt ${attempt}`);
      assert.match(res.log, /fatal: no configuration found/);
      assert.match(res.log, /INIT_REPORT .*Error Type: Runtime\.ExitError/);
    }
  });

  it("returns the image's own printed lines in LogType Tail, framed by START / END / REPORT", async () => {
    const res = await invoke('hello', { action: 'echo', value: 'tail' }, undefined, {
      'X-Amz-Log-Type': 'Tail',
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.log, new RegExp(`START RequestId: ${res.requestId}`));
    // aws-lambda-go's handler prints this line for every event (test/fixtures/functions/third-party/go).
    assert.match(res.log, /go handler got action=echo/);
    assert.match(res.log, new RegExp(`END RequestId: ${res.requestId}`));
    assert.match(res.log, new RegExp(`REPORT RequestId: ${res.requestId}`));
    // The same lines are the pod's log, as a zip function's are (the agent's container).
    const core = release.kc.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace: ns.name,
      labelSelector: 'lamina.dev/function=hello,lamina.dev/version=LATEST',
    });
    const logs = await Promise.all(
      pods.items.map((pod) =>
        core.readNamespacedPodLog({ namespace: ns.name, name: pod.metadata?.name ?? '', container: 'agent' }),
      ),
    );
    const podLog = logs.find((log) => log.includes(`START RequestId: ${res.requestId}`)) ?? logs.join('\n');
    assert.match(
      podLog,
      new RegExp(`START RequestId: ${res.requestId}[^]*go handler got action=echo[^]*END RequestId`),
    );
  });
});
