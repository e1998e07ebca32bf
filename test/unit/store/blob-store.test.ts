import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore, sha256Of } from '../../../operator/src/store/blob-store.js';
import { StoreError } from '../../../operator/src/store/errors.js';
import { ManualClock } from '../../../operator/src/shared/clock.js';
import { helloZip, rawZip, symlinkOutZip, traversalZip } from './zips.js';

const typeOf = (err: unknown) =>
  err instanceof StoreError ? `${err.errorType}/${err.reason ?? ''}` : String(err);

describe('BlobStore', () => {
  let dir: string;
  let store: BlobStore;
  const clock = new ManualClock(1_000_000);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lamina-store-'));
    store = new BlobStore({ directory: dir, maxZipBytes: 4096, maxUnzippedBytes: 1000, clock });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stores a zip under its sha256 and gives back the same bytes', async () => {
    const zip = helloZip();
    const put = await store.put(zip);
    assert.equal(put.sha256, sha256Of(zip));
    assert.equal(put.created, true);
    assert.equal(put.size, zip.length);
    assert.equal(put.unzippedSize, 35);
    assert.deepEqual(await store.get(put.sha256), zip);
    assert.deepEqual(await store.stat(put.sha256), {
      sha256: put.sha256,
      size: zip.length,
      unzippedSize: 35,
      storedAt: 1_000_000,
    });
  });

  it('reports an existing blob as not created, and restarts its grace period', async () => {
    clock.advance(5000);
    const again = await store.put(helloZip());
    assert.equal(again.created, false);
    assert.equal((await store.stat(again.sha256))?.storedAt, 1_005_000);
  });

  it('refuses bytes that do not hash to the announced digest', async () => {
    await assert.rejects(
      store.put(helloZip(), 'f'.repeat(64)),
      (err) => typeOf(err) === 'CodeVerificationFailedException/',
    );
  });

  it('refuses hostile zips with a typed reason, writing nothing', async () => {
    const before = await readdir(join(dir, 'blobs', 'sha256'));
    await assert.rejects(
      store.put(traversalZip()),
      (err) => typeOf(err) === 'InvalidZipFileException/PathTraversal',
    );
    await assert.rejects(
      store.put(symlinkOutZip()),
      (err) => typeOf(err) === 'InvalidZipFileException/UnsafeSymlink',
    );
    await assert.rejects(
      store.put(Buffer.from('not a zip')),
      (err) => typeOf(err) === 'InvalidZipFileException/CorruptArchive',
    );
    await assert.rejects(
      store.put(rawZip([{ name: 'big', data: 'x'.repeat(1001) }])),
      (err) => typeOf(err) === 'InvalidZipFileException/UnzippedSizeTooLarge',
    );
    assert.deepEqual(await readdir(join(dir, 'blobs', 'sha256')), before);
  });

  it('refuses a zip over the size limit', async () => {
    const big = rawZip([{ name: 'a', data: 'x'.repeat(5000) }]);
    await assert.rejects(store.put(big), (err) => typeOf(err) === 'RequestEntityTooLargeException/');
  });

  it('never serves a file that no longer matches its digest, and quarantines it', async () => {
    const zip = rawZip([{ name: 'c.js', data: 'corrupt me' }]);
    const { sha256 } = await store.put(zip);
    const corrupted = Buffer.from(zip);
    const at = corrupted.length - 30;
    corrupted[at] = (corrupted[at] ?? 0) ^ 0xff;
    await writeFile(join(dir, 'blobs', 'sha256', sha256), corrupted);
    await assert.rejects(store.get(sha256), (err) => typeOf(err) === 'Lamina.CorruptBlob/');
    assert.equal(await store.stat(sha256), undefined);
    assert.equal((await readdir(join(dir, 'quarantine'))).length, 1);
  });

  it('lists and deletes blobs', async () => {
    const { sha256 } = await store.put(rawZip([{ name: 'd.js', data: 'd' }]));
    assert.ok((await store.list()).some((b) => b.sha256 === sha256));
    assert.equal(await store.delete(sha256), true);
    assert.equal(await store.delete(sha256), false);
    assert.equal(await store.stat(sha256), undefined);
  });

  it('rejects a malformed digest instead of touching the filesystem', async () => {
    await assert.rejects(store.get('../../etc/passwd'), (err) => typeOf(err) === 'ValidationException/');
  });
});
