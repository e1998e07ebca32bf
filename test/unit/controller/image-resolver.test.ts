import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseImageReference } from '../../../operator/src/api/index.js';
import { ImageResolver } from '../../../operator/src/controller/image-resolver.js';
import { parseBearerChallenge, registryApiHost } from '../../../operator/src/controller/registry-client.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;

describe('image resolver (registry HTTP API)', () => {
  let server: Server;
  let host = '';
  const seen: { path: string; auth?: string; accept?: string }[] = [];
  before(async () => {
    // A registry that wants an (anonymous) bearer token, as Docker Hub and most clouds do.
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, accept: req.headers.accept });
      if (req.url?.startsWith('/token')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token: 'anon' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer anon') {
        res.statusCode = 401;
        res.setHeader(
          'www-authenticate',
          `Bearer realm="http://${host}/token",service="test",scope="repository:team/fn:pull"`,
        );
        res.end();
        return;
      }
      if (req.method === 'HEAD' && req.url === '/v2/team/fn/manifests/v1') {
        res.setHeader('docker-content-digest', DIGEST);
        res.end();
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('resolves a tag to the Docker-Content-Digest of its manifest, answering the token challenge anonymously', async () => {
    const resolver = new ImageResolver({ insecureRegistries: [host] });
    const result = await resolver.resolve(parseImageReference(`${host}/team/fn:v1`));
    assert.deepEqual(result, { ok: true, digest: DIGEST });
    const head = seen.filter((s) => s.path === '/v2/team/fn/manifests/v1');
    assert.equal(head.at(-1)?.auth, 'Bearer anon');
    assert.match(head.at(-1)?.accept ?? '', /application\/vnd\.oci\.image\.index\.v1\+json/);
  });

  it('says a missing tag does not exist (InvalidImage), to be tried again later', async () => {
    const resolver = new ImageResolver({ insecureRegistries: [host], retryAfterMs: 5000 });
    const result = await resolver.resolve(parseImageReference(`${host}/team/fn:gone`));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.reasonCode === 'InvalidImage' && /does not exist/.test(result.message));
    assert.ok(!result.ok && result.retryAfterMs === 5000);
  });

  it('takes a digest as given, without asking the registry', async () => {
    const before = seen.length;
    const result = await new ImageResolver().resolve(parseImageReference(`nowhere.invalid/a/b@${DIGEST}`));
    assert.deepEqual(result, { ok: true, digest: DIGEST });
    assert.equal(seen.length, before);
  });

  it('reports an unreachable registry as ImageRegistryUnavailable', async () => {
    const result = await new ImageResolver({
      insecureRegistries: ['127.0.0.1:1'],
      fetchTimeoutMs: 2000,
    }).resolve(parseImageReference('127.0.0.1:1/a/b:v1'));
    assert.ok(!result.ok && result.reasonCode === 'ImageRegistryUnavailable');
  });

  it('parses references, challenges and Docker Hub host names', () => {
    assert.deepEqual(parseImageReference('registry.example.com:5000/team/fn:v3'), {
      registry: 'registry.example.com:5000',
      repository: 'team/fn',
      tag: 'v3',
    });
    assert.deepEqual(parseImageReference(`docker.io/library/busybox@${DIGEST}`), {
      registry: 'docker.io',
      repository: 'library/busybox',
      digest: DIGEST,
    });
    assert.deepEqual(parseBearerChallenge('Bearer realm="https://auth/token",service="reg"'), {
      realm: 'https://auth/token',
      service: 'reg',
    });
    assert.equal(parseBearerChallenge('Basic realm="x"'), undefined);
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
  });
});
