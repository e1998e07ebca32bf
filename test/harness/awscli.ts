// The real AWS CLI (awscli from PyPI) in a virtualenv under the cache, so tests can show
// that `aws lambda invoke --endpoint-url` works against the gateway unchanged.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './cache.js';

const AWSCLI_VERSION = '1.46.3';

export async function awsCliPath(): Promise<string> {
  const venv = join(cacheDir(), 'awscli', AWSCLI_VERSION);
  const aws = join(venv, 'bin', 'aws');
  if (!existsSync(aws)) {
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(
      join(venv, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `awscli==${AWSCLI_VERSION}`],
      {
        stdio: 'inherit',
      },
    );
  }
  return aws;
}
