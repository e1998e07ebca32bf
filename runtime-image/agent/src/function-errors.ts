// Error payloads the platform itself produces as an invocation's result (returned with
// X-Amz-Function-Error: Unhandled), worded and ordered as Lambda does [LAMBDA-SPEC §1, §7].

export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
}

/** The Runtime API's payload cap: 6 MB + 100 bytes [LAMBDA-SPEC §2]. */
export const MAX_RUNTIME_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100;
/** A synchronous Invoke request body may be at most 6 MB [LAMBDA-SPEC §1]. */
export const MAX_INVOKE_REQUEST_BYTES = 6 * 1024 * 1024;

export const timedOut = (requestId: string, timeoutSeconds: number): FunctionErrorPayload => ({
  errorType: 'Sandbox.Timedout',
  errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
});

/** `reason` is e.g. "Runtime exited with error: exit status 1" (see describeExit). */
export const platformError = (
  requestId: string,
  errorType: string,
  reason: string,
): FunctionErrorPayload => ({
  errorType,
  errorMessage: `RequestId: ${requestId} Error: ${reason}`,
});

export const responseTooLarge = (
  limit = MAX_RUNTIME_PAYLOAD_BYTES,
): { errorMessage: string; errorType: string } => ({
  errorMessage: `Response payload size exceeded maximum allowed payload size (${limit} bytes).`,
  errorType: 'Function.ResponseSizeTooLarge',
});

export const encodePayload = (payload: object): Buffer => Buffer.from(JSON.stringify(payload));

/** The runtime's error document passes through; an empty one is filled in from its error-type header. */
export function errorBody(body: Buffer, errorType: string | undefined): Buffer {
  if (body.length > 0) return body;
  return encodePayload({ errorType: errorType ?? 'Runtime.Unknown', errorMessage: '' });
}
