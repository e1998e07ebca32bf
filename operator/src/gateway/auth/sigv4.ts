// AWS Signature Version 4 verification (pure): the request as received, a way to look up an
// access key's secret, and the time. Rebuilds the canonical request and string to sign the way
// the AWS SDKs and botocore build them for non-S3 services (path segments URI-encoded again,
// query pairs decoded and re-encoded then sorted, headers lower-cased, trimmed, joined), derives
// the signing key (HMAC chain over date, region, service, "aws4_request") and compares the
// signatures in constant time. No I/O: the caller supplies the body's sha256.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** How far a request's X-Amz-Date may be from the gateway's clock (AWS: 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface SignedRequest {
  method: string;
  /** The path as it came on the wire (percent-encoded), without the query. */
  path: string;
  /** The query string as it came on the wire, without `?` ('' for none). */
  query: string;
  /** Lower-case header names; a header sent more than once has all its values. */
  headers: Record<string, string | readonly string[] | undefined>;
  /** sha256 (hex) of the body bytes as received. */
  bodySha256: string;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type SigV4Failure =
  /** The Authorization header or X-Amz-Date is not a SigV4 one (AWS: IncompleteSignature). */
  | { outcome: 'incomplete'; message: string }
  | { outcome: 'unknown-key'; accessKeyId: string }
  | { outcome: 'expired' | 'not-yet-current'; message: string }
  | { outcome: 'mismatch'; message: string };

export type SigV4Verdict = { outcome: 'verified'; accessKeyId: string; region: string } | SigV4Failure;

export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your ' +
  'AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** True when an Authorization header claims SigV4 (whether or not it is well formed). */
export function isSigV4Authorization(value: string | undefined): boolean {
  return value !== undefined && value.trimStart().startsWith(`${SIGV4_ALGORITHM} `);
}

