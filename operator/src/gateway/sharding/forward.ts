// The hop between gateway replicas: a replica that does not own a function's shard hands the
// resolved invocation to the owner over a keep-alive connection, and the owner runs it under
// its ledger, bucket and environments. The caller was already authenticated and authorized by
// the replica it reached; replicas trust each other through a shared token.
//
// The wire is the gateway ↔ agent protocol's invoke exchange (same request headers, same
// buffered answer headers, same streamed answer with trailers), plus the resolved target and
// the invocation type; Lambda errors travel in their own wire form and are rethrown as such.
import { timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Agent, type Dispatcher, request } from 'undici';
import { AccessDeniedException, lambdaErrorFromWire, ServiceException } from '../../errors.js';
import { AGENT_HEADERS, STREAM_TRAILERS } from '../../protocol/index.js';
import { acceptRawBodies, bodyOf } from '../../shared/index.js';
import {
  type AgentStreamSink,
  connectionRefused,
  header,
  outcome as agentOutcome,
  readStreamed,
} from '../environments/agent-client.js';
import type { InvocationType, InvokeOptions, InvokeOutcome } from '../dispatch/invoker.js';
import { FunctionMovedError } from '../environments/environment-pool.js';
import type { InvokeTarget } from '../routing/resolve-target.js';
import { writeWithBackpressure } from '../routes/backpressure.js';

export const FORWARD_PATH = '/lamina/v1/forward';

export const FORWARD_HEADERS = {
  token: 'x-lamina-forward-token',
  /** JSON: namespace, functionName, version, invokedFunctionArn, alias. */
  target: 'x-lamina-forward-target',
  invocationType: 'x-lamina-invocation-type',
  /** On a 421: the replica does not serve the function's shard (any more, or yet). */
  notOwner: 'x-lamina-not-owner',
} as const;

interface ForwardedTarget {
  namespace: string;
  functionName: string;
  version: string;
  invokedFunctionArn: string;
  alias?: string;
}

/** The owner answered that it does not serve the shard: look again and retry. */
export class NotOwnerError extends Error {}

/** The owner could not be reached before anything was sent: safe to retry elsewhere. */
export class OwnerUnreachableError extends Error {}

/** Refused, no route, or the connection not made in time: nothing of the request was sent. */
function refusedBeforeSending(err: unknown): boolean {
  const code = (err as { code?: string; cause?: { code?: string } }).code;
  return connectionRefused(err) || code === 'UND_ERR_CONNECT_TIMEOUT';
}

