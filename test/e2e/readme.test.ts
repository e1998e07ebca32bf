// The README's walkthrough, executed command for command against Lamina installed on the
// local cluster (`npm run up`, which scripts/test.mjs runs before the e2e tier). If the
// README and the product drift apart, this fails.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { awsCliPath } from '../harness/awscli.js';
import { kubectl, kubectlPath } from '../harness/kube.js';
import { repoRoot } from '../harness/manifests.js';
import { walkthroughSteps } from '../harness/readme.js';

const run = promisify(execFile);

describe('README walkthrough', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'lamina-readme-'));
  let env: NodeJS.ProcessEnv;

  before(async () => {
    assert.ok(process.env.LAMINA_GATEWAY, 'LAMINA_GATEWAY must be set (npm run up prints it)');
    symlinkSync(join(repoRoot, 'examples'), join(workdir, 'examples'));
    const tools = [dirname(kubectlPath()), dirname(await awsCliPath())];
    env = {
      ...process.env,
      PATH: `${tools.join(':')}:${process.env.PATH}`,
      AWS_ACCESS_KEY_ID: 'lamina',
      AWS_SECRET_ACCESS_KEY: 'lamina',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
    };
  });

  after(async () => {
    for (const object of [
      'alias/hello-live',
      'version/hello-1',
      'function/hello',
      'function/uses-shared-code',
    ]) {
      await kubectl('delete', '--ignore-not-found', '--wait=false', object).catch(() => undefined);
    }
  });

  for (const [index, step] of walkthroughSteps().entries()) {
    if (step.kind === 'file') {
      it(`writes ${step.name}`, () => writeFileSync(join(workdir, step.name), step.content));
      continue;
    }
    it(`runs step ${index + 1} (${step.heading}): ${step.script.split('\n')[0]}`, async () => {
      const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', step.script], {
        cwd: workdir,
        env,
        timeout: 180_000,
      }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        assert.fail(`step failed: ${error.message}\nstdout: ${error.stdout}\nstderr: ${error.stderr}`);
      });
      // Every invoke in the walkthrough must answer with a function result, not a function
      // error (errorType) or an API error (__type).
      assert.doesNotMatch(stdout, /"(errorType|__type)":/, `stdout: ${stdout}\nstderr: ${stderr}`);
    });
  }
});
