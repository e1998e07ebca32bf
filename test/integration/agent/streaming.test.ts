// Response streaming through the real agent and Lamina's Node.js runtime: a handler wrapped in
// awslambda.streamifyResponse writes chunks that reach the caller while it still runs; an error
// mid-stream ends the stream with the function error in trailers.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { before, describe, test } from 'node:test';
import { agentFixture, functionConfig, WAIT_MS, zipOf, type AgentProcess } from './harness.js';

const HANDLER = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.mode === 'chunks') {
    responseStream.setContentType('application/x-ndjson');
    for (let i = 0; i < event.count; i++) {
      responseStream.write(JSON.stringify({ i, writtenAt: Date.now() }) + '\\n');
      await sleep(event.gapMs);
    }
    responseStream.end(JSON.stringify({ end: true, writtenAt: Date.now() }) + '\\n');
  } else if (event.mode === 'error') {
    responseStream.write('first part\\n');
    await sleep(50);
    throw new TypeError('boom mid-stream');
  } else if (event.mode === 'http') {
    const stream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { 'x-a': 'b' } });
    stream.write('hello ');
    stream.end('world');
  } else if (event.mode === 'big') {
    const block = Buffer.alloc(1024 * 1024, 120);
    for (let i = 0; i < 21; i++) if (!responseStream.write(block)) await new Promise((r) => responseStream.once('drain', r));
    responseStream.end();
  } else if (event.mode === 'unfinished') {
    responseStream.write('never ended');
  }
});
`;

interface Streamed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  chunks: { data: Buffer; arrivedAt: number }[];
  body: Buffer;
}

function invokeStreaming(agent: AgentProcess, event: unknown, stream = true): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: agent.port,
        method: 'POST',
        path: '/2015-03-31/functions/function/invocations',
        headers: stream ? { 'x-lamina-response-stream': 'true' } : {},
        timeout: WAIT_MS,
      },
      (res) => {
        const chunks: Streamed['chunks'] = [];
        res.on('data', (data: Buffer) => chunks.push({ data, arrivedAt: Date.now() }));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            trailers: res.trailers,
            chunks,
            body: Buffer.concat(chunks.map((c) => c.data)),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(event));
  });
}

describe('response streaming in the agent', () => {
  const fixture = agentFixture();
  let agent: AgentProcess;

  before(async () => {
    agent = await fixture.start({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: fixture.store.put(zipOf({ 'index.mjs': HANDLER })),
        timeout: 10,
      }),
    });
  });

  test('forwards chunks as the handler writes them, before it finishes', async () => {
    const res = await invokeStreaming(agent, { mode: 'chunks', count: 5, gapMs: 150 });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    assert.equal(res.trailers['x-amz-function-error'], undefined);
    const lines = res.body
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { i?: number; end?: boolean; writtenAt: number });
    assert.deepEqual(
      lines.map((l) => l.i ?? 'end'),
      [0, 1, 2, 3, 4, 'end'],
    );
    const last = lines.at(-1) as { writtenAt: number };
    // The first bytes were here before the handler wrote its last line.
    assert.ok(res.chunks.length > 1, 'the response came in several chunks');
    assert.ok(
      (res.chunks[0] as { arrivedAt: number }).arrivedAt < last.writtenAt,
      `first chunk at ${res.chunks[0]?.arrivedAt}, handler's last write at ${last.writtenAt}`,
    );
  });

  test('ends the stream with the error in trailers when the handler throws mid-stream', async () => {
    const res = await invokeStreaming(agent, { mode: 'error' });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'first part\n');
    assert.equal(res.trailers['x-amz-function-error'], 'Unhandled');
    const error = JSON.parse(
      Buffer.from(String(res.trailers['x-lamina-function-error-body']), 'base64').toString(),
    );
    assert.equal(error.errorType, 'TypeError');
    assert.equal(error.errorMessage, 'boom mid-stream');
    // The environment stays usable.
    const next = await invokeStreaming(agent, { mode: 'chunks', count: 1, gapMs: 0 });
    assert.equal(next.trailers['x-amz-function-error'], undefined);
  });

  test('passes the HttpResponseStream prelude and body through', async () => {
    const res = await invokeStreaming(agent, { mode: 'http' });
    assert.equal(res.headers['content-type'], 'application/vnd.awslambda.http-integration-response');
    const text = res.body.toString('latin1');
    const delimiter = text.indexOf('\0'.repeat(8));
    assert.deepEqual(JSON.parse(text.slice(0, delimiter)), { statusCode: 201, headers: { 'x-a': 'b' } });
    assert.equal(text.slice(delimiter + 8), 'hello world');
  });

  test('buffers a streamed response for a buffered invoke', async () => {
    const res = await invokeStreaming(agent, { mode: 'chunks', count: 2, gapMs: 0 }, false);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-amz-function-error'], undefined);
    assert.equal(res.body.toString().trim().split('\n').length, 3);
  });

  test('cuts a stream past 20 MiB and reports Function.ResponseSizeTooLarge', async () => {
    const res = await invokeStreaming(agent, { mode: 'big' });
    assert.equal(res.body.length, 20 * 1024 * 1024);
    assert.equal(res.trailers['x-amz-function-error'], 'Unhandled');
    const error = JSON.parse(
      Buffer.from(String(res.trailers['x-lamina-function-error-body']), 'base64').toString(),
    );
    assert.equal(error.errorType, 'Function.ResponseSizeTooLarge');
  });

  test('fails an invocation whose handler returns without ending the stream', async () => {
    const res = await invokeStreaming(agent, { mode: 'unfinished' });
    assert.equal(res.body.toString(), 'never ended');
    assert.equal(res.trailers['x-amz-function-error'], 'Unhandled');
    const error = JSON.parse(
      Buffer.from(String(res.trailers['x-lamina-function-error-body']), 'base64').toString(),
    );
    assert.equal(error.errorMessage, 'Response stream is not finished.');
  });
});
