// The ENTRYPOINT and CMD of an image function's image, read from its registry (OCI
// distribution API: the manifest by digest, the platform's manifest of an index, then the
// config blob) — the function's container runs them behind the launcher (image-pod.ts), so
// the pod spec must name them. Read once per digest (a digest's config never changes), only
// when imageConfig.entryPoint does not already say what to run. Anonymous access with the
// registry's token challenge answered anonymously, as the operator resolves tags; an image a
// registry serves only with credentials needs imageConfig.entryPoint (and command).
import { MANIFEST_TYPES, RegistryClient, type RegistrySession } from '../../controller/index.js';
import { parseImageReference } from '../../api/index.js';
import type { ImageDefaults } from './image-pod.js';
import { FunctionEnvironmentError } from './types.js';

interface Descriptor {
  digest?: string;
  mediaType?: string;
  platform?: { os?: string; architecture?: string };
}

/** Node's name for the CPU → the OCI platform's. */
export const ociArchitecture = (arch: string): string => (arch === 'x64' ? 'amd64' : arch);

/** The digest of the manifest an index holds for linux/`architecture`. */
export function platformManifest(
  index: { manifests?: Descriptor[] },
  architecture: string,
): string | undefined {
  const found = (index.manifests ?? []).find(
    (m) => m.platform?.os === 'linux' && m.platform.architecture === architecture,
  );
  return found?.digest;
}

/** ENTRYPOINT and CMD from an image config blob (either may be null or absent). */
export function imageDefaultsOf(config: { config?: { Entrypoint?: unknown; Cmd?: unknown } }): ImageDefaults {
  const list = (value: unknown) =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return { entrypoint: list(config.config?.Entrypoint), cmd: list(config.config?.Cmd) };
}

export interface ImageConfigReaderOptions {
  /** host[:port] of registries reached over plain HTTP (the operator's insecureRegistries). */
  insecureRegistries?: readonly string[];
  fetchTimeoutMs?: number;
  architecture?: string;
}

export class ImageConfigReader {
  private readonly cache = new Map<string, Promise<ImageDefaults>>();
  private readonly registry: RegistryClient;

  constructor(private readonly options: ImageConfigReaderOptions = {}) {
    this.registry = new RegistryClient({ fetchTimeoutMs: 15_000, ...options });
  }

  /** The defaults of an image given by digest (`host/repository@sha256:…`). */
  defaults(uri: string): Promise<ImageDefaults> {
    let found = this.cache.get(uri);
    if (!found) {
      found = this.read(uri);
      this.cache.set(uri, found);
      found.catch(() => this.cache.delete(uri)); // tried again by the next environment
    }
    return found;
  }

  private async read(uri: string): Promise<ImageDefaults> {
    try {
      return await this.fetchDefaults(uri);
    } catch (err) {
      const message = (err as Error).message;
      throw new FunctionEnvironmentError(
        message.startsWith('reading') ? message : `reading the configuration of ${uri}: ${message}`,
      );
    }
  }

  private async fetchDefaults(uri: string): Promise<ImageDefaults> {
    const ref = parseImageReference(uri);
    if (!ref.digest) throw new Error(`image ${uri} is not pinned by digest`);
    const session: RegistrySession = {};
    const get = async (path: string, accept?: string): Promise<unknown> => {
      const res = await this.registry.request(ref, path, accept ? { accept } : {}, session);
      if (!res.ok)
        throw new Error(
          `reading the configuration of ${uri}: the registry answered ${res.status} for /v2/${ref.repository}/${path}` +
            (res.status === 401 || res.status === 403
              ? ' (set imageConfig.entryPoint for an image the registry serves only with credentials)'
              : ''),
        );
      return res.json();
    };
    let manifest = (await get(`manifests/${ref.digest}`, MANIFEST_TYPES)) as {
      mediaType?: string;
      manifests?: Descriptor[];
      config?: Descriptor;
    };
    if (manifest.manifests) {
      const architecture = this.options.architecture ?? ociArchitecture(process.arch);
      const digest = platformManifest(manifest, architecture);
      if (!digest) throw new Error(`image ${uri} has no linux/${architecture} manifest`);
      manifest = (await get(`manifests/${digest}`, MANIFEST_TYPES)) as typeof manifest;
    }
    const configDigest = manifest.config?.digest;
    if (!configDigest) throw new Error(`image ${uri}: its manifest names no config`);
    return imageDefaultsOf((await get(`blobs/${configDigest}`)) as Parameters<typeof imageDefaultsOf>[0]);
  }
}