export class ForwardClient {
  private readonly dispatcher = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });

  constructor(private readonly token: string) {}

  async invoke(
    address: string,
    target: InvokeTarget,
    payload: Buffer,
    opts: InvokeOptions,
    timeoutMs: number,
  ): Promise<InvokeOutcome> {
    const forwarded: ForwardedTarget = {
      namespace: target.namespace,
      functionName: target.functionName,
      version: target.version,
      invokedFunctionArn: target.invokedFunctionArn,
      ...(target.alias !== undefined ? { alias: target.alias } : {}),
    };
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      [FORWARD_HEADERS.token]: this.token,
      [FORWARD_HEADERS.target]: JSON.stringify(forwarded),
      [FORWARD_HEADERS.invocationType]: opts.invocationType,
      [AGENT_HEADERS.requestId]: opts.requestId,
    };
    if (opts.tail) headers[AGENT_HEADERS.logType] = 'Tail';
    if (opts.clientContext) headers[AGENT_HEADERS.clientContext] = opts.clientContext;
    if (opts.traceId) headers[AGENT_HEADERS.traceId] = opts.traceId;
    if (opts.stream) headers[AGENT_HEADERS.responseStream] = 'true';
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${address}${FORWARD_PATH}`, {
        method: 'POST',
        headers,
        body: payload,
        dispatcher: this.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      if (refusedBeforeSending(err)) throw new OwnerUnreachableError(`${address}: ${(err as Error).message}`);
      // Which way the hop broke (the owner's connection closed, a timeout) tells its reader why.
      const code = (err as { code?: string }).code ?? (err as Error).name;
      throw new ServiceException(
        `The gateway replica that owns function ${target.functionName} failed while handling the request (${code}).`,
      );
    }
    if (res.statusCode === 421) {
      await res.body.dump();
      throw new NotOwnerError(`${address} does not serve ${target.functionName}`);
    }
    if (
      res.statusCode === 200 &&
      opts.stream &&
      header(res.headers, AGENT_HEADERS.responseStream) === 'true'
    ) {
      return this.streamed(res, target, opts.stream);
    }
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) {
      throw lambdaErrorFromWire({
        statusCode: res.statusCode,
        headers: Object.fromEntries(
          Object.entries(res.headers).map(([k, v]) => [
            k.toLowerCase(),
            Array.isArray(v) ? v.join(',') : (v ?? ''),
          ]),
        ),
        body: body.toString('utf8'),
      });
    }
    return outcome(body, res.headers, target.version);
  }

  private async streamed(
    res: Dispatcher.ResponseData,
    target: InvokeTarget,
    sink: AgentStreamSink,
  ): Promise<InvokeOutcome> {
    const { payload } = await readStreamed(
      res,
      sink,
      (err) => new ServiceException(`The owning gateway replica broke off the stream: ${err.message}`),
    );
    return outcome(payload, res.trailers as Record<string, string | undefined>, target.version);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The agent protocol's outcome fields, plus the version the owner ran. */
function outcome(
  payload: Buffer,
  fields: Record<string, string | string[] | undefined>,
  version: string,
): InvokeOutcome {
  const { functionError, logResult } = agentOutcome(payload, fields);
  return {
    payload,
    executedVersion: header(fields, AGENT_HEADERS.executedVersion) ?? version,
    ...(functionError ? { functionError } : {}),
    ...(logResult ? { logResult } : {}),
  };
}

export interface ForwardRouteOptions {
  token: string;
  bodyLimit: number;
  /** Whether this replica serves the function's shard now. */
  serves(functionName: string): boolean;
  /** The owner's own resolution and invocation (never forwarded again). */
  resolve(functionName: string, version: string, namespace: string): InvokeTarget;
  invoke(target: InvokeTarget, payload: Buffer, opts: InvokeOptions): Promise<InvokeOutcome>;
}

const INVOCATION_TYPES = new Set<InvocationType>(['RequestResponse', 'Event']);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The owner's side of the hop. */
export async function forwardRoutes(app: FastifyInstance, options: ForwardRouteOptions): Promise<void> {
  acceptRawBodies(app, options.bodyLimit);
  app.post(FORWARD_PATH, async (request, reply) => {
    const token = header(request.headers, FORWARD_HEADERS.token) ?? '';
    if (!options.token || !sameToken(token, options.token)) {
      throw new AccessDeniedException('Not a gateway replica.');
    }
    let forwarded: ForwardedTarget;
    try {
      forwarded = JSON.parse(header(request.headers, FORWARD_HEADERS.target) ?? '') as ForwardedTarget;
    } catch {
      throw new ServiceException('A forwarded invocation named no target.');
    }
    const notOwner = () => reply.code(421).header(FORWARD_HEADERS.notOwner, 'true').send();
    if (!options.serves(forwarded.functionName)) return notOwner();
    const type = header(request.headers, FORWARD_HEADERS.invocationType) as InvocationType;
    const target: InvokeTarget = {
      ...options.resolve(forwarded.functionName, forwarded.version, forwarded.namespace),
      invokedFunctionArn: forwarded.invokedFunctionArn,
      ...(forwarded.alias !== undefined ? { alias: forwarded.alias } : {}),
    };
    const clientContext = header(request.headers, AGENT_HEADERS.clientContext);
    const traceId = header(request.headers, AGENT_HEADERS.traceId);
    const opts: InvokeOptions = {
      requestId: header(request.headers, AGENT_HEADERS.requestId) ?? request.id,
      invocationType: INVOCATION_TYPES.has(type) ? type : 'RequestResponse',
      tail: header(request.headers, AGENT_HEADERS.logType) === 'Tail',
      ...(clientContext ? { clientContext } : {}),
      ...(traceId ? { traceId } : {}),
    };
    const payload = bodyOf(request.body);
    // A cold start cut off by the shard moving on ran nothing: the sender follows the shard.
    const moved = (err: unknown) => err instanceof FunctionMovedError && !reply.sent;
    if (header(request.headers, AGENT_HEADERS.responseStream) !== 'true') {
      let result: InvokeOutcome;
      try {
        result = await options.invoke(target, payload, opts);
      } catch (err) {
        if (moved(err)) return notOwner();
        throw err;
      }
      reply.code(200).header('content-type', 'application/octet-stream');
      reply.header(AGENT_HEADERS.executedVersion, result.executedVersion);
      if (result.functionError) reply.header(AGENT_HEADERS.functionError, result.functionError);
      if (result.logResult) reply.header(AGENT_HEADERS.logResult, result.logResult);
      return reply.send(result.payload);
    }
    try {
      return await streamBack(reply.raw, () => reply.hijack(), target, payload, opts, options);
    } catch (err) {
      if (moved(err)) return notOwner();
      throw err;
    }
  });
}

/** A streamed invocation relayed as the agent streams it: chunks, then how it ended in trailers. */
async function streamBack(
  out: ServerResponse,
  hijack: () => void,
  target: InvokeTarget,
  payload: Buffer,
  opts: InvokeOptions,
  options: ForwardRouteOptions,
): Promise<void> {
  let started = false;
  const stream: AgentStreamSink = {
    start: (contentType) => {
      started = true;
      hijack();
      out.writeHead(200, {
        'content-type': contentType,
        trailer: STREAM_TRAILERS.join(', '),
        [AGENT_HEADERS.responseStream]: 'true',
        [AGENT_HEADERS.executedVersion]: target.version,
      });
      out.flushHeaders();
    },
    write: (chunk) => writeWithBackpressure(out, chunk),
  };
  let result: InvokeOutcome;
  try {
    result = await options.invoke(target, payload, { ...opts, stream });
  } catch (err) {
    if (!started) throw err; // the usual error answer
    out.destroy(err as Error);
    return;
  }
  if (!started) stream.start('application/octet-stream');
  const trailers: Record<string, string> = {};
  if (result.functionError) {
    trailers[AGENT_HEADERS.functionError] = result.functionError;
    trailers[AGENT_HEADERS.functionErrorBody] = result.payload.toString('base64');
  }
  if (result.logResult) trailers[AGENT_HEADERS.logResult] = result.logResult;
  out.addTrailers(trailers);
  out.end();
}
