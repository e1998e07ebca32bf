// Function URL CORS (the Function's `functionUrl.cors`): the gateway answers preflight
// requests itself and sets the CORS headers on responses, overriding any the function set.
import type { FunctionUrlConfig } from '../../api/index.js';

export type CorsConfig = NonNullable<FunctionUrlConfig['cors']>;

function allowedOrigin(cors: CorsConfig, origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  const origins = cors.allowOrigins ?? [];
  if (origins.includes('*')) return cors.allowCredentials ? origin : '*';
  return origins.some((o) => o.toLowerCase() === origin.toLowerCase()) ? origin : undefined;
}

export function isPreflight(method: string, headers: Record<string, string>): boolean {
  return (
    method === 'OPTIONS' &&
    headers.origin !== undefined &&
    headers['access-control-request-method'] !== undefined
  );
}

/** Headers for a preflight answer (empty when the origin or method is not allowed). */
export function preflightHeaders(cors: CorsConfig, headers: Record<string, string>): Record<string, string> {
  const origin = allowedOrigin(cors, headers.origin);
  const method = headers['access-control-request-method']?.toUpperCase() ?? '';
  const methods = (cors.allowMethods ?? []).map((m) => m.toUpperCase());
  if (!origin || !(methods.includes('*') || methods.includes(method))) return {};
  const out: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': methods.includes('*') ? method : methods.join(','),
  };
  const allowHeaders = cors.allowHeaders ?? [];
  const requested = headers['access-control-request-headers'];
  if (allowHeaders.includes('*') && requested) out['access-control-allow-headers'] = requested;
  else if (allowHeaders.length) out['access-control-allow-headers'] = allowHeaders.join(',');
  if (cors.maxAge !== undefined) out['access-control-max-age'] = String(cors.maxAge);
  if (cors.allowCredentials) out['access-control-allow-credentials'] = 'true';
  if (origin !== '*') out.vary = 'Origin';
  return out;
}

/** Headers added to an ordinary response. */
export function responseCorsHeaders(
  cors: CorsConfig,
  headers: Record<string, string>,
): Record<string, string> {
  const origin = allowedOrigin(cors, headers.origin);
  if (!origin) return {};
  const out: Record<string, string> = { 'access-control-allow-origin': origin };
  if (cors.exposeHeaders?.length) out['access-control-expose-headers'] = cors.exposeHeaders.join(',');
  if (cors.allowCredentials) out['access-control-allow-credentials'] = 'true';
  if (origin !== '*') out.vary = 'Origin';
  return out;
}
