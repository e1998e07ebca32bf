// Time to first byte of a response, streamed (InvokeWithResponseStream) beside buffered
// (Invoke), through the installed gateway, for one handler that writes a first chunk at once
// and the rest HOLD_MS later: streamed, the caller has the first chunk while the handler
// still runs; buffered, it waits for the whole response.
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { functionArn, type Release } from '../harness/release.js';
import type { BenchFunction } from './functions.js';
import { dispatcher, fmt, percentile } from './lib.js';

export const HOLD_MS = 200;

export const NODE_STREAMING: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: {
    'index.mjs': `export const handler = awslambda.streamifyResponse(async (event, stream) => {
  stream.write('first chunk\\n');
  await new Promise((r) => setTimeout(r, ${HOLD_MS}));
  stream.write('second chunk\\n');
  stream.end();
});
`,
  },
};

interface Sample {
  firstByteMs: number;
  totalMs: number;
}

async function once(url: string): Promise<Sample> {
  const started = performance.now();
  const res = await request(url, { method: 'POST', body: '{}', dispatcher });
  let firstByteMs = NaN;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (Number.isNaN(firstByteMs) && chunk.length > 0) firstByteMs = performance.now() - started;
    chunks.push(chunk);
  }
  const totalMs = performance.now() - started;
  const body = Buffer.concat(chunks).toString('latin1');
  if (res.statusCode !== 200 || res.headers['x-amz-function-error'] || !body.includes('second chunk'))
    throw new Error(`unexpected answer ${res.statusCode}: ${body.slice(0, 300)}`);
  return { firstByteMs, totalMs };
}

/** The table rows: streamed and buffered, each with first-byte and whole-response percentiles. */
export async function timeToFirstByte(release: Release, namespace: string, name: string, samples: number) {
  const arn = encodeURIComponent(functionArn(namespace, name));
  const urls = {
    streamed: `${release.gatewayUrl}/2021-11-15/functions/${arn}/response-streaming-invocations`,
    buffered: `${release.gatewayUrl}/2015-03-31/functions/${arn}/invocations`,
  };
  const results: Record<keyof typeof urls, Sample[]> = { streamed: [], buffered: [] };
  for (let i = 0; i < 5; i++) for (const url of Object.values(urls)) await once(url); // warm-up
  for (let i = 0; i < samples; i++) {
    // Alternate, so both see the same conditions.
    results.streamed.push(await once(urls.streamed));
    results.buffered.push(await once(urls.buffered));
  }
  const row = (label: string, s: Sample[]) => [
    label,
    fmt(
      percentile(
        s.map((x) => x.firstByteMs),
        50,
      ),
    ),
    fmt(
      percentile(
        s.map((x) => x.firstByteMs),
        99,
      ),
    ),
    fmt(
      percentile(
        s.map((x) => x.totalMs),
        50,
      ),
    ),
    `${s.length}`,
  ];
  return [
    row('InvokeWithResponseStream (streamed)', results.streamed),
    row('Invoke (buffered)', results.buffered),
  ];
}
