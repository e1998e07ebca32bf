// API Gateway REST proxy events and responses, payload format 1.0 (LAMBDA-SPEC §9), for
// functions whose URL sets `payloadFormatVersion: "1.0"`.
import { randomUUID } from 'node:crypto';
import {
  clfTime,
  encodeBody,
  queryPairs,
  type EventContext,
  type HttpRequest,
  type HttpResponse,
} from './http-request.js';

function multi(pairs: Array<[string, string]>, lower: boolean) {
  const single: Record<string, string> = {};
  const multiple: Record<string, string[]> = {};
  for (const [rawName, value] of pairs) {
    const name = lower ? rawName.toLowerCase() : rawName;
    single[name] = value; // the last value wins in the single-value map
    (multiple[name] ??= []).push(value);
  }
  return Object.keys(single).length ? { single, multiple } : { single: null, multiple: null };
}

export function toApiGatewayEvent(req: HttpRequest, ctx: EventContext): Record<string, unknown> {
  const headers = multi(req.headers, false);
  const query = multi(queryPairs(req.rawQueryString), false);
  const contentType = req.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
  const userAgent = req.headers.find(([n]) => n.toLowerCase() === 'user-agent')?.[1] ?? null;
  const path = req.rawPath;
  const encoded = encodeBody(req.body, contentType);
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: req.method,
    headers: headers.single,
    multiValueHeaders: headers.multiple,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multiple,
    pathParameters: path === '/' ? null : { proxy: path.replace(/^\//, '') },
    stageVariables: null,
    requestContext: {
      accountId: ctx.accountId,
      apiId: ctx.apiId,
      domainName: ctx.domainName,
      extendedRequestId: ctx.requestId,
      httpMethod: req.method,
      identity: {
        accessKey: null,
        accountId: null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.sourceIp,
        user: null,
        userAgent,
        userArn: null,
      },
      path,
      protocol: req.protocol,
      requestId: ctx.requestId,
      requestTime: clfTime(ctx.timeEpoch),
      requestTimeEpoch: ctx.timeEpoch,
      resourceId: randomUUID().slice(0, 6),
      resourcePath: '/{proxy+}',
      stage: '$default',
    },
    body: encoded.body ?? null,
    isBase64Encoded: encoded.isBase64Encoded,
  };
}

const BAD_GATEWAY: HttpResponse = {
  statusCode: 502,
  headers: { 'content-type': 'application/json' },
  cookies: [],
  body: Buffer.from('{"message": "Internal server error"}'),
};

/** API Gateway infers nothing: a result must be an object with a valid statusCode. */
export function fromApiGatewayResult(payload: Buffer, functionError: boolean): HttpResponse {
  if (functionError) return BAD_GATEWAY;
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return BAD_GATEWAY;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return BAD_GATEWAY;
  const result = value as {
    statusCode?: unknown;
    headers?: Record<string, unknown>;
    multiValueHeaders?: Record<string, unknown[]>;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return BAD_GATEWAY;
  if (result.body !== undefined && result.body !== null && typeof result.body !== 'string')
    return BAD_GATEWAY;
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    if (!Array.isArray(values)) continue;
    if (name.toLowerCase() === 'set-cookie') cookies.push(...values.map(String));
    else headers[name.toLowerCase()] = values.map(String).join(',');
  }
  for (const [name, v] of Object.entries(result.headers ?? {})) {
    if (v === undefined || v === null) continue;
    if (name.toLowerCase() === 'set-cookie') cookies.push(String(v));
    else headers[name.toLowerCase()] = String(v);
  }
  return {
    statusCode,
    headers,
    cookies,
    body: Buffer.from(result.body ?? '', result.isBase64Encoded === true ? 'base64' : 'utf8'),
  };
}
