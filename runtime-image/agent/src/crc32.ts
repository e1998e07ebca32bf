// CRC-32 (ISO-HDLC, as zip entries carry it). Node's zlib.crc32 where it exists (Node.js
// 20.15+); a table-driven fallback for the Node.js 18 of the bookworm-based images, whose
// agent runs on that release's Node.js.
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Fallback(data: Uint8Array, value = 0): number {
  let crc = ~value >>> 0;
  for (const byte of data) crc = (TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return ~crc >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** The CRC-32 of `data`, continuing from `value` (the CRC of the bytes before it). */
export const crc32: (data: Uint8Array, value?: number) => number = native ?? crc32Fallback;

export { crc32Fallback };
