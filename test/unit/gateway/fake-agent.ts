// A test double of the in-pod agent's HTTP protocol (unit tests only): each environment is
// a small HTTP server on 127.0.0.1 that runs a JavaScript function in-process.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
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
  /** A streaming handler's output: each piece goes out as it is produced when the caller streams. */
  stream?: AsyncIterable<string | Buffer>;
  contentType?: string;
  functionError?: string;
  log?: string;
  /** More answer headers (the agent protocol's phase timings, …). */
  headers?: Record<string, string>;
}

export type FakeHandler = (invocation: FakeInvocation) => Promise<FakeResult> | FakeResult;

/** The agent's streamed answer: 200, the pieces as they come, the outcome in trailers. */
async function streamAnswer(res: ServerResponse, result: FakeResult): Promise<void> {
  res.writeHead(200, {
    'content-type': result.contentType ?? 'application/octet-stream',
    trailer: 'x-amz-function-error, x-lamina-function-error-body',
  });
  res.flushHeaders();
  if (result.stream) for await (const piece of result.stream) res.write(piece);
  else if (!result.functionError) res.write(JSON.stringify(result.body));
  if (result.functionError) {
    res.addTrailers({
      'x-amz-function-error': result.functionError,
      'x-lamina-function-error-body': Buffer.from(JSON.stringify(result.body)).toString('base64'),
    });
  }
  res.end();
}

export class FakeAgents {
  private readonly servers: Server[] = [];
  private readonly byEnvironment = new Map<string, Server>();
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
          .then(async (result) => {
            if (req.headers['x-lamina-response-stream'] === 'true') return streamAnswer(res, result);
            const headers: Record<string, string> = { 'content-type': 'application/json', ...result.headers };
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
    this.byEnvironment.set(id, server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  /** The environment's pod is gone: its agent refuses connections from now on. */
  async kill(id: string): Promise<void> {
    const server = this.byEnvironment.get(id);
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map((s) => new Promise((resolve) => s.close(resolve)).then(() => s.closeAllConnections())),
    );
  }
}
