import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BlobStore, sha256Of } from '../../../operator/src/store/blob-store.js';
import { buildStoreServer } from '../../../operator/src/store/server.js';
import { helloZip, rawZip, traversalZip } from './zips.js';

describe('store HTTP server', () => {
  let dir: string;
  let app: FastifyInstance;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lamina-store-http-'));
    const store = new BlobStore({ directory: dir, maxZipBytes: 2048, maxUnzippedBytes: 10_000 });
    app = buildStoreServer({ store, maxZipBytes: 2048 });
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (payload: Buffer, url = '/blobs', method: 'POST' | 'PUT' = 'POST') =>
    app.inject({ method, url, payload, headers: { 'content-type': 'application/zip' } });

  it('POST /blobs stores a zip and answers its digest and sizes', async () => {
    const zip = helloZip();
    const res = await post(zip);
    assert.equal(res.statusCode, 201);
    assert.deepEqual(res.json(), { sha256: sha256Of(zip), size: zip.length, unzippedSize: 35 });
    assert.equal((await post(zip)).statusCode, 200);
  });

  it('accepts a body with no content type (curl --data-binary)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/blobs',
      payload: rawZip([{ name: 'n', data: 'n' }]),
    });
    assert.equal(res.statusCode, 201, res.body);
  });

  it('PUT /blobs/sha256/<hex> checks the bytes against the path', async () => {
    const zip = rawZip([{ name: 'p.js', data: 'p' }]);
    assert.equal((await post(zip, `/blobs/sha256/${sha256Of(zip)}`, 'PUT')).statusCode, 201);
    const wrong = await post(zip, `/blobs/sha256/${'0'.repeat(64)}`, 'PUT');
    assert.equal(wrong.statusCode, 400);
    assert.equal(wrong.json().errorType, 'CodeVerificationFailedException');
  });

  it('GET and HEAD serve a stored zip with its facts', async () => {
    const zip = helloZip();
    const sha = sha256Of(zip);
    const get = await app.inject({ method: 'GET', url: `/blobs/sha256/${sha}` });
    assert.equal(get.statusCode, 200);
    assert.deepEqual(get.rawPayload, zip);
    assert.equal(get.headers['content-type'], 'application/zip');
    const head = await app.inject({ method: 'HEAD', url: `/blobs/sha256/${sha}` });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(zip.length));
    assert.equal(head.headers['x-lamina-unzipped-size'], '35');
  });

  it('answers 404 for an unknown digest and 400 for a malformed one', async () => {
    const missing = await app.inject({ method: 'GET', url: `/blobs/sha256/${'e'.repeat(64)}` });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().errorType, 'ResourceNotFoundException');
    assert.equal(
      (await app.inject({ method: 'HEAD', url: `/blobs/sha256/${'e'.repeat(64)}` })).statusCode,
      404,
    );
    assert.equal((await app.inject({ method: 'GET', url: '/blobs/sha256/xyz' })).statusCode, 400);
  });

  it('refuses a hostile zip at upload with a typed error', async () => {
    const res = await post(traversalZip());
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errorType, 'InvalidZipFileException');
    assert.equal(res.json().reason, 'PathTraversal');
  });

  it('answers 413 for a zip over the size limit', async () => {
    const res = await post(rawZip([{ name: 'big', data: 'x'.repeat(4096) }]));
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().errorType, 'RequestEntityTooLargeException');
  });
});
