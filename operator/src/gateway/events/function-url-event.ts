// Function URL requests and responses in payload format 2.0 (LAMBDA-SPEC §9).
import {
  clfTime,
  encodeBody,
  joinedHeaders,
  queryPairs,
  type EventContext,
  type HttpRequest,
  type HttpResponse,
} from './http-request.js';

export function toFunctionUrlEvent(req: HttpRequest, ctx: EventContext): Record<string, unknown> {
  const headers = joinedHeaders(req.headers.filter(([name]) => name.toLowerCase() !== 'cookie'));
  const cookies = req.headers
    .filter(([name]) => name.toLowerCase() === 'cookie')
    .flatMap(([, value]) => value.split(';'))
    .map((c) => c.trim())
    .filter(Boolean);
  const query: Record<string, string> = {};
  for (const [name, value] of queryPairs(req.rawQueryString)) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const path = decodePath(req.rawPath);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.rawPath,
    rawQueryString: req.rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: ctx.apiId,
      authentication: null,
      domainName: ctx.domainName,
      domainPrefix: ctx.domainName.split('.')[0] ?? ctx.domainName,
      http: {
        method: req.method,
        path,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(ctx.timeEpoch),
      timeEpoch: ctx.timeEpoch,
    },
    ...encodeBody(req.body, headers['content-type']),
    pathParameters: null,
    stageVariables: null,
  };
}

function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}

const INTERNAL_ERROR: HttpResponse = {
  statusCode: 502,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  cookies: [],
  body: Buffer.from('Internal Server Error'),
};

/**
 * The HTTP response for a function's result: an object with `statusCode` is used as given;
 * any other valid JSON is sent as a 200 JSON body; a function error or an unusable result
 * is a 502 "Internal Server Error".
 */
export function fromFunctionUrlResult(payload: Buffer, functionError: boolean): HttpResponse {
  if (functionError) return INTERNAL_ERROR;
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return INTERNAL_ERROR;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value) || !('statusCode' in value)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(JSON.stringify(value)),
    };
  }
  const result = value as {
    statusCode: unknown;
    headers?: Record<string, unknown>;
    cookies?: unknown;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return INTERNAL_ERROR;
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(result.headers ?? {})) {
    if (v !== undefined && v !== null) headers[name.toLowerCase()] = String(v);
  }
  headers['content-type'] ??= 'application/json';
  const text =
    result.body === undefined || result.body === null
      ? ''
      : typeof result.body === 'string'
        ? result.body
        : JSON.stringify(result.body);
  return {
    statusCode,
    headers,
    cookies: Array.isArray(result.cookies) ? result.cookies.map(String) : [],
    body: Buffer.from(text, result.isBase64Encoded === true ? 'base64' : 'utf8'),
  };
}
