// The Lambda Runtime API [LAMBDA-SPEC §2], served on 127.0.0.1 to the runtime process.
// Status codes and bodies follow the Runtime Interface Emulator so that any client written
// against the published API (AWS's RICs, custom bootstraps) works unchanged.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_STREAMED_RESPONSE_BYTES } from '../../../operator/src/protocol/index.js';
import { MAX_RUNTIME_PAYLOAD_BYTES } from './function-errors.js';
import { readBody, sendJson } from './http.js';
import { agentLog } from './logs.js';

const PREFIX = '/2018-06-01/runtime/';
const INVOCATION_PATH = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;

/** Where a streamed response goes as the runtime writes it (the invoke's HTTP answer). */
export interface ResponseSink {
  /** Before the first chunk, with the runtime's content type. */
  start(contentType: string): void;
  /** Resolves when the chunk may be followed by the next (backpressure). */
  write(chunk: Buffer): Promise<void>;
}

export interface Invocation {
  requestId: string;
  body: Buffer;
  contentType: string;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId?: string;
  clientContext?: string;
  cognitoIdentity?: string;
  /** Set when the caller takes the response as a stream. */
  sink?: ResponseSink;
}

export type RuntimeOutcome =
  | { kind: 'response'; body: Buffer; contentType: string | undefined }
  | { kind: 'error'; body: Buffer; errorType: string | undefined }
  | { kind: 'tooLarge' }
  /** A streamed response went to the invocation's sink; an error may have ended it. */
  | { kind: 'streamed'; contentType: string; errorType?: string; errorBody?: Buffer; tooLarge: boolean };

export interface RuntimeApiEvents {
  /** The runtime asked for its first event: Init is over. */
  onReady(): void;
  onInitError(body: Buffer, errorType: string | undefined): void;
  onOutcome(requestId: string, outcome: RuntimeOutcome): void;
  /** A standby runtime (`?pid=`) made its warm-up round trip and now waits for its function. */
  onPing(pid: number): void;
}

/** Where the runtime is in the current invocation, in the RIE's state names (for 403 messages). */
type InvocationState = 'Running' | 'Responding' | 'RuntimeResponseSentState';

const forbidden = (res: ServerResponse, from: string, to: string) =>
  sendJson(res, 403, {
    errorMessage: `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`,
    errorType: 'InvalidStateTransition',
  });

const accepted = (res: ServerResponse) => sendJson(res, 202, { status: 'OK' });

const tooLarge = (res: ServerResponse) =>
  sendJson(res, 413, {
    errorMessage: `Exceeded maximum allowed payload size (${MAX_RUNTIME_PAYLOAD_BYTES} bytes).`,
    errorType: 'RequestEntityTooLarge',
  });

export class RuntimeApi {
  private readonly server: Server;
  /** Per runtime process ("generation"): reset by newGeneration(). */
  private initDone = false;
  private waiter: ServerResponse | undefined;
  private pollListeners: (() => void)[] = [];
  private current: { invocation: Invocation; state: InvocationState; sent: boolean } | undefined;

  constructor(
    private readonly events: RuntimeApiEvents,
    /** The Extensions / Telemetry APIs, served on the same address. */
    private readonly extensions?: {
      handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> | false;
    },
  ) {
    this.server = createServer({ keepAlive: true, requestTimeout: 0, noDelay: true }, (req, res) => {
      this.route(req, res).catch((err) => {
        agentLog('error', 'runtime API request failed', { error: String(err), url: req.url });
        if (!res.headersSent)
          sendJson(res, 500, { errorMessage: 'Internal Server Error', errorType: 'InternalServerError' });
      });
    });
    // The runtime's /next is a long poll and its connection idles between invocations: never time it out.
    this.server.keepAliveTimeout = 0;
    this.server.headersTimeout = 0;
  }

  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  /** A new runtime process is starting: forget everything about the previous one. */
  newGeneration(): void {
    this.initDone = false;
    this.current = undefined;
    this.waiter?.destroy();
    this.waiter = undefined;
  }

