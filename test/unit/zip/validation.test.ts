// The zip rules of operator/src/zip (the artifact store checks every upload with them; the
// agent's Go validation takes their limits through protocol_gen.go): reading and the pure
// validation that turns entries into an extraction plan or a typed refusal.
import AdmZip from 'adm-zip';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  InvalidZipFileError,
  openZip,
  validateZipEntries,
  type ZipEntryInfo,
  type ZipLimits,
} from '../../../operator/src/zip/index.js';

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

describe('openZip', () => {
  test('reads entries, kinds and symlink targets', () => {
    const zip = new AdmZip();
    zip.addFile('src/', Buffer.alloc(0));
    zip.addFile('src/index.js', Buffer.from('module.exports = 1;'));
    zip.addFile('lib.so', Buffer.from('lib.so.1')).attr = (0o120777 << 16) >>> 0;
    const archive = openZip(zip.toBuffer());
    assert.deepEqual(archive.entries.map((e) => [e.name, e.kind]).sort(), [
      ['lib.so', 'symlink'],
      ['src/', 'directory'],
      ['src/index.js', 'file'],
    ]);
    assert.equal(archive.entries.find((e) => e.name === 'lib.so')?.linkTarget, 'lib.so.1');
  });

  test('refuses garbage as a corrupt archive', () => {
    assert.throws(
      () => openZip(Buffer.from('definitely not a zip file')),
      (err: InvalidZipFileError) => err.reason === 'CorruptArchive',
    );
    const zip = new AdmZip();
    zip.addFile('a.txt', Buffer.alloc(1000, 7));
    assert.throws(() => openZip(zip.toBuffer().subarray(0, 60)), InvalidZipFileError);
  });
});
