// The AWS SDKs the managed runtimes include, as Lambda's do (runtime-image/sdks/): handlers
// that import them at load time start, and a function or layer bringing its own copy wins.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { agentFixture, functionConfig, pythonVersion, zipOf, type ZipSpec } from './harness.js';
import { includedVersions, runtimeDirWithSdks } from './runtime-sdks.js';

type Json = Record<string, unknown>;

describe(`AWS SDKs in the managed runtimes (python tests run ${pythonVersion})`, () => {
  const fixture = agentFixture();
  let runtimeDir: string;

  before(() => {
    runtimeDir = runtimeDirWithSdks();
  });
  after(() => rmSync(runtimeDir, { recursive: true, force: true }));

  /** Starts an agent on the SDK-carrying runtime directory and invokes it once. */
  async function invokeOnce(runtime: string, handler: string, code: ZipSpec, layer?: ZipSpec): Promise<Json> {
    const layers = layer ? [fixture.store.put(zipOf(layer))] : [];
    const agent = await fixture.start({
      fn: functionConfig({ runtime, handler, code: fixture.store.put(zipOf(code)), layers, timeout: 10 }),
      env: { LAMINA_RUNTIME_DIR: runtimeDir },
    });
    const res = await agent.invoke({});
    assert.equal(res.headers['x-amz-function-error'], undefined, res.text);
    assert.equal(res.status, 200, res.text);
    return res.json<Json>();
  }

  const pythonSdkHandler = `
import boto3
import botocore
from botocore.config import Config

s3 = boto3.client("s3", region_name="eu-west-1", config=Config(retries={"max_attempts": 1}))

def handler(event, context):
    return {"boto3": boto3.__version__, "botocore": botocore.__version__, "s3": s3.meta.service_model.service_name}
`;

  test('python3.13: `import boto3` and `from botocore...` work at load time and create a client', async () => {
    const out = await invokeOnce('python3.13', 'app.handler', { 'app.py': pythonSdkHandler });
    assert.deepEqual(out, { boto3: includedVersions.boto3, botocore: includedVersions.botocore, s3: 's3' });
  });

  const pythonVersionHandler =
    'import boto3\n\ndef handler(event, context):\n    return {"boto3": boto3.__version__}\n';

  test('python3.13: a boto3 bundled with the function wins over the runtime’s', async () => {
    const out = await invokeOnce('python3.13', 'app.handler', {
      'app.py': pythonVersionHandler,
      'boto3/__init__.py': '__version__ = "bundled-with-function"\n',
    });
    assert.deepEqual(out, { boto3: 'bundled-with-function' });
  });

  test('python3.13: a boto3 from a layer wins over the runtime’s', async () => {
    const out = await invokeOnce(
      'python3.13',
      'app.handler',
      { 'app.py': pythonVersionHandler },
      { 'python/boto3/__init__.py': '__version__ = "from-layer"\n' },
    );
    assert.deepEqual(out, { boto3: 'from-layer' });
  });

  test('nodejs20.x: an ES-module handler imports { S3Client } from @aws-sdk/client-s3', async () => {
    const out = await invokeOnce('nodejs20.x', 'index.handler', {
      'index.mjs': `
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
const s3 = new S3Client({ region: 'eu-west-1' });
export const handler = async () => ({
  client: s3.constructor.name,
  command: new ListBucketsCommand({}).constructor.name,
  region: await s3.config.region(),
});
`,
    });
    assert.deepEqual(out, { client: 'S3Client', command: 'ListBucketsCommand', region: 'eu-west-1' });
  });

  test('nodejs20.x: a CommonJS handler requires @aws-sdk/client-dynamodb and @aws-sdk/lib-dynamodb', async () => {
    const out = await invokeOnce('nodejs20.x', 'index.handler', {
      'index.js': `
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb');
const { version } = require('@aws-sdk/client-dynamodb/package.json');
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
exports.handler = async () => ({ doc: doc.constructor.name, version });
`,
    });
    assert.deepEqual(out, {
      doc: 'DynamoDBDocumentClient',
      version: includedVersions.node['@aws-sdk/client-dynamodb'],
    });
  });

  /** A stand-in @aws-sdk package a function or layer brings (CommonJS, imported from ESM too). */
  const ownPackage = (prefix: string, name: string, mark: string): ZipSpec => ({
    [`${prefix}node_modules/@aws-sdk/${name}/package.json`]: JSON.stringify({
      name: `@aws-sdk/${name}`,
      main: 'index.js',
    }),
    [`${prefix}node_modules/@aws-sdk/${name}/index.js`]: `exports.mark = ${JSON.stringify(mark)};`,
  });

  test('nodejs20.x: an @aws-sdk client bundled with the function wins, from require and from import', async () => {
    const out = await invokeOnce('nodejs20.x', 'index.handler', {
      'index.mjs': `
import { createRequire } from 'node:module';
import { mark } from '@aws-sdk/client-s3';
const required = createRequire(import.meta.url)('@aws-sdk/client-dynamodb').mark;
export const handler = async () => ({ imported: mark, required });
`,
      ...ownPackage('', 'client-s3', 'function s3'),
      ...ownPackage('', 'client-dynamodb', 'function dynamodb'),
    });
    assert.deepEqual(out, { imported: 'function s3', required: 'function dynamodb' });
  });

  test('nodejs20.x: an @aws-sdk client from a layer wins over the runtime’s, from import and from require', async () => {
    const out = await invokeOnce(
      'nodejs20.x',
      'index.handler',
      {
        'index.mjs': `
import { createRequire } from 'node:module';
import { mark } from '@aws-sdk/client-s3';
const required = createRequire(import.meta.url)('@aws-sdk/client-sqs').mark;
export const handler = async () => ({ imported: mark, required });
`,
      },
      {
        ...ownPackage('nodejs/', 'client-s3', 'layer s3'),
        ...ownPackage('nodejs/', 'client-sqs', 'layer sqs'),
      },
    );
    assert.deepEqual(out, { imported: 'layer s3', required: 'layer sqs' });
  });

  test('nodejs20.x: beside a layer’s @aws-sdk client, the runtime’s other clients still load, from import and from require', async () => {
    const out = await invokeOnce(
      'nodejs20.x',
      'index.handler',
      {
        'index.mjs': `
import { createRequire } from 'node:module';
import { mark } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
const { version } = createRequire(import.meta.url)('@aws-sdk/client-dynamodb/package.json');
export const handler = async () => ({ s3: mark, sqs: SQSClient.name, dynamodb: version });
`,
      },
      ownPackage('nodejs/', 'client-s3', 'layer s3'),
    );
    assert.deepEqual(out, {
      s3: 'layer s3',
      sqs: 'SQSClient',
      dynamodb: includedVersions.node['@aws-sdk/client-dynamodb'],
    });
  });
});
