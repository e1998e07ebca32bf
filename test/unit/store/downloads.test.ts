// The store's signed, expiring download route (GetFunction's Code.Location when the store is
// reachable by clients): served for a genuine URL until it expires, refused otherwise, and
// absent when no key is configured.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore, sha256Of } from '../../../operator/src/store/blob-store.js';
import { signDownloadUrl } from '../../../operator/src/store/download-url.js';
import { buildStoreServer } from '../../../operator/src/store/server.js';
import { helloZip } from './zips.js';

describe('store signed downloads', () => {
  const key = 'k'.repeat(40);
  let dir: string;
  let store: BlobStore;
  let now = 1_000_000;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lamina-store-dl-'));
    store = new BlobStore({ directory: dir, maxZipBytes: 4096, maxUnzippedBytes: 10_000 });
    await store.put(helloZip());
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const path = (url: string) => url.replace('http://store', '');

  it('serves the zip for a genuine URL until it expires', async () => {
    const app = buildStoreServer({ store, maxZipBytes: 4096, downloadKey: key, now: () => now });
    const sha = sha256Of(helloZip());
    const url = path(signDownloadUrl('http://store', key, sha, now, 60));
    const ok = await app.inject({ method: 'GET', url });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['content-type'], 'application/zip');
    assert.deepEqual(ok.rawPayload, helloZip());
    now += 61_000;
    const expired = await app.inject({ method: 'GET', url });
    assert.equal(expired.statusCode, 403);
    assert.match(expired.json<{ errorMessage: string }>().errorMessage, /expired/);
    await app.close();
  });

  it('refuses a URL signed with another key', async () => {
    const app = buildStoreServer({ store, maxZipBytes: 4096, downloadKey: key, now: () => now });
    const url = path(signDownloadUrl('http://store', 'x'.repeat(40), sha256Of(helloZip()), now, 60));
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 403);
    await app.close();
  });

  it('has no download route without a key', async () => {
    const app = buildStoreServer({ store, maxZipBytes: 4096 });
    const url = path(signDownloadUrl('http://store', key, sha256Of(helloZip()), now, 60));
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404);
    await app.close();
  });
});
