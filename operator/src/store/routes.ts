// The artifact store's routes, as a fastify plugin (all under the store's base URL):
//   POST   /blobs                  body = zip → 201/200 {"sha256","size","unzippedSize"}
//   PUT    /blobs/sha256/<hex>     body = zip, must hash to <hex> → 201/200 (same body)
//   GET    /blobs/sha256/<hex>     the zip, digest-checked before a byte is sent
//   HEAD   /blobs/sha256/<hex>     200 with content-length and x-lamina-unzipped-size, or 404
//   DELETE /blobs/sha256/<hex>     204 / 404 (garbage collection of a remote store)
//   GET    /blobs                  {"blobs":[BlobInfo…]} (garbage collection of a remote store)
//   GET    /downloads/sha256/<hex>?expires=&signature=   the zip, for a signed, expiring URL
//                                  (download-url.ts); 403 when expired or forged, 404 without a key
//   GET    /healthz
import type { FastifyInstance, FastifyReply } from 'fastify';
import { acceptRawBodies, bodyOf, type Logger } from '../shared/index.js';
import type { ArtifactStore, BlobInfo } from './artifact-store.js';
import { checkDownload, DOWNLOAD_ROUTE } from './download-url.js';
import { StoreError } from './errors.js';

export interface StoreRouteOptions {
  store: ArtifactStore;
  maxZipBytes: number;
  log?: Logger;
  /** The key of signed download URLs; without it the download route does not exist. */
  downloadKey?: string;
  now: () => number;
}

/** A blob's address: the route refuses anything but a lowercase hex sha256 (InvalidDigestError). */
const blobParams = {
  params: {
    type: 'object',
    properties: { sha256: { type: 'string', pattern: '^[a-f0-9]{64}$' } },
    required: ['sha256'],
  },
} as const;

type BlobRoute = { Params: { sha256: string } };

const infoHeaders = (info: BlobInfo) => ({
  'x-lamina-sha256': info.sha256,
  'x-lamina-unzipped-size': String(info.unzippedSize),
  'x-lamina-stored-at': new Date(info.storedAt).toISOString(),
  etag: `"sha256:${info.sha256}"`,
});

const publicInfo = ({ sha256, size, unzippedSize }: BlobInfo) => ({ sha256, size, unzippedSize });

export async function storeRoutes(
  app: FastifyInstance,
  { store, maxZipBytes, log, downloadKey, now }: StoreRouteOptions,
) {
  // Zips arrive as application/zip, application/octet-stream, or with no type at all (curl --data-binary).
  acceptRawBodies(app, maxZipBytes);

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/blobs', async () => ({ blobs: await store.list() }));

  /** Stores the body (under `sha256` when the client names it): 201 when new, 200 when known. */
  const put = async (body: unknown, reply: FastifyReply, sha256?: string) => {
    const result = await store.put(bodyOf(body), sha256);
    log?.info('stored zip', { sha256: result.sha256, size: result.size, created: result.created });
    return reply
      .status(result.created ? 201 : 200)
      .headers(infoHeaders(result))
      .send(publicInfo(result));
  };

  app.post('/blobs', async (request, reply) => put(request.body, reply));

  app.put<BlobRoute>('/blobs/sha256/:sha256', { schema: blobParams }, async (request, reply) =>
    put(request.body, reply, request.params.sha256),
  );

  app.get<BlobRoute>('/blobs/sha256/:sha256', { schema: blobParams }, async (request, reply) => {
    const info = await store.stat(request.params.sha256);
    const bytes = await store.get(request.params.sha256); // throws before sending if corrupted
    return reply
      .headers(info ? infoHeaders(info) : {})
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type('application/zip')
      .send(bytes);
  });

  app.head<BlobRoute>('/blobs/sha256/:sha256', { schema: blobParams }, async (request, reply) => {
    const info = await store.stat(request.params.sha256);
    if (!info) return reply.status(404).send();
    return reply
      .headers(infoHeaders(info))
      .header('content-length', String(info.size))
      .type('application/zip')
      .send();
  });

  app.delete<BlobRoute>('/blobs/sha256/:sha256', { schema: blobParams }, async (request, reply) => {
    const existed = await store.delete(request.params.sha256);
    return reply.status(existed ? 204 : 404).send();
  });

  if (downloadKey) {
    app.get<BlobRoute & { Querystring: { expires?: string; signature?: string } }>(
      DOWNLOAD_ROUTE,
      // No digest schema here: a URL whose signature does not check is refused (403) first.
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
}
