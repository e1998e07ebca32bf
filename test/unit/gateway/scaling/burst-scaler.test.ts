import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../../operator/src/shared/clock.js';
import { BurstScaler } from '../../../../operator/src/gateway/scaling/burst-scaler.js';

function startAll(scaler: BurstScaler, key: string, now: number, n: number): number {
  let started = 0;
  for (let i = 0; i < n; i++) if (scaler.tryStart(key, now).allowed) started++;
  return started;
}

describe('BurstScaler (token bucket: capacity = burst, continuous refill = rate per interval)', () => {
  it('allows a burst of 10 then 1 per 6 s', () => {
    const clock = new ManualClock(1_000_000);
    const scaler = new BurstScaler({ burst: 10, rate: 1, intervalMs: 6000 });
    assert.equal(startAll(scaler, 'ns/f', clock.now(), 50), 10);
    clock.advance(5999);
    assert.deepEqual(scaler.tryStart('ns/f', clock.now()), { allowed: false, retryAfterMs: 1 });
    clock.advance(1);
    assert.equal(scaler.tryStart('ns/f', clock.now()).allowed, true);
    assert.equal(scaler.tryStart('ns/f', clock.now()).allowed, false);
    clock.advance(6000 * 5);
    assert.equal(startAll(scaler, 'ns/f', clock.now(), 50), 5);
  });

  it('follows the linear ramp exactly over a minute', () => {
    const clock = new ManualClock(0);
    const scaler = new BurstScaler({ burst: 3, rate: 10, intervalMs: 60_000 });
    let started = startAll(scaler, 'f', clock.now(), 100);
    assert.equal(started, 3);
    for (let s = 1; s <= 60; s++) {
      clock.advance(1000);
      started += startAll(scaler, 'f', clock.now(), 100);
    }
    // 10 per minute after the burst, one every 6 s, none early.
    assert.equal(started, 13);
  });

  it('refills continuously rather than in steps', () => {
    const scaler = new BurstScaler({ burst: 1000, rate: 1000, intervalMs: 10_000 });
    assert.equal(startAll(scaler, 'f', 0, 1000), 1000);
    assert.equal(startAll(scaler, 'f', 10, 10), 1); // 1000 per 10 s = one every 10 ms
    assert.equal(startAll(scaler, 'f', 5010, 1000), 500);
  });

  it('does not accumulate unused capacity beyond the burst', () => {
    const scaler = new BurstScaler({ burst: 5, rate: 1, intervalMs: 1000 });
    assert.equal(startAll(scaler, 'f', 3_600_000, 100), 5);
  });

  it('scales each function independently', () => {
    const scaler = new BurstScaler({ burst: 2, rate: 1, intervalMs: 1000 });
    assert.equal(startAll(scaler, 'a', 0, 5), 2);
    assert.equal(startAll(scaler, 'b', 0, 5), 2);
  });

  it('applies a raised burst at once and a lowered one until the debt decays', () => {
    const scaler = new BurstScaler({ burst: 2, rate: 1, intervalMs: 1000 });
    assert.equal(startAll(scaler, 'f', 0, 5), 2);
    scaler.setPolicy({ burst: 5, rate: 1, intervalMs: 1000 }, 0);
    assert.equal(startAll(scaler, 'f', 0, 5), 3);
    scaler.setPolicy({ burst: 1, rate: 1, intervalMs: 1000 }, 0);
    assert.equal(startAll(scaler, 'f', 3999, 5), 0);
    assert.equal(startAll(scaler, 'f', 5000, 5), 1);
  });

  it('changes the rate at runtime without losing the debt', () => {
    const scaler = new BurstScaler({ burst: 1, rate: 1, intervalMs: 10_000 });
    assert.equal(startAll(scaler, 'f', 0, 2), 1);
    scaler.setPolicy({ burst: 1, rate: 1, intervalMs: 1000 }, 5000); // half paid back already
    assert.equal(startAll(scaler, 'f', 5000, 2), 0);
    assert.equal(startAll(scaler, 'f', 5500, 2), 1);
  });

  it('forgets fully refilled buckets', () => {
    const scaler = new BurstScaler({ burst: 1, rate: 1, intervalMs: 1000 });
    scaler.tryStart('f', 0);
    scaler.prune(500);
    assert.equal(scaler.size, 1);
    scaler.prune(1000);
    assert.equal(scaler.size, 0);
  });

  it('never starts anything with a burst of 0 and rate 0', () => {
    const scaler = new BurstScaler({ burst: 0, rate: 0, intervalMs: 1000 });
    const decision = scaler.tryStart('f', 0);
    assert.equal(decision.allowed, false);
  });

  it('rejects a malformed policy', () => {
    assert.throws(() => new BurstScaler({ burst: 1.5, rate: 1, intervalMs: 1000 }), /burst/);
    assert.throws(() => new BurstScaler({ burst: 1, rate: 1, intervalMs: 0 }), /intervalMs/);
  });
});
