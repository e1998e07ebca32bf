// RESPONSE_STREAM function URLs through the gateway with the fake agent, over a real socket:
// chunked HTTP as the function writes, the http-integration-response prelude as status and
// headers, and a function error before any byte as 502.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { activeFunction } from '../fixtures.js';
import { tick } from '../fake-provider.js';
import { testGateway } from '../harness.js';

let firstChunkRead: () => void = () => {};
const NUL8 = Buffer.alloc(8);

async function* gated(): AsyncGenerator<Buffer | string> {
  yield Buffer.concat([
    Buffer.from('{"statusCode":202,"headers":{"x-kind":"stream"},"cookies":["a=1"]}'),
    NUL8,
  ]);
  yield 'first;';
  const released = await Promise.race([
    new Promise<boolean>((resolve) => (firstChunkRead = () => resolve(true))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
  ]);
  yield released ? 'after-release' : 'not-released';
}

async function* plain(): AsyncGenerator<string> {
  yield 'a';
  yield 'b';
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: string[];
}

function get(port: number, path: string, onChunk: (text: string) => void = () => {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: string[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c.toString());
        onChunk(c.toString());
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('RESPONSE_STREAM function URLs', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;
  let port: number;
  const streamingUrl = {
    authType: 'NONE',
    invokeMode: 'RESPONSE_STREAM',
    payloadFormatVersion: '2.0',
  } as const;

  before(async () => {
    t = await testGateway({
      gated: () => ({
        body: null,
        stream: gated(),
        contentType: 'application/vnd.awslambda.http-integration-response',
      }),
      plain: () => ({ body: null, stream: plain(), contentType: 'text/plain' }),
      broken: () => ({ body: { errorType: 'Error', errorMessage: 'x' }, functionError: 'Unhandled' }),
    });
    for (const name of ['gated', 'plain', 'broken'])
      t.catalog.upsertFunction(activeFunction(name, { functionUrl: streamingUrl }));
    await tick();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => t.close());

  it('sends the prelude as status, headers and cookies, and the first bytes while the function runs', async () => {
    const answer = await get(port, '/lambda-url/default/gated/', (text) => {
      if (text.includes('first;')) firstChunkRead();
    });
    assert.equal(answer.status, 202);
    assert.equal(answer.headers['x-kind'], 'stream');
    assert.deepEqual(answer.headers['set-cookie'], ['a=1']);
    assert.equal(answer.headers['transfer-encoding'], 'chunked');
    assert.equal(answer.chunks.join(''), 'first;after-release');
  });

  it("answers 200 with the function's content type without a prelude", async () => {
    const answer = await get(port, '/lambda-url/default/plain/');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'text/plain');
    assert.equal(answer.chunks.join(''), 'ab');
  });

  it('answers 502 for a function error before any byte', async () => {
    const answer = await get(port, '/lambda-url/default/broken/');
    assert.equal(answer.status, 502);
  });
});
