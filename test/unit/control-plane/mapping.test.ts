// The control plane's pure mapping: Lambda request bodies → Function/Alias specs, and the
// custom resources → Lambda's FunctionConfiguration / AliasConfiguration JSON.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alias, LaminaFunction, Version } from '../../../operator/src/api/index.js';
import { checkAliasName, routingConfigOf } from '../../../operator/src/control-plane/alias-spec.js';
import {
  aliasConfiguration,
  base64Sha256,
  hexSha256,
  latestConfiguration,
  revisionIdOf,
  versionConfiguration,
} from '../../../operator/src/control-plane/configuration.js';
import {
  checkFunctionName,
  configurationPatchOf,
  functionSpecOf,
  layerReferenceOf,
} from '../../../operator/src/control-plane/function-spec.js';
import { CreateFunctionRequest, parseRequest } from '../../../operator/src/control-plane/requests.js';

const SHA = 'ab'.repeat(32);
const ROLE = 'arn:aws:iam::000000000000:role/x';

const create = (extra: Record<string, unknown> = {}) =>
  parseRequest(CreateFunctionRequest, {
    FunctionName: 'f',
    Runtime: 'python3.13',
    Handler: 'app.handler',
    Role: ROLE,
    Code: { ZipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' },
    ...extra,
  });

const fnObject = (over: Partial<LaminaFunction> = {}): LaminaFunction => ({
  apiVersion: 'lamina.dev/v1alpha1',
  kind: 'Function',
  metadata: {
    name: 'f',
    namespace: 'team-a',
    uid: 'u1',
    resourceVersion: '10',
    generation: 2,
    creationTimestamp: new Date('2026-01-02T03:04:05.678Z'),
  },
  spec: {
    runtime: 'python3.13',
    handler: 'app.handler',
    code: { sha256: SHA },
    memorySize: 256,
    timeout: 10,
    publish: false,
  },
  status: {
    state: 'Active',
    lastUpdateStatus: 'Successful',
    observedGeneration: 2,
    codeSha256: SHA,
    codeSize: 123,
    revisionId: 'r',
    lastModified: '2026-01-02T04:00:00.000Z',
  },
  ...over,
});

describe('CreateFunction → Function spec', () => {
  it('maps the members Lambda and Lamina share, with the uploaded digest as the code', () => {
    const spec = functionSpecOf(
      create({
        MemorySize: 512,
        Timeout: 30,
        Description: 'd',
        Environment: { Variables: { A1: '1' } },
        EphemeralStorage: { Size: 1024 },
        Layers: [
          'arn:aws:lambda:us-east-1:team-a:layer:libs:3',
          'arn:aws:lambda:us-east-1:shared:layer:common:1',
        ],
      }),
      'team-a',
      SHA,
    );
    assert.deepEqual(spec, {
      runtime: 'python3.13',
      handler: 'app.handler',
      code: { sha256: SHA },
      memorySize: 512,
      timeout: 30,
      publish: false,
      description: 'd',
      layers: [
        { name: 'libs', version: 3 },
        { name: 'shared/common', version: 1 },
      ],
      ephemeralStorage: { size: 1024 },
      environment: { variables: { A1: '1' } },
    });
  });

  it('runs as a service account only when the role says role/lamina/<name>', () => {
    assert.equal(functionSpecOf(create(), 'ns', SHA).serviceAccountName, undefined);
    const spec = functionSpecOf(create({ Role: 'arn:aws:iam::123456789012:role/lamina/reader' }), 'ns', SHA);
    assert.equal(spec.serviceAccountName, 'reader');
  });

  it('refuses runtimes Lamina does not carry with InvalidParameterValueException, nonsense with ValidationException', () => {
    // Lambda's nodejs22.x: no Debian release ships Node.js 22, so no image has it exactly.
    assert.throws(() => functionSpecOf(create({ Runtime: 'nodejs22.x' }), 'ns', SHA), {
      code: 'InvalidParameterValueException',
      message: /nodejs22\.x is not supported by Lamina\. Supported runtimes: .*nodejs24\.x.*java21/,
    });
    assert.equal(
      functionSpecOf(create({ Runtime: 'java21', Handler: 'example.Hello::handleRequest' }), 'ns', SHA)
        .runtime,
      'java21',
    );
    assert.throws(() => functionSpecOf(create({ Runtime: 'cobol' }), 'ns', SHA), {
      code: 'ValidationException',
    });
  });

  it('refuses what Lamina cannot honour instead of dropping it', () => {
    for (const extra of [
      { VpcConfig: { SubnetIds: ['s-1'] } },
      { Architectures: ['arm64'] },
      { TracingConfig: { Mode: 'Active' } },
      { KMSKeyArn: 'arn:aws:kms:us-east-1:1:key/x' },
    ]) {
      assert.throws(() => functionSpecOf(create(extra), 'ns', SHA), {
        code: 'InvalidParameterValueException',
      });
    }
  });

  it('refuses reserved and oversized environments with Lambda messages', () => {
    assert.throws(
      () => functionSpecOf(create({ Environment: { Variables: { AWS_REGION: 'x' } } }), 'ns', SHA),
      {
        code: 'InvalidParameterValueException',
        message: /Reserved keys used in this request: AWS_REGION/,
      },
    );
    assert.throws(
      () => functionSpecOf(create({ Environment: { Variables: { BIG: 'x'.repeat(5000) } } }), 'ns', SHA),
      { code: 'InvalidParameterValueException', message: /exceeded the 4KB limit/ },
    );
  });

  it('needs a handler for interpreted runtimes and a valid role ARN', () => {
    const { Handler: _h, ...noHandler } = create();
    assert.throws(() => functionSpecOf(noHandler, 'ns', SHA), { code: 'InvalidParameterValueException' });
    assert.throws(() => functionSpecOf(create({ Role: 'admin' }), 'ns', SHA), {
      code: 'ValidationException',
    });
  });

  it('refuses names that cannot be Kubernetes object names', () => {
    assert.throws(() => checkFunctionName('My_Function'), { code: 'InvalidParameterValueException' });
    checkFunctionName('my-function.v2');
  });

  it('parses layer ARNs with the namespace in the account position', () => {
    assert.deepEqual(layerReferenceOf('arn:aws:lambda:eu-west-1:ns:layer:l:7', 'ns'), {
      name: 'l',
      version: 7,
    });
    assert.throws(() => layerReferenceOf('arn:aws:lambda:eu-west-1:ns:layer:l', 'ns'), {
      code: 'InvalidParameterValueException',
    });
  });
});

describe('request bodies', () => {
  it('names a missing member like Lambda does', () => {
    assert.throws(() => parseRequest(CreateFunctionRequest, { FunctionName: 'f', Code: {} }), {
      code: 'ValidationException',
      message:
        "1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null",
    });
  });

  it('answers a member of the wrong type with InvalidParameterValueException', () => {
    assert.throws(() => create({ MemorySize: 'big' }), {
      code: 'InvalidParameterValueException',
      message: /memorySize: expected number, got string/,
    });
  });

  it('answers an out-of-range number with the constraint', () => {
    assert.throws(() => create({ MemorySize: 64 }), {
      code: 'ValidationException',
      message: /Value '64' at 'memorySize' .*greater than or equal to 128/,
    });
  });

  it('refuses a body that is not a JSON object', () => {
    assert.throws(() => parseRequest(CreateFunctionRequest, [1]), { code: 'InvalidRequestContentException' });
  });
});

describe('UpdateFunctionConfiguration → merge patch', () => {
  it('changes only the members sent and removes variables no longer listed', () => {
    const current = { ...fnObject().spec, environment: { variables: { OLD: '1', KEEP: '2' } } };
    const { spec, role } = configurationPatchOf(
      { MemorySize: 1024, Environment: { Variables: { KEEP: '3' } }, Role: 'arn:aws:iam::1:role/lamina/sa' },
      'ns',
      current,
    );
    assert.deepEqual(spec, {
      memorySize: 1024,
      environment: { variables: { OLD: null, KEEP: '3' } },
      serviceAccountName: 'sa',
    });
    assert.equal(role, 'arn:aws:iam::1:role/lamina/sa');
  });

  it('removes all layers with an empty list', () => {
    assert.deepEqual(configurationPatchOf({ Layers: [] }, 'ns', fnObject().spec).spec, { layers: null });
  });
});

describe('Function → FunctionConfiguration', () => {
  it('shows $LATEST with the namespace in the ARN, a base64 CodeSha256 and Lambda timestamps', () => {
    const c = latestConfiguration(fnObject(), { region: 'us-east-1' });
    assert.equal(c.FunctionArn, 'arn:aws:lambda:us-east-1:team-a:function:f');
    assert.equal(c.CodeSha256, Buffer.from(SHA, 'hex').toString('base64'));
    assert.equal(c.CodeSize, 123);
    assert.equal(c.LastModified, '2026-01-02T04:00:00.000+0000');
    assert.equal(c.Version, '$LATEST');
    assert.equal(c.State, 'Active');
    assert.equal(c.LastUpdateStatus, 'Successful');
    assert.equal(c.MemorySize, 256);
    assert.equal(c.RevisionId, revisionIdOf({ uid: 'u1', generation: 2 }));
  });

  it('is Pending/Creating before the operator has written a status', () => {
    const c = latestConfiguration(
      fnObject({ status: undefined }),
      { region: 'us-east-1' },
      { sha256: SHA, size: 9 },
    );
    assert.equal(c.State, 'Pending');
    assert.equal(c.StateReasonCode, 'Creating');
    assert.equal(c.LastUpdateStatus, 'InProgress');
    assert.equal(c.CodeSize, 9);
  });

  it('reports an update InProgress while the operator has not observed the new generation', () => {
    const fn = fnObject();
    fn.metadata.generation = 3;
    const c = latestConfiguration(fn, { region: 'us-east-1' });
    assert.equal(c.State, 'Active');
    assert.equal(c.LastUpdateStatus, 'InProgress');
  });

  it('shows the new code digest as soon as the spec names it', () => {
    const fn = fnObject();
    fn.spec.code = { sha256: 'cd'.repeat(32) };
    assert.equal(latestConfiguration(fn, { region: 'r' }).CodeSha256, base64Sha256('cd'.repeat(32)));
  });

  it('gives a new RevisionId for every change of the spec (generation), not for status writes', () => {
    assert.notEqual(revisionIdOf({ uid: 'u', generation: 1 }), revisionIdOf({ uid: 'u', generation: 2 }));
    assert.match(
      revisionIdOf({ uid: 'u', generation: 1 }),
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it('accepts CodeSha256 preconditions in base64 (as Lambda clients send) or hex', () => {
    assert.equal(hexSha256(base64Sha256(SHA)), SHA);
    assert.equal(hexSha256(SHA.toUpperCase()), SHA);
    assert.equal(hexSha256('nope'), undefined);
  });

  it('shows a published version from its frozen snapshot', () => {
    const version: Version = {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Version',
      metadata: {
        name: 'f-v1',
        namespace: 'team-a',
        uid: 'v',
        resourceVersion: '3',
        creationTimestamp: new Date('2026-01-03T00:00:00Z'),
      },
      spec: {
        functionName: 'f',
        version: 1,
        snapshot: {
          runtime: 'python3.13',
          handler: 'app.handler',
          codeSha256: SHA,
          codeSize: 5,
          memorySize: 128,
          timeout: 3,
          ephemeralStorageSize: 512,
          revisionId: 'r',
          layers: [{ namespace: 'shared', name: 'l', version: 2, sha256: SHA, size: 7 }],
        },
      },
    };
    const c = versionConfiguration(fnObject(), version, { region: 'us-east-1' });
    assert.equal(c.FunctionArn, 'arn:aws:lambda:us-east-1:team-a:function:f:1');
    assert.equal(c.Version, '1');
    assert.equal(c.MemorySize, 128);
    assert.deepEqual(c.Layers, [{ Arn: 'arn:aws:lambda:us-east-1:shared:layer:l:2', CodeSize: 7 }]);
  });
});

describe('aliases', () => {
  it("applies Lambda's routing rules", () => {
    assert.deepEqual(routingConfigOf('1', { '2': 0.25 }), { additionalVersionWeights: { '2': 0.25 } });
    assert.throws(() => routingConfigOf('1', { '2': 0.1, '3': 0.1 }), {
      message: /cannot be greater than 1/,
    });
    assert.throws(() => routingConfigOf('1', { '1': 0.1 }), {
      message: /already included in routing configuration/,
    });
    assert.throws(() => routingConfigOf('$LATEST', { '2': 0.1 }), { message: /\$LATEST is not supported/ });
    assert.throws(() => routingConfigOf('1', { '2': 1.5 }), { code: 'ValidationException' });
    assert.throws(() => routingConfigOf('1', { $LATEST: 0.5 }), { code: 'ValidationException' });
  });

  it('refuses all-digit alias names', () => {
    assert.throws(() => checkAliasName('12'), { code: 'ValidationException' });
    checkAliasName('live_1');
  });

  it('shows an alias with its routing and the ARN qualified by its name', () => {
    const alias: Alias = {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Alias',
      metadata: { name: 'f-live', namespace: 'ns', uid: 'a', generation: 1 },
      spec: {
        functionName: 'f',
        name: 'live',
        functionVersion: '1',
        routingConfig: { additionalVersionWeights: { '2': 0.1 } },
      },
    };
    assert.deepEqual(aliasConfiguration(alias, { region: 'us-east-1' }), {
      AliasArn: 'arn:aws:lambda:us-east-1:ns:function:f:live',
      Name: 'live',
      FunctionVersion: '1',
      Description: '',
      RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } },
      RevisionId: revisionIdOf({ uid: 'a', generation: 1 }),
    });
  });
});
