import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invokeAttributes } from '../../../../operator/src/kube/auth/access-review.js';
import { KubernetesAuthorizer } from '../../../../operator/src/kube/auth/authorizer.js';
import { DecisionCache } from '../../../../operator/src/kube/auth/decision-cache.js';
import { VerifiedCallers } from '../../../../operator/src/kube/auth/verified-callers.js';
import { serviceAccountUser } from '../../../../operator/src/gateway/auth/access-keys.js';
import { FakeReviewer } from '../../security/fake-reviewer.js';

const hello = invokeAttributes('default', 'hello');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function setup(options: { cacheTtlMs?: number; maxConcurrentReviews?: number } = {}) {
  let now = 1_000_000;
  const reviewer = new FakeReviewer();
  reviewer.tokens.set('alice-token', 'alice');
  reviewer.tokens.set('bob-token', 'bob');
  reviewer.rules.add(FakeReviewer.rule('alice', hello));
  const authorizer = new KubernetesAuthorizer(reviewer, { now: () => now, ...options });
  return { reviewer, authorizer, advance: (ms: number) => (now += ms) };
}

describe('invoke authorization decisions', () => {
  it('allows a user RBAC lets invoke, denies one it does not, and refuses unknown tokens', async () => {
    const { authorizer } = setup();
    assert.deepEqual(await authorizer.check(bearer('alice-token'), hello), {
      outcome: 'allowed',
      user: 'alice',
    });
    assert.deepEqual(await authorizer.check(bearer('bob-token'), hello), {
      outcome: 'denied',
      user: 'bob',
      reason: 'no rule',
    });
    assert.deepEqual(await authorizer.check(bearer('forged'), hello), {
      outcome: 'unauthenticated',
      why: 'token not accepted',
    });
    assert.deepEqual(await authorizer.check({}, hello), { outcome: 'unauthenticated', why: 'no token' });
  });

  it('authorizes per function: a grant on hello is not a grant on goodbye or on hello elsewhere', async () => {
    const { authorizer } = setup();
    const other = await authorizer.check(bearer('alice-token'), invokeAttributes('default', 'goodbye'));
    assert.equal(other.outcome, 'denied');
    const elsewhere = await authorizer.check(bearer('alice-token'), invokeAttributes('team-b', 'hello'));
    assert.equal(elsewhere.outcome, 'denied');
  });

  it('reuses answers for the cache TTL and asks again after it', async () => {
    const { authorizer, reviewer, advance } = setup({ cacheTtlMs: 10_000 });
    for (let i = 0; i < 5; i++) await authorizer.check(bearer('alice-token'), hello);
    assert.equal(reviewer.authentications, 1);
    assert.equal(reviewer.authorizations, 1);
    advance(9_999);
    await authorizer.check(bearer('alice-token'), hello);
    assert.equal(reviewer.authentications, 1);
    advance(1);
    await authorizer.check(bearer('alice-token'), hello);
    assert.equal(reviewer.authentications, 2);
    assert.equal(reviewer.authorizations, 2);
  });

  it('sees a revoked grant once the cached answer expires', async () => {
    const { authorizer, reviewer, advance } = setup({ cacheTtlMs: 10_000 });
    assert.equal((await authorizer.check(bearer('alice-token'), hello)).outcome, 'allowed');
    reviewer.rules.clear();
    assert.equal((await authorizer.check(bearer('alice-token'), hello)).outcome, 'allowed');
    advance(10_000);
    assert.equal((await authorizer.check(bearer('alice-token'), hello)).outcome, 'denied');
  });

  it('caches the authentication once per token across functions', async () => {
    const { authorizer, reviewer } = setup();
    await authorizer.check(bearer('alice-token'), hello);
    await authorizer.check(bearer('alice-token'), invokeAttributes('default', 'goodbye'));
    assert.equal(reviewer.authentications, 1);
    assert.equal(reviewer.authorizations, 2);
  });

  it('identifies the caller with the same cached TokenReview, and nobody without a usable token', async () => {
    const { authorizer, reviewer } = setup();
    assert.equal(await authorizer.identify(bearer('alice-token')), 'alice');
    await authorizer.check(bearer('alice-token'), hello);
    assert.equal(reviewer.authentications, 1);
    assert.equal(await authorizer.identify(bearer('forged')), undefined);
    assert.equal(await authorizer.identify({}), undefined);
    assert.equal(await authorizer.identify({ authorization: 'Bearer a b' }), undefined);
  });

  it('asks once for identical questions in flight at the same time', async () => {
    const { authorizer, reviewer } = setup();
    let open!: () => void;
    reviewer.gate = new Promise((resolve) => (open = resolve));
    const pending = Array.from({ length: 20 }, () => authorizer.check(bearer('alice-token'), hello));
    open();
    const outcomes = await Promise.all(pending);
    assert.ok(outcomes.every((d) => d.outcome === 'allowed'));
    assert.equal(reviewer.authentications, 1);
    assert.equal(reviewer.authorizations, 1);
  });

  it('throttles distinct tokens beyond the review concurrency cap instead of flooding the API server', async () => {
    const { authorizer, reviewer } = setup({ maxConcurrentReviews: 4 });
    let open!: () => void;
    reviewer.gate = new Promise((resolve) => (open = resolve));
    const pending = Array.from({ length: 10 }, (_, i) => authorizer.check(bearer(`spray-${i}`), hello));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(authorizer.pendingReviews, 4);
    open();
    const outcomes = (await Promise.all(pending)).map((d) => d.outcome);
    assert.equal(outcomes.filter((o) => o === 'throttled').length, 6);
    assert.equal(outcomes.filter((o) => o === 'unauthenticated').length, 4);
    assert.equal(authorizer.pendingReviews, 0);
  });

  it('fails closed when the API server cannot answer, and caches nothing', async () => {
    const { authorizer, reviewer } = setup();
    reviewer.failWith = new Error('connect ECONNREFUSED');
    assert.deepEqual(await authorizer.check(bearer('alice-token'), hello), {
      outcome: 'unavailable',
      error: 'connect ECONNREFUSED',
    });
    reviewer.failWith = undefined;
    assert.equal((await authorizer.check(bearer('alice-token'), hello)).outcome, 'allowed');
  });

  it('does not send a malformed token to the API server', async () => {
    const { authorizer, reviewer } = setup();
    const decision = await authorizer.check({ 'x-lamina-token': 'bad\ttoken' }, hello);
    assert.equal(decision.outcome, 'unauthenticated');
    assert.equal(reviewer.authentications, 0);
  });
});

