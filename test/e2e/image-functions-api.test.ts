// Container-image functions deployed through Lambda's control-plane API on the installed
// release, as a team deploying with the AWS SDK would: two builds of an image (aws-lambda-go's
// bootstrap, built offline with buildah) pushed to the test tier's registry under two tags, then
// CreateFunction with PackageType Image → invoke → GetFunction's digest-pinned ResolvedImageUri
// → UpdateFunctionCode to the second tag with Publish: version 2 runs the new image, version 1
// the old. And a tag pushed again: UpdateFunctionCode with the same ImageUri publishes its new
// digest, as a CI pipeline that pushes the same tag expects.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { repoRoot } from '../harness/manifests.js';
import { buildImage, ensureRegistry, pushImage } from '../harness/registry.js';
import { functionArn, installedRelease, testNamespace, type Release } from '../harness/release.js';
import { goBootstrap } from '../harness/third-party.js';

const ROLE = 'arn:aws:iam::000000000000:role/image-api';

describe(
  'container-image functions through the Lambda API (AWS SDK for JavaScript v3)',
  { timeout: 180_000 },
  () => {
    let release: Release;
    let ns: Awaited<ReturnType<typeof testNamespace>>;
    let lambda: LambdaClient;
    let registry = '';
    let repository = '';
    const digests: Record<string, string> = {};

    before(async () => {
      release = await installedRelease();
      registry = await ensureRegistry();
      ns = await testNamespace(release, 'imgapi');
      repository = `e2e/${ns.name}/api-hello`;
      lambda = new LambdaClient({
        endpoint: release.gatewayUrl,
        region: 'us-east-1',
        credentials: { accessKeyId: 'lamina', secretAccessKey: 'lamina' },
        maxAttempts: 1,
      });
      // Two builds of the same image; _HANDLER (which the handler echoes) says which one answers.
      const bootstrap = goBootstrap(join(repoRoot, 'test/fixtures/functions/third-party/go'));
      for (const mark of ['one', 'two']) {
        await buildImage(`localhost/lamina-test/api-hello:${mark}`, {
          from: 'scratch',
          files: [[bootstrap, '/var/runtime/bootstrap']],
          entrypoint: ['/var/runtime/bootstrap'],
          env: { _HANDLER: `api-build-${mark}` },
        });
        digests[mark] = await pushImage(
          `localhost/lamina-test/api-hello:${mark}`,
          registry,
          `${repository}:${mark}`,
        );
      }
      assert.notEqual(digests.one, digests.two);
    });
    after(async () => {
      lambda?.destroy();
      await ns?.dispose();
    });

    const invoke = async (name: string, value: string, qualifier?: string) => {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: name,
          ...(qualifier && { Qualifier: qualifier }),
          Payload: Buffer.from(JSON.stringify({ action: 'echo', value })),
        }),
      );
      const text = Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8');
      assert.equal(out.StatusCode, 200, text);
      assert.equal(out.FunctionError, undefined, text);
      return JSON.parse(text) as { echo: string; handler: string; functionArn: string };
    };

    it('creates, invokes, pins by digest and publishes a new tag while version 1 keeps the old image', async (t) => {
      const name = functionArn(ns.name, 'api-hello');
      const started = Date.now();
      const created = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Role: ROLE,
          PackageType: 'Image',
          Code: { ImageUri: `${registry}/${repository}:one` },
          Timeout: 10,
          Publish: true,
        }),
      );
      assert.equal(created.PackageType, 'Image');
      assert.equal(created.Version, '1');
      await waitUntilFunctionActiveV2(
        { client: lambda, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
        { FunctionName: name },
      );

      const first = await invoke(name, 'through the API');
      assert.equal(first.echo, 'through the API');
      assert.equal(first.handler, 'api-build-one');
      assert.equal(first.functionArn, name);
      const coldStart = Date.now() - started;

      const got = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
      assert.equal(got.Code?.RepositoryType, 'ECR');
      assert.equal(got.Code?.ImageUri, `${registry}/${repository}:one`);
      assert.equal(got.Code?.ResolvedImageUri, `${registry}/${repository}@${digests.one}`);
      assert.match(got.Code?.ResolvedImageUri ?? '', /@sha256:[a-f0-9]{64}$/);
      assert.equal(got.Configuration?.PackageType, 'Image');
      assert.equal(`sha256:${got.Configuration?.CodeSha256}`, digests.one);

      const v2 = await lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: name,
          ImageUri: `${registry}/${repository}:two`,
          Publish: true,
        }),
      );
      assert.equal(v2.Version, '2');
      assert.equal(`sha256:${v2.CodeSha256}`, digests.two);
      const again = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
      assert.equal(again.Version, '2', 'an unchanged function publishes no new version');

      assert.equal((await invoke(name, 'v2', '2')).handler, 'api-build-two');
      assert.equal((await invoke(name, 'v1', '1')).handler, 'api-build-one');
      assert.equal((await invoke(name, 'latest')).handler, 'api-build-two');
      const pinned = await lambda.send(new GetFunctionCommand({ FunctionName: name, Qualifier: '1' }));
      assert.equal(pinned.Code?.ResolvedImageUri, `${registry}/${repository}@${digests.one}`);
      t.diagnostic(`CreateFunction → first answer (resolve, pod, pull, runtime) ${coldStart} ms`);
    });

    it('publishes the new digest of a tag pushed again when UpdateFunctionCode names the same ImageUri', async () => {
      const name = functionArn(ns.name, 'ci-hello');
      const uri = `${registry}/${repository}:ci`;
      assert.equal(
        await pushImage('localhost/lamina-test/api-hello:one', registry, `${repository}:ci`),
        digests.one,
      );
      const created = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Role: ROLE,
          PackageType: 'Image',
          Code: { ImageUri: uri },
          Timeout: 10,
          Publish: true,
        }),
      );
      assert.equal(created.Version, '1');

      // CI pushes :ci again and runs update-function-code --image-uri <the same> --publish.
      assert.equal(
        await pushImage('localhost/lamina-test/api-hello:two', registry, `${repository}:ci`),
        digests.two,
      );
      const v2 = await lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: uri, Publish: true }),
      );
      assert.equal(v2.Version, '2');
      assert.equal(`sha256:${v2.CodeSha256}`, digests.two);
      const latest = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
      assert.equal(latest.Code?.ImageUri, uri);
      assert.equal(latest.Code?.ResolvedImageUri, `${registry}/${repository}@${digests.two}`);

      assert.equal((await invoke(name, 'rebuilt', '2')).handler, 'api-build-two');
      assert.equal((await invoke(name, 'first build', '1')).handler, 'api-build-one');
    });
  },
);
