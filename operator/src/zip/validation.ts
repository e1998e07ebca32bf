// Pure validation of a zip's entry table: entries in, extraction plan or typed refusal out.
// No I/O, so the operator validates uploads with exactly the rules the agent extracts with.
//
// Symlink rule: a symlink entry is allowed only if its target is relative, resolves lexically
// inside the extraction root, and does not pass through another symlink of the same archive;
// no entry may sit below a symlink of the same archive. That keeps the common cases
// (`libfoo.so -> libfoo.so.1`, `node_modules/.bin/x -> ../x/cli.js`) and refuses the rest.
import { posix } from 'node:path';
import { AGENT_ERROR_TYPES, AgentError, MAX_UNZIPPED_BYTES } from '../protocol/index.js';

export { MAX_UNZIPPED_BYTES };
/** Lambda states no entry-count limit; this bounds inode and metadata work per archive. */
export const MAX_ZIP_ENTRIES = 100_000;
export const MAX_SYMLINK_TARGET_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

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
    super(AGENT_ERROR_TYPES.invalidZipFile, message, 400);
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
