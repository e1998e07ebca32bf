// The artifact store's HTTP face. Routes (all under the store's base URL):
//   POST   /blobs                  body = zip → 201/200 {"sha256","size","unzippedSize"}
//   PUT    /blobs/sha256/<hex>     body = zip, must hash to <hex> → 201/200 (same body)
//   GET    /blobs/sha256/<hex>     the zip, digest-checked before a byte is sent
//   HEAD   /blobs/sha256/<hex>     200 with content-length and x-lamina-unzipped-size, or 404
//   DELETE /blobs/sha256/<hex>     204 / 404 (garbage collection of a remote store)
//   GET    /blobs                  {"blobs":[BlobInfo…]} (garbage collection of a remote store)
//   GET    /downloads/sha256/<hex>?expires=&signature=   the zip, for a signed, expiring URL
//                                  (download-url.ts); 403 when expired or forged, 404 without a key
//   GET    /healthz
// Errors are JSON {"errorType","errorMessage","reason?"} with the status of their StoreError.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../shared/index.js';
import type { ArtifactStore, BlobInfo } from './artifact-store.js';
import { type StoreAccess, storeAuthError, storeOperation } from './auth.js';
import { checkDownload, DOWNLOAD_ROUTE } from './download-url.js';
import { StoreError, ZipTooLargeError } from './errors.js';

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

const infoHeaders = (info: BlobInfo) => ({
  'x-lamina-sha256': info.sha256,
  'x-lamina-unzipped-size': String(info.unzippedSize),
  'x-lamina-stored-at': new Date(info.storedAt).toISOString(),
  etag: `"sha256:${info.sha256}"`,
});

const publicInfo = ({ sha256, size, unzippedSize }: BlobInfo) => ({ sha256, size, unzippedSize });

export function buildStoreServer({
  store,
  maxZipBytes,
  log,
  access,
  downloadKey,
  now = Date.now,
}: StoreServerOptions): FastifyInstance {
  const app = Fastify({ logger: false, exposeHeadRoutes: false, bodyLimit: maxZipBytes });
  app.removeAllContentTypeParsers();
  // Zips arrive as application/zip, application/octet-stream, or with no type at all (curl --data-binary).
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxZipBytes }, (_req, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((err, request, reply) => {
    const framework = (err ?? {}) as { code?: string; statusCode?: number; message?: string };
    let error: StoreError;
    if (err instanceof StoreError) error = err;
    else if (framework.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      error = new ZipTooLargeError(undefined, maxZipBytes);
    else if (framework.statusCode && framework.statusCode < 500)
      error = new StoreError(
        'InvalidRequestContentException',
        framework.message ?? 'Bad request',
        framework.statusCode,
      );
    else {
      log?.error('store request failed', { method: request.method, url: request.url, error: String(err) });
      error = new StoreError('ServiceException', 'The artifact store failed to handle the request', 500);
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

  const asBuffer = (body: unknown) => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/blobs', async () => ({ blobs: await store.list() }));

  app.post('/blobs', async (request, reply) => {
    const result = await store.put(asBuffer(request.body));
    log?.info('stored zip', { sha256: result.sha256, size: result.size, created: result.created });
    return reply
      .status(result.created ? 201 : 200)
      .headers(infoHeaders(result))
      .send(publicInfo(result));
  });

  app.put<{ Params: { sha256: string } }>('/blobs/sha256/:sha256', async (request, reply) => {
    const result = await store.put(asBuffer(request.body), request.params.sha256);
    log?.info('stored zip', { sha256: result.sha256, size: result.size, created: result.created });
    return reply
      .status(result.created ? 201 : 200)
      .headers(infoHeaders(result))
      .send(publicInfo(result));
  });

  app.get<{ Params: { sha256: string } }>('/blobs/sha256/:sha256', async (request, reply) => {
    const info = await store.stat(request.params.sha256);
    const bytes = await store.get(request.params.sha256); // throws before sending if corrupted
    return reply
      .headers(info ? infoHeaders(info) : {})
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type('application/zip')
      .send(bytes);
  });

  if (downloadKey) {
    app.get<{ Params: { sha256: string }; Querystring: { expires?: string; signature?: string } }>(
      DOWNLOAD_ROUTE,
      async (request, reply) => {
        const { sha256 } = request.params;
        const check = checkDownload(
          downloadKey,
          sha256,
          request.query.expires,
          request.query.signature,
          now(),
        );
        if (!check.ok) {
          throw new StoreError(
            'AccessDeniedException',
            check.why === 'expired' ? 'This download URL has expired' : 'This download URL is not valid',
            403,
          );
        }
        const bytes = await store.get(sha256);
        return reply
          .header('cache-control', 'private, no-store')
          .header('content-disposition', `attachment; filename="${sha256}.zip"`)
          .type('application/zip')
          .send(bytes);
      },
    );
  }

  app.head<{ Params: { sha256: string } }>('/blobs/sha256/:sha256', async (request, reply) => {
    const info = await store.stat(request.params.sha256);
    if (!info) return reply.status(404).send();
    return reply
      .headers(infoHeaders(info))
      .header('content-length', String(info.size))
      .type('application/zip')
      .send();
  });

  app.delete<{ Params: { sha256: string } }>('/blobs/sha256/:sha256', async (request, reply) => {
    const existed = await store.delete(request.params.sha256);
    return reply.status(existed ? 204 : 404).send();
  });

  return app;
}
