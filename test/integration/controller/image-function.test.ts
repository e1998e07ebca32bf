// Image functions in the Function and Version reconcilers against a real API server and a
// registry's HTTP API (a small stand-in on loopback: HEAD /v2/<repository>/manifests/<tag>
// answers Docker-Content-Digest): the tag pinned to its digest at each change or request to
// resolve it again (the annotation lamina.dev/resolve-image), published versions keeping
// theirs, a missing image failing the Function.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  eventually,
  fnObject,
  publishedVersions,
  setUp,
  versionObject,
  waitForFunction,
  type Environment,
} from './fixtures.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('Function reconciler: image functions', () => {
  let env: Environment;
  let server: Server;
  let registry = '';
  const tags = new Map<string, string>();
  let asked = 0;
  // Per repository too: a Failed function's follow-up reconcile may ask while a later case runs.
  const askedFor = new Map<string, number>();

  before(async () => {
    server = createServer((req, res) => {
      asked += 1;
      const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(req.url ?? '');
      if (match) askedFor.set(match[1] as string, (askedFor.get(match[1] as string) ?? 0) + 1);
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

  it('resolves the tag again when lamina.dev/resolve-image takes a new value, once per value, and publishes it', async () => {
    tags.set('team/again:latest', digest('d'));
    await env.api.functions.create(env.ns, {
      ...imageFunction('again', `${registry}/team/again:latest`),
      spec: { ...imageFunction('again', `${registry}/team/again:latest`).spec, publish: true },
    });
    const active = await waitForFunction(env.api, env.ns, 'again', 'Active');
    assert.equal(active.status?.codeSha256, 'd'.repeat(64));
    await eventually(async () => assert.deepEqual(await publishedVersions(env.api, env.ns, 'again'), [1]));

    // The tag is pushed again; `kubectl annotate fn again lamina.dev/resolve-image=1 --overwrite`.
    tags.set('team/again:latest', digest('e'));
    await env.api.functions.patch(env.ns, 'again', {
      metadata: { annotations: { 'lamina.dev/resolve-image': '1' } },
    });
    const resolved = await eventually(async () => {
      const fn = await env.api.functions.get(env.ns, 'again');
      assert.equal(fn?.status?.imageResolvedFor, '1');
      return fn;
    });
    assert.equal(resolved?.status?.codeSha256, 'e'.repeat(64));
    assert.equal(resolved?.status?.resolvedImageUri, `${registry}/team/again@${digest('e')}`);
    assert.equal(resolved?.status?.state, 'Active');
    assert.equal(resolved?.metadata.generation, active.metadata.generation, 'the spec did not change');
    assert.notEqual(resolved?.status?.revisionId, active.status?.revisionId);
    // spec.publish: the new digest is version 2; version 1 keeps its own.
    const versions = await eventually(async () => {
      const list = (await env.api.versions.list(env.ns)).filter((v) => v.spec.functionName === 'again');
      assert.equal(list.filter((v) => v.spec.version !== undefined).length, 2);
      return list;
    });
    const byNumber = (n: number) => versions.find((v) => v.spec.version === n)?.spec.snapshot?.image?.uri;
    assert.equal(byNumber(1), `${registry}/team/again@${digest('d')}`);
    assert.equal(byNumber(2), `${registry}/team/again@${digest('e')}`);

    // The same value again is not a new request.
    tags.set('team/again:latest', digest('f'));
    const before = askedFor.get('team/again');
    await env.api.functions.patch(env.ns, 'again', { metadata: { labels: { touched: 'yes' } } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await env.api.functions.get(env.ns, 'again'))?.status?.codeSha256, 'e'.repeat(64));
    assert.equal(
      askedFor.get('team/again'),
      before,
      'a value already resolved for does not ask the registry again',
    );
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
    await env.api.functions.create(env.ns, imageFunction('pinned', `${registry}/team/pinned@${digest('c')}`));
    const fn = await waitForFunction(env.api, env.ns, 'pinned', 'Active');
    assert.equal(fn.status?.codeSha256, 'c'.repeat(64));
    assert.equal(askedFor.get('team/pinned'), undefined);
  });
});
