import AdmZip from 'adm-zip';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  extractZip,
  InvalidZipFileError,
  openZip,
  undoExtraction,
  validateZipEntries,
  type ExtractionJournal,
  type ZipEntryInfo,
  type ZipLimits,
} from '../../../runtime-image/agent/src/zip.js';

const limits: ZipLimits = { maxEntries: 10, maxUnzippedBytes: 1000 };

const file = (name: string, size = 10, extra: Partial<ZipEntryInfo> = {}): ZipEntryInfo => ({
  name,
  kind: 'file',
  uncompressedSize: size,
  compressedSize: size,
  method: 8,
  encrypted: false,
  mode: 0o644,
  ...extra,
});
const dir = (name: string): ZipEntryInfo => file(name, 0, { kind: 'directory', method: 0 });
const link = (name: string, target: string): ZipEntryInfo =>
  file(name, target.length, { kind: 'symlink', linkTarget: target });

function rejection(entries: ZipEntryInfo[], custom: ZipLimits = limits): InvalidZipFileError {
  const result = validateZipEntries(entries, custom);
  assert.equal(result.ok, false, 'expected the archive to be refused');
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.error.errorType, 'InvalidZipFileException');
  return result.error;
}

describe('validateZipEntries (pure)', () => {
  test('plans a normal archive: normalised paths, sizes, executable bits', () => {
    const result = validateZipEntries(
      [
        dir('src/'),
        file('src/./index.js', 100),
        file('bootstrap', 50, { mode: 0o755 }),
        dir('./'),
        link('lib.so', 'lib.so.1'),
      ],
      limits,
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.entries.map((e) => [e.path, e.kind, e.size, e.executable]),
      [
        ['src', 'directory', 0, false],
        ['src/index.js', 'file', 100, false],
        ['bootstrap', 'file', 50, true],
        ['lib.so', 'symlink', 8, false],
      ],
    );
    assert.equal(result.totalBytes, 158);
  });

  test('refuses path traversal, also with backslashes', () => {
    assert.equal(rejection([file('../evil')]).reason, 'PathTraversal');
    assert.equal(rejection([file('a/../../evil')]).reason, 'PathTraversal');
    assert.equal(rejection([file('a\\..\\..\\evil')]).reason, 'PathTraversal');
  });

  test('refuses absolute paths (POSIX and drive letters)', () => {
    assert.equal(rejection([file('/etc/passwd')]).reason, 'AbsolutePath');
    assert.equal(rejection([file('\\windows\\x')]).reason, 'AbsolutePath');
    assert.equal(rejection([file('C:/x')]).reason, 'AbsolutePath');
  });

  test('refuses NUL bytes, over-long segments and empty file names', () => {
    assert.equal(rejection([file('a\0b')]).reason, 'InvalidEntryName');
    assert.equal(rejection([file(`${'x'.repeat(256)}.js`)]).reason, 'InvalidEntryName');
    assert.equal(rejection([file('./')]).reason, 'InvalidEntryName');
  });

  test('refuses duplicates after normalisation and file/directory clashes', () => {
    assert.equal(rejection([file('a.js'), file('./a.js')]).reason, 'DuplicateEntry');
    assert.equal(rejection([file('a/b.js'), file('a//b.js')]).reason, 'DuplicateEntry');
    assert.equal(rejection([file('a'), file('a/b.js')]).reason, 'DuplicateEntry');
  });

  test('allows symlinks that stay inside the tree', () => {
    const result = validateZipEntries(
      [file('node_modules/x/cli.js'), link('node_modules/.bin/x', '../x/cli.js'), link('here', '.')],
      limits,
    );
    assert.ok(result.ok);
  });

  test('refuses symlinks that leave the tree, are absolute, chain, or contain entries', () => {
    assert.match(rejection([link('l', '../outside')]).message, /points outside/);
    assert.equal(rejection([link('a/l', '../../outside')]).reason, 'UnsafeSymlink');
    assert.equal(rejection([link('l', '/etc')]).reason, 'UnsafeSymlink');
    assert.equal(rejection([link('l', '')]).reason, 'UnsafeSymlink');
    assert.match(rejection([link('a', 'b'), link('c', 'a/x')]).message, /resolves through symlink 'a'/);
    assert.match(rejection([link('d', '.'), file('d/x.js')]).message, /lies inside symlink 'd'/);
  });

  test('refuses too many entries', () => {
    const entries = Array.from({ length: 11 }, (_, i) => file(`f${i}`, 1));
    const error = rejection(entries);
    assert.equal(error.reason, 'TooManyEntries');
    assert.match(error.message, /11 entries; the limit is 10/);
  });

  test('refuses declared sizes over the budget, counting what earlier archives used', () => {
    assert.equal(
      rejection([file('a', 600), file('b', 401)]).message,
      'Unzipped size must be smaller than 1000 bytes',
    );
    assert.equal(rejection([file('a', 200)], { ...limits, usedBytes: 900 }).reason, 'UnzippedSizeTooLarge');
    assert.equal(rejection([file('a', Number.MAX_SAFE_INTEGER + 2)]).reason, 'CorruptArchive');
  });

  test('refuses encrypted entries, unknown compression and special files', () => {
    assert.equal(rejection([file('a', 1, { encrypted: true })]).reason, 'UnsupportedEntry');
    assert.match(rejection([file('a', 1, { method: 12 })]).message, /compression method 12/);
    assert.equal(rejection([file('fifo', 0, { kind: 'special' })]).reason, 'UnsupportedEntry');
  });
});

