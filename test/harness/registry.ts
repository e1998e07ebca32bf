// The test tier's OCI registry (scripts/registry/up.sh) and buildah with the offline image
// build's own storage (runtime-image/build/build-offline.sh: $LAMINA_CACHE/images/buildah),
// so images built here can start FROM the images built there and are pushed to the registry
// the kubelet pulls from.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from './cache.js';
import { repoRoot } from './manifests.js';

const run = promisify(execFile);

/** Starts (or finds) the registry; returns its host:port. */
export async function ensureRegistry(): Promise<string> {
  const { stdout } = await run('bash', ['scripts/registry/up.sh'], { cwd: repoRoot, maxBuffer: 16 << 20 });
  const address = /^REGISTRY=(\S+)$/m.exec(stdout)?.[1];
  if (!address) throw new Error(`scripts/registry/up.sh printed no REGISTRY=: ${stdout}`);
  return address;
}

const buildahDir = () => join(cacheDir(), 'images', 'buildah');

/**
 * buildah on the offline build's storage, one call at a time with that build (its lock): chroot
 * isolation, local images only, a policy that accepts them.
 */
export async function buildah(...args: string[]): Promise<string> {
  const dir = buildahDir();
  const command = [
    'buildah',
    '--root',
    join(dir, 'storage'),
    '--runroot',
    join(dir, 'run'),
    '--storage-driver',
    process.env.LAMINA_BUILDAH_DRIVER ?? 'overlay',
    ...args,
  ];
  const { stdout } = await run('flock', [join(cacheDir(), 'images', 'lock'), ...command], {
    env: {
      ...process.env,
      CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
      BUILDAH_ISOLATION: 'chroot',
    },
    maxBuffer: 16 << 20,
  });
  return stdout.trim();
}

export const signaturePolicy = () => join(buildahDir(), 'policy.json');

export interface ImageRecipe {
  /** A local image to start from, or "scratch". */
  from: string;
  /** Host files copied in: [source, destination in the image]. */
  files?: [string, string][];
  entrypoint: string[];
  env?: Record<string, string>;
  /** Files that must stay as they are (no 0755). */
  plainFiles?: [string, string][];
}

/** Commits `recipe` as the local image `name` (a working container, committed and removed). */
export async function buildImage(name: string, recipe: ImageRecipe): Promise<void> {
  const ctr = await buildah('from', '--pull=never', '--signature-policy', signaturePolicy(), recipe.from);
  for (const [source, destination] of recipe.files ?? [])
    await buildah('copy', '--quiet', '--chmod', '0755', ctr, source, destination);
  for (const [source, destination] of recipe.plainFiles ?? [])
    await buildah('copy', '--quiet', ctr, source, destination);
  const env = Object.entries(recipe.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  await buildah('config', '--entrypoint', JSON.stringify(recipe.entrypoint), '--cmd', '', ...env, ctr);
  await buildah('commit', '--quiet', '--rm', '--signature-policy', signaturePolicy(), ctr, name);
}

/** Pushes a local image to the registry (plain HTTP) as `<registry>/<reference>`; returns its digest. */
export async function pushImage(local: string, registry: string, reference: string): Promise<string> {
  const digestFile = join(buildahDir(), `push-${process.pid}-${Date.now()}.digest`);
  await buildah(
    'push',
    '--quiet',
    '--tls-verify=false',
    // Layers as they are: the kubelet then finds those it already has (the agent's image) unpacked.
    '--disable-compression',
    '--signature-policy',
    signaturePolicy(),
    '--digestfile',
    digestFile,
    local,
    `docker://${registry}/${reference}`,
  );
  const digest = (await readFile(digestFile, 'utf8')).trim();
  await rm(digestFile, { force: true });
  return digest;
}
