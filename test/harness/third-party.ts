// Third-party Lambda clients built or installed from the package registries, once, into the
// test cache (cacheDir()/third-party). Every helper throws with the tool's output when a
// build or install fails: a client that cannot be had is a failed test, never a skipped one.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheDir } from './cache.js';

const BUILD_TIMEOUT_MS = 20 * 60_000;

export const thirdPartyCache = (): string => join(cacheDir(), 'third-party');

/** Runs a build step; throws with its output when it fails. */
function step(cmd: string, args: string[], options: SpawnSyncOptions = {}): void {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS, ...options });
  if (result.status !== 0) {
    const output = `${String(result.stdout ?? '')}${String(result.stderr ?? '')}`.slice(-4000);
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`,
    );
  }
}

/** A short digest of the files a build reads, so a changed source rebuilds. */
function digestOf(dir: string, files: string[], extra = ''): string {
  const hash = createHash('sha256').update(extra);
  for (const file of files) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Returns `target` once `build(staging)` has filled it: the build writes to a staging path
 * renamed into place, so an interrupted build never leaves a half-made cache entry.
 */
function cached(target: string, build: (staging: string) => void): string {
  if (existsSync(target)) return target;
  const staging = `${target}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  try {
    build(staging);
    renameSync(staging, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/** Installs Debian packages that are missing (root on the test machines; idempotent). */
export function ensureDebianPackages(packages: string[]): void {
  const missing = packages.filter(
    (name) =>
      spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout !==
      'install ok installed',
  );
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  step('apt-get', ['update', '-qq'], { env });
  step('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

/** A static `bootstrap` built from a Go module directory with CGO_ENABLED=0 (provided.al2023). */
export function goBootstrap(srcDir: string): string {
  const key = digestOf(srcDir, ['go.mod', 'go.sum', 'main.go']);
  const dir = cached(join(thirdPartyCache(), `go-${key}`), (staging) => {
    mkdirSync(staging, { recursive: true });
    step(
      'go',
      ['build', '-mod=readonly', '-trimpath', '-tags', 'lambda.norpc', '-o', join(staging, 'bootstrap'), '.'],
      {
        cwd: srcDir,
        env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOFLAGS: '' },
      },
    );
  });
  return join(dir, 'bootstrap');
}

/** A `bootstrap` built with `cargo build --release --locked`; the target directory is kept for the next build. */
export function rustBootstrap(srcDir: string): string {
  const key = digestOf(srcDir, ['Cargo.toml', 'Cargo.lock', 'src/main.rs']);
  const targetDir = join(thirdPartyCache(), 'rust-target');
  const dir = cached(join(thirdPartyCache(), `rust-${key}`), (staging) => {
    step('cargo', ['build', '--release', '--locked', '--quiet'], {
      cwd: srcDir,
      env: { ...process.env, CARGO_TARGET_DIR: targetDir },
    });
    mkdirSync(staging, { recursive: true });
    copyFileSync(join(targetDir, 'release', 'bootstrap'), join(staging, 'bootstrap'));
  });
  return join(dir, 'bootstrap');
}

/** `npm install name@version` into its own prefix; returns the prefix (node_modules inside). */
export function npmPackage(name: string, version: string): string {
  return cached(join(thirdPartyCache(), 'npm', `${name}-${version}`), (staging) => {
    mkdirSync(staging, { recursive: true });
    // A package.json of its own keeps npm from walking up into the repository's.
    writeFileSync(join(staging, 'package.json'), '{"private":true}\n');
    step('npm', ['install', '--no-audit', '--no-fund', '--no-save', `${name}@${version}`], { cwd: staging });
  });
}

/**
 * Binary wheels for another CPython line than this machine's (e.g. an image's 3.13) installed
 * with `pip install --target --python-version`; returns the target directory.
 */
export function pipTargetForPython(pythonVersion: string, requirements: string[]): string {
  const key = createHash('sha256').update(requirements.join('\n')).digest('hex').slice(0, 12);
  const dir = cached(join(thirdPartyCache(), 'pip', `cp${pythonVersion}-${key}`), (staging) => {
    step('python3', [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--only-binary=:all:',
      '--implementation',
      'cp',
      '--python-version',
      pythonVersion,
      '--platform',
      'manylinux2014_x86_64',
      '--platform',
      'manylinux_2_28_x86_64',
      '--platform',
      'manylinux1_x86_64',
      '--target',
      join(staging, 'python'),
      ...requirements,
    ]);
  });
  return join(dir, 'python');
}

/** `pip install --target <dir>/python` with the given interpreter; returns `<dir>/python`. */
export function pipTarget(python: string, requirements: string[]): string {
  const version = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  }).stdout.trim();
  const key = createHash('sha256').update(requirements.join('\n')).digest('hex').slice(0, 12);
  const dir = cached(join(thirdPartyCache(), 'pip', `python${version}-${key}`), (staging) => {
    step(python, [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      join(staging, 'python'),
      ...requirements,
    ]);
  });
  return join(dir, 'python');
}
