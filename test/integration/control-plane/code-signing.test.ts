// Code signing configs over a real API server: every function has none (what Terraform's AWS
// provider reads after each apply), deleting it is a no-op, attaching one is refused, and an
// unknown function is Lambda's 404.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import {
  CreateFunctionCommand,
  DeleteFunctionCodeSigningConfigCommand,
  GetFunctionCodeSigningConfigCommand,
  PutFunctionCodeSigningConfigCommand,
} from '@aws-sdk/client-lambda';
import type { LaminaFunction } from '../../../operator/src/api/index.js';
import { startControlPlane, type ControlPlaneWorld } from './setup.js';

describe('code signing configs', () => {
  let w: ControlPlaneWorld;

  before(async () => {
    w = await startControlPlane('cpsign');
    const zip = new AdmZip();
    zip.addFile('app.py', Buffer.from('def handler(e, c):\n    return 1\n'));
    await w.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'signed',
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Role: 'arn:aws:iam::000000000000:role/x',
        Code: { ZipFile: new Uint8Array(zip.toBuffer()) },
      }),
    );
  });
  after(() => w?.dispose());

  it('reads no code signing config for a function, and deleting it changes nothing', async () => {
    const before = await w.kubectlGet<LaminaFunction>('functions', 'signed');
    const read = await w.lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'signed' }));
    assert.equal(read.FunctionName, 'signed');
    assert.equal(read.CodeSigningConfigArn, '');
    const deleted = await w.lambda.send(
      new DeleteFunctionCodeSigningConfigCommand({ FunctionName: 'signed' }),
    );
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    const after = await w.kubectlGet<LaminaFunction>('functions', 'signed');
    assert.equal(after?.metadata.generation, before?.metadata.generation);
  });

  it('refuses to attach a code signing config, and answers 404 for an unknown function', async () => {
    await assert.rejects(
      w.lambda.send(
        new PutFunctionCodeSigningConfigCommand({
          FunctionName: 'signed',
          CodeSigningConfigArn:
            'arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0',
        }),
      ),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.name, 'InvalidParameterValueException');
        assert.match(err.message, /does not verify code signatures/);
        assert.equal(err.$metadata?.httpStatusCode, 400);
        return true;
      },
    );
    await assert.rejects(
      w.lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'missing' })),
      (err: Error) => err.name === 'ResourceNotFoundException',
    );
  });
});
