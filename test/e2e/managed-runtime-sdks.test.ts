// The AWS SDKs the runtime image includes (runtime-image/sdks/), on the installed release:
// handlers that import boto3 or @aws-sdk clients at load time start and answer through the
// gateway, with the versions the image lists.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  testNamespace,
  type Release,
} from '../harness/release.js';

const sdks = fileURLToPath(new URL('../../runtime-image/sdks', import.meta.url));
const boto3Version = /^boto3==(\S+)/m.exec(readFileSync(join(sdks, 'python/requirements.txt'), 'utf8'))?.[1];
const nodeVersions = (
  JSON.parse(readFileSync(join(sdks, 'node/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  }
).dependencies;

describe('managed runtimes include the AWS SDKs', { timeout: 300_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'sdks');
  });
  after(async () => {
    await ns?.dispose();
  });

  const invoke = async (name: string): Promise<unknown> => {
    const res = await fetch(invokeUrl(release, ns.name, name), { method: 'POST', body: '{}' });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text);
  };

  it('python3.13: `import boto3` at load time works and creates a client', async () => {
    await createFunction(
      release,
      ns.name,
      'py-boto3',
      {
        'app.py': [
          'import boto3',
          'from botocore.config import Config',
          '',
          's3 = boto3.client("s3", region_name="eu-west-1", config=Config(retries={"max_attempts": 1}))',
          '',
          'def handler(event, context):',
          '    return {"boto3": boto3.__version__, "service": s3.meta.service_model.service_name}',
          '',
        ].join('\n'),
      },
      { runtime: 'python3.13', handler: 'app.handler' },
    );
    assert.deepEqual(await invoke('py-boto3'), { boto3: boto3Version, service: 's3' });
  });

  it('nodejs20.x: an ES-module handler imports @aws-sdk/client-s3, a CommonJS one requires client-dynamodb', async () => {
    await createFunction(
      release,
      ns.name,
      'node-esm-s3',
      [
        "import { S3Client } from '@aws-sdk/client-s3';",
        "const s3 = new S3Client({ region: 'eu-west-1' });",
        'export const handler = async () => ({ client: s3.constructor.name, region: await s3.config.region() });',
        '',
      ].join('\n'),
    );
    await createFunction(release, ns.name, 'node-cjs-dynamodb', {
      'index.js': [
        "const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');",
        "const { version } = require('@aws-sdk/client-dynamodb/package.json');",
        "const db = new DynamoDBClient({ region: 'eu-west-1' });",
        'exports.handler = async () => ({ client: db.constructor.name, version });',
        '',
      ].join('\n'),
    });
    assert.deepEqual(await invoke('node-esm-s3'), { client: 'S3Client', region: 'eu-west-1' });
    assert.deepEqual(await invoke('node-cjs-dynamodb'), {
      client: 'DynamoDBClient',
      version: nodeVersions['@aws-sdk/client-dynamodb'],
    });
  });
});
