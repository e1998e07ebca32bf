// Random hex for ids made on every request (trace ids, their parents): drawn from a pool of
// random bytes filled a few kilobytes at a time, as crypto.randomUUID() does, instead of one
// randomBytes() call (and its native round trip) per id.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` cryptographically random bytes as lowercase hex (at most 4,096 bytes). */
export function randomHex(bytes: number): string {
  if (bytes > POOL_BYTES) throw new RangeError(`randomHex: at most ${POOL_BYTES} bytes, asked ${bytes}`);
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
