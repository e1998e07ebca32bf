// The artifact store's HTTP server: authentication before the body is read, the routes
// (routes.ts), and the one error handler. Errors are JSON {"errorType","errorMessage","reason?"}
// with the status of their StoreError (wire.ts maps anything else to one).
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../shared/index.js';
import type { ArtifactStore } from './artifact-store.js';
import { type StoreAccess, storeAuthError, storeOperation } from './auth.js';
import { storeRoutes } from './routes.js';
import { asStoreError, internalStoreError } from './wire.js';

export interface StoreServerOptions {
  store: ArtifactStore;
  maxZipBytes: number;
  log?: Logger;
  /** When set, uploads, deletes and the list need a token it allows (store/auth.ts). */
  access?: StoreAccess;
  /** The key of signed download URLs; without it the download route does not exist. */
  downloadKey?: string;
  now?: () => number;
}

export function buildStoreServer({
  store,
  maxZipBytes,
  log,
  access,
  downloadKey,
  now = Date.now,
}: StoreServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, exposeHeadRoutes: false, bodyLimit: maxZipBytes });

  app.setErrorHandler((err, request, reply) => {
    let error = asStoreError(err, { maxZipBytes, params: request.params });
    if (!error) {
      log?.error('store request failed', { method: request.method, url: request.url, error: String(err) });
      error = internalStoreError();
    }
    if (error.httpStatus >= 500) log?.warn('store error', { url: request.url, error: error.message });
    void reply.status(error.httpStatus).type('application/json').send(JSON.stringify(error.toJSON()));
  });

  // Before the body is read: an unauthorised upload costs no more than its headers.
  if (access) {
    app.addHook('onRequest', async (request, reply) => {
      const attributes = storeOperation(request.method, request.routeOptions.url);
      if (!attributes) return;
      const error = storeAuthError(await access.check(request.headers, attributes), attributes);
      if (error?.httpStatus === 401) void reply.header('www-authenticate', 'Bearer realm="lamina-store"');
      if (error) throw error;
    });
  }

  void app.register(storeRoutes, {
    store,
    maxZipBytes,
    now,
    ...(log ? { log } : {}),
    ...(downloadKey ? { downloadKey } : {}),
  });
  return app;
}
