import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLedger } from '../../../../operator/src/gateway/scaling/concurrency.js';

const limits = { namespaceLimit: 1000, unreservedMinimum: 100 };

function acquire(
  ledger: ConcurrencyLedger,
  fn: string,
  n: number,
  kind: 'on-demand' | 'provisioned' = 'on-demand',
) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(ledger.tryAcquire('ns', fn, kind));
  return out;
}

describe('ConcurrencyLedger', () => {
  it('throttles the 3rd concurrent invoke when reserved is 2', () => {
    const ledger = new ConcurrencyLedger(limits);
    ledger.setFunction('ns', 'f', { reserved: 2, provisioned: 0, order: 'a' });
    const [a, b, c] = acquire(ledger, 'f', 3);
    assert.deepEqual([a, b], [{ admitted: true }, { admitted: true }]);
    assert.deepEqual(c, { admitted: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    ledger.release('ns', 'f', 'on-demand');
    assert.deepEqual(ledger.tryAcquire('ns', 'f', 'on-demand'), { admitted: true });
  });

  it('throttles every invoke when reserved is 0', () => {
    const ledger = new ConcurrencyLedger(limits);
    ledger.setFunction('ns', 'f', { reserved: 0, provisioned: 0, order: 'a' });
    assert.deepEqual(ledger.tryAcquire('ns', 'f', 'on-demand'), {
      admitted: false,
      reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
  });

  it('throttles unreserved functions at the namespace limit with ConcurrentInvocationLimitExceeded', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 5, unreservedMinimum: 1 });
    const results = acquire(ledger, 'f', 6);
    assert.equal(results.filter((r) => r.admitted).length, 5);
    assert.deepEqual(results[5], { admitted: false, reason: 'ConcurrentInvocationLimitExceeded' });
    assert.equal(ledger.unreservedConcurrentExecutions('ns'), 5);
  });

  it('keeps a reservation as a floor: other functions cannot take it', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 10, unreservedMinimum: 2 });
    ledger.setFunction('ns', 'reserved', { reserved: 6, provisioned: 0, order: 'a' });
    assert.equal(acquire(ledger, 'other', 10).filter((r) => r.admitted).length, 4);
    assert.equal(acquire(ledger, 'reserved', 6).filter((r) => r.admitted).length, 6);
  });

  it('never lets reservations eat the unreserved minimum', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 10, unreservedMinimum: 3 });
    ledger.setFunction('ns', 'a', { reserved: 5, provisioned: 0, order: '1' });
    ledger.setFunction('ns', 'b', { reserved: 4, provisioned: 0, order: '2' }); // 9 > 7: not granted
    ledger.setFunction('ns', 'c', { reserved: 2, provisioned: 0, order: '3' }); // 7: granted
    assert.equal(ledger.grantedReservation('ns', 'a'), 5);
    assert.equal(ledger.grantedReservation('ns', 'b'), undefined);
    assert.equal(ledger.grantedReservation('ns', 'c'), 2);
    assert.equal(ledger.unreservedPool('ns'), 3);
    // b runs from the unreserved pool of 3.
    assert.equal(acquire(ledger, 'b', 5).filter((r) => r.admitted).length, 3);
  });

  it('counts namespaces separately', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 1, unreservedMinimum: 0 });
    assert.equal(ledger.tryAcquire('a', 'f', 'on-demand').admitted, true);
    assert.equal(ledger.tryAcquire('b', 'f', 'on-demand').admitted, true);
    assert.equal(ledger.tryAcquire('a', 'g', 'on-demand').admitted, false);
  });

  it('holds provisioned concurrency against the reservation and lets it spill over to on-demand', () => {
    const ledger = new ConcurrencyLedger(limits);
    ledger.setFunction('ns', 'f', { reserved: 5, provisioned: 3, order: 'a' });
    // Provisioned environments serve without further capacity.
    assert.ok(acquire(ledger, 'f', 3, 'provisioned').every((r) => r.admitted));
    // Spill-over: 5 reserved - 3 provisioned held = 2 on-demand.
    const spill = acquire(ledger, 'f', 3);
    assert.equal(spill.filter((r) => r.admitted).length, 2);
    assert.equal(ledger.concurrentExecutions('ns', 'f'), 5);
  });

  it('holds provisioned concurrency of unreserved functions against the unreserved pool', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 10, unreservedMinimum: 0 });
    ledger.setFunction('ns', 'p', { provisioned: 4, order: 'a' });
    assert.equal(acquire(ledger, 'other', 10).filter((r) => r.admitted).length, 6);
  });

  it('applies a lowered namespace limit to new invokes only', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 10, unreservedMinimum: 0 });
    assert.equal(acquire(ledger, 'f', 8).filter((r) => r.admitted).length, 8);
    ledger.setLimits({ namespaceLimit: 5, unreservedMinimum: 0 });
    assert.equal(ledger.tryAcquire('ns', 'f', 'on-demand').admitted, false);
    assert.equal(ledger.concurrentExecutions('ns', 'f'), 8);
    for (let i = 0; i < 4; i++) ledger.release('ns', 'f', 'on-demand');
    assert.equal(ledger.tryAcquire('ns', 'f', 'on-demand').admitted, true);
  });

  it('applies a reservation set at runtime to a function already running', () => {
    const ledger = new ConcurrencyLedger(limits);
    assert.equal(acquire(ledger, 'f', 3).filter((r) => r.admitted).length, 3);
    ledger.setFunction('ns', 'f', { reserved: 3, provisioned: 0, order: 'a' });
    assert.equal(ledger.tryAcquire('ns', 'f', 'on-demand').admitted, false);
    assert.equal(ledger.unreservedConcurrentExecutions('ns'), 0);
    ledger.setFunction('ns', 'f', { reserved: 4, provisioned: 0, order: 'a' });
    assert.equal(ledger.tryAcquire('ns', 'f', 'on-demand').admitted, true);
  });

  it('moves a function back to the unreserved pool when its reservation is removed', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 4, unreservedMinimum: 1 });
    ledger.setFunction('ns', 'f', { reserved: 2, provisioned: 0, order: 'a' });
    acquire(ledger, 'f', 2);
    ledger.setFunction('ns', 'f', { provisioned: 0, order: 'a' });
    assert.equal(ledger.unreservedConcurrentExecutions('ns'), 2);
    assert.equal(acquire(ledger, 'g', 3).filter((r) => r.admitted).length, 2);
  });

  it('releases never go below zero', () => {
    const ledger = new ConcurrencyLedger(limits);
    ledger.release('ns', 'f', 'on-demand');
    ledger.tryAcquire('ns', 'f', 'on-demand');
    ledger.release('ns', 'f', 'on-demand');
    ledger.release('ns', 'f', 'on-demand');
    assert.equal(ledger.concurrentExecutions('ns', 'f'), 0);
    assert.equal(ledger.unreservedConcurrentExecutions('ns'), 0);
  });
});

