// The agent's HTTP contract on port 8080, as both sides speak it: paths, headers, the
// error types the agent answers with, and the two request normalisations (empty payload,
// client context) that must agree on both sides of the wire.

/** The port the agent listens on inside an environment pod. */
export const AGENT_PORT = 8080;

export const AGENT_PATHS = {
  /** The Runtime Interface Emulator's path; the gateway always uses the function name `function`. */
  invoke: '/2015-03-31/functions/function/invocations',
  health: '/healthz',
  specialize: '/lamina/v1/specialize',
} as const;

/** Any function name is accepted on the invoke path, as the emulator does. */
export const AGENT_INVOKE_PATH_PATTERN = /^\/2015-03-31\/functions\/[^/]+\/invocations$/;

/** Header names, lower case as node reports them (HTTP header names are case-insensitive). */
export const AGENT_HEADERS = {
  // request
  requestId: 'x-amzn-requestid',
  invokedFunctionArn: 'x-lamina-invoked-function-arn',
  logType: 'x-amz-log-type',
  clientContext: 'x-amz-client-context',
  traceId: 'x-amzn-trace-id',
  /** `true`: stream the response (chunked, as the runtime writes it; the outcome in trailers). */
  responseStream: 'x-lamina-response-stream',
  // response
  executedVersion: 'x-amz-executed-version',
  functionError: 'x-amz-function-error',
  logResult: 'x-amz-log-result',
  /** Present on the invoke that ran Init (cold start), in milliseconds with two decimals. */
  initDurationMs: 'x-lamina-init-duration-ms',
  /** `true` when the runtime was restarted after this invoke (timeout, exit, OOM). */
  environmentReset: 'x-lamina-environment-reset',
  // Phase timings, for the gateway's trace spans (the agent carries no tracing SDK). Offsets
  // are milliseconds from the moment the agent received this invoke (its monotonic clock), so
  // no clock is compared across machines; two decimals.
  /** Where the reported Init began: negative when it ran before this invoke (at specialisation or pod start). */
  initStartMs: 'x-lamina-init-start-ms',
  /** Where the runtime's Invoke phase began (after a previous invoke's extensions, a suppressed Init …). */
  invokeStartMs: 'x-lamina-invoke-start-ms',
  /** The runtime's Invoke phase: REPORT's Duration without extensions still working after the answer. */
  invokeDurationMs: 'x-lamina-invoke-duration-ms',
  /** Streamed responses: the function error document (base64 JSON), a trailer. */
  functionErrorBody: 'x-lamina-function-error-body',
  /** The error type of a refusal that is not the function's; the body is `{errorType, errorMessage}`. */
  errorType: 'x-amzn-errortype',
} as const;

/**
 * A streamed invoke answers 200 with the function's content type and its bytes as they come;
 * how it ended follows in these trailers (absent when empty): the function error type and
 * document, the log tail, Init duration, reset and the phase timings.
 */
export const STREAM_TRAILERS = [
  AGENT_HEADERS.functionError,
  AGENT_HEADERS.functionErrorBody,
  AGENT_HEADERS.logResult,
  AGENT_HEADERS.initDurationMs,
  AGENT_HEADERS.environmentReset,
  AGENT_HEADERS.initStartMs,
  AGENT_HEADERS.invokeStartMs,
  AGENT_HEADERS.invokeDurationMs,
] as const;

/** An invocation's phases as the agent timed them: offsets from its receipt, in milliseconds. */
export interface PhaseTimings {
  /** The reported Init's start (with its duration in `initDurationMs`). */
  initStartMs?: number;
  invokeStartMs: number;
  invokeDurationMs: number;
}

/** Phase timings as headers (or trailers). */
export function phaseHeaders(phases: PhaseTimings): Record<string, string> {
  return {
    ...(phases.initStartMs !== undefined
      ? { [AGENT_HEADERS.initStartMs]: phases.initStartMs.toFixed(2) }
      : {}),
    [AGENT_HEADERS.invokeStartMs]: phases.invokeStartMs.toFixed(2),
    [AGENT_HEADERS.invokeDurationMs]: phases.invokeDurationMs.toFixed(2),
  };
}

/** Phase timings from headers (or trailers); `undefined` from an agent that sends none. */
export function phasesFrom(fields: Record<string, string | string[] | undefined>): PhaseTimings | undefined {
  const num = (name: string): number | undefined => {
    const raw = fields[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === '') return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  };
  const invokeStartMs = num(AGENT_HEADERS.invokeStartMs);
  const invokeDurationMs = num(AGENT_HEADERS.invokeDurationMs);
  if (invokeStartMs === undefined || invokeDurationMs === undefined) return undefined;
  const initStartMs = num(AGENT_HEADERS.initStartMs);
  return { ...(initStartMs !== undefined ? { initStartMs } : {}), invokeStartMs, invokeDurationMs };
}

/** Lambda's cap on a streamed response: 20 MiB. */
export const MAX_STREAMED_RESPONSE_BYTES = 20 * 1024 * 1024;

/** The error types of the agent's own refusals (the function's errors are its payload). */
export const AGENT_ERROR_TYPES = {
  invalidConfig: 'InvalidParameterValueException',
  codeVerificationFailed: 'CodeVerificationFailedException',
  invalidZipFile: 'InvalidZipFileException',
  artifactFetchFailed: 'Lamina.ArtifactFetchFailed',
  extractionFailed: 'Lamina.ExtractionFailed',
  alreadySpecialized: 'Lamina.AlreadySpecialized',
  specializationInProgress: 'Lamina.SpecializationInProgress',
  notSpecialized: 'Lamina.NotSpecialized',
  /** 503: one invocation at a time per environment. */
  environmentBusy: 'Lamina.EnvironmentBusy',
  requestTooLarge: 'RequestEntityTooLargeException',
  invalidRequestContent: 'InvalidRequestContentException',
  notFound: 'Lamina.NotFound',
  service: 'ServiceException',
} as const;

/** What POST /lamina/v1/specialize answers with 200 (an Init failure is still specialised). */
export interface SpecializeResult {
  state: 'ready' | 'failed';
  initDurationMs?: number;
  artifactsDurationMs?: number;
}

/** Lambda only accepts JSON payloads; an empty one is the event `{}`. */
export function normalizePayload(body: Buffer): Buffer {
  return body.length > 0 ? body : Buffer.from('{}');
}

/** Lambda's limit on X-Amz-Client-Context (base64 text). */
export const MAX_CLIENT_CONTEXT_BYTES = 3583;
export const INVALID_CLIENT_CONTEXT_MESSAGE = 'Client context must be a valid Base64-encoded JSON object.';

/**
 * X-Amz-Client-Context is base64 JSON on the wire. Returns the decoded value, or `undefined`
 * when the header is not base64 of a JSON document.
 */
export function decodeClientContext(value: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(Buffer.from(value, 'base64').toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** The gateway's stricter check: at most 3583 base64 characters of a JSON object. */
export function isValidClientContext(value: string): boolean {
  if (value.length > MAX_CLIENT_CONTEXT_BYTES || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return false;
  const decoded = decodeClientContext(value)?.value;
  return decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded);
}
