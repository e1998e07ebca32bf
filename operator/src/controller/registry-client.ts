// The part of the OCI distribution API that image functions need, spoken anonymously: requests
// to a repository's /v2/ endpoints, the registry's token challenge (WWW-Authenticate: Bearer …)
// answered with an anonymous token once, that token reused for the next requests of the same
// session. Registries listed as insecure are spoken to over plain HTTP (a test registry on a
// node port). The operator resolves tags with it; the gateway reads an image's configuration.
import type { ImageReference } from '../api/index.js';

/** Every manifest media type an image function may name: indexes and single-platform manifests. */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryClientOptions {
  /** host[:port] of registries reached over plain HTTP. */
  insecureRegistries?: readonly string[];
  fetchTimeoutMs?: number;
}

/** The anonymous token of one series of requests to one repository. */
export interface RegistrySession {
  token?: string;
}

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

export class RegistryClient {
  constructor(private readonly options: RegistryClientOptions = {}) {}

  /** `GET`/`HEAD` of `/v2/<repository>/<path>`, answering a Bearer challenge anonymously once. */
  async request(
    ref: ImageReference,
    path: string,
    init: { method?: 'GET' | 'HEAD'; accept?: string },
    session: RegistrySession = {},
  ): Promise<Response> {
    const scheme = this.options.insecureRegistries?.includes(ref.registry) ? 'http' : 'https';
    const url = `${scheme}://${registryApiHost(ref.registry)}/v2/${ref.repository}/${path}`;
    const send = () =>
      fetch(url, {
        method: init.method ?? 'GET',
        headers: {
          ...(init.accept ? { accept: init.accept } : {}),
          ...(session.token ? { authorization: `Bearer ${session.token}` } : {}),
        },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    const res = await send();
    const challenge =
      res.status === 401 ? parseBearerChallenge(res.headers.get('www-authenticate')) : undefined;
    if (!challenge) return res;
    session.token = await this.anonymousToken(challenge, ref.repository);
    return session.token ? send() : res;
  }

  private get timeoutMs(): number {
    return this.options.fetchTimeoutMs ?? 30_000;
  }

  private async anonymousToken(
    challenge: Record<string, string>,
    repository: string,
  ): Promise<string | undefined> {
    const url = new URL(challenge.realm as string);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
    const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { token?: string; access_token?: string };
    return body.token ?? body.access_token;
  }
}
