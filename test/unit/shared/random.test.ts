import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomHex } from '../../../operator/src/shared/index.js';

describe('randomHex', () => {
  it('gives lowercase hex of the asked length, across refills of its pool', () => {
    const seen = new Set<string>();
    // 3,000 × 12 bytes crosses the 4 KB pool boundary several times, at odd offsets.
    for (let i = 0; i < 3000; i++) {
      const hex = randomHex(12);
      assert.match(hex, /^[0-9a-f]{24}$/, `id ${i}: ${hex}`);
      seen.add(hex);
    }
    assert.equal(seen.size, 3000, 'no id repeats');
    assert.match(randomHex(4096), /^[0-9a-f]{8192}$/);
  });

  it('refuses more than its pool holds', () => {
    assert.throws(() => randomHex(4097), RangeError);
  });
});
