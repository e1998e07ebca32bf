import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32Fallback } from '../../../runtime-image/agent/src/crc32.js';

describe('crc32 fallback (Node.js 18 has no zlib.crc32)', () => {
  test("equals zlib's, whole and continued chunk by chunk", () => {
    assert.equal(crc32Fallback(Buffer.from('123456789')), 0xcbf43926);
    for (let i = 0; i < 40; i++) {
      const a = randomBytes(i * 37);
      const b = randomBytes(i * 11);
      assert.equal(crc32Fallback(a), zlibCrc32(a));
      assert.equal(crc32Fallback(b, crc32Fallback(a)), zlibCrc32(b, zlibCrc32(a)));
    }
  });
});
