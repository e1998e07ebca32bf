// The artifact store as a real HTTP service, and `lamina push` against it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { StoreClient, blobUrl } from '../../../operator/src/store/client.js';
import { startStore, type RunningStore } from '../../../operator/src/store/run.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { helloZip, rawZip, symlinkOutZip } from '../../unit/store/zips.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function lamina(...args: string[]) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'operator/src/bin/lamina.ts', ...args],
      {
        cwd: repoRoot,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('artifact store over HTTP', () => {
  let store: RunningStore;
  let client: StoreClient;
  const dir = mkdtempSync(join(tmpdir(), 'lamina-store-it-'));

  before(async () => {
    store = await startStore(
      {
        directory: join(dir, 'data'),
        host: '127.0.0.1',
        port: 0,
        maxZipBytes: 64 * 1024,
        maxUnzippedBytes: 1 << 20,
      },
      createLogger({}, 'error'),
    );
    client = new StoreClient(store.url);
  });
  after(() => store?.close());

  it('round-trips a zip through POST, HEAD and GET with the digest checked', async () => {
    const zip = helloZip();
    const put = await client.put(zip);
    assert.equal(put.sha256, sha(zip));
    assert.equal(put.created, true);
    const stat = await client.stat(put.sha256);
    assert.equal(stat?.size, zip.length);
    assert.equal(stat?.unzippedSize, put.unzippedSize);
    assert.deepEqual(await client.get(put.sha256), zip);
    const response = await fetch(blobUrl(store.url, put.sha256));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/zip');
  });

  it('`lamina push` prints the digest', async () => {
    const zip = rawZip([{ name: 'index.py', data: 'def handler(e, c): return 1' }]);
    const file = join(dir, 'fn.zip');
    writeFileSync(file, zip);
    const result = await lamina('push', file, '--store', store.url);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), sha(zip));
    assert.ok(await client.stat(sha(zip)));
  });

  it('`lamina push` of a hostile zip fails with the typed error and stores nothing', async () => {
    const file = join(dir, 'evil.zip');
    writeFileSync(file, symlinkOutZip());
    const result = await lamina('push', file, '--store', store.url);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /InvalidZipFileException \(UnsafeSymlink\)/);
    assert.equal(await client.stat(sha(symlinkOutZip())), undefined);
  });

  it('`lamina push` of an oversized zip gets 413', async () => {
    const file = join(dir, 'big.zip');
    writeFileSync(file, rawZip([{ name: 'a', data: 'x'.repeat(70 * 1024) }]));
    const result = await lamina('push', file, '--store', store.url);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /RequestEntityTooLargeException/);
  });

  it('`lamina` with no arguments prints usage and exits 2', async () => {
    const result = await lamina();
    assert.equal(result.code, 2);
    assert.match(result.stdout, /usage: lamina push/);
  });
});
