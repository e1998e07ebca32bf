// Reading an archive: adm-zip parses the central directory into plain ZipEntryInfo records;
// entry data is only inflated on demand, with the inflated size counted, never believed.
import AdmZip from 'adm-zip';
import { inflateRawSync } from 'node:zlib';
import {
  InvalidZipFileError,
  MAX_SYMLINK_TARGET_BYTES,
  type ZipEntryInfo,
  type ZipEntryKind,
} from './validation.js';

export interface ZipArchive {
  entries: ZipEntryInfo[];
  compressedData(index: number): Buffer;
  crc(index: number): number;
}

export const corrupt = (detail: string, entryName?: string) =>
  new InvalidZipFileError(
    'CorruptArchive',
    `Could not unzip uploaded file. Please check your file, then try to upload again. (${detail})`,
    entryName,
  );

export function inflateBounded(compressed: Buffer, method: number, declared: number, name: string): Buffer {
  let data: Buffer;
  if (method === 0) {
    data = compressed;
  } else {
    try {
      // maxOutputLength makes zlib stop one byte past the declared size instead of
      // trusting it: the inflated size is counted, not believed.
      data = inflateRawSync(compressed, { maxOutputLength: declared + 1 });
    } catch (err) {
      if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new InvalidZipFileError(
          'SizeMismatch',
          `Entry '${name}' inflates past its declared ${declared} bytes`,
          name,
        );
      }
      throw corrupt(`entry '${name}': ${(err as Error).message}`, name);
    }
  }
  if (data.length !== declared) {
    throw new InvalidZipFileError(
      'SizeMismatch',
      `Entry '${name}' holds ${data.length > declared ? 'more' : 'fewer'} bytes than its declared ${declared}`,
      name,
    );
  }
  return data;
}

function kindOf(entry: AdmZip.IZipEntry): ZipEntryKind {
  const type = (entry.header.attr >>> 16) & 0o170000;
  if (type === 0o120000) return 'symlink';
  if (entry.isDirectory || type === 0o040000) return 'directory';
  if (type === 0 || type === 0o100000) return 'file';
  return 'special';
}

/** Parses the central directory; throws InvalidZipFileError('CorruptArchive') on garbage. */
export function openZip(bytes: Buffer): ZipArchive {
  let raw: AdmZip.IZipEntry[];
  try {
    raw = new AdmZip(bytes, { noSort: true }).getEntries();
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    // adm-zip refuses byte-identical duplicate names itself; keep the precise reason.
    const duplicate = /Duplicate entry name "(.*)"/.exec(message);
    if (duplicate) {
      throw new InvalidZipFileError(
        'DuplicateEntry',
        `Entry '${duplicate[1]}' appears more than once`,
        duplicate[1],
      );
    }
    throw corrupt(message);
  }
  const compressedData = (index: number): Buffer => {
    const entry = raw[index];
    if (!entry) throw new RangeError(`no zip entry ${index}`);
    try {
      return entry.getCompressedData();
    } catch (err) {
      throw corrupt((err as Error).message ?? String(err), entry.entryName);
    }
  };
  const entries = raw.map((entry, index): ZipEntryInfo => {
    const kind = kindOf(entry);
    const info: ZipEntryInfo = {
      name: entry.entryName,
      kind,
      uncompressedSize: entry.header.size,
      compressedSize: entry.header.compressedSize,
      method: entry.header.method,
      encrypted: entry.header.encrypted,
      mode: (entry.header.attr >>> 16) & 0o7777,
    };
    if (kind === 'symlink' && info.uncompressedSize <= MAX_SYMLINK_TARGET_BYTES && !info.encrypted) {
      const data = inflateBounded(compressedData(index), info.method, info.uncompressedSize, info.name);
      info.linkTarget = data.toString('utf8');
    }
    return info;
  });
  return { entries, compressedData, crc: (index) => raw[index]?.header.crc ?? 0 };
}
