// Function URLs: any method on /lambda-url/<namespace>/<function>[:<alias>]/<path…> for
// functions with `spec.functionUrl`; HTTP → event (2.0, or 1.0 API Gateway proxy) → invoke →
// HTTP (LAMBDA-SPEC §9), with the function's CORS settings.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessDeniedException, ResourceNotFoundException } from '../../errors.js';
import { traceIdFromHeaders } from '../../protocol/index.js';
import { withoutCredentials } from '../../kube/index.js';
import type { UrlAuthorizer } from '../auth/lambda-auth.js';
import type { FunctionCatalog } from '../catalog/catalog.js';
import type { Invoker } from '../dispatch/invoker.js';
import { fromApiGatewayResult, toApiGatewayEvent } from '../events/api-gateway-event.js';
import { isPreflight, preflightHeaders, responseCorsHeaders } from '../events/cors.js';
import { fromFunctionUrlResult, toFunctionUrlEvent } from '../events/function-url-event.js';
import { type HttpRequest, joinedHeaders } from '../events/http-request.js';
import type { GatewayMetrics } from '../metrics.js';
import { URL_PREFIX } from '../../api/index.js';
import { parseUrlTarget } from '../routing/function-url.js';
import { resolveTarget } from '../routing/resolve-target.js';
import type { RandomSource } from '../routing/weighted-routing.js';
import { acceptRawBodies, bodyOf } from '../../shared/index.js';

/** Decides whether a request may call a function URL whose authType is not NONE. */
export type { UrlAuthorizer };

export interface FunctionUrlRouteOptions {
  invoker: Invoker;
  catalog: FunctionCatalog;
  metrics: GatewayMetrics;
  region: string;
  random: RandomSource;
  payloadLimitBytes: number;
  now: () => number;
  authorizer?: UrlAuthorizer;
}

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

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
    const outcome = await invoker.invoke(resolved, Buffer.from(JSON.stringify(event)), {
      requestId: request.id,
      invocationType: 'RequestResponse',
      traceId: traceIdFromHeaders(request.headers, options.now(), randomHex),
    });
    const response = v1
      ? fromApiGatewayResult(outcome.payload, outcome.functionError !== undefined)
      : fromFunctionUrlResult(outcome.payload, outcome.functionError !== undefined);
    const statusClass = `${Math.floor(response.statusCode / 100)}xx`;
    metrics.urlResponses.inc({ namespace, function: name, status_class: statusClass });
    reply.code(response.statusCode).headers(response.headers);
    if (cors) reply.headers(responseCorsHeaders(cors, headers));
    if (response.cookies.length) reply.header('set-cookie', response.cookies);
    return reply.send(response.body);
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
