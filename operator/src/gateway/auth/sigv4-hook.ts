// SigV4 on the gateway's Lambda APIs (Invoke and the control plane): a request whose
// Authorization header is an AWS4-HMAC-SHA256 signature must verify against an access key
// (access-keys.ts), or it is refused with AWS's error types before any route runs. A verified
// request is recorded as its key's ServiceAccount (VerifiedCallers), and the ordinary
// authorizer then asks SubjectAccessReview about that identity, so RBAC decides as for a
// token. Requests with a bearer token or none are left to the authorizer as before; function
// URLs are not judged here.
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  IncompleteSignatureException,
  InvalidSignatureException,
  UnrecognizedClientException,
} from '../../errors.js';
import type { VerifiedCallers } from '../../kube/index.js';
import type { Logger } from '../../shared/index.js';
import type { AccessKey, AccessKeyLookup } from './access-keys.js';
import { EMPTY_SHA256, isSigV4Authorization, verifySigV4 } from './sigv4.js';

export interface SigV4Options {
  keys: AccessKeyLookup;
  verified: VerifiedCallers;
  now: () => number;
  log: Logger;
}

/** The Lambda APIs' paths all start with their API version date. */
const LAMBDA_API_PATH = /^\/\d{4}-\d{2}-\d{2}\//;

function signedByAws(request: FastifyRequest): boolean {
  const authorization = request.headers.authorization;
  return (
    typeof authorization === 'string' &&
    isSigV4Authorization(authorization) &&
    LAMBDA_API_PATH.test(request.originalUrl)
  );
}

/** Header values as sent, repeated headers kept apart (Node would join them with ", "). */
function rawHeaders(request: FastifyRequest): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  const raw = request.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    (headers[name] ??= []).push(raw[i + 1]!);
  }
  return headers;
}

/** The body's sha256, hashed as the parser reads it (so body limits still apply first). */
const bodyDigests = new WeakMap<FastifyRequest, string>();

function hashingStream(request: FastifyRequest): Transform & { receivedEncodedLength: number } {
  const hash: Hash = createHash('sha256');
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      stream.receivedEncodedLength += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      bodyDigests.set(request, hash.digest('hex'));
      done();
    },
  }) as Transform & { receivedEncodedLength: number };
  stream.receivedEncodedLength = 0;
  return stream;
}

export function verifySignatures(app: FastifyInstance, options: SigV4Options): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (!signedByAws(request)) return payload;
    const hashing = hashingStream(request);
    payload.on('error', (err) => hashing.destroy(err));
    return payload.pipe(hashing);
  });

  app.addHook('preHandler', async (request) => {
    if (!signedByAws(request)) return;
    const [path = '/', query = ''] = splitUrl(request.originalUrl);
    let key: AccessKey | undefined;
    const verdict = verifySigV4(
      {
        method: request.method,
        path,
        query,
        headers: rawHeaders(request),
        // No body read (GET, DELETE without one): the empty body's hash.
        bodySha256: bodyDigests.get(request) ?? EMPTY_SHA256,
      },
      {
        secretOf: (id) => {
          key = options.keys.get(id);
          return key?.secretAccessKey;
        },
        now: options.now(),
        service: 'lambda',
      },
    );
    if (verdict.outcome === 'verified' && key) {
      options.verified.record(request.headers, key.user);
      return;
    }
    options.log.info('SigV4 signature refused', {
      requestId: request.id,
      outcome: verdict.outcome,
      ...(verdict.outcome === 'unknown-key' && { accessKeyId: verdict.accessKeyId }),
    });
    switch (verdict.outcome) {
      case 'unknown-key':
        throw new UnrecognizedClientException('The security token included in the request is invalid.');
      case 'incomplete':
        throw new IncompleteSignatureException(verdict.message);
      case 'expired':
      case 'not-yet-current':
      case 'mismatch':
        throw new InvalidSignatureException(verdict.message);
      default:
        throw new InvalidSignatureException('The request signature could not be verified.');
    }
  });
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}
