// The real AWS CLI (awscli from PyPI) pointed at the gateway with --endpoint-url: deploy,
// wait, update, publish, alias, concurrency, list and delete as a Lambda user would, with the
// real operator reconciling; `kubectl` (the API server) sees each step.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import type { Alias, LaminaFunction } from '../../../operator/src/api/index.js';
import { awsCliPath } from '../../harness/awscli.js';
import { ROLE, startControlPlane, type ControlPlaneWorld } from './setup.js';

const run = promisify(execFile);

describe('Lambda control plane with the AWS CLI', () => {
  let w: ControlPlaneWorld;
  let aws: string;
  let dir: string;

  const cli = async (...args: string[]) => {
    const { stdout } = await run(aws, ['lambda', ...args, '--endpoint-url', w.endpoint, '--output', 'json'], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'AKIDLAMINA',
        AWS_SECRET_ACCESS_KEY: 'unused',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_PAGER: '',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
      timeout: 120_000,
    });
    return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
  };

  /** The error code and message the CLI prints for a failed call. */
  const cliError = async (...args: string[]) => {
    try {
      await cli(...args);
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr);
      const m = /An error occurred \((\w+)\) when calling the (\w+) operation: (.*)/.exec(stderr);
      assert.ok(m, stderr);
      return { code: m[1], operation: m[2], message: m[3] ?? '' };
    }
    throw new Error(`aws lambda ${args[0]} succeeded`);
  };

  const zipFile = (name: string, source: string) => {
    const zip = new AdmZip();
    zip.addFile('index.mjs', Buffer.from(source));
    const path = join(dir, name);
    writeFileSync(path, zip.toBuffer());
    return `fileb://${path}`;
  };

  before(async () => {
    aws = await awsCliPath();
    dir = mkdtempSync(join(tmpdir(), 'lamina-cli-'));
    w = await startControlPlane('cpcli');
  });
  after(async () => {
    await w?.dispose();
  });

  it('deploys, waits, updates, publishes, routes, reserves, lists and deletes', async () => {
    const created = await cli(
      'create-function',
      '--function-name',
      'f',
      '--runtime',
      'nodejs20.x',
      '--handler',
      'index.handler',
      '--zip-file',
      zipFile('v1.zip', 'export const handler = async () => 1;\n'),
      '--role',
      ROLE,
    );
    assert.equal(created.State, 'Pending');
    assert.equal((await w.kubectlGet<LaminaFunction>('functions', 'f'))?.spec.runtime, 'nodejs20.x');
    await cli('wait', 'function-active-v2', '--function-name', 'f');
    const got = await cli('get-function', '--function-name', 'f');
    const location = (got.Code as { Location: string }).Location;
    // Served by the gateway, at the address the CLI called, until it expires.
    assert.ok(location.startsWith(`${w.endpoint}/lamina/code/`), location);
    const download = await fetch(location);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('content-type'), 'application/zip');
    const forged = location.slice(0, -1) + (location.endsWith('0') ? '1' : '0');
    const refused = await fetch(forged);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('x-amzn-errortype'), 'AccessDeniedException');

    await cli(
      'update-function-code',
      '--function-name',
      'f',
      '--zip-file',
      zipFile('v2.zip', 'export const handler = async () => 2;\n'),
    );
    await cli('wait', 'function-updated-v2', '--function-name', 'f');
    const v1 = await cli('publish-version', '--function-name', 'f');
    assert.equal(v1.Version, '1');
    await cli('update-function-configuration', '--function-name', 'f', '--memory-size', '512');
    await cli('wait', 'function-updated-v2', '--function-name', 'f');
    assert.equal((await cli('publish-version', '--function-name', 'f')).Version, '2');

    const alias = await cli(
      'create-alias',
      '--function-name',
      'f',
      '--name',
      'live',
      '--function-version',
      '1',
      '--routing-config',
      '{"AdditionalVersionWeights":{"2":0.1}}',
    );
    assert.deepEqual(alias.RoutingConfig, { AdditionalVersionWeights: { '2': 0.1 } });
    assert.equal(
      (await w.kubectlGet<Alias>('aliases', 'f-live'))?.spec.routingConfig?.additionalVersionWeights['2'],
      0.1,
    );

    assert.deepEqual(
      await cli('put-function-concurrency', '--function-name', 'f', '--reserved-concurrent-executions', '3'),
      {
        ReservedConcurrentExecutions: 3,
      },
    );
    assert.equal(
      (await w.kubectlGet<LaminaFunction>('functions', 'f'))?.spec.reservedConcurrentExecutions,
      3,
    );

    await cli(
      'create-function',
      '--function-name',
      'g',
      '--runtime',
      'provided.al2023',
      '--zip-file',
      zipFile('g.zip', 'x'),
      '--role',
      ROLE,
    );
    // --page-size 1: the CLI follows NextMarker page by page.
    const listed = await cli('list-functions', '--page-size', '1');
    assert.deepEqual(
      (listed.Functions as Array<{ FunctionName: string }>).map((f) => f.FunctionName),
      ['f', 'g'],
    );

    const clash = await cliError(
      'create-function',
      '--function-name',
      'g',
      '--runtime',
      'provided.al2023',
      '--zip-file',
      zipFile('g2.zip', 'y'),
      '--role',
      ROLE,
    );
    assert.equal(clash.code, 'ResourceConflictException');
    const bad = await cliError(
      'create-function',
      '--function-name',
      'h',
      '--runtime',
      'ruby3.3',
      '--handler',
      'x.y',
      '--zip-file',
      zipFile('h.zip', 'z'),
      '--role',
      ROLE,
    );
    assert.equal(bad.code, 'InvalidParameterValueException');
    assert.match(bad.message, /ruby3.3 is not supported by Lamina/);
    assert.equal(await w.kubectlGet('functions', 'h'), undefined);
    const s3 = await cliError(
      'create-function',
      '--function-name',
      'h',
      '--runtime',
      'nodejs20.x',
      '--handler',
      'x.y',
      '--code',
      'S3Bucket=bucket,S3Key=f.zip',
      '--role',
      ROLE,
    );
    assert.equal(s3.code, 'InvalidParameterValueException');

    await cli('delete-function', '--function-name', 'f');
    await cli('delete-function', '--function-name', 'g');
    const gone = await cliError('get-function', '--function-name', 'f');
    assert.equal(gone.code, 'ResourceNotFoundException');
    assert.equal(await w.kubectlGet('functions', 'f'), undefined);
  });
});
