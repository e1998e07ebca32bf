// PackageType Image through Lambda's control plane, driven by the AWS SDK v3 against the gateway
// with the real operator over a real kube-apiserver, and a registry's HTTP API on loopback (a
// small stand-in: HEAD /v2/<repository>/manifests/<tag> answers Docker-Content-Digest) so the
// operator pins tags as it does against a real registry. Each step is checked as `kubectl`
// sees it; refused requests leave the objects as they were.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import type { LaminaFunction, Version } from '../../../operator/src/api/index.js';
import { awsCliPath } from '../../harness/awscli.js';
import { eventually } from '../controller/fixtures.js';
import { failure, pythonZip, ROLE, startControlPlane, type ControlPlaneWorld } from './setup.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const run = promisify(execFile);

describe('Lambda control plane: PackageType Image', () => {
  let w: ControlPlaneWorld;
  let server: Server;
  let registry = '';
  const tags = new Map<string, string>([
    ['team/app:v1', digest('a')],
    ['team/app:v2', digest('b')],
  ]);
  const wait = { maxWaitTime: 60, minDelay: 1, maxDelay: 1 };

  before(async () => {
    server = createServer((req, res) => {
      const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
      const found = match && tags.get(`${match[1]}:${match[2]}`);
      if (req.method !== 'HEAD' || !found) return res.writeHead(404).end();
      res.writeHead(200, { 'docker-content-digest': found }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    w = await startControlPlane('cpimg', { operatorEnv: { LAMINA_INSECURE_REGISTRIES: registry } });
  });
  after(async () => {
    await w?.dispose();
    server?.close();
  });

  it('creates, reads, publishes and updates an image function; versions keep their digest', async () => {
    const lambda = w.lambda;
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'app',
        Role: ROLE,
        PackageType: 'Image',
        Code: { ImageUri: `${registry}/team/app:v1` },
        ImageConfig: { Command: ['app.handler'], WorkingDirectory: '/var/task' },
        MemorySize: 256,
      }),
    );
    assert.equal(created.PackageType, 'Image');
    assert.equal(created.Runtime, undefined);
    assert.equal(created.State, 'Pending');
    const object = await w.kubectlGet<LaminaFunction>('functions', 'app');
    assert.deepEqual(object?.spec.image, {
      uri: `${registry}/team/app:v1`,
      imageConfig: { command: ['app.handler'], workingDirectory: '/var/task' },
    });
    assert.equal(object?.spec.code, undefined);
    assert.equal(object?.spec.runtime, undefined);

    await waitUntilFunctionActiveV2({ client: lambda, ...wait }, { FunctionName: 'app' });
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'app' }));
    assert.deepEqual(got.Code, {
      RepositoryType: 'ECR',
      ImageUri: `${registry}/team/app:v1`,
      ResolvedImageUri: `${registry}/team/app@${digest('a')}`,
    });
    assert.equal(got.Configuration?.PackageType, 'Image');
    assert.equal(got.Configuration?.CodeSha256, 'a'.repeat(64));
    assert.equal(got.Configuration?.CodeSize, 0);
    assert.deepEqual(got.Configuration?.ImageConfigResponse, {
      ImageConfig: { Command: ['app.handler'], WorkingDirectory: '/var/task' },
    });
    const listed = await lambda.send(new ListFunctionsCommand({}));
    assert.equal(listed.Functions?.find((f) => f.FunctionName === 'app')?.PackageType, 'Image');

    // CodeSha256 preconditions take the manifest digest in hex, as the configuration shows it.
    const stale = await failure(
      lambda.send(new PublishVersionCommand({ FunctionName: 'app', CodeSha256: 'f'.repeat(64) })),
    );
    assert.equal(stale.name, 'InvalidParameterValueException');
    assert.match(
      stale.message,
      /^CodeSHA256 \(f{64}\) is different from current CodeSHA256 in \$LATEST \(a{64}\)/,
    );
    const v1 = await lambda.send(
      new PublishVersionCommand({ FunctionName: 'app', CodeSha256: 'a'.repeat(64) }),
    );
    assert.equal(v1.Version, '1');
    assert.equal(v1.PackageType, 'Image');
    assert.equal(v1.CodeSha256, 'a'.repeat(64));

    // A new tag, published at once: version 2 runs it, version 1 keeps its digest.
    const v2 = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'app',
        ImageUri: `${registry}/team/app:v2`,
        Publish: true,
      }),
    );
    assert.equal(v2.Version, '2');
    assert.equal(v2.CodeSha256, 'b'.repeat(64));
    const version = async (q: string) =>
      (await lambda.send(new GetFunctionCommand({ FunctionName: 'app', Qualifier: q }))).Code;
    assert.equal((await version('1'))?.ResolvedImageUri, `${registry}/team/app@${digest('a')}`);
    assert.equal((await version('2'))?.ResolvedImageUri, `${registry}/team/app@${digest('b')}`);
    await lambda.send(new CreateAliasCommand({ FunctionName: 'app', Name: 'stable', FunctionVersion: '1' }));
    assert.equal((await version('stable'))?.ResolvedImageUri, `${registry}/team/app@${digest('a')}`);
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'app' }));
    assert.deepEqual(
      versions.Versions?.map((v) => [v.Version, v.PackageType]),
      [
        ['$LATEST', 'Image'],
        ['1', 'Image'],
        ['2', 'Image'],
      ],
    );
    const snapshots = (await w.kubectlList<Version>('versions')).map((v) => v.spec.snapshot?.image?.uri);
    assert.deepEqual(snapshots.sort(), [
      `${registry}/team/app@${digest('a')}`,
      `${registry}/team/app@${digest('b')}`,
    ]);

    // ImageConfig is replaced as a whole (members left out are removed).
    const updated = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'app',
        ImageConfig: { EntryPoint: ['/usr/bin/python3', '-m', 'awslambdaric'], Command: ['other.handler'] },
      }),
    );
    assert.equal(updated.LastUpdateStatus, 'InProgress');
    assert.deepEqual((await w.kubectlGet<LaminaFunction>('functions', 'app'))?.spec.image?.imageConfig, {
      entryPoint: ['/usr/bin/python3', '-m', 'awslambdaric'],
      command: ['other.handler'],
    });
    await waitUntilFunctionUpdatedV2({ client: lambda, ...wait }, { FunctionName: 'app' });
    const configuration = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'app' }));
    assert.deepEqual(configuration.ImageConfigResponse, {
      ImageConfig: { EntryPoint: ['/usr/bin/python3', '-m', 'awslambdaric'], Command: ['other.handler'] },
    });
  });

  it('resolves the same ImageUri again at UpdateFunctionCode (a tag pushed anew), and publishes the new digest', async () => {
    const lambda = w.lambda;
    tags.set('team/ci:latest', digest('c'));
    const uri = `${registry}/team/ci:latest`;
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'ci',
        Role: ROLE,
        PackageType: 'Image',
        Code: { ImageUri: uri },
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, ...wait }, { FunctionName: 'ci' });
    const resolved = async (q?: string) =>
      (await lambda.send(new GetFunctionCommand({ FunctionName: 'ci', Qualifier: q }))).Code
        ?.ResolvedImageUri;
    assert.equal(await resolved(), `${registry}/team/ci@${digest('c')}`);
    const generation = (await w.kubectlGet<LaminaFunction>('functions', 'ci'))?.metadata.generation;

    // CI pushes :latest again and updates the function with the same URI.
    tags.set('team/ci:latest', digest('d'));
    const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ci', ImageUri: uri }));
    assert.equal(updated.LastUpdateStatus, 'InProgress');
    await waitUntilFunctionUpdatedV2({ client: lambda, ...wait }, { FunctionName: 'ci' });
    assert.equal(await resolved(), `${registry}/team/ci@${digest('d')}`);
    const object = await w.kubectlGet<LaminaFunction>('functions', 'ci');
    assert.equal(object?.metadata.generation, generation, 'the spec is unchanged');
    assert.equal(
      object?.status?.imageResolvedFor,
      object?.metadata.annotations?.['lamina.dev/resolve-image'],
    );

    // Once more with Publish: the version is the digest the tag has now.
    const v1 = await lambda.send(new PublishVersionCommand({ FunctionName: 'ci' }));
    assert.equal(v1.CodeSha256, 'd'.repeat(64));
    tags.set('team/ci:latest', digest('e'));
    const v2 = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'ci', ImageUri: uri, Publish: true }),
    );
    assert.equal(v2.Version, String(Number(v1.Version) + 1));
    assert.equal(v2.CodeSha256, 'e'.repeat(64));
    assert.equal(await resolved(v2.Version), `${registry}/team/ci@${digest('e')}`);
    assert.equal(await resolved(v1.Version), `${registry}/team/ci@${digest('d')}`);
    assert.equal(await resolved(), `${registry}/team/ci@${digest('e')}`);

    // A tag that is gone by then fails the update, as a new tag that does not exist does.
    tags.delete('team/ci:latest');
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ci', ImageUri: uri }));
    const failed = await eventually(async () => {
      const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'ci' }));
      assert.equal(c.LastUpdateStatus, 'Failed');
      return c;
    });
    assert.equal(failed.LastUpdateStatusReasonCode, 'InvalidImage');
  });

  it("refuses what a package type does not take with Lambda's messages, and changes nothing", async () => {
    const lambda = w.lambda;
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'img',
        Role: ROLE,
        PackageType: 'Image',
        Code: { ImageUri: `${registry}/team/app:v1` },
      }),
    );
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'zip',
        Role: ROLE,
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Code: { ZipFile: pythonZip() },
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, ...wait }, { FunctionName: 'img' });
    await waitUntilFunctionActiveV2({ client: lambda, ...wait }, { FunctionName: 'zip' });
    const before = {
      img: await w.kubectlGet<LaminaFunction>('functions', 'img'),
      zip: await w.kubectlGet<LaminaFunction>('functions', 'zip'),
    };

    // Thunks, so that no refusal is left unawaited while another is checked.
    const refusals: Array<[string, () => Promise<unknown>, RegExp]> = [
      [
        'create Image with a runtime',
        () =>
          lambda.send(
            new CreateFunctionCommand({
              FunctionName: 'bad-1',
              Role: ROLE,
              PackageType: 'Image',
              Runtime: 'python3.13',
              Handler: 'app.handler',
              Code: { ImageUri: `${registry}/team/app:v1` },
            }),
          ),
        /^Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image\.$/,
      ],
      [
        'create Image with a zip',
        () =>
          lambda.send(
            new CreateFunctionCommand({
              FunctionName: 'bad-2',
              Role: ROLE,
              PackageType: 'Image',
              Code: { ZipFile: pythonZip() },
            }),
          ),
        /PackageType is Image/,
      ],
      [
        'create Zip with an image',
        () =>
          lambda.send(
            new CreateFunctionCommand({
              FunctionName: 'bad-3',
              Role: ROLE,
              Runtime: 'python3.13',
              Handler: 'app.handler',
              Code: { ImageUri: `${registry}/team/app:v1` },
            }),
          ),
        /^Please don't provide ImageUri when the intended function PackageType is Zip\.$/,
      ],
      [
        'create Image with a reference that is not one',
        () =>
          lambda.send(
            new CreateFunctionCommand({
              FunctionName: 'bad-4',
              Role: ROLE,
              PackageType: 'Image',
              Code: { ImageUri: 'not an image' },
            }),
          ),
        /^Source image not an image is not valid/,
      ],
      [
        'a zip for an image function',
        () => lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'img', ZipFile: pythonZip() })),
        /^Please provide ImageUri when updating a function with packageType Image\.$/,
      ],
      [
        'an image for a zip function',
        () =>
          lambda.send(
            new UpdateFunctionCodeCommand({ FunctionName: 'zip', ImageUri: `${registry}/team/app:v2` }),
          ),
        /^Please don't provide ImageUri when updating a function with packageType Zip\.$/,
      ],
      [
        'a handler for an image function',
        () =>
          lambda.send(
            new UpdateFunctionConfigurationCommand({ FunctionName: 'img', Handler: 'app.handler' }),
          ),
        /don't provide Handler or Runtime or Layer/,
      ],
      [
        'ImageConfig for a zip function',
        () =>
          lambda.send(
            new UpdateFunctionConfigurationCommand({ FunctionName: 'zip', ImageConfig: { Command: ['x'] } }),
          ),
        /^Please don't provide ImageConfig when updating a function with packageType Zip\.$/,
      ],
    ];
    for (const [what, call, message] of refusals) {
      const f = await failure(call());
      assert.equal(f.name, 'InvalidParameterValueException', `${what}: ${f.message}`);
      assert.equal(f.status, 400, what);
      assert.match(f.message, message, what);
    }

    const names = (await w.kubectlList<LaminaFunction>('functions')).map((f) => f.metadata.name);
    for (const name of ['bad-1', 'bad-2', 'bad-3', 'bad-4']) assert.ok(!names.includes(name), name);
    for (const name of ['img', 'zip'] as const) {
      const now = await w.kubectlGet<LaminaFunction>('functions', name);
      assert.equal(now?.metadata.generation, before[name]?.metadata.generation, name);
      assert.deepEqual(now?.spec, before[name]?.spec, name);
    }
  });
  it("takes the README's AWS CLI commands: --package-type Image, --code ImageUri=…, --image-config", async () => {
    const aws = await awsCliPath();
    const cli = async (...args: string[]) => {
      const { stdout } = await run(
        aws,
        ['lambda', ...args, '--endpoint-url', w.endpoint, '--output', 'text'],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: 'lamina',
            AWS_SECRET_ACCESS_KEY: 'lamina',
            AWS_DEFAULT_REGION: 'us-east-1',
            AWS_PAGER: '',
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
          timeout: 120_000,
        },
      );
      return stdout.trim();
    };
    const version = await cli(
      'create-function',
      '--function-name',
      'image-cli',
      '--package-type',
      'Image',
      '--code',
      `ImageUri=${registry}/team/app:v1`,
      '--image-config',
      '{"Command":["app.handler"]}',
      '--role',
      ROLE,
      '--publish',
      '--query',
      'Version',
    );
    assert.equal(version, '1');
    await cli('wait', 'function-active-v2', '--function-name', 'image-cli');
    assert.equal(
      await cli('get-function', '--function-name', 'image-cli', '--query', 'Code.ResolvedImageUri'),
      `${registry}/team/app@${digest('a')}`,
    );
    assert.equal(
      await cli(
        'get-function-configuration',
        '--function-name',
        'image-cli',
        '--query',
        'ImageConfigResponse.ImageConfig.Command[0]',
      ),
      'app.handler',
    );
    const next = await cli(
      'update-function-code',
      '--function-name',
      'image-cli',
      '--image-uri',
      `${registry}/team/app:v2`,
      '--publish',
      '--query',
      'Version',
    );
    assert.equal(next, '2');
    // The same tag pushed again: the same command publishes what it points to now.
    tags.set('team/app:v2', digest('9'));
    const again = await cli(
      'update-function-code',
      '--function-name',
      'image-cli',
      '--image-uri',
      `${registry}/team/app:v2`,
      '--publish',
      '--query',
      'Version',
    );
    assert.equal(again, '3');
    assert.equal(
      await cli(
        'get-function',
        '--function-name',
        'image-cli',
        '--qualifier',
        '3',
        '--query',
        'Code.ResolvedImageUri',
      ),
      `${registry}/team/app@${digest('9')}`,
    );
  });
});
