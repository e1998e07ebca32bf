// Where a caller's Kubernetes token comes from (pure). `Authorization: Bearer <token>` is the
// plain-HTTP way; AWS SDKs own the Authorization header (they put a SigV4 signature there), so
// `X-Lamina-Token: <token>` is accepted as well. A SigV4 Authorization header is never a
// credential here: with auth off it is ignored, with auth on the token must come in
// X-Lamina-Token.

export type HeaderBag = Record<string, string | string[] | undefined>;

export const TOKEN_HEADER = 'x-lamina-token';

/** Longer than any service-account or OIDC token; larger values are refused unsent. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** Header names whose values must not reach the function (a bearer token can be replayed). */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', TOKEN_HEADER];

export type Credential =
  { kind: 'none' } | { kind: 'malformed'; why: string } | { kind: 'token'; token: string };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
// Visible ASCII: what JWTs and opaque tokens are made of; no whitespace, no control bytes.
const TOKEN = /^[\x21-\x7e]+$/;

function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : value.join(', ');
  return value;
}

function validate(token: string): Credential {
  if (token.length > MAX_TOKEN_LENGTH) return { kind: 'malformed', why: 'token too long' };
  if (!TOKEN.test(token)) return { kind: 'malformed', why: 'token has characters no token has' };
  return { kind: 'token', token };
}

/** The caller's token: `Authorization: Bearer …` first, then `X-Lamina-Token`. */
export function credentialFrom(headers: HeaderBag): Credential {
  const authorization = single(headers.authorization)?.trim();
  if (authorization) {
    const bearer = BEARER.exec(authorization);
    if (bearer?.[1]) return validate(bearer[1]);
    // Anything else in Authorization (SigV4, Basic …) is not ours to judge.
  }
  const header = single(headers[TOKEN_HEADER])?.trim();
  if (header) {
    const bearer = BEARER.exec(header);
    return validate(bearer?.[1] ?? header);
  }
  return { kind: 'none' };
}

/** Header pairs without the credential headers (what a function URL's event may carry). */
export function withoutCredentials(pairs: Array<[string, string]>): Array<[string, string]> {
  return pairs.filter(([name]) => !CREDENTIAL_HEADERS.includes(name.toLowerCase()));
}
