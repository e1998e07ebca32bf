// InvokeWithResponseStream through the gateway with the fake agent, read by the AWS SDK for
// JavaScript v3's InvokeWithResponseStreamCommand over a real socket.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  InvokeWithResponseStreamCommand,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { activeFunction } from '../fixtures.js';
import { tick } from '../fake-provider.js';
import { testGateway } from '../harness.js';

/** Resolved by the test once it has read the first chunk; the handler waits for it (at most 5 s). */
let firstChunkRead: () => void = () => {};

async function* gatedChunks(): AsyncGenerator<string> {
  yield 'first;';
  const released = await Promise.race([
    new Promise<boolean>((resolve) => (firstChunkRead = () => resolve(true))),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
  ]);
  yield released ? 'after-release;' : 'not-released;';
  yield 'last';
}

describe('InvokeWithResponseStream', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;
  let client: LambdaClient;

  before(async () => {
    t = await testGateway({
      streamer: () => ({ body: null, stream: gatedChunks(), contentType: 'text/plain' }),
      buffered: ({ event }) => ({ body: { echo: event } }),
      failing: () => ({ body: { errorType: 'Error', errorMessage: 'nope' }, functionError: 'Unhandled' }),
    });
    for (const name of ['streamer', 'buffered', 'failing']) t.catalog.upsertFunction(activeFunction(name));
    await tick();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    client = new LambdaClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'lamina', secretAccessKey: 'lamina' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    client.destroy();
    await t.close();
  });

  const read = async (name: string, payload: unknown = {}, onChunk: (text: string) => void = () => {}) => {
    const out = await client.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: name,
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    const chunks: string[] = [];
    let complete: Record<string, unknown> | undefined;
    for await (const event of out.EventStream ?? []) {
      if (event.PayloadChunk?.Payload) {
        const text = Buffer.from(event.PayloadChunk.Payload).toString();
        chunks.push(text);
        onChunk(text);
      }
      if (event.InvokeComplete) complete = { ...event.InvokeComplete };
    }
    return { out, chunks, complete };
  };

  it('delivers the first chunk while the function is still running', async () => {
    const { out, chunks, complete } = await read('streamer', {}, () => firstChunkRead());
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    // The handler only wrote its second piece after this client had read the first.
    assert.equal(chunks.join(''), 'first;after-release;last');
    assert.deepEqual(complete, {});
  });

  it("sends a buffered function's response as one chunk", async () => {
    const { chunks, complete } = await read('buffered', { n: 1 });
    assert.deepEqual(JSON.parse(chunks.join('')), { echo: { n: 1 } });
    assert.deepEqual(complete, {});
  });

  it('reports a function error in InvokeComplete', async () => {
    const { chunks, complete } = await read('failing');
    assert.deepEqual(chunks, []);
    assert.equal(complete?.ErrorCode, 'Unhandled');
    assert.deepEqual(JSON.parse(String(complete?.ErrorDetails)), {
      errorType: 'Error',
      errorMessage: 'nope',
    });
  });

  it('answers an unknown function with ResourceNotFoundException before any stream', async () => {
    await assert.rejects(read('missing'), ResourceNotFoundException);
  });
});
