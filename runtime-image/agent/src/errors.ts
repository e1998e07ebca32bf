// Typed errors the agent answers the gateway with. Each carries the Lambda-style
// errorType and the HTTP status; `http.ts` is the one place that puts them on the wire.
// This file imports nothing so the operator can share `zip.ts` (which extends AgentError).

export class AgentError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = errorType;
  }

  toJSON(): { errorType: string; errorMessage: string } {
    return { errorType: this.errorType, errorMessage: this.message };
  }
}

/** The function configuration handed to the agent does not validate. */
export class InvalidConfigError extends AgentError {
  constructor(message: string) {
    super('InvalidParameterValueException', message, 400);
  }
}

/** Downloaded bytes do not hash to the digest the configuration pinned. */
export class CodeVerificationFailedError extends AgentError {
  constructor(message: string) {
    super('CodeVerificationFailedException', message, 400);
  }
}

/** The artifact store could not be reached or refused the download. */
export class ArtifactFetchError extends AgentError {
  constructor(message: string) {
    super('Lamina.ArtifactFetchFailed', message, 502);
  }
}

/** Writing extracted files failed for a reason that is not the archive's fault (disk full …). */
export class ExtractionFailedError extends AgentError {
  constructor(message: string) {
    super('Lamina.ExtractionFailed', message, 500);
  }
}

export class AlreadySpecializedError extends AgentError {
  constructor(functionName: string) {
    super('Lamina.AlreadySpecialized', `This environment is already specialised for ${functionName}`, 409);
  }
}

export class SpecializationInProgressError extends AgentError {
  constructor() {
    super('Lamina.SpecializationInProgress', 'This environment is being specialised', 409);
  }
}

export class NotSpecializedError extends AgentError {
  constructor() {
    super(
      'Lamina.NotSpecialized',
      'This environment has no function yet; POST /lamina/v1/specialize first',
      409,
    );
  }
}

/** One invocation at a time per environment, as in Lambda. */
export class EnvironmentBusyError extends AgentError {
  constructor() {
    super('Lamina.EnvironmentBusy', 'This environment is already running an invocation', 503);
  }
}

export class RequestTooLargeError extends AgentError {
  constructor(limit: number) {
    super(
      'RequestEntityTooLargeException',
      `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
      413,
    );
  }
}

/** The invoke request itself is malformed (e.g. a client context that is not base64 JSON). */
export class InvalidRequestContentError extends AgentError {
  constructor(message: string) {
    super('InvalidRequestContentException', message, 400);
  }
}

export class NotFoundError extends AgentError {
  constructor(method: string, path: string) {
    super('Lamina.NotFound', `No route for ${method} ${path}`, 404);
  }
}