describe('openZip and extractZip', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'lamina-zip-test-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  let n = 0;
  const freshDir = () => join(scratch, `t${++n}`);

  function build(add: (zip: AdmZip) => void): Buffer {
    const zip = new AdmZip();
    add(zip);
    return zip.toBuffer();
  }

  async function extract(bytes: Buffer, target: string, journal?: ExtractionJournal) {
    const archive = openZip(bytes);
    const result = validateZipEntries(archive.entries, {
      maxEntries: 100,
      maxUnzippedBytes: 100 * 1024 * 1024,
    });
    if (!result.ok) throw result.error;
    await extractZip(archive, result.entries, target, journal);
  }

  test('extracts files, directories, modes and symlinks', async () => {
    const target = freshDir();
    const bytes = build((zip) => {
      zip.addFile('src/', Buffer.alloc(0));
      zip.addFile('src/index.js', Buffer.from('module.exports = 1;'));
      zip.addFile('bootstrap', Buffer.from('#!/bin/sh\n'), '', 0o755);
      zip.addFile('lib.so', Buffer.from('lib.so.1')).attr = (0o120777 << 16) >>> 0;
    });
    const archive = openZip(bytes);
    assert.deepEqual(archive.entries.map((e) => [e.name, e.kind]).sort(), [
      ['bootstrap', 'file'],
      ['lib.so', 'symlink'],
      ['src/', 'directory'],
      ['src/index.js', 'file'],
    ]);
    assert.equal(archive.entries.find((e) => e.name === 'lib.so')?.linkTarget, 'lib.so.1');
    await extract(bytes, target);
    assert.equal(readFileSync(join(target, 'src/index.js'), 'utf8'), 'module.exports = 1;');
    assert.equal(statSync(join(target, 'bootstrap')).mode & 0o777, 0o755);
    assert.equal(statSync(join(target, 'src/index.js')).mode & 0o777, 0o644);
    assert.equal(readlinkSync(join(target, 'lib.so')), 'lib.so.1');
  });

  test('a later archive overrides files of an earlier one and merges directories', async () => {
    const target = freshDir();
    await extract(
      build(
        (z) => (z.addFile('python/a.py', Buffer.from('A1')), z.addFile('python/b.py', Buffer.from('B1'))),
      ),
      target,
    );
    await extract(
      build((z) => z.addFile('python/a.py', Buffer.from('A2'))),
      target,
    );
    assert.equal(readFileSync(join(target, 'python/a.py'), 'utf8'), 'A2');
    assert.equal(readFileSync(join(target, 'python/b.py'), 'utf8'), 'B1');
  });

  test('refuses garbage as a corrupt archive', () => {
    assert.throws(
      () => openZip(Buffer.from('definitely not a zip file')),
      (err: InvalidZipFileError) => err.reason === 'CorruptArchive',
    );
    const truncated = build((z) => z.addFile('a.txt', Buffer.alloc(1000, 7))).subarray(0, 60);
    assert.throws(() => openZip(truncated), InvalidZipFileError);
  });

  test('counts inflated bytes: a header that understates the size is refused, small or streamed', async () => {
    for (const size of [64 * 1024, 3 * 1024 * 1024]) {
      const honest = build((z) => z.addFile('bomb.bin', Buffer.alloc(size, 0)));
      const lying = Buffer.from(honest);
      for (let i = 0; i + 4 <= lying.length; i++) {
        if (lying.readUInt32LE(i) === 0x04034b50) lying.writeUInt32LE(size / 2, i + 22);
        if (lying.readUInt32LE(i) === 0x02014b50) lying.writeUInt32LE(size / 2, i + 24);
      }
      const target = freshDir();
      await assert.rejects(
        extract(lying, target),
        (err: InvalidZipFileError) => err.reason === 'SizeMismatch',
      );
    }
  });

  test('refuses a header that overstates the size', async () => {
    const honest = build((z) => z.addFile('short.bin', Buffer.alloc(1000, 3)));
    const lying = Buffer.from(honest);
    for (let i = 0; i + 4 <= lying.length; i++) {
      if (lying.readUInt32LE(i) === 0x04034b50) lying.writeUInt32LE(2000, i + 22);
      if (lying.readUInt32LE(i) === 0x02014b50) lying.writeUInt32LE(2000, i + 24);
    }
    await assert.rejects(extract(lying, freshDir()), /holds fewer bytes than its declared 2000/);
  });

  test('verifies the CRC of what it inflates', async () => {
    const bytes = build((z) => z.addFile('a.txt', Buffer.from('hello hello hello')));
    const broken = Buffer.from(bytes);
    for (let i = 0; i + 4 <= broken.length; i++) {
      if (broken.readUInt32LE(i) === 0x04034b50) broken.writeUInt32LE(0xdeadbeef, i + 14);
      if (broken.readUInt32LE(i) === 0x02014b50) broken.writeUInt32LE(0xdeadbeef, i + 16);
    }
    await assert.rejects(extract(broken, freshDir()), /CRC mismatch/);
  });

  test('never writes through a symlink already on disk that points outside', async () => {
    const target = freshDir();
    const outside = freshDir();
    mkdirSync(target, { recursive: true });
    mkdirSync(outside, { recursive: true });
    symlinkSync(outside, join(target, 'python'));
    await assert.rejects(
      extract(
        build((z) => z.addFile('python/evil.py', Buffer.from('x'))),
        target,
      ),
      (err: InvalidZipFileError) => err.reason === 'UnsafeSymlink',
    );
    assert.ok(!existsSync(join(outside, 'evil.py')));
  });

  test('replaces a symlink from an earlier layer instead of writing through it', async () => {
    const target = freshDir();
    const outsideDir = freshDir();
    mkdirSync(target, { recursive: true });
    mkdirSync(outsideDir, { recursive: true });
    const outsideFile = join(outsideDir, 'victim.txt');
    writeFileSync(outsideFile, 'untouched');
    symlinkSync(outsideFile, join(target, 'x'));
    await extract(
      build((z) => z.addFile('x', Buffer.from('new content'))),
      target,
    );
    assert.equal(readFileSync(outsideFile, 'utf8'), 'untouched');
    assert.ok(!lstatSync(join(target, 'x')).isSymbolicLink());
    assert.equal(readFileSync(join(target, 'x'), 'utf8'), 'new content');
  });

  test('undoExtraction removes everything an extraction created', async () => {
    const target = freshDir();
    const journal: ExtractionJournal = { created: [] };
    await extract(
      build((z) => (z.addFile('a/b/c.txt', Buffer.from('c')), z.addFile('d.txt', Buffer.from('d')))),
      target,
      journal,
    );
    assert.ok(existsSync(join(target, 'a/b/c.txt')));
    undoExtraction(journal);
    assert.ok(!existsSync(join(target, 'a')));
    assert.ok(!existsSync(join(target, 'd.txt')));
  });
});
