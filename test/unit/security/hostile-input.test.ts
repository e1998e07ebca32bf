// Hostile input at the gateway: malformed and oversized payloads, headers, client contexts,
// names and qualifiers. Each gets a typed Lambda error (never a 500, never a hang) and the
// gateway keeps serving. Most through inject(); header sizes through a real socket, where
// Node's HTTP parser is the thing being tested. (gateway/routes/invoke.test.ts covers the ordinary
// errors; these are the adversarial ones.)
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tick } from '../gateway/fake-provider.js';
import { activeFunction } from '../gateway/fixtures.js';
import { testGateway } from '../gateway/harness.js';

const path = (name: string) => `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One raw HTTP/1.1 request on a socket; resolves with the status line of the answer. */
function rawRequest(port: number, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const done = (result: string | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const line = data.indexOf('\r\n');
      if (line >= 0) done(data.slice(0, line));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => done(data.split('\r\n')[0] ?? ''));
    socket.write(request);
  });
}

describe('hostile input at the Invoke API', () => {
  let t: Awaited<ReturnType<typeof testGateway>>;
  let port: number;

  before(async () => {
    t = await testGateway(
      {
        echo: ({ event, headers }) => ({
          body: { event, clientContext: headers['x-amz-client-context'] ?? null },
        }),
      },
      { asyncQueue: { enqueue: async () => undefined } },
    );
    t.catalog.upsertFunction(activeFunction('echo'));
    t.catalog.upsertFunction(activeFunction('sink'));
    await tick();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  after(() => t.close());

  const invoke = (
    payload: string | Buffer,
    headers: Record<string, string> = {},
    name = 'echo',
    query = '',
  ) => t.app.inject({ method: 'POST', url: `${path(name)}${query}`, payload, headers });

  const expectError = async (res: Awaited<ReturnType<typeof invoke>>, status: number, type: string) => {
    assert.equal(res.statusCode, status, res.body.slice(0, 300));
    assert.equal(res.headers['x-amzn-errortype'], type);
    assert.ok(res.headers['x-amzn-requestid']);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.__type, type);
    assert.equal(typeof (body.message ?? body.Message), 'string');
  };

  describe('payloads', () => {
    it('passes JSON nested 100 000 deep to the function without overflowing the gateway', async () => {
      // Valid JSON is Lambda's only rule; V8's JSON.parse is iterative. What the runtime makes
      // of it is the function's problem (a function error), not the gateway's.
      const res = await invoke('['.repeat(100_000) + ']'.repeat(100_000), {}, 'sink');
      assert.equal(res.statusCode, 200, res.body);
    });

    it('refuses invalid UTF-8 and a UTF-8 BOM', async () => {
      await expectError(
        await invoke(Buffer.from([0x22, 0xc3, 0x28, 0x22])),
        400,
        'InvalidRequestContentException',
      );
      await expectError(await invoke(Buffer.from('\ufeff{}')), 400, 'InvalidRequestContentException');
    });

    it('refuses truncated JSON, NaN, trailing garbage and a NUL byte', async () => {
      for (const payload of ['{"a":', '{"a":NaN}', '{} {}', '{"a":1}\u0000']) {
        await expectError(await invoke(payload), 400, 'InvalidRequestContentException');
      }
    });

    it('passes prototype-pollution keys through to the function as plain data', async () => {
      const res = await invoke('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
      assert.equal(res.statusCode, 200);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.match(res.body, /"__proto__":\{"polluted":true\}/);
    });

    it('accepts exactly 6 MB and refuses 6 MB + 1 byte', async () => {
      const exact = Buffer.alloc(6_291_456, 0x20);
      exact.write('{}', 0);
      assert.equal((await invoke(exact, { 'content-type': 'application/json' })).statusCode, 200);
      const over = Buffer.alloc(6_291_457, 0x20);
      over.write('{}', 0);
      await expectError(
        await invoke(over, { 'content-type': 'application/json' }),
        413,
        'RequestEntityTooLargeException',
      );
    });

    it('accepts an Event of exactly 1 MB and refuses 1 MB + 1 byte', async () => {
      const event = (n: number) => {
        const b = Buffer.alloc(n, 0x20);
        b.write('{}', 0);
        return b;
      };
      const headers = { 'x-amz-invocation-type': 'Event' };
      assert.equal((await invoke(event(1_048_576), headers)).statusCode, 202);
      await expectError(await invoke(event(1_048_577), headers), 413, 'RequestEntityTooLargeException');
    });

    it('answers 400 to a Content-Length that is not a number and to two that disagree', async () => {
      for (const lengths of ['Content-Length: abc', 'Content-Length: 2\r\nContent-Length: 3']) {
        const status = await rawRequest(
          port,
          `POST ${path('echo')} HTTP/1.1\r\nHost: x\r\n${lengths}\r\nConnection: close\r\n\r\n{}`,
        );
        assert.match(status, /^HTTP\/1\.1 400/, lengths);
      }
    });
  });

  describe('headers', () => {
    it('refuses a client context that is not base64, not an object, or over 3583 bytes', async () => {
      for (const cc of [
        'not base64!',
        b64('[1,2]'),
        b64('"string"'),
        b64('null'),
        b64('{"a":'),
        b64(`{"k":"${'v'.repeat(3000)}"}`),
        '====',
      ]) {
        await expectError(
          await invoke('{}', { 'x-amz-client-context': cc }),
          400,
          'InvalidRequestContentException',
        );
      }
    });

    it('validates the invocation and log types case-sensitively, as Lambda does', async () => {
      await expectError(await invoke('{}', { 'x-amz-invocation-type': 'event' }), 400, 'ValidationException');
      await expectError(
        await invoke('{}', { 'x-amz-invocation-type': 'Event, DryRun' }),
        400,
        'ValidationException',
      );
      await expectError(await invoke('{}', { 'x-amz-log-type': 'tail' }), 400, 'ValidationException');
    });

    it('serves a request with 500 extra headers', async () => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < 500; i++) headers[`x-junk-${i}`] = 'v'.repeat(20);
      assert.equal((await invoke('{}', headers)).statusCode, 200);
    });

    it('answers 431 to a 64 KB header on a real socket, and keeps serving', async () => {
      const status = await rawRequest(
        port,
        `POST ${path('echo')} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65_536)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
      assert.match(status, /^HTTP\/1\.1 431/);
      const ok = await rawRequest(
        port,
        `POST ${path('echo')} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
      assert.match(ok, /^HTTP\/1\.1 200/);
    });

    it('answers 400 to header bytes HTTP forbids (CR/LF injection, NUL) on a real socket', async () => {
      const status = await rawRequest(
        port,
        `POST ${path('echo')} HTTP/1.1\r\nHost: x\r\nX-Evil: a\u0000b\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
      assert.match(status, /^HTTP\/1\.1 400/);
    });
  });

  describe('names and qualifiers', () => {
    it('serves a valid full ARN longer than 100 characters', async () => {
      const arn = `arn:aws:lambda:us-east-1:default:function:echo:${'$LATEST'}`;
      const long = `arn:aws-us-gov:lambda:us-gov-west-1:${'n'.repeat(40)}:function:${'f'.repeat(64)}:${'q'.repeat(60)}`;
      assert.ok(long.length > 100 && long.length <= 256);
      assert.equal((await invoke('{}', {}, arn)).statusCode, 200);
      await expectError(await invoke('{}', {}, long), 404, 'ResourceNotFoundException');
    });

    it('refuses names past 64 characters and ARNs past 256, in Lambda shape', async () => {
      await expectError(await invoke('{}', {}, 'f'.repeat(65)), 400, 'ValidationException');
      await expectError(await invoke('{}', {}, 'f'.repeat(2000)), 400, 'ValidationException');
      const arn = `arn:aws:lambda:us-east-1:default:function:${'f'.repeat(64)}:${'q'.repeat(150)}`;
      assert.ok(arn.length > 256);
      await expectError(await invoke('{}', {}, arn), 400, 'ValidationException');
    });

    it('refuses qualifiers with bad characters or over 128 characters', async () => {
      for (const q of ['a/b', 'a b', 'a%00b', '..', 'q'.repeat(129), '%F0%9F%92%A9']) {
        await expectError(await invoke('{}', {}, 'echo', `?Qualifier=${q}`), 400, 'ValidationException');
      }
    });

    it('refuses traversal and control characters in names instead of resolving them', async () => {
      for (const name of ['../metrics', 'echo/../../metrics', 'echo\u0000', 'ec ho', 'écho', 'echo:1:2']) {
        await expectError(await invoke('{}', {}, name), 400, 'ValidationException');
      }
      // A bare ".." is not a name segment at all: no operation there.
      await expectError(await invoke('{}', {}, '..'), 404, 'UnknownOperationException');
    });

    it('refuses malformed ARNs: wrong service, region, partition, namespace', async () => {
      for (const arn of [
        'arn:aws:s3:us-east-1:default:function:echo',
        'arn:aws:lambda:mars:default:function:echo',
        'arn:gcp:lambda:us-east-1:default:function:echo',
        'arn:aws:lambda:us-east-1:Default_NS:function:echo',
        'arn:aws:lambda:us-east-1:default:layer:echo',
      ]) {
        await expectError(await invoke('{}', {}, arn), 400, 'ValidationException');
      }
    });

    it('refuses a name qualifier that contradicts Qualifier, also via ARN', async () => {
      await expectError(
        await invoke('{}', {}, 'arn:aws:lambda:us-east-1:default:function:echo:1', '?Qualifier=2'),
        400,
        'InvalidParameterValueException',
      );
    });

    it('answers 404 (not 500) for an unknown namespace in an ARN', async () => {
      await expectError(
        await invoke('{}', {}, 'arn:aws:lambda:us-east-1:nowhere:function:echo'),
        404,
        'ResourceNotFoundException',
      );
    });
  });

  it('still serves an ordinary invoke after all of the above', async () => {
    const res = await invoke('{"ok":true}');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().event, { ok: true });
  });
});
