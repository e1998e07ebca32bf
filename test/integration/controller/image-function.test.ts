// Image functions in the Function and Version reconcilers against a real API server and a
// registry's HTTP API (a small stand-in on loopback: HEAD /v2/<repository>/manifests/<tag>
// answers Docker-Content-Digest): the tag pinned to its digest at each change, published
// versions keeping theirs, a missing image failing the Function.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually, fnObject, setUp, versionObject, waitForFunction, type Environment } from './fixtures.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('Function reconciler: image functions', () => {
  let env: Environment;
  let server: Server;
  let registry = '';
  const tags = new Map<string, string>();
  let asked = 0;

  before(async () => {
    server = createServer((req, res) => {
      asked += 1;
      const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
      const found = match && tags.get(`${match[1]}:${match[2]}`);
      if (req.method !== 'HEAD' || !found) return res.writeHead(404).end();
      res.writeHead(200, { 'docker-content-digest': found }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    env = await setUp('op-img', 1, { env: { LAMINA_INSECURE_REGISTRIES: registry } });
  });
  after(async () => {
    server?.close();
    await env?.dispose();
  });

  const imageFunction = (name: string, uri: string) => {
    const object = fnObject(name, { image: { uri } });
    const { runtime: _r, handler: _h, code: _c, ...spec } = object.spec;
    return { ...object, spec: spec as typeof object.spec };
  };

  it('pins the tag to its digest, keeps it in a published version, and takes a moved tag at the next change', async () => {
    tags.set('team/app:live', digest('a'));
    await env.api.functions.create(env.ns, imageFunction('app', `${registry}/team/app:live`));
    const active = await waitForFunction(env.api, env.ns, 'app', 'Active');
    assert.equal(active.status?.codeSha256, 'a'.repeat(64));
    assert.equal(active.status?.resolvedImageUri, `${registry}/team/app@${digest('a')}`);
    assert.equal(active.status?.codeSize, 0);

    await env.api.versions.create(env.ns, versionObject('app-v1', 'app'));
    const v1 = await eventually(async () => {
      const v = await env.api.versions.get(env.ns, 'app-v1');
      if (!v?.spec.snapshot) throw new Error('not published yet');
      return v;
    });
    assert.equal(v1.spec.snapshot?.image?.uri, `${registry}/team/app@${digest('a')}`);
    assert.equal(v1.spec.snapshot?.runtime, undefined);

    // The tag moves: nothing changes until the Function does (as on Lambda).
    tags.set('team/app:live', digest('b'));
    const before = asked;
    await env.api.functions.patch(env.ns, 'app', { metadata: { labels: { touched: 'yes' } } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await env.api.functions.get(env.ns, 'app'))?.status?.codeSha256, 'a'.repeat(64));
    assert.equal(asked, before, 'an unchanged spec does not ask the registry again');

    await env.api.functions.patch(env.ns, 'app', { spec: { description: 'the tag moved' } });
    await eventually(async () => {
      const fn = await env.api.functions.get(env.ns, 'app');
      assert.equal(fn?.status?.codeSha256, 'b'.repeat(64));
      assert.notEqual(fn?.status?.revisionId, active.status?.revisionId);
    });
    const kept = await env.api.versions.get(env.ns, 'app-v1');
    assert.equal(kept?.spec.snapshot?.image?.uri, `${registry}/team/app@${digest('a')}`);
  });

  it('fails a Function whose tag the registry does not have (InvalidImage)', async () => {
    await env.api.functions.create(env.ns, imageFunction('later', `${registry}/team/later:v1`));
    const failed = await waitForFunction(env.api, env.ns, 'later', 'Failed');
    assert.equal(failed.status?.stateReasonCode, 'InvalidImage');
    assert.match(failed.status?.stateReason ?? '', /team\/later:v1 does not exist/);
    const condition = failed.status?.conditions?.find((c) => c.type === 'CodeResolved');
    assert.equal(condition?.status, 'False');
  });

  it('takes an image given by digest without asking the registry', async () => {
    const before = asked;
    await env.api.functions.create(env.ns, imageFunction('pinned', `${registry}/team/pinned@${digest('c')}`));
    const fn = await waitForFunction(env.api, env.ns, 'pinned', 'Active');
    assert.equal(fn.status?.codeSha256, 'c'.repeat(64));
    assert.equal(asked, before);
  });
});
