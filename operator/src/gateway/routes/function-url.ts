// Function URLs: any method on /lambda-url/<namespace>/<function>[:<alias>]/<path…> for
// functions with `spec.functionUrl`; HTTP → event (2.0, or 1.0 API Gateway proxy) → invoke →
// HTTP (LAMBDA-SPEC §9), with the function's CORS settings.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessDeniedException, ResourceNotFoundException } from '../../errors.js';
import { traceIdFromHeaders } from '../../protocol/index.js';
import { withoutCredentials } from '../../kube/index.js';
import type { UrlAuthorizer } from '../auth/lambda-auth.js';
import type { FunctionCatalog } from '../catalog/catalog.js';
import type { InvokeOutcome, InvokePort } from '../dispatch/invoker.js';
import type { AgentStreamSink } from '../environments/agent-client.js';
import {
  HTTP_INTEGRATION_CONTENT_TYPE,
  PreludeReader,
  type StreamingHttpMetadata,
} from '../events/http-integration-response.js';
import { fromApiGatewayResult, toApiGatewayEvent } from '../events/api-gateway-event.js';
import { isPreflight, preflightHeaders, responseCorsHeaders } from '../events/cors.js';
import { fromFunctionUrlResult, toFunctionUrlEvent } from '../events/function-url-event.js';
import { type HttpRequest, joinedHeaders } from '../events/http-request.js';
import type { GatewayMetrics } from '../metrics.js';
import { URL_PREFIX } from '../../api/index.js';
import { parseUrlTarget } from '../routing/function-url.js';
import { resolveTarget } from '../routing/resolve-target.js';
import type { RandomSource } from '../routing/weighted-routing.js';
import { acceptRawBodies, bodyOf, randomHex } from '../../shared/index.js';
import { writeWithBackpressure } from './backpressure.js';

/** Decides whether a request may call a function URL whose authType is not NONE. */
export type { UrlAuthorizer };

export interface FunctionUrlRouteOptions {
  invoker: InvokePort;
  catalog: FunctionCatalog;
  metrics: GatewayMetrics;
  region: string;
  random: RandomSource;
  payloadLimitBytes: number;
  now: () => number;
  authorizer?: UrlAuthorizer;
}

function rawPairs(request: FastifyRequest): Array<[string, string]> {
  const raw = request.raw.rawHeaders;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return pairs;
}

