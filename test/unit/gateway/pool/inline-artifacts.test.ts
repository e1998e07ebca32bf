// Small zips fetched once from the store (by sha256) and sent inline; anything else left for
// the agent to fetch.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InlineArtifacts } from '../../../../operator/src/gateway/pool/inline-artifacts.js';
import { type FunctionConfig, MAX_INLINE_ARTIFACT_BYTES } from '../../../../operator/src/protocol/index.js';
import { createLogger } from '../../../../operator/src/shared/log.js';

const log = createLogger({}, 'error');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('InlineArtifacts', () => {
  const blobs = new Map<string, Buffer>();
  const requests = new Map<string, number>();
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => {
      const digest = (req.url ?? '').split('/').pop() ?? '';
      requests.set(digest, (requests.get(digest) ?? 0) + 1);
      const blob = blobs.get(digest);
      if (!blob) res.writeHead(404).end();
      // no Content-Length: the size limit must hold while reading too
      else res.writeHead(200).end(blob);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/blobs/sha256`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const put = (bytes: Buffer, servedAs = bytes) => {
    const digest = sha256(bytes);
    blobs.set(digest, servedAs);
    return { url: `${base}/${digest}`, sha256: digest };
  };
  const config = (code: FunctionConfig['code'], layers: FunctionConfig['layers'] = []) =>
    ({ functionName: 'f', code, layers }) as FunctionConfig;

  it('sends a small zip inline, fetching it from the store once for many cold starts', async () => {
    const inline = new InlineArtifacts(log);
    const zip = Buffer.from('small zip bytes');
    const ref = put(zip);
    const results = await Promise.all([1, 2, 3].map(() => inline.withInline(config(ref))));
    results.push(await inline.withInline(config(ref)));
    for (const out of results) assert.equal(out.code?.inline, zip.toString('base64'));
    assert.equal(requests.get(ref.sha256), 1);
    await inline.close();
  });

  it('inlines small layers too, in order, beside a code zip that is too large', async () => {
    const inline = new InlineArtifacts(log);
    const big = put(Buffer.alloc(MAX_INLINE_ARTIFACT_BYTES + 1, 7));
    const layer = put(Buffer.from('layer'));
    const out = await inline.withInline(config(big, [layer]));
    assert.equal(out.code?.inline, undefined);
    assert.equal(out.layers[0]?.inline, Buffer.from('layer').toString('base64'));
    // too large is remembered: content addressed, it can never become small
    await inline.withInline(config(big));
    assert.equal(requests.get(big.sha256), 1);
    await inline.close();
  });

  it('leaves a zip the store serves with another digest, or does not have, to the agent', async () => {
    const inline = new InlineArtifacts(log);
    const lying = put(Buffer.from('pinned'), Buffer.from('something else'));
    const missing = { url: `${base}/${'e'.repeat(64)}`, sha256: 'e'.repeat(64) };
    const out = await inline.withInline(config(lying, [missing]));
    assert.equal(out.code?.inline, undefined);
    assert.equal(out.layers[0]?.inline, undefined);
    await inline.close();
  });

  it('leaves a zip it cannot fetch in time to the agent', async () => {
    const inline = new InlineArtifacts(log, { fetchTimeoutMs: 200 });
    const ref = { url: 'http://127.0.0.1:9/blobs/sha256/' + 'a'.repeat(64), sha256: 'a'.repeat(64) };
    const out = await inline.withInline(config(ref));
    assert.deepEqual(out.code, ref);
    await inline.close();
  });

  it('keeps at most its cache size, dropping the least recently used zip', async () => {
    const one = Buffer.alloc(3000, 1);
    const inline = new InlineArtifacts(log, { cacheBytes: 2 * one.toString('base64').length });
    const [a, b, c] = [1, 2, 3].map((n) => put(Buffer.alloc(3000, n)));
    for (const ref of [a, b, a, c, a, b]) await inline.withInline(config(ref!));
    // a was used again before c came, so b went; b is fetched again
    assert.deepEqual(
      [a, b, c].map((r) => requests.get(r!.sha256)),
      [1, 2, 1],
    );
    await inline.close();
  });
});
