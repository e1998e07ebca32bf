// Response streaming on the installed release with the real runtime image: a handler wrapped
// in awslambda.streamifyResponse, read through the AWS SDK's InvokeWithResponseStreamCommand
// and through `curl -N` on a RESPONSE_STREAM function URL. Each line the handler writes carries
// the time it was written; the first line must reach the client before the handler wrote its
// last one (an ordering check, not a latency threshold).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvokeWithResponseStreamCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  createFunction,
  functionArn,
  installedRelease,
  testNamespace,
  type Release,
} from '../harness/release.js';

const LINES = 5;
const GAP_MS = 300;

const STREAMER = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const line = (fields) => JSON.stringify({ ...fields, writtenAt: Date.now() }) + '\\n';
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = event.requestContext
    ? awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 200,
        headers: { 'content-type': 'application/x-ndjson', 'x-streamed': 'yes' },
      })
    : responseStream;
  for (let i = 0; i < ${LINES}; i++) {
    stream.write(line({ i }));
    await sleep(${GAP_MS});
  }
  if (event.fail) throw new Error('failed mid-stream');
  stream.end(line({ end: true }));
});
`;

interface Line {
  i?: number;
  end?: boolean;
  writtenAt: number;
}

/** Splits received text into lines, each stamped with the arrival time of the chunk that completed it. */
function linesWithArrival(chunks: { text: string; arrivedAt: number }[]): (Line & { arrivedAt: number })[] {
  const out: (Line & { arrivedAt: number })[] = [];
  let pending = '';
  for (const { text, arrivedAt } of chunks) {
    pending += text;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      out.push({ ...(JSON.parse(pending.slice(0, newline)) as Line), arrivedAt });
      pending = pending.slice(newline + 1);
    }
  }
  return out;
}

function assertStreamedBeforeTheEnd(lines: (Line & { arrivedAt: number })[]): void {
  assert.deepEqual(
    lines.map((l) => l.i ?? 'end'),
    [0, 1, 2, 3, 4, 'end'],
  );
  const first = lines[0] as Line & { arrivedAt: number };
  const last = lines.at(-1) as Line;
  assert.ok(
    first.arrivedAt < last.writtenAt,
    `the first line arrived at ${first.arrivedAt}, after the handler's last write at ${last.writtenAt}`,
  );
}

describe('response streaming (installed release)', () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let client: LambdaClient;

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'stream');
    client = new LambdaClient({
      endpoint: release.gatewayUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'lamina', secretAccessKey: 'lamina' },
      maxAttempts: 1,
    });
    await createFunction(release, ns.name, 'streamer', STREAMER, {
      functionUrl: { authType: 'NONE', invokeMode: 'RESPONSE_STREAM' },
    });
  });

  after(async () => {
    client?.destroy();
    await ns?.dispose();
  });

  const stream = async (payload: unknown) => {
    const out = await client.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: functionArn(ns.name, 'streamer'),
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    const chunks: { text: string; arrivedAt: number }[] = [];
    let complete: { ErrorCode?: string; ErrorDetails?: string } | undefined;
    for await (const event of out.EventStream ?? []) {
      if (event.PayloadChunk?.Payload)
        chunks.push({ text: Buffer.from(event.PayloadChunk.Payload).toString(), arrivedAt: Date.now() });
      if (event.InvokeComplete) complete = event.InvokeComplete;
    }
    return { out, chunks, complete };
  };

  it('InvokeWithResponseStreamCommand receives the first chunk before the handler finishes', async () => {
    const { out, chunks, complete } = await stream({});
    assert.equal(out.StatusCode, 200);
    assert.equal(complete?.ErrorCode, undefined);
    assertStreamedBeforeTheEnd(linesWithArrival(chunks));
  });

  it('InvokeComplete carries an error thrown mid-stream after the chunks written before it', async () => {
    const { chunks, complete } = await stream({ fail: true });
    assert.equal(linesWithArrival(chunks).length, LINES);
    assert.equal(complete?.ErrorCode, 'Unhandled');
    assert.equal(JSON.parse(String(complete?.ErrorDetails)).errorMessage, 'failed mid-stream');
  });

  it('curl -N on the RESPONSE_STREAM function URL prints lines as the handler writes them', async () => {
    const url = `${release.gatewayUrl}/lambda-url/${ns.name}/streamer/`;
    // Response headers go to a file: curl 7.88 crashes writing them to a piped /dev/stderr.
    const headers = join(mkdtempSync(join(tmpdir(), 'lamina-curl-')), 'headers');
    const curl = spawn('curl', ['-sSN', '-D', headers, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: { text: string; arrivedAt: number }[] = [];
    let errors = '';
    curl.stdout.on('data', (data: Buffer) => chunks.push({ text: data.toString(), arrivedAt: Date.now() }));
    curl.stderr.on('data', (data: Buffer) => (errors += data.toString()));
    const code = await new Promise<number | null>((resolve) => curl.on('close', resolve));
    assert.equal(code, 0, errors);
    const head = readFileSync(headers, 'utf8');
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /^x-streamed: yes\r?$/im);
    assert.match(head, /^transfer-encoding: chunked\r?$/im);
    assertStreamedBeforeTheEnd(linesWithArrival(chunks));
  });
});
