// Lambda API errors: one typed class per error code, and the one function that turns any
// error into its wire form (LAMBDA-SPEC §1). Nothing else formats API errors: routes throw
// these classes and the server's error handler calls `toWireError`.

/** Which body key carries the message: Lambda's shapes differ per code (LAMBDA-SPEC §1). */
type MessageKey = 'Message' | 'message';

export interface WireError {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export abstract class LambdaError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;
  readonly type: 'User' | 'Service' = 'User';
  protected readonly messageKey: MessageKey = 'message';

  /** Extra body members (e.g. `Reason`). */
  protected extraBody(): Record<string, unknown> {
    return {};
  }

  /** Extra response headers (e.g. `Retry-After`). */
  protected extraHeaders(): Record<string, string> {
    return {};
  }

  toWire(requestId: string): WireError {
    const body = {
      Type: this.type,
      [this.messageKey]: this.message,
      ...this.extraBody(),
      __type: this.code,
    };
    return {
      statusCode: this.statusCode,
      headers: {
        'content-type': 'application/json',
        'x-amzn-ErrorType': this.code,
        'x-amzn-RequestId': requestId,
        ...this.extraHeaders(),
      },
      body: JSON.stringify(body),
    };
  }
}

export class ResourceNotFoundException extends LambdaError {
  readonly code = 'ResourceNotFoundException';
  readonly statusCode = 404;
  protected override readonly messageKey = 'Message';
}

/** Why an invoke was throttled (Lambda's `ThrottleReason` enum, LAMBDA-SPEC §1). */
export type ThrottleReason =
  | 'ConcurrentInvocationLimitExceeded'
  | 'ReservedFunctionConcurrentInvocationLimitExceeded'
  | 'FunctionInvocationRateLimitExceeded'
  | 'ReservedFunctionInvocationRateLimitExceeded'
  | 'CallerRateLimitExceeded'
  | 'ConcurrentSnapshotCreateLimitExceeded'
  // Lamina's own: no node has room for a new execution environment (and no idle environment
  // of another function could be reclaimed to make some). Lambda's fleet never runs out.
  | 'ClusterCapacityExceeded';

export class TooManyRequestsException extends LambdaError {
  readonly code = 'TooManyRequestsException';
  readonly statusCode = 429;

  constructor(
    readonly reason: ThrottleReason,
    readonly retryAfterSeconds = 1,
    message = 'Rate Exceeded.',
  ) {
    super(message);
  }

  protected override extraBody() {
    return { Reason: this.reason };
  }

  protected override extraHeaders() {
    return { 'Retry-After': String(Math.max(1, Math.ceil(this.retryAfterSeconds))) };
  }
}

export class RequestEntityTooLargeException extends LambdaError {
  readonly code = 'RequestEntityTooLargeException';
  readonly statusCode = 413;

  static forOperation(limitBytes: number, operation = 'InvokeFunction') {
    return new RequestEntityTooLargeException(
      `Request must be smaller than ${limitBytes} bytes for the ${operation} operation`,
    );
  }

  static forEvent(payloadBytes: number, limitBytes: number) {
    return new RequestEntityTooLargeException(
      `${payloadBytes} byte payload is too large for the Event invocation type (limit ${limitBytes} bytes)`,
    );
  }
}

export class InvalidParameterValueException extends LambdaError {
  readonly code = 'InvalidParameterValueException';
  readonly statusCode = 400;
}

export class InvalidRequestContentException extends LambdaError {
  readonly code = 'InvalidRequestContentException';
  readonly statusCode = 400;
}

export class ValidationException extends LambdaError {
  readonly code = 'ValidationException';
  readonly statusCode = 400;

  /** Lambda's "1 validation error detected: …" form for a member failing its pattern. */
  static pattern(value: string, member: string, pattern: string) {
    return new ValidationException(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ` +
        `Member must satisfy regular expression pattern: ${pattern}`,
    );
  }

  static enumValue(value: string, member: string, values: readonly string[]) {
    return new ValidationException(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ` +
        `Member must satisfy enum value set: [${values.join(', ')}]`,
    );
  }

