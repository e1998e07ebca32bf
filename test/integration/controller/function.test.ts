// The Function reconciler against a real API server: code resolved into the store, revision
// ids, state and conditions a user can act on, events, and the limits only the operator can check
// (code and layers unzipped).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { zipInlineFiles } from '../../../operator/src/store/deterministic-zip.js';
import { StoreClient } from '../../../operator/src/store/client.js';
import { rawZip, traversalZip } from '../../unit/store/zips.js';
import { eventsFor, eventually, fnObject, setUp, waitForFunction, type Environment } from './fixtures.js';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('Function reconciler', () => {
  let env: Environment;
  let server: Server;
  let serverUrl: string;
  const hits = new Map<string, number>();
  const files = new Map<string, Buffer>();

  before(async () => {
    env = await setUp('op-fn', 1, { env: { LAMINA_MAX_UNZIPPED_BYTES: '20000' } });
    server = createServer((req, res) => {
      hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
      const body = files.get(req.url ?? '');
      if (!body) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/zip' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    serverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    server?.close();
    await env?.dispose();
  });

  it('zips inline code deterministically, stores it and becomes Active', async () => {
    const inline = { 'index.js': 'exports.handler = async () => 1;', 'lib/a.js': 'x' };
    await env.api.functions.create(env.ns, fnObject('inline', { code: { inline } }));
    const fn = await waitForFunction(env.api, env.ns, 'inline', 'Active');
    assert.equal(fn.status?.codeSha256, sha(zipInlineFiles(inline)));
    assert.equal(fn.status?.lastUpdateStatus, 'Successful');
    assert.match(
      fn.status?.revisionId ?? '',
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    const ready = fn.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    assert.deepEqual(fn.status?.conditions?.map((c) => `${c.type}=${c.status}`).sort(), [
      'CodeResolved=True',
      'LayersResolved=True',
      'Ready=True',
    ]);
    assert.ok(await env.operator.store.stat(fn.status?.codeSha256 ?? ''), 'the zip is in the store');
    const events = await eventually(async () => {
      const list = await eventsFor(env.kc, env.ns, 'inline');
      assert.ok(
        list.some((e) => e.reason === 'Active'),
        JSON.stringify(list),
      );
      return list;
    });
    assert.equal(events.find((e) => e.reason === 'Active')?.type, 'Normal');
  });

  it('changes the revision id when configuration changes, and only then', async () => {
    const before = await waitForFunction(env.api, env.ns, 'inline', 'Active');
    await env.api.functions.patch(env.ns, 'inline', { metadata: { labels: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 500));
    const same = await waitForFunction(env.api, env.ns, 'inline', 'Active');
    assert.equal(same.status?.revisionId, before.status?.revisionId);
    await env.api.functions.patch(env.ns, 'inline', { spec: { memorySize: 256 } });
    const after = await eventually(async () => {
      const fn = await waitForFunction(env.api, env.ns, 'inline', 'Active');
      assert.notEqual(fn.status?.revisionId, before.status?.revisionId);
      return fn;
    });
    assert.equal(after.status?.codeSha256, before.status?.codeSha256);
  });

  it('keeps a failure short in status: the echoed URL is cut, the reason stays readable', async () => {
    const longUrl = `${serverUrl}/missing/${'p'.repeat(1900)}.zip`;
    await env.api.functions.create(env.ns, fnObject('longurl', { code: { zipUrl: longUrl } }));
    const fn = await waitForFunction(env.api, env.ns, 'longurl', 'Failed');
    const reason = fn.status?.stateReason ?? '';
    assert.match(reason, /^Could not fetch http:\/\/127\.0\.0\.1:\d+\/missing\/p+…: HTTP 404$/);
    assert.ok(reason.length <= 256, `${reason.length} characters`);
    const ready = fn.status?.conditions?.find((c) => c.type === 'CodeResolved');
    assert.ok((ready?.message ?? '').length <= 256);
    await eventually(async () => {
      const events = await eventsFor(env.kc, env.ns, 'longurl');
      assert.ok(
        events.some((e) => e.type === 'Warning' && e.message !== undefined && e.message.length <= 256),
      );
    });
  });

  it('fetches a zipUrl once, checks it against sha256, and does not fetch it again', async () => {
    const zip = rawZip([{ name: 'index.js', data: 'exports.handler = async () => "url";' }]);
    files.set('/code.zip', zip);
    await env.api.functions.create(
      env.ns,
      fnObject('fromurl', { code: { zipUrl: `${serverUrl}/code.zip` } }),
    );
    const fn = await waitForFunction(env.api, env.ns, 'fromurl', 'Active');
    assert.equal(fn.status?.codeSha256, sha(zip));
    await env.api.functions.patch(env.ns, 'fromurl', { spec: { timeout: 10 } });
    await eventually(async () => {
      const updated = await waitForFunction(env.api, env.ns, 'fromurl', 'Active');
      assert.notEqual(updated.status?.revisionId, fn.status?.revisionId);
    });
    assert.equal(hits.get('/code.zip'), 1, 'fetched exactly once');
  });

  it('refuses a zipUrl whose bytes do not match spec.code.sha256', async () => {
    files.set('/other.zip', rawZip([{ name: 'index.js', data: 'other' }]));
    await env.api.functions.create(
      env.ns,
      fnObject('badsha', { code: { zipUrl: `${serverUrl}/other.zip`, sha256: 'a'.repeat(64) } }),
    );
    const fn = await waitForFunction(env.api, env.ns, 'badsha', 'Failed');
    assert.equal(fn.status?.stateReasonCode, 'CodeVerificationFailedException');
    assert.equal(fn.status?.conditions?.find((c) => c.type === 'CodeResolved')?.status, 'False');
  });

  it('refuses a hostile zip with InvalidZipFileException', async () => {
    files.set('/evil.zip', traversalZip());
    await env.api.functions.create(env.ns, fnObject('evil', { code: { zipUrl: `${serverUrl}/evil.zip` } }));
    const fn = await waitForFunction(env.api, env.ns, 'evil', 'Failed');
    assert.equal(fn.status?.stateReasonCode, 'InvalidZipFileException');
    assert.match(fn.status?.stateReason ?? '', /escapes the extraction directory/);
  });

  it('waits for a sha256 that is not in the store yet, and turns Active once it is pushed', async () => {
    const zip = rawZip([{ name: 'index.js', data: 'exports.handler = async () => "pushed";' }]);
    await env.api.functions.create(env.ns, fnObject('pushed', { code: { sha256: sha(zip) } }));
    const failed = await waitForFunction(env.api, env.ns, 'pushed', 'Failed');
    assert.equal(failed.status?.stateReasonCode, 'CodeNotFound');
    assert.match(failed.status?.stateReason ?? '', /lamina push/);
    await new StoreClient(env.operator.storeUrl).put(zip);
    await waitForFunction(env.api, env.ns, 'pushed', 'Active');
  });

  it('fails with CodeTooLarge when code and layers exceed the unzipped limit', async () => {
    // The operator under test allows 20000 bytes unzipped; this code alone is 12000,
    // the layer 12000.
    await env.api.layers.create(env.ns, {
      metadata: { name: 'bulk' },
      spec: { content: { inline: { 'data.bin': 'y'.repeat(12_000) } } },
    });
    // Its version 1 first: a function naming a layer version not recorded yet fails LayerNotFound.
    await eventually(async () => {
      const layer = await env.api.layers.get(env.ns, 'bulk');
      assert.equal(layer?.status?.versions?.[0]?.version, 1);
    });
    await env.api.functions.create(
      env.ns,
      fnObject('huge', {
        code: { inline: { 'index.js': 'x'.repeat(12_000) } },
        layers: [{ name: 'bulk', version: 1 }],
      }),
    );
    const fn = await waitForFunction(env.api, env.ns, 'huge', 'Failed');
    assert.equal(fn.status?.stateReasonCode, 'CodeTooLarge');
    assert.match(
      fn.status?.stateReason ?? '',
      /exceeds the maximum allowed size of 20000 bytes\. The actual size is 24000 bytes/,
    );
  });

  it('is refused by the API server with a 6th layer (the CRD allows 5)', async () => {
    const layers = Array.from({ length: 6 }, (_, i) => ({ name: `l${i}`, version: 1 }));
    await assert.rejects(
      env.api.functions.create(env.ns, fnObject('sixlayers', { layers })),
      (err: unknown) => {
        assert.ok(err instanceof ApiException);
        assert.equal(err.code, 422);
        assert.match(JSON.stringify(err.body), /must have at most 5 items|Too many/);
        return true;
      },
    );
  });
});
