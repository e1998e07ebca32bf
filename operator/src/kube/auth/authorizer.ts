// Decides whether the caller of a request may do something: token from the headers →
// TokenReview → SubjectAccessReview, with answers cached briefly (keyed by the token's sha256,
// never the token itself) and identical questions in flight asked only once. Failing closed:
// when the API server cannot answer, the answer is "unavailable", never "allowed".
import { createHash } from 'node:crypto';
import type { AccessReviewer, ResourceAttributes, UserInfo } from './access-review.js';
import { credentialFrom, type HeaderBag } from './credentials.js';
import { DecisionCache } from './decision-cache.js';
import type { VerifiedCallers } from './verified-callers.js';

export type AuthDecision =
  | { outcome: 'allowed'; user: string }
  | { outcome: 'unauthenticated'; why: string }
  | { outcome: 'denied'; user: string; reason?: string }
  /** Too many reviews in flight: the caller should retry. */
  | { outcome: 'throttled' }
  /** The API server did not answer; nothing is cached. */
  | { outcome: 'unavailable'; error: string };

export interface AuthorizerOptions {
  now: () => number;
  /** How long an answer is reused (default 10 s; 0 turns caching off). */
  cacheTtlMs?: number;
  /** Cached answers kept at most (default 10 000). */
  maxCacheEntries?: number;
  /** Reviews sent to the API server at once at most (default 64); more are throttled. */
  maxConcurrentReviews?: number;
  /** Callers verified another way (SigV4): no TokenReview, their recorded user is asked about. */
  verified?: VerifiedCallers;
}

type Authn = UserInfo | null;
type Authz = { allowed: boolean; reason?: string };

function attributesKey(a: ResourceAttributes): string {
  return [a.verb, a.group, a.resource, a.namespace ?? '', a.name ?? ''].join('\u0000');
}

export class KubernetesAuthorizer {
  private readonly authn: DecisionCache<Authn>;
  private readonly authz: DecisionCache<Authz>;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly maxConcurrent: number;
  private readonly verified: VerifiedCallers | undefined;
  private reviewing = 0;

  constructor(
    private readonly reviewer: AccessReviewer,
    options: AuthorizerOptions,
  ) {
    const cache = {
      ttlMs: options.cacheTtlMs ?? 10_000,
      maxEntries: options.maxCacheEntries ?? 10_000,
      now: options.now,
    };
    this.authn = new DecisionCache<Authn>(cache);
    this.authz = new DecisionCache<Authz>(cache);
    this.maxConcurrent = options.maxConcurrentReviews ?? 64;
    this.verified = options.verified;
  }

  /** Reviews in flight right now (for tests and metrics). */
  get pendingReviews(): number {
    return this.reviewing;
  }

  /**
   * The username the request's token authenticates as (TokenReview, cached like every answer
   * here), or undefined when there is no usable token or the API server cannot say.
   */
  async identify(headers: HeaderBag): Promise<string | undefined> {
    const known = this.verified?.userOf(headers);
    if (known) return known.username;
    const credential = credentialFrom(headers);
    if (credential.kind !== 'token') return undefined;
    const tokenKey = createHash('sha256').update(credential.token).digest('hex');
    try {
      const user = await this.cached(this.authn, `n:${tokenKey}`, () =>
        this.reviewer.authenticate(credential.token).then((u) => u ?? null),
      );
      return user === 'throttled' || user === null ? undefined : user.username;
    } catch {
      return undefined;
    }
  }

  async check(headers: HeaderBag, attributes: ResourceAttributes): Promise<AuthDecision> {
    const known = this.verified?.userOf(headers);
    if (known) return this.authorizeUser(known, `u:${known.username}`, attributes);
    const credential = credentialFrom(headers);
    if (credential.kind === 'none') return { outcome: 'unauthenticated', why: 'no token' };
    if (credential.kind === 'malformed') return { outcome: 'unauthenticated', why: credential.why };
    const tokenKey = createHash('sha256').update(credential.token).digest('hex');
    try {
      const user = await this.cached(this.authn, `n:${tokenKey}`, () =>
        this.reviewer.authenticate(credential.token).then((u) => u ?? null),
      );
      if (user === 'throttled') return { outcome: 'throttled' };
      if (user === null) return { outcome: 'unauthenticated', why: 'token not accepted' };
      return await this.authorizeUser(user, `t:${tokenKey}`, attributes);
    } catch (err) {
      return { outcome: 'unavailable', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** SubjectAccessReview for a known user; `who` keys its cached answers. */
  private async authorizeUser(
    user: UserInfo,
    who: string,
    attributes: ResourceAttributes,
  ): Promise<AuthDecision> {
    try {
      const verdict = await this.cached(this.authz, `z:${who}\u0000${attributesKey(attributes)}`, () =>
        this.reviewer.authorize(user, attributes),
      );
      if (verdict === 'throttled') return { outcome: 'throttled' };
      return verdict.allowed
        ? { outcome: 'allowed', user: user.username }
        : { outcome: 'denied', user: user.username, ...(verdict.reason ? { reason: verdict.reason } : {}) };
    } catch (err) {
      return { outcome: 'unavailable', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Cache hit, or join the same question in flight, or ask (if under the concurrency cap). */
  private async cached<V>(
    cache: DecisionCache<V>,
    key: string,
    ask: () => Promise<V>,
  ): Promise<V | 'throttled'> {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const pending = this.inFlight.get(key) as Promise<V> | undefined;
    if (pending) return pending;
    if (this.reviewing >= this.maxConcurrent) return 'throttled';
    this.reviewing += 1;
    const asked = ask()
      .then((value) => {
        cache.set(key, value);
        return value;
      })
      .finally(() => {
        this.reviewing -= 1;
        this.inFlight.delete(key);
      });
    this.inFlight.set(key, asked);
    return asked;
  }
}