  /** True while the runtime waits on /next: it finished its previous invocation and can take one. */
  isPolling(): boolean {
    return this.waiter !== undefined;
  }

  /** Resolves when the runtime next polls /next. */
  waitForPoll(): Promise<void> {
    if (this.waiter) return Promise.resolve();
    return new Promise((resolve) => this.pollListeners.push(resolve));
  }

  /** Hands an invocation to the runtime (now if it is polling /next, else on its next poll). */
  deliver(invocation: Invocation): void {
    this.current = { invocation, state: 'Running', sent: false };
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.send(waiter);
    }
  }

  /** The platform ended the invocation (timeout, crash): later posts for it are refused. */
  abandon(): void {
    if (this.current) this.current.state = 'RuntimeResponseSentState';
  }

  private send(res: ServerResponse): void {
    const current = this.current;
    if (!current) return;
    current.sent = true;
    const inv = current.invocation;
    const headers: Record<string, string | number> = {
      'Content-Type': inv.contentType,
      'Content-Length': inv.body.length,
      'Lambda-Runtime-Aws-Request-Id': inv.requestId,
      'Lambda-Runtime-Deadline-Ms': inv.deadlineMs,
      'Lambda-Runtime-Invoked-Function-Arn': inv.invokedFunctionArn,
    };
    // Optional headers are sent only when non-empty, as the RIE does.
    if (inv.traceId) headers['Lambda-Runtime-Trace-Id'] = inv.traceId;
    if (inv.clientContext) headers['Lambda-Runtime-Client-Context'] = inv.clientContext;
    if (inv.cognitoIdentity) headers['Lambda-Runtime-Cognito-Identity'] = inv.cognitoIdentity;
    res.writeHead(200, headers);
    res.end(inv.body);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    if (req.method === 'GET' && path === `${PREFIX}invocation/next`) return this.next(res);
    // Lamina's, not Lambda's: standby runtimes warm their HTTP client with it.
    if (req.method === 'GET' && path === '/2018-06-01/ping') {
      this.events.onPing(Number(new URLSearchParams(url.slice(path.length + 1)).get('pid')));
      return void res.end('pong');
    }
    if (req.method === 'POST') {
      const match = INVOCATION_PATH.exec(path);
      if (match)
        return this.complete(
          req,
          res,
          decodeURIComponent(match[1] as string),
          match[2] as 'response' | 'error',
        );
      if (path === `${PREFIX}init/error`) return this.initError(req, res);
    }
    const extension = this.extensions?.handle(req, res, path);
    if (extension) return extension;
    sendJson(res, 404, { errorMessage: `No route for ${req.method} ${path}`, errorType: 'NotFound' });
  }

  private next(res: ServerResponse): void {
    const current = this.current;
    if (current && current.sent && current.state !== 'RuntimeResponseSentState') {
      return forbidden(res, current.state, 'Ready');
    }
    if (!this.initDone) {
      this.initDone = true;
      this.events.onReady();
    }
    if (this.current && !this.current.sent) return this.send(res);
    this.waiter?.destroy(); // a newer poll replaces an abandoned one
    this.waiter = res;
    res.on('close', () => {
      if (this.waiter === res) this.waiter = undefined;
    });
    const listeners = this.pollListeners;
    this.pollListeners = [];
    for (const listener of listeners) listener();
  }

  private async complete(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    kind: 'response' | 'error',
  ): Promise<void> {
    const target = kind === 'response' ? 'InvocationResponse' : 'InvocationErrorResponse';
    const current = this.current;
    // State first, then the id: the order the RIE checks them in.
    if (!current || !current.sent || current.state !== 'Running') {
      return forbidden(res, current?.sent ? current.state : this.initDone ? 'Ready' : 'Started', target);
    }
    if (requestId !== current.invocation.requestId) {
      return sendJson(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
    }
    const mode = req.headers['lambda-runtime-function-response-mode'];
    if (kind === 'response' && mode !== undefined && mode !== 'streaming') {
      return sendJson(res, 400, {
        errorMessage: 'Invalid function response mode',
        errorType: 'InvalidFunctionResponseMode',
      });
    }
    current.state = 'Responding';
    if (kind === 'response' && mode === 'streaming')
      return this.streamed(req, res, requestId, current.invocation);
    const body = await readBody(req, MAX_RUNTIME_PAYLOAD_BYTES);
    current.state = 'RuntimeResponseSentState';
    if (body === undefined) {
      tooLarge(res);
      this.events.onOutcome(requestId, { kind: 'tooLarge' });
      return;
    }
    accepted(res);
    if (kind === 'response') {
      this.events.onOutcome(requestId, { kind, body, contentType: req.headers['content-type'] });
    } else {
      const errorType = req.headers['lambda-runtime-function-error-type'];
      this.events.onOutcome(requestId, {
        kind,
        body,
        errorType: typeof errorType === 'string' ? errorType : undefined,
      });
    }
  }

  /**
   * A streaming response (chunked, errors in trailers). With a sink, each chunk goes on as it
   * arrives and the next is read only once the sink took it, so a slow caller slows the
   * runtime; without one (a buffered invoke) it is collected under the buffered limit.
   */
  private async streamed(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    invocation: Invocation,
  ): Promise<void> {
    const contentType = req.headers['content-type'] ?? 'application/octet-stream';
    const { sink } = invocation;
    const limit = sink ? MAX_STREAMED_RESPONSE_BYTES : MAX_RUNTIME_PAYLOAD_BYTES;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let over = false;
    sink?.start(contentType);
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (over) continue; // drained and dropped past the limit
      bytes += chunk.length;
      if (bytes > limit) {
        over = true;
        chunks.length = 0;
      } else if (sink) await sink.write(chunk);
      else chunks.push(chunk);
    }
    const current = this.current;
    // Timed out or reset meanwhile: the platform already ended this invocation.
    if (current?.invocation !== invocation || current.state !== 'Responding') return;
    current.state = 'RuntimeResponseSentState';
    const trailer = (name: string) => {
      const value = req.trailers[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const errorType = trailer('lambda-runtime-function-error-type');
    const encodedError = trailer('lambda-runtime-function-error-body');
    const errorBody = encodedError !== undefined ? Buffer.from(encodedError, 'base64') : undefined;
    if (over) {
      sendJson(res, 413, {
        errorMessage: `Exceeded maximum allowed payload size (${limit} bytes).`,
        errorType: 'RequestEntityTooLarge',
      });
    } else accepted(res);
    if (sink) {
      this.events.onOutcome(requestId, {
        kind: 'streamed',
        contentType,
        tooLarge: over,
        ...(errorType !== undefined ? { errorType } : {}),
        ...(errorBody !== undefined ? { errorBody } : {}),
      });
    } else if (over) this.events.onOutcome(requestId, { kind: 'tooLarge' });
    else if (errorType !== undefined || errorBody !== undefined) {
      this.events.onOutcome(requestId, { kind: 'error', body: errorBody ?? Buffer.alloc(0), errorType });
    } else this.events.onOutcome(requestId, { kind: 'response', body: Buffer.concat(chunks), contentType });
  }

  private async initError(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.initDone) return forbidden(res, this.current?.state ?? 'Ready', 'InitError');
    this.initDone = true;
    const errorType = req.headers['lambda-runtime-function-error-type'];
    const type = typeof errorType === 'string' ? errorType : undefined;
    const body = await readBody(req, MAX_RUNTIME_PAYLOAD_BYTES);
    if (body === undefined) {
      tooLarge(res);
      // Init still failed; say so even though the runtime's own report was too big to keep.
      const message = 'The init error reported by the runtime exceeded the maximum payload size';
      return this.events.onInitError(
        Buffer.from(JSON.stringify({ errorType: type ?? 'Runtime.Unknown', errorMessage: message })),
        type,
      );
    }
    accepted(res);
    this.events.onInitError(body, type);
  }
}
