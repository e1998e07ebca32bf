// Safe reading, validation and extraction of function and layer zips.
//
// Deployment packages come from users, so every archive is treated as hostile:
//  1. `openZip` parses the central directory (adm-zip) into plain `ZipEntryInfo` records.
//  2. `validateZipEntries` is pure: it turns those records into an extraction plan or a typed
//     `InvalidZipFileError`, before a single byte is written. The operator imports it too.
//  3. `extractZip` writes the plan, counting inflated bytes against each declared size (a lying
//     header cannot turn into a bomb) and re-checking on disk that every parent directory
//     resolves inside the target (an earlier layer's symlink cannot redirect a write).
//
// Symlink rule: a symlink entry is allowed only if its target is relative, resolves lexically
// inside the extraction root, and does not pass through another symlink of the same archive;
// no entry may sit below a symlink of the same archive. That keeps the common cases
// (`libfoo.so -> libfoo.so.1`, `node_modules/.bin/x -> ../x/cli.js`) and refuses the rest.
import AdmZip from 'adm-zip';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, posix, sep } from 'node:path';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { AgentError } from './errors.js';

/** Lambda's limit for a function plus its layers, unzipped [LAMBDA-SPEC §4]. */
export const MAX_UNZIPPED_BYTES = 262_144_000;
/** Lambda states no entry-count limit; this bounds inode and metadata work per archive. */
export const MAX_ZIP_ENTRIES = 100_000;
const MAX_SYMLINK_TARGET_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
/** Entries above this size are inflated as a stream instead of into one buffer. */
const STREAM_THRESHOLD_BYTES = 1 << 20;

export type ZipRejectionReason =
  | 'CorruptArchive'
  | 'PathTraversal'
  | 'AbsolutePath'
  | 'InvalidEntryName'
  | 'UnsafeSymlink'
  | 'DuplicateEntry'
  | 'TooManyEntries'
  | 'UnzippedSizeTooLarge'
  | 'UnsupportedEntry'
  | 'SizeMismatch';

export class InvalidZipFileError extends AgentError {
  constructor(
    readonly reason: ZipRejectionReason,
    message: string,
    readonly entryName?: string,
  ) {
    super('InvalidZipFileException', message, 400);
  }
}

export type ZipEntryKind = 'file' | 'directory' | 'symlink' | 'special';

/** What the central directory says about one entry; plain data so validation stays pure. */
export interface ZipEntryInfo {
  name: string;
  kind: ZipEntryKind;
  uncompressedSize: number;
  compressedSize: number;
  /** 0 = stored, 8 = deflated; anything else is refused. */
  method: number;
  encrypted: boolean;
  /** Unix permission bits, 0 when the archive carries none. */
  mode: number;
  /** Only for symlinks. */
  linkTarget?: string;
}

export interface ZipLimits {
  maxEntries: number;
  /** The overall budget (function + layers), named in the error message. */
  maxUnzippedBytes: number;
  /** Bytes already used by archives extracted before this one. */
  usedBytes?: number;
}

export interface PlannedEntry {
  /** Index into the archive's entries. */
  index: number;
  /** Normalised relative path, '/'-separated, no '.', '..' or empty segments. */
  path: string;
  kind: 'file' | 'directory' | 'symlink';
  size: number;
  executable: boolean;
  linkTarget?: string;
}

export type ZipValidation =
  { ok: true; entries: PlannedEntry[]; totalBytes: number } | { ok: false; error: InvalidZipFileError };

const reject = (reason: ZipRejectionReason, message: string, entryName?: string): ZipValidation => ({
  ok: false,
  error: new InvalidZipFileError(reason, message, entryName),
});

type Segments = { ok: true; segments: string[] } | { ok: false; error: ZipValidation };

/** Splits an entry name into safe path segments. Backslashes count as separators (Windows zips). */
function splitEntryName(name: string): Segments {
  const fail = (reason: ZipRejectionReason, message: string): Segments => ({
    ok: false,
    error: reject(reason, message, name),
  });
  if (name.includes('\0')) return fail('InvalidEntryName', `Entry '${name}' has a NUL byte in its name`);
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) {
    return fail('AbsolutePath', `Entry '${name}' has an absolute path`);
  }
  const segments = name.split(/[/\\]/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    return fail('PathTraversal', `Entry '${name}' escapes the extraction directory through '..'`);
  }
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) {
    return fail(
      'InvalidEntryName',
      `Entry '${name}' has a path segment longer than ${MAX_SEGMENT_BYTES} bytes`,
    );
  }
  return { ok: true, segments };
}

/** True when `target`, resolved from the directory holding `linkPath`, stays inside the root. */
function resolveLinkTarget(linkPath: string, target: string): string | undefined {
  if (target === '' || target.includes('\0') || posix.isAbsolute(target) || /^[A-Za-z]:/.test(target)) {
    return undefined;
  }
  const resolved = posix.normalize(posix.join(posix.dirname(linkPath), target.replace(/\\/g, '/')));
  if (resolved === '..' || resolved.startsWith('../')) return undefined;
  return resolved === '.' ? '' : resolved;
}

function parentsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Pure check of a whole archive: entries → extraction plan, or the first reason to refuse it. */
export function validateZipEntries(entries: readonly ZipEntryInfo[], limits: ZipLimits): ZipValidation {
  if (entries.length > limits.maxEntries) {
    return reject(
      'TooManyEntries',
      `Zip archive has ${entries.length} entries; the limit is ${limits.maxEntries}`,
    );
  }
  const sizeLimitMessage = `Unzipped size must be smaller than ${limits.maxUnzippedBytes} bytes`;
  const used = limits.usedBytes ?? 0;
  const plan: PlannedEntry[] = [];
  const kinds = new Map<string, PlannedEntry['kind']>();
  let total = 0;

  for (const [index, entry] of entries.entries()) {
    const { name } = entry;
    if (entry.encrypted) return reject('UnsupportedEntry', `Entry '${name}' is encrypted`, name);
    if (entry.kind === 'special') {
      return reject('UnsupportedEntry', `Entry '${name}' is a device, FIFO or socket`, name);
    }
    if (entry.kind !== 'directory' && entry.method !== 0 && entry.method !== 8) {
      return reject(
        'UnsupportedEntry',
        `Entry '${name}' uses unsupported compression method ${entry.method}`,
        name,
      );
    }
    const size = entry.uncompressedSize;
    if (!Number.isSafeInteger(size) || size < 0) {
      return reject('CorruptArchive', `Entry '${name}' declares an invalid size`, name);
    }
    const split = splitEntryName(name);
    if (!split.ok) return split.error;
    if (split.segments.length === 0) {
      if (entry.kind === 'directory') continue; // "./" names the root itself
      return reject('InvalidEntryName', `Entry '${name}' has an empty path`, name);
    }
    const path = split.segments.join('/');
    if (kinds.has(path)) return reject('DuplicateEntry', `Entry '${path}' appears more than once`, name);

    const planned: PlannedEntry = {
      index,
      path,
      kind: entry.kind,
      size: entry.kind === 'directory' ? 0 : size,
      executable: (entry.mode & 0o111) !== 0,
    };
    if (entry.kind === 'symlink') {
      const target = entry.linkTarget ?? '';
      if (size > MAX_SYMLINK_TARGET_BYTES || resolveLinkTarget(path, target) === undefined) {
        return reject(
          'UnsafeSymlink',
          `Symlink '${path}' -> '${target}' points outside the extraction directory`,
          name,
        );
      }
      planned.linkTarget = target;
    }
    total += planned.size;
    if (used + total > limits.maxUnzippedBytes) return reject('UnzippedSizeTooLarge', sizeLimitMessage, name);
    kinds.set(path, planned.kind);
    plan.push(planned);
  }

  // Cross-entry rules need the whole name table.
  for (const entry of plan) {
    for (const parent of parentsOf(entry.path)) {
      const parentKind = kinds.get(parent);
      if (parentKind === 'symlink') {
        return reject('UnsafeSymlink', `Entry '${entry.path}' lies inside symlink '${parent}'`, entry.path);
      }
      if (parentKind === 'file') {
        return reject('DuplicateEntry', `Entry '${parent}' is both a file and a directory`, parent);
      }
    }
    if (entry.kind === 'symlink') {
      const resolved = resolveLinkTarget(entry.path, entry.linkTarget ?? '') ?? '';
      const hops = resolved === '' ? [] : [...parentsOf(resolved), resolved];
      const through = hops.find((hop) => hop !== entry.path && kinds.get(hop) === 'symlink');
      if (through !== undefined) {
        return reject(
          'UnsafeSymlink',
          `Symlink '${entry.path}' resolves through symlink '${through}'`,
          entry.path,
        );
      }
    }
  }
  return { ok: true, entries: plan, totalBytes: total };
}

/** A parsed archive: plain entry records plus access to each entry's stored bytes. */
export interface ZipArchive {
  entries: ZipEntryInfo[];
  compressedData(index: number): Buffer;
  crc(index: number): number;
}

const corrupt = (detail: string, entryName?: string) =>
  new InvalidZipFileError(
    'CorruptArchive',
    `Could not unzip uploaded file. Please check your file, then try to upload again. (${detail})`,
    entryName,
  );

function inflateBounded(compressed: Buffer, method: number, declared: number, name: string): Buffer {
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

/** Paths created by extraction, newest last, so a failed specialisation can be undone. */
export interface ExtractionJournal {
  created: string[];
}

export function undoExtraction(journal: ExtractionJournal): void {
  for (const path of journal.created.reverse()) rmSync(path, { recursive: true, force: true });
  journal.created.length = 0;
}

/** Removes whatever sits at `path` (a later layer overrides an earlier one's entry). */
function clearPath(path: string): 'missing' | 'directory' | 'cleared' {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return 'missing';
  }
  if (stat.isDirectory()) return 'directory';
  unlinkSync(path);
  return 'cleared';
}

