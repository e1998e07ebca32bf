// The artifact store over HTTP: what `lamina push`, a remote operator and (by URL) the
// execution-environment agent use. Errors come back as the StoreError the server threw.
import { createHash } from 'node:crypto';
import type { ArtifactStore, BlobInfo, PutResult } from './artifact-store.js';
import {
  BlobNotFoundError,
  DigestMismatchError,
  StoreError,
  StoreUnavailableError,
  assertDigest,
} from './errors.js';

/** Where a blob lives: `<base>/blobs/sha256/<hex>`. The gateway hands this URL to the agent. */
export function blobUrl(baseUrl: string, sha256: string): string {
  assertDigest(sha256);
  return `${baseUrl.replace(/\/+$/, '')}/blobs/sha256/${sha256}`;
}

const REQUEST_TIMEOUT_MS = 120_000;

export class StoreClient implements ArtifactStore {
  /** `token`: a Kubernetes bearer token, for a store that checks uploaders (auth.store). */
  constructor(
    private readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private url(path: string): string {
    return `${this.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  private async request(method: string, path: string, body?: Buffer): Promise<Response> {
    try {
      return await fetch(this.url(path), {
        method,
        headers: {
          ...(body && { 'content-type': 'application/zip' }),
          ...(this.token && { authorization: `Bearer ${this.token}` }),
        },
        ...(body && { body }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new StoreUnavailableError(`${method} ${this.url(path)} failed: ${(err as Error).message}`);
    }
  }

  private async fail(response: Response, method: string, path: string): Promise<never> {
    const text = await response.text().catch(() => '');
    let parsed: { errorType?: string; errorMessage?: string; reason?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not one of ours (a proxy's error page …)
    }
    if (parsed.errorType) {
      throw new StoreError(parsed.errorType, parsed.errorMessage ?? text, response.status, parsed.reason);
    }
    throw new StoreUnavailableError(
      `${method} ${this.url(path)} returned HTTP ${response.status}: ${text.slice(0, 200)}`,
    );
  }

  async put(bytes: Buffer, expectedSha256?: string): Promise<PutResult> {
    const path = expectedSha256 ? `/blobs/sha256/${expectedSha256}` : '/blobs';
    const method = expectedSha256 ? 'PUT' : 'POST';
    const response = await this.request(method, path, bytes);
    if (!response.ok) return this.fail(response, method, path);
    const body = (await response.json()) as { sha256: string; size: number; unzippedSize: number };
    const storedAt = Date.parse(response.headers.get('x-lamina-stored-at') ?? '') || Date.now();
    return { ...body, storedAt, created: response.status === 201 };
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    assertDigest(sha256);
    const path = `/blobs/sha256/${sha256}`;
    const response = await this.request('HEAD', path);
    if (response.status === 404) return undefined;
    if (!response.ok) return this.fail(response, 'HEAD', path);
    return {
      sha256,
      size: Number(response.headers.get('content-length') ?? 0),
      unzippedSize: Number(response.headers.get('x-lamina-unzipped-size') ?? 0),
      storedAt: Date.parse(response.headers.get('x-lamina-stored-at') ?? '') || 0,
    };
  }

  async get(sha256: string): Promise<Buffer> {
    assertDigest(sha256);
    const path = `/blobs/sha256/${sha256}`;
    const response = await this.request('GET', path);
    if (response.status === 404) throw new BlobNotFoundError(sha256);
    if (!response.ok) return this.fail(response, 'GET', path);
    const bytes = Buffer.from(await response.arrayBuffer());
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw new DigestMismatchError(sha256, actual);
    return bytes;
  }

  async list(): Promise<BlobInfo[]> {
    const response = await this.request('GET', '/blobs');
    if (!response.ok) return this.fail(response, 'GET', '/blobs');
    return ((await response.json()) as { blobs: BlobInfo[] }).blobs;
  }

  async delete(sha256: string): Promise<boolean> {
    assertDigest(sha256);
    const path = `/blobs/sha256/${sha256}`;
    const response = await this.request('DELETE', path);
    if (response.status === 404) return false;
    if (!response.ok) return this.fail(response, 'DELETE', path);
    return true;
  }
}