describe('ConcurrencyLedger with a grant of the unreserved pool (several gateway replicas)', () => {
  it('admits on-demand executions of unreserved functions only within the grant; reserved ones are not counted', () => {
    const ledger = new ConcurrencyLedger(limits);
    ledger.setFunction('ns', 'r', { reserved: 5, provisioned: 0, order: 'a' });
    ledger.setFunction('ns', 'f', { provisioned: 0, order: 'b' });
    let grant = 2;
    ledger.setUnreservedGrants(() => grant);
    const results = acquire(ledger, 'f', 3);
    assert.deepEqual(results[2], { admitted: false, reason: 'ConcurrentInvocationLimitExceeded' });
    assert.deepEqual(acquire(ledger, 'r', 5).filter((a) => a.admitted).length, 5);
    grant = 3;
    assert.deepEqual(ledger.tryAcquire('ns', 'f', 'on-demand'), { admitted: true });
  });

  it('takes provisioned concurrency of unreserved functions off the shared pool, not off the grant', () => {
    const ledger = new ConcurrencyLedger({ namespaceLimit: 100, unreservedMinimum: 10 });
    ledger.setFunction('ns', 'p', { provisioned: 30, order: 'a' });
    ledger.setFunction('ns', 'r', { reserved: 20, provisioned: 0, order: 'b' });
    ledger.setUnreservedGrants(() => 1);
    assert.deepEqual(ledger.unreservedOnDemand('ns'), { used: 0, capacity: 50 });
    assert.deepEqual(ledger.tryAcquire('ns', 'f', 'on-demand'), { admitted: true });
    assert.deepEqual(ledger.unreservedOnDemand('ns'), { used: 1, capacity: 50 });
    assert.equal(ledger.tryAcquire('ns', 'f', 'on-demand').admitted, false);
  });

  it('remembers the most on-demand unreserved executions at once until asked, then starts from now', () => {
    const ledger = new ConcurrencyLedger(limits);
    acquire(ledger, 'f', 4);
    ledger.release('ns', 'f', 'on-demand');
    ledger.release('ns', 'f', 'on-demand');
    assert.equal(ledger.takeUnreservedPeak('ns'), 4);
    assert.equal(ledger.takeUnreservedPeak('ns'), 2);
    assert.equal(ledger.takeUnreservedPeak('other'), 0);
  });
});
