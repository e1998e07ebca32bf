// Lambda's OffsetLag for a Kafka mapping: latest minus committed, summed over partitions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { offsetLag } from '../../../operator/src/event-sources/kafka.js';

describe('Kafka offset lag', () => {
  it('sums latest minus committed over the partitions', () => {
    assert.equal(offsetLag([100n, 50n, 7n], [90n, 50n, 0n], [0n, 0n, 0n]), 10 + 0 + 7);
  });

  it('counts a partition the group never committed from where the group starts reading it', () => {
    // TRIM_HORIZON: from the first offset still in the log (records before 20 were deleted).
    assert.equal(offsetLag([100n, 30n], [-1n, undefined], [20n, 0n]), 80 + 30);
    // LATEST: from the end, nothing behind.
    assert.equal(offsetLag([100n, 30n], [-1n, undefined], [100n, 30n]), 0);
  });

  it('never counts a committed offset past the end as negative lag', () => {
    assert.equal(offsetLag([10n, 10n], [12n, 5n], [0n, 0n]), 5);
  });
});
