// Lambda's control plane driven by the AWS SDK for JavaScript v3 against the gateway, with the
// real operator reconciling what it writes: a whole life cycle, each step checked as
// `kubectl` sees it, then bad input — each refused with Lambda's error and nothing left behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import type { Alias, LaminaFunction, Layer, Version } from '../../../operator/src/api/index.js';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  DeleteLayerVersionCommand,
  AddLayerVersionPermissionCommand,
  GetLayerVersionPolicyCommand,
  RemoveLayerVersionPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionEventInvokeConfigCommand,
  DeleteFunctionUrlConfigCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetFunctionEventInvokeConfigCommand,
  GetFunctionUrlConfigCommand,
  GetProvisionedConcurrencyConfigCommand,
  ListFunctionsCommand,
  ListTagsCommand,
  PutFunctionEventInvokeConfigCommand,
  PutProvisionedConcurrencyConfigCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionEventInvokeConfigCommand,
  UpdateFunctionUrlConfigCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  ListLayerVersionsCommand,
  ListLayersCommand,
  PublishLayerVersionCommand,
  GetAccountSettingsCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  paginateListFunctions,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { failure, LIMITS, ROLE, startControlPlane, type ControlPlaneWorld } from './setup.js';

function zipOf(files: Record<string, string | Buffer>): Uint8Array {
  const zip = new AdmZip();
  for (const [name, content] of Object.entries(files)) zip.addFile(name, Buffer.from(content));
  return new Uint8Array(zip.toBuffer());
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();

describe('Lambda control plane with the AWS SDK v3', () => {
  let w: ControlPlaneWorld;
  const wait = { maxWaitTime: 60, minDelay: 1, maxDelay: 1 };

  before(async () => {
    w = await startControlPlane('cpsdk', { downloadsFromStore: true });
  });
  after(async () => {
    await w?.dispose();
  });

  it('runs a function through its life cycle, and kubectl sees every step', async () => {
    const lambda = w.lambda;
    const v1 = zipOf({ 'app.py': 'def handler(event, context):\n    return 1\n' });
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'life',
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Role: ROLE,
        Code: { ZipFile: v1 },
        MemorySize: 256,
        Environment: { Variables: { STAGE: 'one' } },
        Tags: { team: 'a' },
      }),
    );
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.equal(created.State, 'Pending');
    assert.equal(created.CodeSha256, sha256(v1).toString('base64'));
    assert.equal(created.FunctionArn, `arn:aws:lambda:us-east-1:${w.namespace}:function:life`);
    const fn = await w.kubectlGet<LaminaFunction>('functions', 'life');
    assert.equal(fn?.spec.code?.sha256, sha256(v1).toString('hex'));
    assert.equal(fn?.spec.memorySize, 256);
    assert.deepEqual(fn?.spec.environment, { variables: { STAGE: 'one' } });
    assert.ok(
      fn?.metadata.managedFields?.some((f) => f.manager === 'lamina-control-plane'),
      'the API server records the control plane as the writer',
    );

    await waitUntilFunctionActiveV2({ client: lambda, ...wait }, { FunctionName: 'life' });
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'life' }));
    assert.equal(got.Configuration?.State, 'Active');
    assert.equal(got.Configuration?.LastUpdateStatus, 'Successful');
    assert.equal(got.Configuration?.CodeSize, v1.length);
    assert.deepEqual(got.Tags, { team: 'a' });
    assert.equal(got.Code?.RepositoryType, 'S3');
    const download = await fetch(got.Code!.Location!);
    assert.equal(download.status, 200);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), v1);
    const forged = new URL(got.Code!.Location!);
    forged.searchParams.set('expires', String(Number(forged.searchParams.get('expires')) + 3600));
    assert.equal((await fetch(forged)).status, 403, 'a download URL cannot be extended');

    // Update the code: InProgress until the operator has taken it, then Successful.
    const v2 = zipOf({ 'app.py': 'def handler(event, context):\n    return 2\n' });
    const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'life', ZipFile: v2 }));
    assert.equal(updated.LastUpdateStatus, 'InProgress');
    assert.equal(updated.CodeSha256, sha256(v2).toString('base64'));
    await waitUntilFunctionUpdatedV2({ client: lambda, ...wait }, { FunctionName: 'life' });
    assert.equal(
      (await w.kubectlGet<LaminaFunction>('functions', 'life'))?.status?.codeSha256,
      sha256(v2).toString('hex'),
    );

    // Publish: version 1; publishing again with nothing changed returns version 1 again.
    const p1 = await lambda.send(new PublishVersionCommand({ FunctionName: 'life', Description: 'first' }));
    assert.equal(p1.$metadata.httpStatusCode, 201);
    assert.equal(p1.Version, '1');
    assert.equal(p1.FunctionArn, `arn:aws:lambda:us-east-1:${w.namespace}:function:life:1`);
    assert.equal((await lambda.send(new PublishVersionCommand({ FunctionName: 'life' }))).Version, '1');
    const versions = (await w.kubectlList<Version>('versions')).filter((v) => v.spec.functionName === 'life');
    assert.deepEqual(
      versions.map((v) => v.spec.version),
      [1],
      'no redundant Version object is left',
    );

    // Change the configuration, with the RevisionId as a precondition, and publish version 2.
    const before2 = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'life' }));
    const reconfigured = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'life',
        Environment: { Variables: { STAGE: 'two' } },
        Timeout: 30,
        RevisionId: before2.RevisionId,
      }),
    );
    assert.equal(reconfigured.Timeout, 30);
    assert.notEqual(reconfigured.RevisionId, before2.RevisionId);
    const stale = await failure(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'life',
          Timeout: 5,
          RevisionId: before2.RevisionId,
        }),
      ),
    );
    assert.equal(stale.name, 'PreconditionFailedException');
    assert.equal(stale.status, 412);
    await waitUntilFunctionUpdatedV2({ client: lambda, ...wait }, { FunctionName: 'life' });
    const wrongCode = await failure(
      lambda.send(
        new PublishVersionCommand({ FunctionName: 'life', CodeSha256: sha256(v1).toString('base64') }),
      ),
    );
    assert.equal(wrongCode.name, 'InvalidParameterValueException');
    assert.match(wrongCode.message, /is different from current CodeSHA256 in \$LATEST/);
    const staleRevision = await failure(
      lambda.send(new PublishVersionCommand({ FunctionName: 'life', RevisionId: before2.RevisionId })),
    );
    assert.equal(staleRevision.name, 'PreconditionFailedException');
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'life' }));
    const p2 = await lambda.send(
      new PublishVersionCommand({
        FunctionName: 'life',
        CodeSha256: current.CodeSha256,
        RevisionId: current.RevisionId,
      }),
    );
    assert.equal(p2.Version, '2');
    assert.equal(p2.Timeout, 30);
    const v1Config = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'life', Qualifier: '1' }),
    );
    assert.equal(v1Config.Timeout, 3, 'version 1 keeps its configuration');
    assert.deepEqual(
      (await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'life' }))).Versions?.map(
        (v) => v.Version,
      ),
      ['$LATEST', '1', '2'],
    );

    // An alias with a canary weight.
    const alias = await lambda.send(
      new CreateAliasCommand({
        FunctionName: 'life',
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.25 } },
      }),
    );
    assert.equal(alias.$metadata.httpStatusCode, 201);
    assert.equal(alias.AliasArn, `arn:aws:lambda:us-east-1:${w.namespace}:function:life:live`);
    const aliasObject = await w.kubectlGet<Alias>('aliases', 'life-live');
    assert.deepEqual(aliasObject?.spec, {
      functionName: 'life',
      name: 'live',
      functionVersion: '1',
      routingConfig: { additionalVersionWeights: { '2': 0.25 } },
    });
    const viaAlias = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'life:live' }));
    assert.equal(viaAlias.Version, '1');
    assert.equal(
      (
        await failure(
          lambda.send(new CreateAliasCommand({ FunctionName: 'life', Name: 'live', FunctionVersion: '2' })),
        )
      ).name,
      'ResourceConflictException',
    );
    assert.equal(
      (
        await failure(
          lambda.send(new CreateAliasCommand({ FunctionName: 'life', Name: 'next', FunctionVersion: '9' })),
        )
      ).name,
      'ResourceNotFoundException',
    );
    const staleAlias = await failure(
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: 'life',
          Name: 'live',
          FunctionVersion: '2',
          RevisionId: 'nope',
        }),
      ),
    );
    assert.equal(staleAlias.name, 'PreconditionFailedException');
    const moved = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: 'life',
        Name: 'live',
        FunctionVersion: '2',
        RoutingConfig: { AdditionalVersionWeights: {} },
        RevisionId: alias.RevisionId,
      }),
    );
    assert.equal(moved.FunctionVersion, '2');
    assert.equal(moved.RoutingConfig, undefined);
    assert.equal((await w.kubectlGet<Alias>('aliases', 'life-live'))?.spec.routingConfig, undefined);
    await lambda.send(
      new CreateAliasCommand({ FunctionName: 'life', Name: 'Beta_1', FunctionVersion: '$LATEST' }),
    );
    assert.deepEqual(
      (await lambda.send(new ListAliasesCommand({ FunctionName: 'life' }))).Aliases?.map((a) => a.Name),
      ['Beta_1', 'live'],
    );
    assert.equal(
      (await lambda.send(new GetAliasCommand({ FunctionName: 'life', Name: 'Beta_1' }))).FunctionVersion,
      '$LATEST',
    );
    await lambda.send(new DeleteAliasCommand({ FunctionName: 'life', Name: 'Beta_1' }));
    assert.equal(
      (await failure(lambda.send(new GetAliasCommand({ FunctionName: 'life', Name: 'Beta_1' })))).name,
      'ResourceNotFoundException',
    );

    // Reserved concurrency is the Function's spec.reservedConcurrentExecutions.
    const put = await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'life', ReservedConcurrentExecutions: 5 }),
    );
    assert.equal(put.ReservedConcurrentExecutions, 5);
    assert.equal(
      (await w.kubectlGet<LaminaFunction>('functions', 'life'))?.spec.reservedConcurrentExecutions,
      5,
    );
    assert.equal(
      (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'life' })))
        .ReservedConcurrentExecutions,
      5,
    );
    const tooMuch = await failure(
      lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: 'life', ReservedConcurrentExecutions: 950 }),
      ),
    );
    assert.equal(tooMuch.name, 'InvalidParameterValueException');
    assert.match(tooMuch.message, /minimum value of \[100\]/);
    const settings = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(settings.AccountLimit?.ConcurrentExecutions, 1000);
    assert.equal(settings.AccountLimit?.UnreservedConcurrentExecutions, 995);
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'life' }));
    assert.equal(
      (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'life' })))
        .ReservedConcurrentExecutions,
      undefined,
    );

    // List with pagination: every function once, in name order.
    for (const name of ['page-a', 'page-b', 'page-c']) {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'provided.al2023',
          Role: ROLE,
          Code: { ZipFile: v1 },
        }),
      );
    }
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateListFunctions({ client: lambda, pageSize: 2 }, {})) {
      pages += 1;
      names.push(...(page.Functions ?? []).map((f) => f.FunctionName!));
    }
    assert.deepEqual(names, ['life', 'page-a', 'page-b', 'page-c']);
    assert.equal(pages, 2);

    // Delete a version (not one an alias uses), then the function with everything it owns.
    const inUse = await failure(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'life', Qualifier: '2' })),
    );
    assert.equal(inUse.name, 'ResourceConflictException');
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'life', Qualifier: '1' }));
    assert.deepEqual(
      (await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'life' }))).Versions?.map(
        (v) => v.Version,
      ),
      ['$LATEST', '2'],
    );
    const deleted = await lambda.send(new DeleteFunctionCommand({ FunctionName: 'life' }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    const gone = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'life' })));
    assert.equal(gone.name, 'ResourceNotFoundException');
    assert.equal(gone.message, `Function not found: arn:aws:lambda:us-east-1:${w.namespace}:function:life`);
    assert.equal(await w.kubectlGet<LaminaFunction>('functions', 'life'), undefined);
    assert.equal(await w.kubectlGet<Alias>('aliases', 'life-live'), undefined);
  });

  it('publishes layer versions, lists them, uses one in a function and deletes one', async () => {
    const lambda = w.lambda;
    const l1 = zipOf({ 'python/shared.py': 'VALUE = 1\n' });
    const l2 = zipOf({ 'python/shared.py': 'VALUE = 2\n' });
    const first = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: l1 },
        CompatibleRuntimes: ['python3.13'],
        Description: 'shared code',
      }),
    );
    assert.equal(first.$metadata.httpStatusCode, 201);
    assert.equal(first.Version, 1);
    assert.equal(first.LayerVersionArn, `arn:aws:lambda:us-east-1:${w.namespace}:layer:shared:1`);
    assert.equal(first.Content?.CodeSha256, sha256(l1).toString('base64'));
    const second = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: l2 },
        CompatibleRuntimes: ['python3.13'],
      }),
    );
    assert.equal(second.Version, 2);
    const layer = await w.kubectlGet<Layer>('layers', 'shared');
    assert.deepEqual(
      layer?.status?.versions?.map((v) => v.version),
      [1, 2],
    );
    assert.equal(layer?.spec.content.sha256, sha256(l2).toString('hex'));

    const got = await lambda.send(new GetLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 }));
    assert.equal(got.Content?.CodeSize, l1.length);
    assert.deepEqual(new Uint8Array(await (await fetch(got.Content!.Location!)).arrayBuffer()), l1);
    const byArn = await lambda.send(new GetLayerVersionByArnCommand({ Arn: first.LayerVersionArn }));
    assert.equal(byArn.Version, 1);
    assert.deepEqual(
      (await lambda.send(new ListLayerVersionsCommand({ LayerName: 'shared' }))).LayerVersions?.map(
        (v) => v.Version,
      ),
      [2, 1],
    );
    const listed = await lambda.send(new ListLayersCommand({ CompatibleRuntime: 'python3.13' }));
    assert.deepEqual(
      listed.Layers?.map((l) => [l.LayerName, l.LatestMatchingVersion?.Version]),
      [['shared', 2]],
    );

    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'uses-layer',
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Role: ROLE,
        Code: { ZipFile: zipOf({ 'app.py': 'import shared\n' }) },
        Layers: [first.LayerVersionArn!],
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, ...wait }, { FunctionName: 'uses-layer' });
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'uses-layer' }));
    assert.deepEqual(config.Layers, [{ Arn: first.LayerVersionArn, CodeSize: l1.length }]);

    // Sharing: a permission for a namespace (the account position) shares the layer with it.
    const granted = await lambda.send(
      new AddLayerVersionPermissionCommand({
        LayerName: 'shared',
        VersionNumber: 2,
        StatementId: 'team-b',
        Action: 'lambda:GetLayerVersion',
        Principal: 'team-b',
      }),
    );
    assert.equal(granted.$metadata.httpStatusCode, 201);
    assert.deepEqual(JSON.parse(granted.Statement!).Principal, { AWS: 'arn:aws:iam::team-b:root' });
    assert.deepEqual((await w.kubectlGet<Layer>('layers', 'shared'))?.spec.sharing, {
      namespaces: ['team-b'],
    });
    const policy = await lambda.send(
      new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: 2 }),
    );
    assert.equal(JSON.parse(policy.Policy!).Statement[0].Sid, 'team-b');
    const again = await failure(
      lambda.send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'shared',
          VersionNumber: 2,
          StatementId: 'team-b',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
        }),
      ),
    );
    assert.equal(again.name, 'ResourceConflictException');
    await lambda.send(
      new RemoveLayerVersionPermissionCommand({
        LayerName: 'shared',
        VersionNumber: 2,
        StatementId: 'team-b',
      }),
    );
    assert.equal((await w.kubectlGet<Layer>('layers', 'shared'))?.spec.sharing, undefined);
    assert.equal(
      (
        await failure(
          lambda.send(new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: 2 })),
        )
      ).name,
      'ResourceNotFoundException',
    );

    await lambda.send(new DeleteLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 }));
    const deleted = await failure(
      lambda.send(new GetLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 })),
    );
    assert.equal(deleted.name, 'ResourceNotFoundException');
    assert.deepEqual((await w.kubectlGet<Layer>('layers', 'shared'))?.spec.deletedVersions, [1]);
    assert.equal(
      (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'uses-layer' }))).State,
      'Active',
      'a function that pinned the deleted version keeps it',
    );
    for (const [layerArnValue, message] of [
      [first.LayerVersionArn!, /was deleted and cannot be newly referenced/],
      [`arn:aws:lambda:us-east-1:${w.namespace}:layer:shared:9`, /does not exist/],
      [`arn:aws:lambda:us-east-1:${w.namespace}:layer:missing:1`, /does not exist/],
    ] as const) {
      const missing = await failure(
        lambda.send(
          new CreateFunctionCommand({
            FunctionName: 'late-user',
            Runtime: 'python3.13',
            Handler: 'app.handler',
            Role: ROLE,
            Code: { ZipFile: l1 },
            Layers: [layerArnValue],
          }),
        ),
      );
      assert.equal(missing.name, 'InvalidParameterValueException');
      assert.match(missing.message, message);
      assert.equal(await w.kubectlGet('functions', 'late-user'), undefined);
    }
    const refused = await failure(
      lambda.send(
        new PublishLayerVersionCommand({ LayerName: 'shared', Content: { S3Bucket: 'b', S3Key: 'k.zip' } }),
      ),
    );
    assert.equal(refused.name, 'InvalidParameterValueException');
    const badName = await failure(
      lambda.send(new PublishLayerVersionCommand({ LayerName: 'Bad_Layer', Content: { ZipFile: l1 } })),
    );
    assert.equal(badName.name, 'InvalidParameterValueException');
    assert.equal(await w.kubectlGet('layers', 'bad-layer'), undefined);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'uses-layer' }));
  });

  it('publishes on create and on code update, and lists every version with FunctionVersion=ALL', async () => {
    const lambda = w.lambda;
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'pub',
        Runtime: 'provided.al2023',
        Role: ROLE,
        Code: { ZipFile: zipOf({ bootstrap: 'v1' }) },
        Publish: true,
      }),
    );
    assert.equal(created.Version, '1');
    assert.equal(created.FunctionArn, `arn:aws:lambda:us-east-1:${w.namespace}:function:pub:1`);
    const updated = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'pub',
        ZipFile: zipOf({ bootstrap: 'v2' }),
        Publish: true,
      }),
    );
    assert.equal(updated.Version, '2');
    const all = await lambda.send(new ListFunctionsCommand({ FunctionVersion: 'ALL' }));
    assert.deepEqual(
      all.Functions?.filter((f) => f.FunctionName === 'pub').map((f) => f.Version),
      ['$LATEST', '1', '2'],
    );
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'pub' }));
  });

  it('keeps URL config, event invoke config, tags and provisioned concurrency on the objects', async () => {
    const lambda = w.lambda;
    const arn = `arn:aws:lambda:us-east-1:${w.namespace}:function:cfg`;
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'cfg',
        Runtime: 'provided.al2023',
        Role: ROLE,
        Code: { ZipFile: zipOf({ bootstrap: 'x' }) },
        Publish: true,
      }),
    );

    const url = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'cfg',
        AuthType: 'AWS_IAM',
        Cors: { AllowOrigins: ['https://a.example'], MaxAge: 60 },
      }),
    );
    assert.equal(url.$metadata.httpStatusCode, 201);
    assert.equal(url.FunctionUrl, `${w.endpoint}/lambda-url/${w.namespace}/cfg/`);
    assert.deepEqual((await w.kubectlGet<LaminaFunction>('functions', 'cfg'))?.spec.functionUrl, {
      authType: 'KUBERNETES',
      invokeMode: 'BUFFERED',
      payloadFormatVersion: '2.0',
      cors: { allowOrigins: ['https://a.example'], maxAge: 60 },
    });
    assert.equal(
      (
        await failure(
          lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'cfg', AuthType: 'NONE' })),
        )
      ).name,
      'ResourceConflictException',
    );
    const changed = await lambda.send(
      new UpdateFunctionUrlConfigCommand({
        FunctionName: 'cfg',
        AuthType: 'NONE',
        Cors: { AllowMethods: ['GET'] },
      }),
    );
    assert.equal(changed.AuthType, 'NONE');
    assert.deepEqual(changed.Cors, { AllowMethods: ['GET'] });
    assert.equal(
      (await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'cfg' }))).AuthType,
      'NONE',
    );
    assert.equal(
      (
        await failure(
          lambda.send(
            new CreateFunctionUrlConfigCommand({
              FunctionName: 'pub',
              AuthType: 'NONE',
              InvokeMode: 'STREAMING' as 'RESPONSE_STREAM',
            }),
          ),
        )
      ).name,
      'ValidationException',
    );
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'cfg' }));
    assert.equal(
      (await failure(lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'cfg' })))).name,
      'ResourceNotFoundException',
    );

    const events = await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'cfg',
        MaximumRetryAttempts: 1,
        DestinationConfig: {
          OnFailure: { Destination: `arn:aws:lambda:us-east-1:${w.namespace}:function:dlq` },
        },
      }),
    );
    assert.equal(events.MaximumRetryAttempts, 1);
    assert.equal(events.MaximumEventAgeInSeconds, 21600);
    assert.equal(
      events.DestinationConfig?.OnFailure?.Destination,
      `arn:aws:lambda:us-east-1:${w.namespace}:function:dlq`,
    );
    assert.deepEqual((await w.kubectlGet<LaminaFunction>('functions', 'cfg'))?.spec.asyncInvoke, {
      maximumRetryAttempts: 1,
      maximumEventAgeInSeconds: 21600,
      destinationConfig: { onFailure: { destination: 'function:dlq' } },
    });
    const merged = await lambda.send(
      new UpdateFunctionEventInvokeConfigCommand({ FunctionName: 'cfg', MaximumEventAgeInSeconds: 120 }),
    );
    assert.deepEqual([merged.MaximumRetryAttempts, merged.MaximumEventAgeInSeconds], [1, 120]);
    const replaced = await lambda.send(
      new PutFunctionEventInvokeConfigCommand({ FunctionName: 'cfg', MaximumRetryAttempts: 0 }),
    );
    assert.equal(replaced.DestinationConfig?.OnFailure?.Destination, undefined);
    assert.equal(
      (await w.kubectlGet<LaminaFunction>('functions', 'cfg'))?.spec.asyncInvoke?.destinationConfig,
      undefined,
    );
    const sqs = await failure(
      lambda.send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: 'cfg',
          DestinationConfig: { OnFailure: { Destination: 'arn:aws:sqs:us-east-1:123456789012:q' } },
        }),
      ),
    );
    assert.equal(sqs.name, 'InvalidParameterValueException');
    await lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'cfg' }));
    assert.equal(
      (await failure(lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'cfg' })))).name,
      'ResourceNotFoundException',
    );

    await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { team: 'a', cost: 'b' } }));
    await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['cost'] }));
    assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, { team: 'a' });
    assert.equal(
      (await w.kubectlGet<LaminaFunction>('functions', 'cfg'))?.metadata.annotations?.['lamina.dev/tags'],
      '{"team":"a"}',
    );

    const pc = await lambda.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: 'cfg',
        Qualifier: '1',
        ProvisionedConcurrentExecutions: 2,
      }),
    );
    assert.equal(pc.$metadata.httpStatusCode, 202);
    assert.equal(pc.RequestedProvisionedConcurrentExecutions, 2);
    const version = (await w.kubectlList<Version>('versions')).find((v) => v.spec.functionName === 'cfg');
    assert.equal(version?.spec.provisionedConcurrentExecutions, 2);
    assert.equal(
      (await lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'cfg', Qualifier: '1' })))
        .RequestedProvisionedConcurrentExecutions,
      2,
    );
    assert.equal(
      (
        await failure(
          lambda.send(
            new PutProvisionedConcurrencyConfigCommand({
              FunctionName: 'cfg',
              Qualifier: '$LATEST',
              ProvisionedConcurrentExecutions: 1,
            }),
          ),
        )
      ).name,
      'InvalidParameterValueException',
    );
    await lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'cfg', Qualifier: '1' }));
    assert.equal(
      (
        await failure(
          lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'cfg', Qualifier: '1' })),
        )
      ).name,
      'ProvisionedConcurrencyConfigNotFoundException',
    );
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'cfg' }));
  });

  describe('bad input gets Lambda errors and leaves nothing behind', () => {
    const good = () => zipOf({ 'app.py': 'x = 1\n' });
    const create = (over: Record<string, unknown>) =>
      w.lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'bad',
          Runtime: 'python3.13',
          Handler: 'app.handler',
          Role: ROLE,
          Code: { ZipFile: good() },
          ...over,
        }),
      );

    const refusedWithNothingLeft = async (over: Record<string, unknown>, name: string, message: RegExp) => {
      const f = await failure(create(over));
      assert.equal(f.name, name, f.message);
      assert.match(f.message, message);
      assert.equal(await w.kubectlGet<LaminaFunction>('functions', 'bad'), undefined);
    };

    it('an unknown runtime', async () => {
      await refusedWithNothingLeft(
        { Runtime: 'nodejs22.x' },
        'InvalidParameterValueException',
        /nodejs22.x is not supported/,
      );
    });

    it('an S3 code location', async () => {
      await refusedWithNothingLeft(
        { Code: { S3Bucket: 'bucket', S3Key: 'f.zip' } },
        'InvalidParameterValueException',
        /S3Bucket\/S3Key code locations are not supported/,
      );
    });

    it('a zip over the size limit', async () => {
      const random = new Uint8Array(LIMITS.maxZipBytes + 1024).map((_, i) => (i * 7919) % 251);
      await refusedWithNothingLeft(
        { Code: { ZipFile: random } },
        'RequestEntityTooLargeException',
        /smaller than/,
      );
    });

    it('a body far over the limit, refused before it is read', async () => {
      const huge = new Uint8Array(LIMITS.maxZipBytes * 2);
      await refusedWithNothingLeft(
        { Code: { ZipFile: huge } },
        'RequestEntityTooLargeException',
        /for the CreateFunction operation/,
      );
    });

    it('a zip bomb', async () => {
      const bomb = zipOf({ 'zeros.bin': Buffer.alloc(LIMITS.maxUnzippedBytes + 1) });
      assert.ok(bomb.length < LIMITS.maxZipBytes);
      await refusedWithNothingLeft(
        { Code: { ZipFile: bomb } },
        'InvalidParameterValueException',
        /Could not unzip/,
      );
    });

    it('bytes that are not a zip', async () => {
      await refusedWithNothingLeft(
        { Code: { ZipFile: new TextEncoder().encode('hello') } },
        'InvalidParameterValueException',
        /Could not unzip/,
      );
    });

    it('a name Kubernetes cannot hold', async () => {
      await refusedWithNothingLeft(
        { FunctionName: 'Bad_Name' },
        'InvalidParameterValueException',
        /lowercase/,
      );
    });

    it('a name clash', async () => {
      await create({ FunctionName: 'clash' });
      const f = await failure(create({ FunctionName: 'clash', Runtime: 'nodejs20.x' }));
      assert.equal(f.name, 'ResourceConflictException');
      assert.match(f.message, /Function already exist/);
      assert.equal((await w.kubectlGet<LaminaFunction>('functions', 'clash'))?.spec.runtime, 'python3.13');
      await w.lambda.send(new DeleteFunctionCommand({ FunctionName: 'clash' }));
    });

    it('missing members, wrong types and broken JSON (raw HTTP)', async () => {
      const post = async (body: string) => {
        const response = await fetch(`${w.endpoint}/2015-03-31/functions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        return {
          status: response.status,
          type: response.headers.get('x-amzn-errortype'),
          body: (await response.json()) as { message?: string },
        };
      };
      const noRole = await post(JSON.stringify({ FunctionName: 'bad', Runtime: 'python3.13', Code: {} }));
      assert.deepEqual([noRole.status, noRole.type], [400, 'ValidationException']);
      assert.match(
        noRole.body.message ?? '',
        /at 'role' failed to satisfy constraint: Member must not be null/,
      );
      const wrongType = await post(
        JSON.stringify({
          FunctionName: 'bad',
          Runtime: 'python3.13',
          Role: ROLE,
          Handler: 'a.b',
          MemorySize: '512',
          Code: {},
        }),
      );
      assert.deepEqual([wrongType.status, wrongType.type], [400, 'InvalidParameterValueException']);
      const broken = await post('{"FunctionName": ');
      assert.deepEqual([broken.status, broken.type], [400, 'InvalidRequestContentException']);
      assert.equal(await w.kubectlGet<LaminaFunction>('functions', 'bad'), undefined);
    });

    it('unknown functions, qualifiers and a stale RevisionId', async () => {
      assert.equal(
        (await failure(w.lambda.send(new GetFunctionCommand({ FunctionName: 'nope' })))).name,
        'ResourceNotFoundException',
      );
      await create({ FunctionName: 'rev' });
      const first = await w.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'rev' }));
      await w.lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: 'rev', Description: 'changed' }),
      );
      const stale = await failure(
        w.lambda.send(
          new UpdateFunctionCodeCommand({
            FunctionName: 'rev',
            ZipFile: good(),
            RevisionId: first.RevisionId,
          }),
        ),
      );
      assert.equal(stale.name, 'PreconditionFailedException');
      assert.equal(
        (await failure(w.lambda.send(new GetFunctionCommand({ FunctionName: 'rev', Qualifier: '7' })))).name,
        'ResourceNotFoundException',
      );
      const latest = await failure(
        w.lambda.send(new DeleteFunctionCommand({ FunctionName: 'rev', Qualifier: '$LATEST' })),
      );
      assert.equal(latest.name, 'InvalidParameterValueException');
      await w.lambda.send(new DeleteFunctionCommand({ FunctionName: 'rev' }));
    });
  });
});