  static maxLength(value: string, member: string, max: number) {
    return new ValidationException(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${max}`,
    );
  }
}

export class ResourceConflictException extends LambdaError {
  readonly code = 'ResourceConflictException';
  readonly statusCode = 409;

  static functionState(state: string) {
    return new ResourceConflictException(
      `The operation cannot be performed at this time. The function is currently in the following state: ${state}`,
    );
  }
}

export class ProvisionedConcurrencyConfigNotFoundException extends LambdaError {
  readonly code = 'ProvisionedConcurrencyConfigNotFoundException';
  readonly statusCode = 404;
}

/** A RevisionId that no longer matches the resource (optimistic concurrency). */
export class PreconditionFailedException extends LambdaError {
  readonly code = 'PreconditionFailedException';
  readonly statusCode = 412;

  static revision(given: string) {
    return new PreconditionFailedException(
      `The Revision Id provided does not match the latest Revision Id (${given}). Call the GetFunction/GetAlias API to retrieve the latest Revision Id`,
    );
  }
}

export class ResourceNotReadyException extends LambdaError {
  readonly code = 'ResourceNotReadyException';
  readonly statusCode = 502;
}

export class UnsupportedMediaTypeException extends LambdaError {
  readonly code = 'UnsupportedMediaTypeException';
  readonly statusCode = 415;
}

export class AccessDeniedException extends LambdaError {
  readonly code = 'AccessDeniedException';
  readonly statusCode = 403;
  protected override readonly messageKey = 'Message';
}

/** No credentials where the gateway requires them (AWS answers 403 with this code). */
export class MissingAuthenticationTokenException extends LambdaError {
  readonly code = 'MissingAuthenticationTokenException';
  readonly statusCode = 403;
}

/** Credentials that are malformed or that the API server does not accept (AWS: 403). */
export class UnrecognizedClientException extends LambdaError {
  readonly code = 'UnrecognizedClientException';
  readonly statusCode = 403;
}

/** A SigV4 signature that does not verify: wrong secret, altered request, outside the clock skew. */
export class InvalidSignatureException extends LambdaError {
  readonly code = 'InvalidSignatureException';
  readonly statusCode = 403;
}

/** A SigV4 Authorization header that lacks a part (AWS: 400 with this code). */
export class IncompleteSignatureException extends LambdaError {
  readonly code = 'IncompleteSignatureException';
  readonly statusCode = 400;
}

/** Not one of Lambda's Invoke errors, but the rest-json answer for a path no operation has. */
export class UnknownOperationException extends LambdaError {
  readonly code = 'UnknownOperationException';
  readonly statusCode = 404;
}

export class ServiceException extends LambdaError {
  readonly code = 'ServiceException';
  readonly statusCode = 500;
  override readonly type = 'Service';
  protected override readonly messageKey = 'Message';
}

/** The fields fastify puts on the errors it raises itself (body limit, bad media type …). */
interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
}

export interface WireContext {
  requestId: string;
  /** The request body limit of the route that failed, for the 413 message. */
  bodyLimit?: number;
  /** Lambda's operation name for the 413 message. */
  operation?: string;
}

/** Anything thrown (ours, fastify's, or a bug) as the Lambda error it should be on the wire. */
export function asLambdaError(err: unknown, context: Omit<WireContext, 'requestId'> = {}): LambdaError {
  if (err instanceof LambdaError) return err;
  const framework = (err ?? {}) as FrameworkError;
  switch (framework.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return RequestEntityTooLargeException.forOperation(context.bodyLimit ?? 6_291_456, context.operation);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeException(framework.message ?? 'Unsupported media type');
    case 'FST_ERR_NOT_FOUND':
      return new UnknownOperationException('UnknownOperationException');
  }
  if (framework.statusCode === 404) return new UnknownOperationException('UnknownOperationException');
  if (framework.statusCode && framework.statusCode >= 400 && framework.statusCode < 500) {
    return new InvalidRequestContentException(framework.message ?? 'Bad request');
  }
  return new ServiceException('An internal error occurred in the Lamina gateway.');
}

/** The one place an error becomes an HTTP response. */
export function toWireError(err: unknown, context: WireContext): WireError {
  return asLambdaError(err, context).toWire(context.requestId);
}

/**
 * A Lambda error answered by another gateway replica (the owner of a function's shard), kept
 * exactly as that replica put it on the wire, only under this request's id.
 */
export class RelayedLambdaError extends LambdaError {
  readonly code: string;
  readonly statusCode: number;

  constructor(private readonly wire: WireError) {
    const body = parseBody(wire.body);
    super(String(body.Message ?? body.message ?? ''));
    this.code = wire.headers['x-amzn-errortype'] ?? String(body.__type ?? 'ServiceException');
    this.statusCode = wire.statusCode;
  }

  override toWire(requestId: string): WireError {
    return { ...this.wire, headers: { ...this.wire.headers, 'x-amzn-RequestId': requestId } };
  }
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The error another replica answered, as the class callers branch on (throttles and missing
 * functions are retried or dead-lettered differently by asynchronous invocation), else relayed.
 */
export function lambdaErrorFromWire(wire: WireError): LambdaError {
  const body = parseBody(wire.body);
  const message = String(body.Message ?? body.message ?? '');
  const code = wire.headers['x-amzn-errortype'];
  if (code === 'TooManyRequestsException') {
    const retryAfter = Number(wire.headers['retry-after'] ?? 1);
    return new TooManyRequestsException(body.Reason as ThrottleReason, retryAfter, message);
  }
  if (code === 'ResourceNotFoundException') return new ResourceNotFoundException(message);
  return new RelayedLambdaError(wire);
}
