// The gateway's agent client on loopback: an invoke whose connection is refused (a pod's
// NetworkPolicy catching up with its new labels) is tried again briefly; an address that
// stays refused is an unavailable environment after that.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  AgentUnavailableError,
  HttpAgentClient,
} from '../../../../operator/src/gateway/environments/agent-client.js';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const request = {
  requestId: 'req-1',
  payload: Buffer.from('{"n":1}'),
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:default:function:f',
  tail: false,
  timeoutMs: 5000,
};

describe('agent client: refused connections', () => {
  it('reaches an agent that starts accepting a moment after the first attempt was refused', async () => {
    const port = await freePort();
    const client = new HttpAgentClient();
    let server: Server | undefined;
    const seen: string[] = [];
    const late = setTimeout(() => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push(body);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
      }).listen(port, '127.0.0.1');
    }, 300);
    try {
      const result = await client.invoke(`http://127.0.0.1:${port}`, request);
      assert.equal(result.payload.toString(), '{"ok":true}');
      assert.deepEqual(seen, ['{"n":1}'], 'the payload arrived once');
    } finally {
      clearTimeout(late);
      server?.close();
      await client.close();
    }
  });

  it('gives up on an address that stays refused: the environment is unavailable', async () => {
    const port = await freePort();
    const client = new HttpAgentClient();
    try {
      await assert.rejects(client.invoke(`http://127.0.0.1:${port}`, request), (err: unknown) => {
        assert.ok(err instanceof AgentUnavailableError, String(err));
        assert.match((err as Error).message, /unreachable: .*ECONNREFUSED/);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});
