// The gateway-facing side of the agent (port 8080): health, specialisation, and the Runtime
// Interface Emulator's invoke endpoint. Plain node:http: this is the hot path.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AGENT_HEADERS,
  AGENT_INVOKE_PATH_PATTERN,
  AGENT_PATHS,
  INVALID_CLIENT_CONTEXT_MESSAGE,
  STREAM_TRAILERS,
  callerTraceId,
  decodeClientContext as decodeBase64Json,
  phaseHeaders,
} from '../../../operator/src/protocol/index.js';
import {
  InvalidConfigError,
  InvalidRequestContentError,
  NotFoundError,
  RequestTooLargeError,
} from './errors.js';
import type { ExecutionEnvironment, InvokeRequest, InvokeResult } from './environment.js';
import { MAX_INVOKE_REQUEST_BYTES } from './function-errors.js';
import { readBody, sendError, sendJson } from './http.js';
import type { ResponseSink } from './runtime-api.js';

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Specialisation bodies are small JSON documents. */
const MAX_SPECIALIZE_BYTES = 1024 * 1024;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * X-Amz-Client-Context is base64 JSON on the wire; the runtime gets the decoded JSON in a
 * header, so it is re-serialised as ASCII-only JSON (a header cannot carry raw UTF-8 or line
 * breaks; the runtime parses the \u escapes back to the same value).
 */
function decodeClientContext(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const decoded = decodeBase64Json(value);
  if (!decoded) throw new InvalidRequestContentError(INVALID_CLIENT_CONTEXT_MESSAGE);
  return JSON.stringify(decoded.value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function createInvokeServer(env: ExecutionEnvironment): Server {
  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    handle(env, req, res).catch((err) => sendError(res, err));
  });
  // The gateway keeps connections open; closing idle ones here would race its reuse of them.
  server.keepAliveTimeout = 0;
  return server;
}

export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function handle(env: ExecutionEnvironment, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (req.method === 'POST' && AGENT_INVOKE_PATH_PATTERN.test(path)) return invoke(env, req, res);
  if (req.method === 'GET' && path === AGENT_PATHS.health) {
    const { status, body } = env.health();
    return sendJson(res, status, body);
  }
  if (req.method === 'POST' && path === AGENT_PATHS.specialize) return specialize(env, req, res);
  throw new NotFoundError(req.method ?? '', path);
}

async function specialize(
  env: ExecutionEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readBody(req, MAX_SPECIALIZE_BYTES);
  if (body === undefined)
    throw new InvalidConfigError('Invalid function configuration: body larger than 1 MiB');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidConfigError(`Invalid function configuration: not JSON (${(err as Error).message})`);
  }
  sendJson(res, 200, await env.specialize(parsed));
}

/** How the invocation ended, as headers (buffered answer) or trailers (streamed one). */
function outcomeHeaders(result: InvokeResult): Record<string, string> {
  const headers: Record<string, string> = {};
  if (result.functionError) headers[AGENT_HEADERS.functionError] = 'Unhandled';
  if (result.logTail) headers[AGENT_HEADERS.logResult] = result.logTail.toString('base64');
  if (result.initDurationMs !== undefined)
    headers[AGENT_HEADERS.initDurationMs] = result.initDurationMs.toFixed(2);
  if (result.environmentReset) headers[AGENT_HEADERS.environmentReset] = 'true';
  return Object.assign(headers, phaseHeaders(result.phases));
}

/** A function error document rides in a trailer; a very large one is cut to what a header holds. */
const MAX_ERROR_TRAILER_BYTES = 8 * 1024;

/**
 * The streamed answer: 200 and the content type once the runtime starts its response, each
 * chunk as it arrives (the next read waits for this socket to drain), the outcome in trailers.
 * A buffered runtime response goes out as one chunk.
 */
async function streamInvoke(
  env: ExecutionEnvironment,
  request: InvokeRequest,
  res: ServerResponse,
): Promise<void> {
  let started = false;
  const start = (contentType: string) => {
    if (started) return;
    started = true;
    res.writeHead(200, {
      'Content-Type': contentType,
      Trailer: STREAM_TRAILERS.join(', '),
      [AGENT_HEADERS.requestId]: request.requestId,
    });
    res.flushHeaders();
  };
  let finished = false;
  const sink: ResponseSink = {
    start,
    write: (chunk) =>
      new Promise((resolve) => {
        // After a timeout or a gone caller, the rest of the runtime's output is dropped.
        if (finished || res.destroyed || res.write(chunk)) return resolve();
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
  };
  const result = await env.invoke({ ...request, sink });
  finished = true;
  start(result.contentType);
  const trailers = outcomeHeaders(result);
  if (result.functionError) {
    trailers[AGENT_HEADERS.functionErrorBody] = result.body
      .subarray(0, MAX_ERROR_TRAILER_BYTES)
      .toString('base64');
  } else if (!result.streamed && result.body.length > 0) res.write(result.body);
  res.addTrailers(trailers);
  res.end();
}

async function invoke(env: ExecutionEnvironment, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const release = env.claim(); // throws 503 EnvironmentBusy / 409 NotSpecialized before reading the body
  try {
    const body = await readBody(req, MAX_INVOKE_REQUEST_BYTES);
    if (body === undefined) throw new RequestTooLargeError(MAX_INVOKE_REQUEST_BYTES);
    const request: InvokeRequest = {
      requestId: header(req, AGENT_HEADERS.requestId) || randomUUID(),
      body,
      // A synchronous Invoke payload is JSON whatever the client labelled it (the AWS SDKs send
      // application/octet-stream), so the runtime is always told application/json.
      contentType: 'application/json',
      logTail: header(req, AGENT_HEADERS.logType)?.toLowerCase() === 'tail',
      invokedFunctionArn: header(req, AGENT_HEADERS.invokedFunctionArn) || undefined,
      clientContext: decodeClientContext(header(req, AGENT_HEADERS.clientContext)),
      traceId: callerTraceId(req.headers, randomHex),
    };
    if (header(req, AGENT_HEADERS.responseStream) === 'true') return await streamInvoke(env, request, res);
    const result = await env.invoke(request);
    const headers: Record<string, string | number> = {
      'Content-Type': result.contentType,
      'Content-Length': result.body.length,
      [AGENT_HEADERS.requestId]: request.requestId,
      [AGENT_HEADERS.executedVersion]: result.executedVersion,
      ...outcomeHeaders(result),
    };
    res.writeHead(200, headers);
    res.end(result.body);
  } finally {
    release();
  }
}