describe('decision cache', () => {
  it('keeps at most maxEntries, evicting the least recently used', () => {
    const cache = new DecisionCache<number>({ ttlMs: 1000, maxEntries: 3, now: () => 0 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    assert.equal(cache.get('a'), 1); // a is now the most recent
    cache.set('d', 4);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
  });

  it('stores nothing with a TTL of 0', () => {
    const cache = new DecisionCache<number>({ ttlMs: 0, maxEntries: 3, now: () => 0 });
    cache.set('a', 1);
    assert.equal(cache.get('a'), undefined);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const cache = new DecisionCache<boolean>({ ttlMs: 1000, maxEntries: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, false);
    assert.equal(cache.size, 100);
  });
});

describe('callers verified by a signature', () => {
  it('asks SubjectAccessReview about the recorded user without a TokenReview, for that request only', async () => {
    const reviewer = new FakeReviewer();
    reviewer.rules.add(FakeReviewer.rule('system:serviceaccount:ci:deployer', hello));
    const verified = new VerifiedCallers();
    const authorizer = new KubernetesAuthorizer(reviewer, { now: Date.now, verified });
    const signed = { authorization: 'AWS4-HMAC-SHA256 Credential=…' };
    verified.record(signed, serviceAccountUser('ci', 'deployer'));
    assert.deepEqual(await authorizer.check(signed, hello), {
      outcome: 'allowed',
      user: 'system:serviceaccount:ci:deployer',
    });
    assert.equal(await authorizer.identify(signed), 'system:serviceaccount:ci:deployer');
    assert.deepEqual(await authorizer.check(signed, invokeAttributes('team-a', 'hello')), {
      outcome: 'denied',
      user: 'system:serviceaccount:ci:deployer',
      reason: 'no rule',
    });
    // The same header values on another request carry no identity.
    assert.deepEqual(await authorizer.check({ ...signed }, hello), {
      outcome: 'unauthenticated',
      why: 'no token',
    });
  });
});
