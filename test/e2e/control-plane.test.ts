// Lambda's control plane through the installed gateway, driven by AWS's own clients: the AWS
// CLI, boto3 and the AWS SDK for JavaScript v3 each take a function through its whole life
// cycle in a fresh namespace (create from a zip → active → invoke → publish → update code →
// updated → publish → weighted alias → reserved concurrency → layer publish and use → paginated
// list → delete), and after every step `kubectl` shows the object the call wrote. Bad input
// gets Lambda's error and leaves the objects as they were.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import AdmZip from 'adm-zip';
import { waitFor } from '../harness/gateway-kube.js';
import { kubectl } from '../harness/kube.js';
import {
  awsCliDriver,
  boto3Driver,
  ClientError,
  sdkDriver,
  ZipFile,
  type LambdaDriver,
} from '../harness/lambda-clients.js';
import { functionArn, installedRelease, testNamespace, type Release } from '../harness/release.js';

const ROLE = 'arn:aws:iam::000000000000:role/lamina-e2e';
const RUNTIME = 'python3.13';

/** A zip on disk and the two spellings of its digest (Lambda's base64, the CRD's hex). */
function zipOf(dir: string, name: string, files: Record<string, string>) {
  const zip = new AdmZip();
  for (const [path, text] of Object.entries(files)) zip.addFile(path, Buffer.from(text));
  const path = join(dir, `${name}.zip`);
  zip.writeZip(path);
  const digest = createHash('sha256').update(zip.toBuffer()).digest();
  return { file: new ZipFile(path), hex: digest.toString('hex'), base64: digest.toString('base64') };
}

const appCode = (generation: number) =>
  `def handler(event, context):\n    return {"generation": ${generation}, "event": event}\n`;

const READER = `import os
import shared

def handler(event, context):
    return {"message": shared.MESSAGE, "opt": sorted(os.listdir("/opt/python"))}
`;

