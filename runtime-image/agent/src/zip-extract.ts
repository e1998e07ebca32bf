// Writing a validated plan to disk without ever leaving the target directory: every parent
// is created one component at a time and must resolve inside the target (a symlink left by
// an earlier layer cannot redirect a write), existing entries are replaced without being
// followed, and inflated bytes are counted against each entry's declared size.
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
import { createInflateRaw } from 'node:zlib';
import { crc32 } from './crc32.js';
import {
  corrupt,
  inflateBounded,
  InvalidZipFileError,
  type PlannedEntry,
  type ZipArchive,
} from '../../../operator/src/zip/index.js';

/** Entries above this size are inflated as a stream instead of into one buffer. */
const STREAM_THRESHOLD_BYTES = 1 << 20;

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
