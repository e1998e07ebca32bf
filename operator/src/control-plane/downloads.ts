// GetFunction's Code.Location: a signed, expiring download URL (store/download-url.ts). When
// the artifact store is reachable by API clients it serves the URL itself; otherwise the
// gateway serves GET /lamina/code/sha256/<hex> from the store, after the same check, at the
// address the client used to reach it (so `--endpoint-url` is all a client needs).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccessDeniedException, ResourceNotFoundException, ServiceException } from '../errors.js';
import { BlobNotFoundError, checkDownload, signDownloadUrl } from '../store/index.js';
import type { ControlPlaneContext } from './context.js';

const GATEWAY_PREFIX = '/lamina/code';

export function codeLocation(ctx: ControlPlaneContext, request: FastifyRequest, sha256: string): string {
  const { key, ttlSeconds, storePublicUrl } = ctx.options.downloads;
  if (storePublicUrl) return signDownloadUrl(storePublicUrl, key, sha256, ctx.options.now(), ttlSeconds);
  const base = `${request.protocol}://${request.host}${GATEWAY_PREFIX}`;
  // signDownloadUrl builds <base>/downloads/sha256/<hex>; the gateway serves that under its prefix.
  return signDownloadUrl(base, key, sha256, ctx.options.now(), ttlSeconds);
}

export function downloadRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  app.get<{ Params: { sha256: string }; Querystring: { expires?: string; signature?: string } }>(
    `${GATEWAY_PREFIX}/downloads/sha256/:sha256`,
    async (request, reply) => {
      const { sha256 } = request.params;
      const check = checkDownload(
        ctx.options.downloads.key,
        sha256,
        request.query.expires,
        request.query.signature,
        ctx.options.now(),
      );
      if (!check.ok) {
        throw new AccessDeniedException(
          check.why === 'expired' ? 'This download URL has expired.' : 'This download URL is not valid.',
        );
      }
      let bytes: Buffer;
      try {
        bytes = await ctx.options.store(undefined).get(sha256);
      } catch (err) {
        if (err instanceof BlobNotFoundError) throw new ResourceNotFoundException(`Code ${sha256} not found`);
        throw new ServiceException('The artifact store could not be reached.');
      }
      return reply
        .header('cache-control', 'private, no-store')
        .header('content-disposition', `attachment; filename="${sha256}.zip"`)
        .type('application/zip')
        .send(bytes);
    },
  );
}
