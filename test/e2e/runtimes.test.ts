// The runtime lines beyond the default image, on the installed release: a Java 21 package
// from examples/java-hello (an APIGatewayV2HTTPEvent handler through its function URL, a
// stream handler, the Java client's error shape), and one function per extra Node.js and
// Python line answering with its exact interpreter version and the SDK it imports at load.
// `npm run up` builds the java21 image with the default one; the bookworm and forky images
// are built (or found built) by build-offline.sh first, as LAMINA_RUNTIME_IMAGES would (and
// java21's too when the release was installed without it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { helmBinary } from '../harness/chart.js';
import { kubeconfigPath } from '../harness/kube.js';
import { ensureDebianPackages } from '../harness/third-party.js';
import { repoRoot } from '../harness/manifests.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  RELEASE,
  RELEASE_NAMESPACE,
  testNamespace,
  waitActive,
  type Release,
} from '../harness/release.js';

const run = promisify(execFile);
const boto3Version = /^boto3==(\S+)/m.exec(
  readFileSync(join(repoRoot, 'runtime-image/sdks/python/requirements.txt'), 'utf8'),
)?.[1];

describe('runtime lines: Java, bookworm and forky images', { timeout: 900_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;

  before(async () => {
    release = await installedRelease();
    // The example is built as its README says: Maven and a JDK on this machine.
    ensureDebianPackages(['openjdk-17-jdk-headless', 'maven']);
    // `npm run up` builds the java21 image and gives the release its revision; a release
    // where it was never built (an older checkout's `npm run up`) gets it built here as well.
    const { stdout: values } = await run(helmBinary(), [
      '--kubeconfig',
      await kubeconfigPath(),
      'get',
      'values',
      RELEASE,
      '--namespace',
      RELEASE_NAMESPACE,
      '--output',
      'json',
    ]);
    const upBuiltJava = Boolean(
      (JSON.parse(values) as { images?: { runtimesRevisions?: { java21?: string } } }).images
        ?.runtimesRevisions?.java21,
    );
    const images = [...(upBuiltJava ? [] : ['runtime-java21']), 'runtime-bookworm', 'runtime-forky'];
    await run('bash', ['runtime-image/build/build-offline.sh', ...images], {
      cwd: repoRoot,
      maxBuffer: 16 << 20,
    });
    ns = await testNamespace(release, 'runtimes');
  });
  after(async () => {
    await ns?.dispose();
  });

  const invoke = async (name: string, payload: unknown = {}) => {
    const res = await fetch(invokeUrl(release, ns.name, name), {
      method: 'POST',
      body: JSON.stringify(payload),
    });
    return { status: res.status, error: res.headers.get('x-amz-function-error'), text: await res.text() };
  };

  it('java21: examples/java-hello through its function URL, a stream handler, and an exception', async () => {
    await run('bash', ['examples/java-hello/build.sh'], {
      cwd: repoRoot,
      env: { ...process.env, NAMESPACE: ns.name },
      maxBuffer: 16 << 20,
    });
    for (const name of ['java-hello', 'java-upper', 'java-fail']) await waitActive(release, ns.name, name);

    const url = `${release.gatewayUrl}/lambda-url/${ns.name}/java-hello/?name=Ada`;
    const res = await fetch(url);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as Record<string, unknown>;
    assert.equal(body.message, 'Hello, Ada!');
    assert.equal(body.method, 'GET');
    assert.equal(body.java, '21');

    const upper = await invoke('java-upper', 'shout');
    assert.equal(upper.status, 200, upper.text);
    assert.equal(upper.text, '"SHOUT"');

    const failed = await invoke('java-fail', { what: 'coffee' });
    assert.equal(failed.error, 'Unhandled', failed.text);
    const error = JSON.parse(failed.text) as {
      errorType: string;
      errorMessage: string;
      stackTrace: string[];
    };
    assert.equal(error.errorType, 'java.lang.IllegalStateException');
    assert.equal(error.errorMessage, 'no coffee');
    assert.match(error.stackTrace[0] ?? '', /example\.Fail\.handle/);
  });

  it('a line Lambda knows but no image serves exactly (nodejs22.x) is refused by the API server, listing the served ones', async () => {
    await assert.rejects(
      release.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: 'lamina.dev',
        version: 'v1alpha1',
        namespace: ns.name,
        plural: 'functions',
        body: {
          apiVersion: 'lamina.dev/v1alpha1',
          kind: 'Function',
          metadata: { name: 'node22' },
          spec: { runtime: 'nodejs22.x', handler: 'index.handler', code: { inline: { 'index.mjs': '' } } },
        },
      }),
      (err: { code?: number; body?: unknown }) => {
        assert.equal(err.code, 422);
        assert.match(
          String(err.body),
          /Unsupported value: \\?"nodejs22\.x\\?": supported values: .*nodejs24\.x.*java21/,
        );
        return true;
      },
    );
  });

  for (const [runtime, major] of [
    ['nodejs18.x', '18'],
    ['nodejs24.x', '24'],
  ] as const) {
    it(`${runtime}: Node.js ${major}, with the AWS SDK at load time`, async () => {
      const name = `node${major}`;
      await createFunction(
        release,
        ns.name,
        name,
        [
          "import { S3Client } from '@aws-sdk/client-s3';",
          "const s3 = new S3Client({ region: 'eu-west-1' });",
          'export const handler = async () => ({ node: process.version, env: process.env.AWS_EXECUTION_ENV, client: s3.constructor.name });',
          '',
        ].join('\n'),
        { runtime },
      );
      const out = await invoke(name);
      assert.equal(out.status, 200, out.text);
      assert.equal(out.error, null, out.text);
      const answer = JSON.parse(out.text) as { node: string; env: string; client: string };
      assert.match(answer.node, new RegExp(`^v${major}\\.`));
      assert.equal(answer.env, `AWS_Lambda_${runtime}`);
      assert.equal(answer.client, 'S3Client');
    });
  }

  for (const [runtime, minor] of [
    ['python3.11', '3.11'],
    ['python3.14', '3.14'],
  ] as const) {
    it(`${runtime}: Python ${minor}, with boto3 at load time`, async () => {
      const name = `py${minor.replace('.', '')}`;
      await createFunction(
        release,
        ns.name,
        name,
        {
          'app.py': [
            'import platform',
            'import boto3',
            '',
            'def handler(event, context):',
            '    return {"python": platform.python_version(), "boto3": boto3.__version__}',
            '',
          ].join('\n'),
        },
        { runtime, handler: 'app.handler' },
      );
      const out = await invoke(name);
      assert.equal(out.status, 200, out.text);
      assert.equal(out.error, null, out.text);
      const answer = JSON.parse(out.text) as { python: string; boto3: string };
      assert.match(answer.python, new RegExp(`^${minor.replace('.', '\\.')}\\.\\d+$`));
      assert.equal(answer.boto3, boto3Version);
    });
  }
});
