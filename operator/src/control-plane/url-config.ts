// Function URL configuration, pure: Lambda's FunctionUrlConfig ↔ the Function's
// spec.functionUrl. AWS_IAM maps to KUBERNETES (a bearer token RBAC allows to `invoke`);
// RESPONSE_STREAM has no Lamina counterpart and is refused.
import type { FunctionUrlConfig } from '../api/index.js';
import { ValidationException } from '../errors.js';

export interface CorsShape {
  AllowCredentials?: boolean | undefined;
  AllowHeaders?: string[] | undefined;
  AllowMethods?: string[] | undefined;
  AllowOrigins?: string[] | undefined;
  ExposeHeaders?: string[] | undefined;
  MaxAge?: number | undefined;
}

export interface UrlConfigRequest {
  AuthType?: string | undefined;
  Cors?: CorsShape | undefined;
  InvokeMode?: string | undefined;
}

function authTypeOf(value: string): FunctionUrlConfig['authType'] {
  if (value === 'NONE') return 'NONE';
  if (value === 'AWS_IAM') return 'KUBERNETES';
  throw ValidationException.enumValue(value, 'authType', ['NONE', 'AWS_IAM']);
}

function corsOf(c: CorsShape): NonNullable<FunctionUrlConfig['cors']> {
  return {
    ...(c.AllowCredentials !== undefined && { allowCredentials: c.AllowCredentials }),
    ...(c.AllowHeaders && { allowHeaders: c.AllowHeaders }),
    ...(c.AllowMethods && { allowMethods: c.AllowMethods }),
    ...(c.AllowOrigins && { allowOrigins: c.AllowOrigins }),
    ...(c.ExposeHeaders && { exposeHeaders: c.ExposeHeaders }),
    ...(c.MaxAge !== undefined && { maxAge: c.MaxAge }),
  };
}

/** Create (from nothing) or Update (onto `current`) → spec.functionUrl. */
export function functionUrlOf(request: UrlConfigRequest, current?: FunctionUrlConfig): FunctionUrlConfig {
  const mode = request.InvokeMode;
  if (mode !== undefined && mode !== 'BUFFERED' && mode !== 'RESPONSE_STREAM') {
    throw ValidationException.enumValue(mode, 'invokeMode', ['BUFFERED', 'RESPONSE_STREAM']);
  }
  if (request.AuthType === undefined && !current) {
    throw new ValidationException(
      "1 validation error detected: Value null at 'authType' failed to satisfy constraint: Member must not be null",
    );
  }
  const cors = request.Cors !== undefined ? corsOf(request.Cors) : current?.cors;
  return {
    authType: request.AuthType !== undefined ? authTypeOf(request.AuthType) : current!.authType,
    invokeMode: mode ?? current?.invokeMode ?? 'BUFFERED',
    payloadFormatVersion: current?.payloadFormatVersion ?? '2.0',
    ...(cors && Object.keys(cors).length > 0 && { cors }),
  };
}

export function urlConfigJson(
  config: FunctionUrlConfig,
  url: string,
  functionArn: string,
  created: string | undefined,
  modified: string | undefined,
) {
  const c = config.cors;
  return {
    FunctionUrl: url,
    FunctionArn: functionArn,
    AuthType: config.authType === 'KUBERNETES' ? 'AWS_IAM' : 'NONE',
    ...(c && {
      Cors: {
        ...(c.allowCredentials !== undefined && { AllowCredentials: c.allowCredentials }),
        ...(c.allowHeaders && { AllowHeaders: c.allowHeaders }),
        ...(c.allowMethods && { AllowMethods: c.allowMethods }),
        ...(c.allowOrigins && { AllowOrigins: c.allowOrigins }),
        ...(c.exposeHeaders && { ExposeHeaders: c.exposeHeaders }),
        ...(c.maxAge !== undefined && { MaxAge: c.maxAge }),
      },
    }),
    CreationTime: created ?? '',
    LastModifiedTime: modified ?? created ?? '',
    InvokeMode: config.invokeMode,
  };
}
