// Hand-built zips for store tests, including the hostile ones no well-behaved zip library
// will write (path traversal, symlinks out of the tree, lying sizes).
import { crc32 } from 'node:zlib';

export interface RawEntry {
  name: string;
  data?: string;
  /** Unix mode incl. type bits, e.g. 0o120777 for a symlink. */
  mode?: number;
  /** Overrides the declared uncompressed size (to build a lying header). */
  declaredSize?: number;
}

/** A stored (uncompressed) zip with exactly these entries, in this order. */
export function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.from(entry.data ?? '', 'utf8');
    const size = entry.declaredSize ?? data.length;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export const helloZip = () => rawZip([{ name: 'index.js', data: 'exports.handler = async () => "hi";' }]);
export const traversalZip = () => rawZip([{ name: '../../etc/passwd', data: 'root' }]);
export const symlinkOutZip = () => rawZip([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]);
