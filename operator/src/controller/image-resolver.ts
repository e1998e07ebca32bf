// Resolves an image tag to its manifest digest through the registry's HTTP API (OCI
// distribution spec: HEAD /v2/<repository>/manifests/<tag>, Docker-Content-Digest), as Lambda
// pins an image function's code when it is created or updated. Anonymous access, with the
// registry's token challenge (WWW-Authenticate: Bearer …) answered anonymously; a registry
// that needs credentials for that takes the digest in spec.image.uri instead (the kubelet
// still pulls with imagePullSecrets). Registries listed as insecure are spoken to over plain
// HTTP (a test registry on a node port).
import type { ImageReference } from '../api/index.js';
import type { Failure } from './reasons.js';

export const ImageReason = {
  /** The repository or tag does not exist in the registry. */
  ImageNotFound: 'InvalidImage',
  /** The registry refused anonymous access. */
  ImageAccessDenied: 'ImageAccessDenied',
  /** The registry could not be reached or answered an error. */
  RegistryUnavailable: 'ImageRegistryUnavailable',
} as const;

export type Resolution = { ok: true; digest: string } | ({ ok: false } & Failure);

export interface ImageResolverOptions {
  /** host[:port] of registries reached over plain HTTP. */
  insecureRegistries?: readonly string[];
  fetchTimeoutMs?: number;
  /** When a failed resolution is tried again though nothing changed (the image may be pushed). */
  retryAfterMs?: number;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** The parameters of a `Bearer realm="…",service="…",scope="…"` challenge (undefined: not Bearer). */
export function parseBearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-zA-Z_]+)="([^"]*)"/g))
    params[m[1] as string] = m[2] as string;
  return params.realm ? params : undefined;
}

/** Docker Hub's API host: docker.io names are served by registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

export class ImageResolver {
  constructor(private readonly options: ImageResolverOptions = {}) {}

  async resolve(ref: ImageReference): Promise<Resolution> {
    if (ref.digest) return { ok: true, digest: ref.digest };
    const host = registryApiHost(ref.registry);
    const scheme = this.options.insecureRegistries?.includes(ref.registry) ? 'http' : 'https';
    const url = `${scheme}://${host}/v2/${ref.repository}/manifests/${ref.tag ?? 'latest'}`;
    const name = `${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'}`;
    const retryAfterMs = this.options.retryAfterMs ?? 30_000;
    try {
      let res = await this.head(url);
      const challenge =
        res.status === 401 ? parseBearerChallenge(res.headers.get('www-authenticate')) : undefined;
      if (challenge) {
        const token = await this.anonymousToken(challenge, ref.repository);
        if (token) res = await this.head(url, token);
      }
      if (res.status === 404) {
        return {
          ok: false,
          reasonCode: ImageReason.ImageNotFound,
          message: `Source image ${name} does not exist (the registry answered 404 for its manifest).`,
          retryAfterMs,
        };
      }
      if (res.status === 401 || res.status === 403) {
        return {
          ok: false,
          reasonCode: ImageReason.ImageAccessDenied,
          message: `The registry refused anonymous access to ${name} (${res.status}); give the image by digest (…@sha256:…).`,
          retryAfterMs,
        };
      }
      const digest = res.headers.get('docker-content-digest');
      if (!res.ok || !digest || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
        return {
          ok: false,
          reasonCode: ImageReason.RegistryUnavailable,
          message: `Resolving ${name}: the registry answered ${res.status}${digest ? '' : ' without a Docker-Content-Digest'}.`,
          retryAfterMs,
        };
      }
      return { ok: true, digest };
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return {
        ok: false,
        reasonCode: ImageReason.RegistryUnavailable,
        message: `Resolving ${name}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        retryAfterMs,
      };
    }
  }

  private head(url: string, token?: string): Promise<Response> {
    return fetch(url, {
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(this.options.fetchTimeoutMs ?? 30_000),
    });
  }

  private async anonymousToken(
    challenge: Record<string, string>,
    repository: string,
  ): Promise<string | undefined> {
    const url = new URL(challenge.realm as string);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
    const res = await fetch(url, { signal: AbortSignal.timeout(this.options.fetchTimeoutMs ?? 30_000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { token?: string; access_token?: string };
    return body.token ?? body.access_token;
  }
}
