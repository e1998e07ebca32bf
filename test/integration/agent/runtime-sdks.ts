// A runtime directory laid out like the image's /var/runtime, AWS SDKs included: the
// runtime clients copied from the sources, and node_modules/ and python-sdk/ installed by
// runtime-image/sdks/install.sh (the script the image build runs) into a cache keyed by
// its inputs, so only the first run downloads them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pythonBin, pythonVersion, repoRoot } from './harness.js';

const sdksDir = join(repoRoot, 'runtime-image/sdks');
const cacheRoot = join(process.env.LAMINA_CACHE ?? join(homedir(), '.cache/lamina'), 'runtime-sdks');

function inputsHash(): string {
  const hash = createHash('sha256').update(pythonVersion);
  for (const file of [
    'install.sh',
    'node/package.json',
    'node/package-lock.json',
    'python/requirements.txt',
  ]) {
    hash.update(file).update(readFileSync(join(sdksDir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The installed SDKs (node_modules/, python-sdk/), installing them on first use. */
function installedSdks(): string {
  const dir = join(cacheRoot, inputsHash());
  if (existsSync(join(dir, 'python-sdk')) && existsSync(join(dir, 'node_modules'))) return dir;
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const run = spawnSync('sh', [join(sdksDir, 'install.sh'), staging], {
    env: { ...process.env, PYTHON: pythonBin },
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`runtime-image/sdks/install.sh failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return dir;
}

/** A fresh runtime directory (LAMINA_RUNTIME_DIR) with the SDKs; removed by the caller. */
export function runtimeDirWithSdks(): string {
  const sdks = installedSdks();
  const dir = mkdtempSync(join(tmpdir(), 'lamina-runtime-'));
  const sources = join(repoRoot, 'runtime-image/runtimes');
  for (const name of readdirSync(sources)) {
    cpSync(join(sources, name), join(dir, name), {
      recursive: true,
      filter: (path) => !path.endsWith('__pycache__'),
    });
  }
  symlinkSync(join(sdks, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(sdks, 'python-sdk'), join(dir, 'python-sdk'));
  return dir;
}

/** The exact versions the runtime includes: the SDK lists are the single source. */
export const includedVersions = {
  boto3: /^boto3==(\S+)/m.exec(readFileSync(join(sdksDir, 'python/requirements.txt'), 'utf8'))?.[1],
  botocore: /^botocore==(\S+)/m.exec(readFileSync(join(sdksDir, 'python/requirements.txt'), 'utf8'))?.[1],
  node: (
    JSON.parse(readFileSync(join(sdksDir, 'node/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    }
  ).dependencies,
};
