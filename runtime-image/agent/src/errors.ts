// Typed errors the agent answers the gateway with. Each carries the Lambda-style
// errorType and the HTTP status; `http.ts` is the one place that puts them on the wire.
// The error type names are the protocol's (operator/src/protocol), so the gateway reads the same ones.
import { AGENT_ERROR_TYPES, AgentError } from '../../../operator/src/protocol/index.js';

export { AgentError };

/** The function configuration handed to the agent does not validate. */
export class InvalidConfigError extends AgentError {
  constructor(message: string) {
    super(AGENT_ERROR_TYPES.invalidConfig, message, 400);
  }
}

/** Downloaded bytes do not hash to the digest the configuration pinned. */
export class CodeVerificationFailedError extends AgentError {
  constructor(message: string) {
    super(AGENT_ERROR_TYPES.codeVerificationFailed, message, 400);
  }
}

/** The artifact store could not be reached or refused the download. */
export class ArtifactFetchError extends AgentError {
  constructor(message: string) {
    super(AGENT_ERROR_TYPES.artifactFetchFailed, message, 502);
  }
}

/** Writing extracted files failed for a reason that is not the archive's fault (disk full …). */
export class ExtractionFailedError extends AgentError {
  constructor(message: string) {
    super(AGENT_ERROR_TYPES.extractionFailed, message, 500);
  }
}

export class AlreadySpecializedError extends AgentError {
  constructor(functionName: string) {
    super(
      AGENT_ERROR_TYPES.alreadySpecialized,
      `This environment is already specialised for ${functionName}`,
      409,
    );
  }
}

export class SpecializationInProgressError extends AgentError {
  constructor() {
    super(AGENT_ERROR_TYPES.specializationInProgress, 'This environment is being specialised', 409);
  }
}

export class NotSpecializedError extends AgentError {
  constructor() {
    super(
      AGENT_ERROR_TYPES.notSpecialized,
      'This environment has no function yet; POST /lamina/v1/specialize first',
      409,
    );
  }
}

/** One invocation at a time per environment, as in Lambda. */
export class EnvironmentBusyError extends AgentError {
  constructor() {
    super(AGENT_ERROR_TYPES.environmentBusy, 'This environment is already running an invocation', 503);
  }
}

export class RequestTooLargeError extends AgentError {
  constructor(limit: number) {
    super(
      AGENT_ERROR_TYPES.requestTooLarge,
      `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
      413,
    );
  }
}

/** The invoke request itself is malformed (e.g. a client context that is not base64 JSON). */
export class InvalidRequestContentError extends AgentError {
  constructor(message: string) {
    super(AGENT_ERROR_TYPES.invalidRequestContent, message, 400);
  }
}

export class NotFoundError extends AgentError {
  constructor(method: string, path: string) {
    super(AGENT_ERROR_TYPES.notFound, `No route for ${method} ${path}`, 404);
  }
}
