// The gateway's HTTP server: the Invoke API, function URLs, /metrics and /healthz as
// explicitly registered plugins. Every error leaves through the one mapper in errors.ts.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { type ControlPlaneOptions, controlPlaneRoutes } from '../control-plane/index.js';
import { toWireError, UnknownOperationException } from '../errors.js';
import { type CallerNamespace, fixedNamespace, type VerifiedCallers } from '../kube/index.js';
import type { Logger } from '../shared/index.js';
import type { AsyncQueue } from './async/async-queue.js';
import type { AccessKeyLookup } from './auth/access-keys.js';
import type { InvokeAuthorizer } from './auth/lambda-auth.js';
import { verifySignatures } from './auth/sigv4-hook.js';
import type { FunctionCatalog } from './catalog/catalog.js';
import type { InvokePort } from './dispatch/invoker.js';
import type { GatewayMetrics } from './metrics.js';
import { functionUrlRoutes, type UrlAuthorizer } from './routes/function-url.js';
import { invokeRoutes } from './routes/invoke.js';
import { observabilityRoutes } from './routes/observability.js';
import { hostToUrlPrefix } from './routing/function-url.js';
import type { CoordinatorStatus } from './sharding/coordinator.js';
import { type ForwardRouteOptions, forwardRoutes } from './sharding/forward.js';
import type { RandomSource } from './routing/weighted-routing.js';

/** SigV4 on the Lambda APIs: the access keys, and where verified callers are recorded for the authorizer. */
export interface SigV4Verification {
  keys: AccessKeyLookup;
  verified: VerifiedCallers;
  /** Wall-clock time for the 5-minute skew (default Date.now). */
  now?: () => number;
}

export interface ServerOptions {
  invoker: InvokePort;
  catalog: FunctionCatalog;
  metrics: GatewayMetrics;
  log: Logger;
  region: string;
  urlDomain: string;
  syncPayloadLimitBytes: number;
  asyncPayloadLimitBytes: number;
  random?: RandomSource;
  now?: () => number;
  asyncQueue?: AsyncQueue;
  urlAuthorizer?: UrlAuthorizer;
  /** When set, Invoke API callers must be allowed by it (LAMINA_INVOKE_AUTH=kubernetes). */
  invokeAuthorizer?: InvokeAuthorizer;
  /** Namespace of bare function names (default "default")… */
  defaultNamespace?: string;
  /** …unless the caller's own namespace is known (auth on: a service account's). */
  bareNames?: CallerNamespace;
  ready?: () => boolean;
  /** Stopping: every response asks its client to close the connection, so none is reused. */
  closing?: () => boolean;
  /** Verify AWS SigV4 signatures on the Invoke API and the control plane. */
  sigv4?: SigV4Verification;
  /** Lambda's control-plane API (CreateFunction …), when served by this gateway. */
  controlPlane?: ControlPlaneOptions;
  /** Several replicas: invocations forwarded here by the others (without bodyLimit: the server's). */
  forward?: Omit<ForwardRouteOptions, 'bodyLimit'>;
  /** Several replicas: this one's shard ownership, on /healthz. */
  sharding?: () => CoordinatorStatus | undefined;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const app = Fastify({
    logger: false,
    genReqId: () => randomUUID(),
    // A full ARN may be 256 characters (LAMBDA-SPEC §1): the router's default of 100 would
    // answer longer valid names with its own 414 instead of Lambda's errors.
    routerOptions: { maxParamLength: 2048 },
    // Headroom over the payload limit so fastify's own limit never fires first.
    bodyLimit: options.syncPayloadLimitBytes,
    // A stopping replica still serves what reaches it on a connection that was already open
    // (it forwards it to the function's new owner) instead of answering 503: the client sent it
    // before it could see this replica's `Connection: close`.
    return503OnClosing: false,
    // A function's host owns every path on it: map it to the path-based URL first.
    rewriteUrl: (req) => {
      const prefix = hostToUrlPrefix(req.headers.host, options.urlDomain);
      return prefix ? `${prefix}${req.url ?? '/'}` : (req.url ?? '/');
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-amzn-RequestId', request.id);
    // A stopping replica: the client opens its next connection elsewhere instead of reusing
    // this one just as the server closes it.
    if (options.closing?.()) reply.header('connection', 'close');
  });

  app.setErrorHandler((error, request, reply) => {
    const wire = toWireError(error, {
      requestId: request.id,
      bodyLimit: request.routeOptions.bodyLimit ?? options.syncPayloadLimitBytes,
      operation: 'InvokeFunction',
    });
    if (wire.statusCode >= 500) {
      options.log.error('request failed', { requestId: request.id, url: request.url, error: String(error) });
    }
    return reply.code(wire.statusCode).headers(wire.headers).send(wire.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const wire = toWireError(new UnknownOperationException('UnknownOperationException'), {
      requestId: request.id,
    });
    return reply.code(wire.statusCode).headers(wire.headers).send(wire.body);
  });

  if (options.sigv4) {
    // Before every route plugin, so the caller is known when the routes authorize it.
    verifySignatures(app, {
      keys: options.sigv4.keys,
      verified: options.sigv4.verified,
      now: options.sigv4.now ?? Date.now,
      log: options.log,
    });
  }

  await app.register(invokeRoutes, {
    invoker: options.invoker,
    syncPayloadLimitBytes: options.syncPayloadLimitBytes,
    asyncPayloadLimitBytes: options.asyncPayloadLimitBytes,
    now,
    ...(options.asyncQueue ? { asyncQueue: options.asyncQueue } : {}),
    bareNames: options.bareNames ?? fixedNamespace(options.defaultNamespace ?? 'default'),
    ...(options.invokeAuthorizer ? { auth: { authorizer: options.invokeAuthorizer } } : {}),
  });
  await app.register(functionUrlRoutes, {
    invoker: options.invoker,
    catalog: options.catalog,
    metrics: options.metrics,
    region: options.region,
    random,
    payloadLimitBytes: options.syncPayloadLimitBytes,
    now,
    ...(options.urlAuthorizer ? { authorizer: options.urlAuthorizer } : {}),
  });
  if (options.controlPlane) {
    await app.register(controlPlaneRoutes, { ...options.controlPlane, log: options.log });
  }
  if (options.forward) {
    await app.register(forwardRoutes, { ...options.forward, bodyLimit: options.syncPayloadLimitBytes });
  }
  await app.register(observabilityRoutes, {
    metrics: options.metrics,
    ready: options.ready ?? (() => true),
    ...(options.sharding ? { sharding: options.sharding } : {}),
  });
  return app;
}
