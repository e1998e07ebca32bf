import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  ImageConfigReader,
  imageDefaultsOf,
  ociArchitecture,
  platformManifest,
} from '../../../../operator/src/gateway/environments/image-config.js';
import { FunctionEnvironmentError } from '../../../../operator/src/gateway/environments/types.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe("an image function's ENTRYPOINT and CMD, read from its registry", () => {
  it("takes the platform's manifest from an index, and ENTRYPOINT / CMD from the config (null is empty)", () => {
    const index = {
      manifests: [
        { digest: digest('a'), platform: { os: 'linux', architecture: 'arm64' } },
        { digest: digest('b'), platform: { os: 'linux', architecture: 'amd64' } },
        { digest: digest('c'), platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    };
    assert.equal(platformManifest(index, ociArchitecture('x64')), digest('b'));
    assert.equal(platformManifest(index, 'arm64'), digest('a'));
    assert.equal(platformManifest(index, 's390x'), undefined);
    assert.deepEqual(
      imageDefaultsOf({ config: { Entrypoint: ['/lambda-entrypoint.sh'], Cmd: ['app.handler'] } }),
      {
        entrypoint: ['/lambda-entrypoint.sh'],
        cmd: ['app.handler'],
      },
    );
    assert.deepEqual(imageDefaultsOf({ config: { Entrypoint: null, Cmd: ['/bin/sh'] } }), {
      entrypoint: [],
      cmd: ['/bin/sh'],
    });
    assert.deepEqual(imageDefaultsOf({}), { entrypoint: [], cmd: [] });
  });

  describe('against a registry that answers with a token challenge', () => {
    let server: Server;
    let host = '';
    const requests: string[] = [];
    before(async () => {
      server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        const url = req.url ?? '';
        if (url.startsWith('/token')) return res.end(JSON.stringify({ token: 'anon' }));
        if (req.headers.authorization !== 'Bearer anon') {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test"` });
          return res.end();
        }
        if (url === `/v2/team/fn/manifests/${digest('1')}`)
          return res.end(
            JSON.stringify({
              mediaType: 'application/vnd.oci.image.index.v1+json',
              manifests: [{ digest: digest('2'), platform: { os: 'linux', architecture: 'amd64' } }],
            }),
          );
        if (url === `/v2/team/fn/manifests/${digest('2')}`)
          return res.end(JSON.stringify({ config: { digest: digest('3') } }));
        if (url === `/v2/team/fn/blobs/${digest('3')}`)
          return res.end(JSON.stringify({ config: { Entrypoint: ['/var/runtime/bootstrap'], Cmd: null } }));
        res.writeHead(404);
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it('follows the index to the config blob, once per digest', async () => {
      const reader = new ImageConfigReader({ insecureRegistries: [host], architecture: 'amd64' });
      const uri = `${host}/team/fn@${digest('1')}`;
      assert.deepEqual(await reader.defaults(uri), { entrypoint: ['/var/runtime/bootstrap'], cmd: [] });
      const count = requests.length;
      assert.deepEqual(await reader.defaults(uri), { entrypoint: ['/var/runtime/bootstrap'], cmd: [] });
      assert.equal(requests.length, count, 'the second read comes from the cache');
    });

    it('says what the registry answered for an image it does not have, and tries again next time', async () => {
      const reader = new ImageConfigReader({ insecureRegistries: [host] });
      const uri = `${host}/team/gone@${digest('9')}`;
      await assert.rejects(reader.defaults(uri), (err: Error) => {
        assert.ok(err instanceof FunctionEnvironmentError, 'the caller is told why');
        assert.match(err.message, /answered 404 for \/v2\/team\/gone\/manifests/);
        return true;
      });
      const count = requests.length;
      await assert.rejects(reader.defaults(uri), /answered 404/);
      assert.ok(requests.length > count, 'a failure is not cached');
    });
  });
});
