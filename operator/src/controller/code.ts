// Resolves a code source (Function code or Layer content) into the artifact store:
//  - inline files → a deterministic zip (same files, same digest), stored if new;
//  - zipUrl → fetched once, checked against sha256 when given, stored; the URL+sha → digest
//    answer is cached so an unchanged Function is not re-downloaded on every reconcile (and
//    with sha256 given, a zip already in the store is never fetched again, even after a restart);
//  - sha256 alone → must already be in the store (`lamina push`).
// Every zip passes the store's hostile-zip checks before it gets a digest.
import type { CodeSource } from '../api/index.js';
import type { ArtifactStore, BlobInfo } from '../store/index.js';
import { sha256Of, StoreError, zipInlineFiles } from '../store/index.js';
import { type Failure, Reason } from './reasons.js';
import { clip, ECHOED_INPUT_MAX } from '../shared/index.js';

export type CodeResolution = ({ ok: true } & BlobInfo) | ({ ok: false } & Failure);

export interface CodeResolverOptions {
  maxZipBytes: number;
  fetchTimeoutMs: number;
  /** Retry delay for failures that may heal by themselves (a URL down, a zip not pushed yet). */
  retryAfterMs: number;
}

const URL_CACHE_LIMIT = 1000;

export class CodeResolver {
  private readonly urlCache = new Map<string, string>();

  constructor(
    private readonly store: ArtifactStore,
    private readonly options: CodeResolverOptions,
  ) {}

  async resolve(source: CodeSource): Promise<CodeResolution> {
    try {
      if (source.inline !== undefined) return await this.fromBytes(zipInlineFiles(source.inline));
      if (source.zipUrl !== undefined) return await this.fromUrl(source.zipUrl, source.sha256);
      if (source.sha256 !== undefined) return await this.fromStore(source.sha256);
      return { ok: false, reasonCode: Reason.InvalidParameterValue, message: 'code has no source' };
    } catch (err) {
      return this.failure(err);
    }
  }

  private async fromBytes(bytes: Buffer, expected?: string): Promise<CodeResolution> {
    const existing = await this.store.stat(sha256Of(bytes));
    if (existing && (!expected || existing.sha256 === expected)) return { ok: true, ...existing };
    const { created: _created, ...info } = await this.store.put(bytes, expected);
    return { ok: true, ...info };
  }

  private async fromStore(sha256: string): Promise<CodeResolution> {
    const info = await this.store.stat(sha256);
    if (info) return { ok: true, ...info };
    return {
      ok: false,
      reasonCode: Reason.CodeNotFound,
      message: `No zip with sha256 ${sha256} in the artifact store; upload it with \`lamina push <file.zip>\``,
      retryAfterMs: this.options.retryAfterMs,
    };
  }

  private async fromUrl(url: string, sha256?: string): Promise<CodeResolution> {
    const cacheKey = `${url}#${sha256 ?? ''}`;
    const known = sha256 ?? this.urlCache.get(cacheKey);
    if (known) {
      const info = await this.store.stat(known);
      if (info) return { ok: true, ...info };
    }
    const bytes = await this.download(url);
    if (bytes instanceof Error) {
      return {
        ok: false,
        reasonCode: Reason.CodeFetchFailed,
        message: bytes.message,
        retryAfterMs: this.options.retryAfterMs,
      };
    }
    const resolved = await this.fromBytes(bytes, sha256);
    if (resolved.ok) {
      if (this.urlCache.size >= URL_CACHE_LIMIT)
        this.urlCache.delete(this.urlCache.keys().next().value as string);
      this.urlCache.set(cacheKey, resolved.sha256);
    }
    return resolved;
  }

  /** The zip's bytes, or an Error saying why not (in words for stateReason). */
  private async download(url: string): Promise<Buffer | Error> {
    const limit = this.options.maxZipBytes;
    const shown = clip(url, ECHOED_INPUT_MAX);
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
        redirect: 'follow',
      });
    } catch (err) {
      return new Error(`Could not fetch ${shown}: ${(err as Error).message}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      return new Error(`Could not fetch ${shown}: HTTP ${response.status}`);
    }
    const chunks: Uint8Array[] = [];
    let length = 0;
    try {
      for await (const chunk of response.body) {
        length += chunk.length;
        if (length > limit)
          throw new StoreError(
            'RequestEntityTooLargeException',
            `The zip at ${shown} is larger than ${limit} bytes`,
            413,
          );
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof StoreError) throw err;
      return new Error(`Could not fetch ${shown}: ${(err as Error).message}`);
    }
    return Buffer.concat(chunks, length);
  }

  private failure(err: unknown): CodeResolution {
    if (!(err instanceof StoreError)) throw err;
    switch (err.errorType) {
      case 'InvalidZipFileException':
        return { ok: false, reasonCode: Reason.InvalidZipFile, message: err.message };
      case 'RequestEntityTooLargeException':
        return { ok: false, reasonCode: Reason.CodeTooLarge, message: err.message };
      case 'CodeVerificationFailedException':
        return { ok: false, reasonCode: Reason.CodeVerificationFailed, message: err.message };
      default:
        throw err; // the store itself failed: retried with backoff by the work queue
    }
  }
}
