// Which namespaces keep a warm pool: cold-start demand against an idle period, on a manual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PoolDemand } from '../../../../operator/src/gateway/pool/pool-plan.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';

const IDLE_MS = 600_000;

function demand(idleNamespaceMs = IDLE_MS) {
  const clock = new ManualClock(1_000_000);
  return { clock, demand: new PoolDemand({ size: 2, idleNamespaceMs }, clock) };
}

describe('pool demand', () => {
  it('gives a namespace its pool as soon as its first Function appears', () => {
    const { demand: d } = demand();
    d.observeFunctions(['team-a']);
    assert.equal(d.targetSize('team-a'), 2);
    assert.deepEqual(d.namespaces(), ['team-a']);
  });

  it('lets the pool of a namespace without cold starts go after the idle period', () => {
    const { clock, demand: d } = demand();
    d.observeFunctions(['team-a', 'team-a']);
    clock.advance(IDLE_MS - 1);
    d.observeFunctions(['team-a', 'team-a']);
    assert.equal(d.targetSize('team-a'), 2);
    clock.advance(1);
    d.observeFunctions(['team-a', 'team-a']);
    assert.equal(d.targetSize('team-a'), 0);
  });

  it('keeps the pool while cold starts keep coming, each one restarting the idle period', () => {
    const { clock, demand: d } = demand();
    d.observeFunctions(['team-a']);
    for (let i = 0; i < 5; i++) {
      clock.advance(IDLE_MS / 2);
      assert.equal(d.coldStart('team-a'), false);
      assert.equal(d.targetSize('team-a'), 2);
    }
  });

  it('grows an idle namespace’s pool back on its first cold start and says the pool was empty', () => {
    const { clock, demand: d } = demand();
    d.observeFunctions(['team-a']);
    clock.advance(IDLE_MS);
    assert.equal(d.targetSize('team-a'), 0);
    assert.equal(d.coldStart('team-a'), true);
    assert.equal(d.targetSize('team-a'), 2);
    assert.equal(d.coldStart('team-a'), false);
  });

  it('counts a new Function in an idle namespace as demand, and not one that was deleted', () => {
    const { clock, demand: d } = demand();
    d.observeFunctions(['team-a', 'team-a']);
    clock.advance(IDLE_MS);
    d.observeFunctions(['team-a']);
    assert.equal(d.targetSize('team-a'), 0);
    d.observeFunctions(['team-a', 'team-a']);
    assert.equal(d.targetSize('team-a'), 2);
  });

  it('sizes each namespace on its own demand', () => {
    const { clock, demand: d } = demand();
    d.observeFunctions(['busy', 'quiet']);
    clock.advance(IDLE_MS / 2);
    d.coldStart('busy');
    clock.advance(IDLE_MS / 2);
    assert.equal(d.targetSize('busy'), 2);
    assert.equal(d.targetSize('quiet'), 0);
  });

  it('forgets a namespace whose last Function is gone, so a Function there later is new demand', () => {
    const { clock, demand: d } = demand();
    d.observeFunctions(['team-a']);
    clock.advance(IDLE_MS);
    d.observeFunctions([]);
    assert.deepEqual(d.namespaces(), []);
    assert.equal(d.targetSize('team-a'), 0);
    d.observeFunctions(['team-a']);
    assert.equal(d.targetSize('team-a'), 2);
  });

  it('keeps every pool whatever the demand when the idle period is 0', () => {
    const { clock, demand: d } = demand(0);
    d.observeFunctions(['team-a']);
    clock.advance(365 * 24 * 3600 * 1000);
    assert.equal(d.targetSize('team-a'), 2);
    assert.equal(d.coldStart('team-a'), false);
  });
});
