// Lambda and the artifact store take any content type as raw bytes: this replaces fastify's
// parsers in a plugin's scope with one that hands the route a Buffer.
import type { FastifyInstance } from 'fastify';

export function acceptRawBodies(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
}

export function bodyOf(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}