const CREDENTIAL = /^([A-Za-z0-9+/=_-]{1,128})\/(\d{8})\/([a-z0-9-]{1,64})\/([a-z0-9-]{1,64})\/aws4_request$/;
const SIGNED_HEADERS = /^[a-z0-9!#$%&'*+.^_`|~-]+(;[a-z0-9!#$%&'*+.^_`|~-]+)*$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` → its parts, or why not. */
export function parseAuthorization(value: string): ParsedAuthorization | { incomplete: string } {
  const trimmed = value.trim();
  if (!trimmed.startsWith(`${SIGV4_ALGORITHM} `)) return { incomplete: 'Unsupported signing algorithm.' };
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(SIGV4_ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0)
      return { incomplete: `Authorization header requires each component to be of the form key=value.` };
    const key = part.slice(0, eq).trim();
    if (fields.has(key)) return { incomplete: `Authorization header has '${key}' more than once.` };
    fields.set(key, part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const missing = [
    credential === undefined && "'Credential'",
    signedHeaders === undefined && "'SignedHeaders'",
    signature === undefined && "'Signature'",
  ].filter(Boolean);
  if (missing.length > 0) {
    return { incomplete: `Authorization header requires ${missing.join(', ')} parameter.` };
  }
  const scope = CREDENTIAL.exec(credential!);
  if (!scope) return { incomplete: 'Authorization header has a malformed Credential scope.' };
  if (!SIGNED_HEADERS.test(signedHeaders!))
    return { incomplete: 'Authorization header has malformed SignedHeaders.' };
  if (!SIGNATURE.test(signature!)) return { incomplete: 'Authorization header has a malformed Signature.' };
  return {
    accessKeyId: scope[1]!,
    date: scope[2]!,
    region: scope[3]!,
    service: scope[4]!,
    signedHeaders: signedHeaders!.split(';'),
    signature: signature!,
  };
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX. */
export function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Dot segments and empty segments removed, then every segment encoded (again). */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const joined = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${
    segments.length > 0 && path.endsWith('/') ? '/' : ''
  }`;
  return uriEscape(joined).replace(/%2F/g, '/');
}

function decodeQueryPart(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // not valid percent-encoding: signed as sent, so the signature decides
  }
}

/** Pairs decoded, re-encoded, sorted by key then value; X-Amz-Signature left out. */
export function canonicalQuery(query: string): string {
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = uriEscape(decodeQueryPart(eq < 0 ? part : part.slice(0, eq)));
    const value = uriEscape(decodeQueryPart(eq < 0 ? '' : part.slice(eq + 1)));
    if (key.toLowerCase() === 'x-amz-signature') continue;
    pairs.push([key, value]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const values = typeof value === 'string' ? [value] : value;
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

export function canonicalRequest(
  request: SignedRequest,
  signedHeaders: readonly string[],
  payloadHash: string,
): string | undefined {
  const lines: string[] = [];
  for (const name of signedHeaders) {
    const value = headerValue(request.headers[name]);
    if (value === undefined) return undefined; // a signed header that is not there
    lines.push(`${name}:${value}`);
  }
  return [
    request.method.toUpperCase(),
    canonicalPath(request.path),
    canonicalQuery(request.query),
    ...lines,
    '',
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export function signature(
  secret: string,
  auth: ParsedAuthorization,
  amzDate: string,
  canonical: string,
): string {
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  return createHmac('sha256', signingKey(secret, auth.date, auth.region, auth.service))
    .update(stringToSign(amzDate, scope, canonical))
    .digest('hex');
}

/** `20150830T123600Z` → epoch ms, or undefined. */
export function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? value : value.join(',');
}

export interface VerifyOptions {
  /** The secret of an access key id, or undefined when there is no such key. */
  secretOf: (accessKeyId: string) => string | undefined;
  now: number;
  /** The service the credential must be scoped to (default: any). */
  service?: string;
  maxSkewMs?: number;
}

/** Whether `request` carries a valid SigV4 signature by a known key, made within the skew. */
export function verifySigV4(request: SignedRequest, options: VerifyOptions): SigV4Verdict {
  const authorization = single(request.headers.authorization);
  if (authorization === undefined) return { outcome: 'incomplete', message: 'Missing Authorization header.' };
  const auth = parseAuthorization(authorization);
  if ('incomplete' in auth) return { outcome: 'incomplete', message: auth.incomplete };
  if (options.service !== undefined && auth.service !== options.service) {
    return {
      outcome: 'incomplete',
      message: `Credential should be scoped to correct service: '${options.service}'.`,
    };
  }
  if (!auth.signedHeaders.includes('host')) {
    return { outcome: 'incomplete', message: "'Host' must be a signed header." };
  }
  const amzDate = single(request.headers['x-amz-date']);
  const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined) {
    return {
      outcome: 'incomplete',
      message: "Authorization header requires existence of a valid 'X-Amz-Date' header.",
    };
  }
  if (amzDate.slice(0, 8) !== auth.date) {
    return {
      outcome: 'mismatch',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    };
  }

  const secret = options.secretOf(auth.accessKeyId);
  if (secret === undefined) return { outcome: 'unknown-key', accessKeyId: auth.accessKeyId };

  const skew = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
  if (signedAt < options.now - skew) {
    return {
      outcome: 'expired',
      message: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(options.now - skew)} (${formatAmzDate(options.now)} - 5 min.)`,
    };
  }
  if (signedAt > options.now + skew) {
    return {
      outcome: 'not-yet-current',
      message: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(options.now + skew)} (${formatAmzDate(options.now)} + 5 min.)`,
    };
  }

  // The body is always hashed here; a client-declared hash must match it (no unsigned payloads).
  const declared = single(request.headers['x-amz-content-sha256']);
  if (declared !== undefined && declared !== request.bodySha256) {
    return {
      outcome: 'mismatch',
      message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
    };
  }
  const canonical = canonicalRequest(request, auth.signedHeaders, request.bodySha256);
  if (canonical === undefined) return { outcome: 'mismatch', message: SIGNATURE_MISMATCH_MESSAGE };
  const expected = Buffer.from(signature(secret, auth, amzDate, canonical), 'hex');
  const provided = Buffer.from(auth.signature, 'hex');
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    return { outcome: 'mismatch', message: SIGNATURE_MISMATCH_MESSAGE };
  }
  return { outcome: 'verified', accessKeyId: auth.accessKeyId, region: auth.region };
}

/** sha256 (hex) of a body; the empty body's hash when there is none. */
export function bodySha256(body: Buffer | undefined): string {
  return body === undefined || body.length === 0
    ? EMPTY_SHA256
    : createHash('sha256').update(body).digest('hex');
}

export { EMPTY_SHA256 };