class SafeTree {
  private readonly realRoot: string;
  private readonly verified = new Set<string>(['']);

  constructor(
    private readonly root: string,
    private readonly journal: ExtractionJournal,
  ) {
    mkdirSync(root, { recursive: true });
    this.realRoot = realpathSync(root);
  }

  private inside(real: string): boolean {
    return real === this.realRoot || real.startsWith(this.realRoot + sep);
  }

  /** Creates `dir` one component at a time, refusing any component that resolves outside. */
  ensureDir(dir: string): void {
    if (this.verified.has(dir)) return;
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (this.verified.has(rel)) continue;
      const abs = join(this.root, rel);
      const state = clearPathUnlessDirOrDirLink(abs);
      if (state === 'missing') {
        mkdirSync(abs, { mode: 0o755 });
        this.journal.created.push(abs);
      } else if (!this.inside(realpathSync(abs))) {
        throw new InvalidZipFileError(
          'UnsafeSymlink',
          `Directory '${rel}' resolves outside the extraction directory`,
          rel,
        );
      }
      this.verified.add(rel);
    }
  }

  write(entry: PlannedEntry, archive: ZipArchive): Promise<void> | void {
    const abs = join(this.root, entry.path);
    const parent = posix.dirname(entry.path);
    this.ensureDir(parent === '.' ? '' : parent);
    if (entry.kind === 'directory') return this.ensureDir(entry.path);
    if (clearPath(abs) === 'directory') rmSync(abs, { recursive: true, force: true });
    this.journal.created.push(abs);
    if (entry.kind === 'symlink') return symlinkSync(entry.linkTarget ?? '', abs);
    const mode = entry.executable ? 0o755 : 0o644;
    const name = archive.entries[entry.index]?.name ?? entry.path;
    const method = archive.entries[entry.index]?.method ?? 0;
    const compressed = archive.compressedData(entry.index);
    const expectedCrc = archive.crc(entry.index);
    if (method === 8 && entry.size > STREAM_THRESHOLD_BYTES) {
      return inflateToFile(compressed, abs, mode, entry.size, expectedCrc, name);
    }
    const data = inflateBounded(compressed, method, entry.size, name);
    if (crc32(data) !== expectedCrc) throw corrupt(`CRC mismatch in entry '${name}'`, name);
    const fd = openSync(abs, 'wx', mode);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  }
}

/** Like clearPath, but keeps directories and symlinks to directories (earlier layers' trees). */
function clearPathUnlessDirOrDirLink(path: string): 'missing' | 'kept' {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return 'missing';
  }
  if (stat.isDirectory()) return 'kept';
  if (stat.isSymbolicLink()) {
    try {
      if (lstatSync(realpathSync(path)).isDirectory()) return 'kept';
    } catch {
      // dangling link: replaced below
    }
  }
  unlinkSync(path);
  return 'missing';
}

/** Streams one large entry to disk, counting bytes and CRC as they come out of zlib. */
function inflateToFile(
  compressed: Buffer,
  path: string,
  mode: number,
  declared: number,
  expectedCrc: number,
  name: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(path, 'wx', mode);
    const inflater = createInflateRaw();
    let written = 0;
    let crc = 0;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      inflater.destroy();
      closeSync(fd);
      reject(err);
    };
    inflater.on('data', (chunk: Buffer) => {
      written += chunk.length;
      if (written > declared) {
        fail(
          new InvalidZipFileError(
            'SizeMismatch',
            `Entry '${name}' inflates past its declared ${declared} bytes`,
            name,
          ),
        );
        return;
      }
      crc = crc32(chunk, crc);
      writeSync(fd, chunk);
    });
    inflater.on('error', (err) => fail(corrupt(`entry '${name}': ${err.message}`, name)));
    inflater.on('end', () => {
      if (failed) return;
      if (written !== declared) {
        return fail(
          new InvalidZipFileError(
            'SizeMismatch',
            `Entry '${name}' holds fewer bytes than its declared ${declared}`,
            name,
          ),
        );
      }
      if (crc !== expectedCrc) return fail(corrupt(`CRC mismatch in entry '${name}'`, name));
      closeSync(fd);
      resolve();
    });
    inflater.end(compressed);
  });
}

/**
 * Writes a validated plan under `targetDir`. Files already there (an earlier layer's) are
 * replaced. Everything created is recorded in `journal` so the caller can undo on failure.
 */
export async function extractZip(
  archive: ZipArchive,
  plan: readonly PlannedEntry[],
  targetDir: string,
  journal: ExtractionJournal = { created: [] },
): Promise<void> {
  const tree = new SafeTree(targetDir, journal);
  // Symlinks last: nothing in the plan lives under one, so order only matters for readability.
  const ordered = [...plan.filter((e) => e.kind !== 'symlink'), ...plan.filter((e) => e.kind === 'symlink')];
  for (const entry of ordered) await tree.write(entry, archive);
}
