// Lambda's control-plane REST API as one fastify plugin: CreateFunction … GetAccountSettings
// write and read the lamina.dev custom resources, so `kubectl` and the AWS API are two views
// of the same objects and the operator stays the only reconciler. See README.md beside this
// file for the operations, the identity rules and what this folder imports from elsewhere.
import type { FastifyInstance } from 'fastify';
import { InvalidRequestContentException, toWireError } from '../errors.js';
import type { Logger } from '../shared/index.js';
import { ControlPlaneContext, type ControlPlaneOptions } from './context.js';
import { downloadRoutes } from './downloads.js';
import { codeSigningRoutes } from './routes-code-signing.js';
import { concurrencyRoutes } from './routes-concurrency.js';
import { configRoutes } from './routes-config.js';
import { eventSourceMappingRoutes } from './routes-esm.js';
import { layerPolicyRoutes } from './routes-layer-policy.js';
import { layerRoutes } from './routes-layers.js';
import { functionPolicyRoutes } from './routes-function-policy.js';
import { functionRoutes } from './routes-functions.js';
import { versionRoutes } from './routes-versions.js';

export type { ControlPlaneOptions } from './context.js';
export { allowEveryone, kubernetesAccess, type ControlPlaneAccess } from './access.js';
export { httpStore, kubernetesObjects } from './kubernetes.js';
export type { LaminaObjects } from './objects.js';

/** Small JSON bodies (everything but code uploads). */
const JSON_BODY_LIMIT = 1024 * 1024;

/** A body carrying a base64 zip of `maxZipBytes`, plus room for the other members. */
export function uploadBodyLimit(maxZipBytes: number): number {
  return Math.ceil((maxZipBytes * 4) / 3) + 256 * 1024;
}

export async function controlPlaneRoutes(
  app: FastifyInstance,
  options: ControlPlaneOptions & { log: Logger },
): Promise<void> {
  const ctx = new ControlPlaneContext(options);
  const uploadLimit = uploadBodyLimit(options.code.maxZipBytes);

  // Every client sends JSON, with or without a content type (botocore may omit it).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(
        new InvalidRequestContentException(
          `Could not parse request body into json: ${(err as Error).message}`,
        ),
        undefined,
      );
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const operation = (request.routeOptions.config as { operation?: string } | undefined)?.operation;
    const wire = toWireError(error, {
      requestId: request.id,
      bodyLimit: request.routeOptions.bodyLimit ?? JSON_BODY_LIMIT,
      ...(operation && { operation }),
    });
    if (wire.statusCode >= 500) {
      options.log.error('control-plane request failed', {
        requestId: request.id,
        url: request.url,
        error: String(error),
      });
    }
    return reply.code(wire.statusCode).headers(wire.headers).send(wire.body);
  });

  app.addHook('preHandler', (request) => ctx.identifyCaller(request));

  functionRoutes(app, ctx, uploadLimit);
  versionRoutes(app, ctx);
  concurrencyRoutes(app, ctx);
  layerRoutes(app, ctx, uploadLimit);
  layerPolicyRoutes(app, ctx);
  configRoutes(app, ctx);
  functionPolicyRoutes(app, ctx);
  codeSigningRoutes(app, ctx);
  eventSourceMappingRoutes(app, ctx);
  downloadRoutes(app, ctx);
}
