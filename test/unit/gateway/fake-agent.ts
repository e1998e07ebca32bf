// A test double of the in-pod agent's HTTP protocol (unit tests only): each environment is
// a small HTTP server on 127.0.0.1 that runs a JavaScript function in-process.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EnvironmentSpec } from '../../../operator/src/gateway/environments/types.js';

export interface FakeInvocation {
  event: unknown;
  headers: IncomingHttpHeaders;
  spec: EnvironmentSpec;
  environment: string;
}

export interface FakeResult {
  body: unknown;
  functionError?: string;
  log?: string;
}

export type FakeHandler = (invocation: FakeInvocation) => Promise<FakeResult> | FakeResult;

export class FakeAgents {
  private readonly servers: Server[] = [];
  readonly invocations: FakeInvocation[] = [];
  running = 0;
  maxRunning = 0;

  constructor(private readonly handlers: Record<string, FakeHandler>) {}

  /** Starts an agent for an environment and returns its base URL (FakeProvider.addressFor). */
  readonly start = async (spec: EnvironmentSpec, id: string): Promise<string> => {
    let busy = false;
    let cold = true;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (busy) {
          res
            .writeHead(503, { 'content-type': 'application/json' })
            .end('{"errorType":"Lamina.EnvironmentBusy"}');
          return;
        }
        busy = true;
        this.running += 1;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        const invocation = {
          event: JSON.parse(Buffer.concat(chunks).toString() || 'null') as unknown,
          headers: req.headers,
          spec,
          environment: id,
        };
        this.invocations.push(invocation);
        const handler: FakeHandler = this.handlers[spec.functionName] ?? (() => ({ body: null }));
        Promise.resolve(handler(invocation))
          .then((result) => {
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (result.functionError) headers['x-amz-function-error'] = result.functionError;
            if (req.headers['x-amz-log-type'] === 'Tail') {
              headers['x-amz-log-result'] = Buffer.from(result.log ?? '').toString('base64');
            }
            if (cold) headers['x-lamina-init-duration-ms'] = '12.5';
            cold = false;
            res.writeHead(200, headers).end(JSON.stringify(result.body));
          })
          .catch((err: unknown) => res.writeHead(500).end(String(err)))
          .finally(() => {
            busy = false;
            this.running -= 1;
          });
      });
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map((s) => new Promise((resolve) => s.close(resolve)).then(() => s.closeAllConnections())),
    );
  }
}
