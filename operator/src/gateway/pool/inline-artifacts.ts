// Small zips travel with the specialisation: the gateway fetches a zip of at most
// MAX_INLINE_ARTIFACT_BYTES from the artifact store once, keeps it by its sha256 (content
// addressed, so it never goes stale), and sends it base64 in the configuration's `inline`
// field, so the agent of a pool pod does not make a second round trip to the store. The agent
// verifies the digest exactly as for a zip it fetched. Anything larger, not over http(s), or
// not fetched in time is left for the agent to fetch, as before.
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { type FunctionConfig, MAX_INLINE_ARTIFACT_BYTES } from '../../protocol/index.js';
import type { Logger } from '../../shared/index.js';

type Artifact = NonNullable<FunctionConfig['code']>;

export interface InlineArtifactsOptions {
  /** Base64 kept in memory across all zips, least recently used dropped first. */
  cacheBytes?: number;
  /** A fetch slower than this is abandoned (the agent fetches instead). */
  fetchTimeoutMs?: number;
}

/** The cached base64 of a zip, or `tooLarge` (never worth fetching again: content addressed). */
type Cached = { base64: string } | 'tooLarge';

const MAX_ENTRIES = 10_000;

export class InlineArtifacts {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<Cached | undefined>>();
  private cachedBytes = 0;
  private readonly dispatcher = new Agent({ keepAliveTimeout: 30_000 });
  private readonly cacheBytes: number;
  private readonly fetchTimeoutMs: number;

  constructor(
    private readonly log: Logger,
    options: InlineArtifactsOptions = {},
  ) {
    this.cacheBytes = options.cacheBytes ?? 32 * 1024 * 1024;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 2000;
  }

  /** The configuration with each small zip's bytes inline (never fails: a miss sends it as is). */
  async withInline(config: FunctionConfig): Promise<FunctionConfig> {
    const zip = config.code;
    if (!zip) return config; // an image function: nothing to download
    const [code = zip, ...layers] = await Promise.all(
      [zip, ...config.layers].map((ref) => this.inlined(ref)),
    );
    return { ...config, code, layers };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private async inlined(ref: Artifact): Promise<Artifact> {
    if (ref.inline !== undefined || !/^https?:\/\//.test(ref.url)) return ref;
    const cached = await this.lookup(ref);
    return cached && cached !== 'tooLarge' ? { ...ref, inline: cached.base64 } : ref;
  }

  private async lookup(ref: Artifact): Promise<Cached | undefined> {
    const hit = this.cache.get(ref.sha256);
    if (hit) {
      // most recently used last
      this.cache.delete(ref.sha256);
      this.cache.set(ref.sha256, hit);
      return hit;
    }
    let pending = this.inFlight.get(ref.sha256);
    if (!pending) {
      pending = this.fetch(ref).finally(() => this.inFlight.delete(ref.sha256));
      this.inFlight.set(ref.sha256, pending);
    }
    return pending;
  }

  private async fetch(ref: Artifact): Promise<Cached | undefined> {
    let result: Cached;
    try {
      const bytes = await this.download(ref.url);
      if (bytes === undefined) result = 'tooLarge';
      else if (createHash('sha256').update(bytes).digest('hex') !== ref.sha256) {
        this.log.warn('store answered another digest; the agent will fetch it', { sha256: ref.sha256 });
        return undefined;
      } else result = { base64: bytes.toString('base64') };
    } catch (err) {
      this.log.debug('zip not inlined', { sha256: ref.sha256, error: String((err as Error).message ?? err) });
      return undefined;
    }
    this.remember(ref.sha256, result);
    return result;
  }

  /** The zip, or undefined when it is larger than MAX_INLINE_ARTIFACT_BYTES. */
  private async download(url: string): Promise<Buffer | undefined> {
    const res = await request(url, {
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(this.fetchTimeoutMs),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET ${url} returned HTTP ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (declared > MAX_INLINE_ARTIFACT_BYTES) {
      res.body.destroy();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of res.body) {
      length += (chunk as Buffer).length;
      if (length > MAX_INLINE_ARTIFACT_BYTES) {
        res.body.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, length);
  }

  private remember(sha256: string, entry: Cached): void {
    const size = entry === 'tooLarge' ? 0 : entry.base64.length;
    if (size > this.cacheBytes) return;
    this.cache.set(sha256, entry);
    this.cachedBytes += size;
    for (const [key, old] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes && this.cache.size <= MAX_ENTRIES) break;
      this.cache.delete(key);
      if (old !== 'tooLarge') this.cachedBytes -= old.base64.length;
    }
  }
}
