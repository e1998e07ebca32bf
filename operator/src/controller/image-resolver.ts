// Resolves an image tag to its manifest digest through the registry's HTTP API (OCI
// distribution spec: HEAD /v2/<repository>/manifests/<tag>, Docker-Content-Digest), as Lambda
// pins an image function's code when it is created or updated. Anonymous access, with the
// registry's token challenge (WWW-Authenticate: Bearer …) answered anonymously; a registry
// that needs credentials for that takes the digest in spec.image.uri instead (the kubelet
// still pulls with imagePullSecrets). Registries listed as insecure are spoken to over plain
// HTTP (a test registry on a node port).
import type { ImageReference } from '../api/index.js';
import type { Failure } from './reasons.js';
import { MANIFEST_TYPES, RegistryClient } from './registry-client.js';

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

export class ImageResolver {
  private readonly registry: RegistryClient;

  constructor(private readonly options: ImageResolverOptions = {}) {
    this.registry = new RegistryClient(options);
  }

  async resolve(ref: ImageReference): Promise<Resolution> {
    if (ref.digest) return { ok: true, digest: ref.digest };
    const name = `${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'}`;
    const retryAfterMs = this.options.retryAfterMs ?? 30_000;
    try {
      const res = await this.registry.request(ref, `manifests/${ref.tag ?? 'latest'}`, {
        method: 'HEAD',
        accept: MANIFEST_TYPES,
      });
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
}