type Obj = {
  metadata: { name: string; generation?: number; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { code?: { sha256?: string } };
  status?: Record<string, unknown> & { state?: string };
};

async function kubeGet(namespace: string, kind: string, name: string): Promise<Obj | undefined> {
  try {
    const { stdout } = await kubectl('-n', namespace, 'get', kind, name, '-o', 'json');
    return JSON.parse(stdout) as Obj;
  } catch (err) {
    if (/NotFound/.test((err as { stderr?: string }).stderr ?? '')) return undefined;
    throw err;
  }
}

async function kubeList(namespace: string, kind: string): Promise<Obj[]> {
  const { stdout } = await kubectl('-n', namespace, 'get', kind, '-o', 'json');
  return (JSON.parse(stdout) as { items: Obj[] }).items;
}

async function rejected(call: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof ClientError, `a Lambda error, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** The whole life cycle with one client in its own namespace. */
async function lifeCycle(t: TestContext, release: Release, lambda: LambdaDriver): Promise<void> {
  const ns = await testNamespace(release, `cp-${lambda.client}`);
  t.after(() => ns.dispose());
  const dir = mkdtempSync(join(tmpdir(), `lamina-cp-${lambda.client}-`));
  const app = functionArn(ns.name, 'app');
  const v1 = zipOf(dir, 'app-1', { 'app.py': appCode(1) });
  const v2 = zipOf(dir, 'app-2', { 'app.py': appCode(2) });
  const fn = () => kubeGet(ns.name, 'functions', 'app');
  let createdRevision = '';

  await t.test('CreateFunction from a zip writes a Function', async () => {
    const out = await lambda.call('CreateFunction', {
      FunctionName: app,
      Runtime: RUNTIME,
      Handler: 'app.handler',
      Role: ROLE,
      Code: { ZipFile: v1.file },
      Timeout: 5,
    });
    assert.equal(out.FunctionArn, app);
    assert.equal(out.CodeSha256, v1.base64);
    assert.match(String(out.State), /^(Pending|Active)$/);
    createdRevision = String(out.RevisionId);
    const obj = await fn();
    assert.equal(obj?.spec.runtime, RUNTIME);
    assert.equal(obj?.spec.handler, 'app.handler');
    assert.equal(obj?.spec.timeout, 5);
    assert.equal(obj?.spec.code?.sha256, v1.hex);
    assert.equal(obj?.metadata.annotations?.['lamina.dev/role'], ROLE);
  });

  await t.test('the function-active-v2 waiter returns once the operator made it Active', async () => {
    await lambda.wait('FunctionActiveV2', app);
    const obj = await fn();
    assert.equal(obj?.status?.state, 'Active');
    assert.equal(obj?.status?.codeSha256, v1.hex);
    const conf = await lambda.call('GetFunctionConfiguration', { FunctionName: app });
    assert.equal(conf.State, 'Active');
    assert.equal(conf.LastUpdateStatus, 'Successful');
  });

  await t.test('Invoke runs the zip', async () => {
    const out = await lambda.call('Invoke', { FunctionName: app, Payload: `{"client":"${lambda.client}"}` });
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    assert.equal(out.FunctionError, undefined, String(out.Payload));
    assert.deepEqual(JSON.parse(String(out.Payload)), { generation: 1, event: { client: lambda.client } });
  });

  await t.test('PublishVersion 1 writes a numbered Version of the first code', async () => {
    const out = await lambda.call('PublishVersion', { FunctionName: app, Description: 'first' });
    assert.equal(out.Version, '1');
    assert.equal(out.CodeSha256, v1.base64);
    const versions = (await kubeList(ns.name, 'versions')).filter((v) => v.spec.functionName === 'app');
    assert.deepEqual(
      versions.map((v) => [v.spec.version, v.spec.codeSha256]),
      [[1, v1.hex]],
    );
  });

  await t.test(
    'UpdateFunctionCode writes the new digest; the function-updated-v2 waiter waits for it',
    async () => {
      const out = await lambda.call('UpdateFunctionCode', { FunctionName: app, ZipFile: v2.file });
      assert.equal(out.CodeSha256, v2.base64);
      assert.equal((await fn())?.spec.code?.sha256, v2.hex);
      await lambda.wait('FunctionUpdatedV2', app);
      const obj = await fn();
      assert.equal(obj?.status?.codeSha256, v2.hex);
      assert.equal(obj?.status?.lastUpdateStatus, 'Successful');
      const invoked = await lambda.call('Invoke', { FunctionName: app, Payload: '{}' });
      assert.equal((JSON.parse(String(invoked.Payload)) as { generation: number }).generation, 2);
    },
  );

  await t.test('PublishVersion 2, then an alias on 1 with half the traffic on 2', async () => {
    assert.equal((await lambda.call('PublishVersion', { FunctionName: app })).Version, '2');
    const alias = await lambda.call('CreateAlias', {
      FunctionName: app,
      Name: 'live',
      FunctionVersion: '1',
      RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } },
    });
    assert.equal(alias.AliasArn, functionArn(ns.name, 'app', 'live'));
    const aliases = (await kubeList(ns.name, 'aliases')).filter((a) => a.spec.functionName === 'app');
    assert.equal(aliases.length, 1);
    assert.equal(aliases[0]!.spec.name, 'live');
    assert.equal(aliases[0]!.spec.functionVersion, '1');
    assert.deepEqual(aliases[0]!.spec.routingConfig, { additionalVersionWeights: { '2': 0.5 } });
    await waitFor(
      'the alias to become Active',
      async () => ((await kubeList(ns.name, 'aliases'))[0]?.status?.state === 'Active' ? true : undefined),
      60_000,
      250,
    );
    // Whichever version the split picks, the answer comes from that version's code.
    for (let i = 0; i < 4; i += 1) {
      const out = await lambda.call('Invoke', {
        FunctionName: functionArn(ns.name, 'app', 'live'),
        Payload: '{}',
      });
      const ran = String(out.ExecutedVersion);
      assert.ok(['1', '2'].includes(ran), ran);
      assert.equal((JSON.parse(String(out.Payload)) as { generation: number }).generation, Number(ran));
    }
  });

  await t.test('PutFunctionConcurrency writes reservedConcurrentExecutions', async () => {
    const out = await lambda.call('PutFunctionConcurrency', {
      FunctionName: app,
      ReservedConcurrentExecutions: 2,
    });
    assert.equal(out.ReservedConcurrentExecutions, 2);
    assert.equal((await fn())?.spec.reservedConcurrentExecutions, 2);
    const read = await lambda.call('GetFunctionConcurrency', { FunctionName: app });
    assert.equal(read.ReservedConcurrentExecutions, 2);
  });

  const layerArn = `arn:aws:lambda:us-east-1:${ns.name}:layer:shared`;
  const layerZip = zipOf(dir, 'layer', { 'python/shared.py': `MESSAGE = "shared with ${lambda.client}"\n` });

  await t.test('PublishLayerVersion writes a Layer; a function using it reads /opt', async () => {
    const out = await lambda.call('PublishLayerVersion', {
      LayerName: layerArn,
      Content: { ZipFile: layerZip.file },
      CompatibleRuntimes: [RUNTIME],
    });
    assert.equal(out.LayerVersionArn, `${layerArn}:1`);
    assert.equal(out.Version, 1);
    const layer = await kubeGet(ns.name, 'layers', 'shared');
    assert.equal(layer?.spec.content && (layer.spec.content as { sha256: string }).sha256, layerZip.hex);
    await waitFor(
      'the layer to become Active',
      async () =>
        (await kubeGet(ns.name, 'layers', 'shared'))?.status?.latestVersion === 1 ? true : undefined,
      60_000,
      250,
    );

    const reader = functionArn(ns.name, 'reader');
    await lambda.call('CreateFunction', {
      FunctionName: reader,
      Runtime: RUNTIME,
      Handler: 'reader.handler',
      Role: ROLE,
      Code: { ZipFile: zipOf(dir, 'reader', { 'reader.py': READER }).file },
      Layers: [`${layerArn}:1`],
    });
    await lambda.wait('FunctionActiveV2', reader);
    const obj = await kubeGet(ns.name, 'functions', 'reader');
    assert.deepEqual(obj?.spec.layers, [{ name: 'shared', version: 1 }]);
    assert.deepEqual(
      (obj?.status?.layers as Array<{ name: string; version: number; sha256: string }>).map((l) => [
        l.name,
        l.version,
        l.sha256,
      ]),
      [['shared', 1, layerZip.hex]],
    );
    const invoked = await lambda.call('Invoke', { FunctionName: reader, Payload: '{}' });
    const body = JSON.parse(String(invoked.Payload)) as { message: string; opt: string[] };
    assert.equal(body.message, `shared with ${lambda.client}`);
    assert.ok(body.opt.includes('shared.py'), body.opt.join(','));
  });

  await t.test('ListVersionsByFunction one item per page lists $LATEST, 1 and 2', async () => {
    const { items, pages } = await lambda.listAll(
      'ListVersionsByFunction',
      { FunctionName: app },
      'Versions',
    );
    assert.deepEqual(
      items.map((v) => v.Version),
      ['$LATEST', '1', '2'],
    );
    assert.deepEqual(
      items.map((v) => v.CodeSha256),
      [v2.base64, v1.base64, v2.base64],
    );
    if (pages !== undefined) assert.equal(pages, 3);
    const aliases = await lambda.listAll('ListAliases', { FunctionName: app }, 'Aliases');
    assert.deepEqual(
      aliases.items.map((a) => a.Name),
      ['live'],
    );
  });

  await t.test('bad input gets Lambda errors and changes nothing', async () => {
    const before = await fn();
    await rejected(
      lambda.call('CreateFunction', {
        FunctionName: functionArn(ns.name, 'bad-runtime'),
        Runtime: 'python9.9',
        Handler: 'app.handler',
        Role: ROLE,
        Code: { ZipFile: v1.file },
      }),
      'InvalidParameterValueException',
      /runtime parameter of python9\.9 is not supported/,
    );
    assert.equal(await kubeGet(ns.name, 'functions', 'bad-runtime'), undefined);

    await rejected(
      lambda.call('UpdateFunctionConfiguration', {
        FunctionName: app,
        Timeout: 9,
        RevisionId: createdRevision,
      }),
      'PreconditionFailedException',
    );
    await rejected(
      lambda.call('PublishVersion', { FunctionName: app, RevisionId: createdRevision }),
      'PreconditionFailedException',
    );

    await rejected(
      lambda.call('CreateFunction', {
        FunctionName: app,
        Runtime: RUNTIME,
        Handler: 'other.handler',
        Role: ROLE,
        Code: { ZipFile: v1.file },
      }),
      'ResourceConflictException',
    );
    await rejected(
      lambda.call('CreateAlias', { FunctionName: app, Name: 'live', FunctionVersion: '2' }),
      'ResourceConflictException',
    );

    const afterwards = await fn();
    assert.equal(afterwards?.metadata.generation, before?.metadata.generation);
    assert.deepEqual(afterwards?.spec, before?.spec);
    assert.equal(
      (await kubeList(ns.name, 'versions')).filter((v) => v.spec.functionName === 'app').length,
      2,
      'no version published by a refused call',
    );
    const aliases = (await kubeList(ns.name, 'aliases')).filter((a) => a.spec.functionName === 'app');
    assert.deepEqual(
      aliases.map((a) => [a.spec.name, a.spec.functionVersion]),
      [['live', '1']],
    );
  });

  await t.test('DeleteFunction and DeleteLayerVersion remove the objects', async () => {
    await lambda.call('DeleteFunction', { FunctionName: functionArn(ns.name, 'reader') });
    await lambda.call('DeleteFunction', { FunctionName: app });
    await rejected(lambda.call('GetFunction', { FunctionName: app }), 'ResourceNotFoundException');
    await lambda.call('DeleteLayerVersion', { LayerName: layerArn, VersionNumber: 1 });
    await waitFor(
      'the functions, versions and aliases to be gone',
      async () => {
        const left = await Promise.all(
          ['functions', 'versions', 'aliases'].map((kind) => kubeList(ns.name, kind)),
        );
        return left.every((items) => items.length === 0) ? true : undefined;
      },
      60_000,
      500,
    );
    // The API marks the version in the spec at once; the operator then records it in the
    // status, which keeps a deleted version's record (functions pinned to it still run).
    const marked = await kubeGet(ns.name, 'layers', 'shared');
    assert.deepEqual(marked?.spec.deletedVersions, [1], JSON.stringify(marked?.spec));
    await waitFor(
      'the operator to record version 1 of layer shared as deleted',
      async () => {
        const layer = await kubeGet(ns.name, 'layers', 'shared');
        const versions =
          (layer?.status?.versions as Array<{ version: number; deleted?: boolean }> | undefined) ?? [];
        return versions.length === 1 && versions.every((v) => v.deleted) ? true : undefined;
      },
      30_000,
      250,
    );
    await rejected(
      lambda.call('GetLayerVersion', { LayerName: layerArn, VersionNumber: 1 }),
      'ResourceNotFoundException',
    );
  });
}

describe(
  'the control plane with the AWS CLI, boto3 and the SDK for JavaScript v3',
  { timeout: 300_000 },
  () => {
    let release: Release;
    const drivers: LambdaDriver[] = [];

    before(async () => {
      release = await installedRelease();
    });

    after(() => drivers.forEach((d) => d.close()));

    const clients: Array<[string, () => Promise<LambdaDriver> | LambdaDriver]> = [
      ['the AWS CLI', () => awsCliDriver(release.gatewayUrl)],
      ['boto3', () => boto3Driver(release.gatewayUrl)],
      ['the AWS SDK for JavaScript v3', () => sdkDriver(release.gatewayUrl)],
    ];
    for (const [label, make] of clients) {
      it(`${label}: the whole life cycle, and kubectl sees every step`, async (t) => {
        const driver = await make();
        drivers.push(driver);
        await lifeCycle(t, release, driver);
      });
    }
  },
);