export async function functionUrlRoutes(
  app: FastifyInstance,
  options: FunctionUrlRouteOptions,
): Promise<void> {
  const { invoker, catalog, metrics } = options;
  acceptRawBodies(app, options.payloadLimitBytes);

  const handler = async (
    request: FastifyRequest<{ Params: { namespace: string; target: string } }>,
    reply: FastifyReply,
  ) => {
    const { namespace, target } = request.params;
    const { name, qualifier } = parseUrlTarget(target);
    const fn = catalog.getFunction(namespace, name);
    const urlConfig = fn?.spec.functionUrl;
    if (!fn || !urlConfig)
      throw new ResourceNotFoundException(`Function URL not found: ${namespace}/${target}`);

    // /lambda-url/<namespace>/<target>/<rest…>?<query>, percent-encoding intact.
    const q = request.url.indexOf('?');
    const path = q < 0 ? request.url : request.url.slice(0, q);
    const query = q < 0 ? '' : request.url.slice(q + 1);
    const rawPath =
      '/' +
      path
        .slice(URL_PREFIX.length + 1)
        .split('/')
        .slice(2)
        .join('/');
    const httpRequest: HttpRequest = {
      method: request.method,
      rawPath,
      rawQueryString: query,
      headers: rawPairs(request),
      body: bodyOf(request.body),
      sourceIp: request.ip,
      protocol: `HTTP/${request.raw.httpVersion}`,
    };
    const headers = joinedHeaders(httpRequest.headers);

    // A preflight carries no credentials and runs nothing: answered before the auth check.
    const cors = urlConfig.cors;
    if (cors && isPreflight(request.method, headers)) {
      return reply.code(200).headers(preflightHeaders(cors, headers)).send();
    }
    if (urlConfig.authType !== 'NONE') {
      const allowed = await options.authorizer?.authorize(httpRequest, namespace, name);
      if (!allowed) throw new AccessDeniedException('Forbidden');
      // A bearer token can be replayed: the function never sees the caller's credential.
      httpRequest.headers = withoutCredentials(httpRequest.headers);
    }

    const resolved = resolveTarget(
      catalog,
      { namespace, name, ...(qualifier ? { qualifier } : {}) },
      options.region,
      options.random,
    );
    const context = {
      requestId: request.id,
      accountId: namespace,
      apiId: name,
      domainName: headers.host ?? 'localhost',
      timeEpoch: options.now(),
    };
    const v1 = urlConfig.payloadFormatVersion === '1.0';
    const event = v1 ? toApiGatewayEvent(httpRequest, context) : toFunctionUrlEvent(httpRequest, context);
    const invokeOptions = {
      requestId: request.id,
      invocationType: 'RequestResponse' as const,
      traceId: traceIdFromHeaders(request.headers, options.now(), randomHex),
    };
    const payload = Buffer.from(JSON.stringify(event));
    const corsHeaders = cors ? responseCorsHeaders(cors, headers) : {};
    const count = (status: number) =>
      metrics.urlResponses.inc({ namespace, function: name, status_class: `${Math.floor(status / 100)}xx` });
    if (urlConfig.invokeMode === 'RESPONSE_STREAM') {
      const streamed = await streamResponse(
        reply,
        (stream) => invoker.invoke(resolved, payload, { ...invokeOptions, stream }),
        corsHeaders,
      );
      if (streamed.status !== undefined) return count(streamed.status);
      // Nothing streamed (a buffered handler, or an error before any byte): mapped as buffered.
      return sendMapped(streamed.outcome);
    }
    return sendMapped(await invoker.invoke(resolved, payload, invokeOptions));

    function sendMapped(outcome: InvokeOutcome) {
      const response = v1
        ? fromApiGatewayResult(outcome.payload, outcome.functionError !== undefined)
        : fromFunctionUrlResult(outcome.payload, outcome.functionError !== undefined);
      count(response.statusCode);
      reply.code(response.statusCode).headers(response.headers).headers(corsHeaders);
      if (response.cookies.length) reply.header('set-cookie', response.cookies);
      return reply.send(response.body);
    }
  };

  const route = {
    bodyLimit: options.payloadLimitBytes,
    // Any text: a name no function has is the handler's 404, as Lambda answers it.
    schema: {
      params: {
        type: 'object',
        properties: { namespace: { type: 'string' }, target: { type: 'string' }, '*': { type: 'string' } },
        required: ['namespace', 'target'],
      },
    },
  };
  app.all(`${URL_PREFIX}/:namespace/:target`, route, handler);
  app.all(`${URL_PREFIX}/:namespace/:target/*`, route, handler);
}

/**
 * A RESPONSE_STREAM URL: chunked HTTP to the caller as the function writes. With the
 * http-integration-response content type, the status, headers and cookies come from the
 * prelude; otherwise 200 with the function's content type. `status` is unset when the
 * function streamed nothing (its outcome is then answered like a buffered one).
 */
async function streamResponse(
  reply: FastifyReply,
  invoke: (sink: AgentStreamSink) => Promise<InvokeOutcome>,
  corsHeaders: Record<string, string>,
): Promise<{ status?: number; outcome: InvokeOutcome }> {
  const out = reply.raw;
  let status: number | undefined;
  let prelude: PreludeReader | undefined;
  let contentType = 'application/octet-stream';
  const open = (metadata: StreamingHttpMetadata) => {
    status = metadata.statusCode;
    reply.hijack();
    const head: Record<string, string | string[]> = { ...metadata.headers, ...corsHeaders };
    if (metadata.cookies.length > 0) head['set-cookie'] = metadata.cookies;
    out.writeHead(metadata.statusCode, head);
    out.flushHeaders();
  };
  const write = (chunk: Buffer) => writeWithBackpressure(out, chunk);
  const sink: AgentStreamSink = {
    start: (type) => {
      contentType = type;
      if (type === HTTP_INTEGRATION_CONTENT_TYPE) prelude = new PreludeReader();
    },
    write: async (chunk) => {
      if (prelude) {
        const { metadata, body } = prelude.push(chunk);
        if (metadata) open(metadata);
        return write(body);
      }
      if (status === undefined)
        open({ statusCode: 200, headers: { 'content-type': contentType }, cookies: [] });
      return write(chunk);
    },
  };
  let outcome: InvokeOutcome;
  try {
    outcome = await invoke(sink);
  } catch (err) {
    if (status === undefined) throw err;
    out.destroy(); // the status is gone: a broken-off stream is all a caller can be told
    return { status, outcome: { payload: Buffer.alloc(0), executedVersion: '' } };
  }
  if (status === undefined && prelude && !outcome.functionError) {
    const metadata = prelude.end();
    if (metadata) open(metadata);
  }
  if (status !== undefined) out.end();
  return { ...(status !== undefined ? { status } : {}), outcome };
}
