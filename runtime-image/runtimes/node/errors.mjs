// Error shapes of the Node.js runtime, as AWS's runtime interface client produces them
// [LAMBDA-SPEC §7]: `{"errorType","errorMessage","trace":[...]}`.
import { types } from 'node:util';

/** Errors the runtime itself raises; their errorType is `Runtime.<ClassName>`. */
class RuntimeError extends Error {}

export class ImportModuleError extends RuntimeError {}
export class HandlerNotFound extends RuntimeError {}
export class MalformedHandlerName extends RuntimeError {}
export class UserCodeSyntaxError extends RuntimeError {}
export class UnhandledPromiseRejection extends RuntimeError {
  constructor(reason) {
    super(reason?.toString?.() ?? String(reason));
    this.reason = reason;
  }
}
export class NodeJsExit extends RuntimeError {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. ' +
        'This is most commonly caused by a Promise that was never settled.',
    );
  }
}

for (const cls of [
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  UnhandledPromiseRejection,
  NodeJsExit,
]) {
  cls.prototype.name = `Runtime.${cls.name}`;
}

const looksLikeError = (value) =>
  value !== null &&
  typeof value === 'object' &&
  typeof value.name === 'string' &&
  typeof value.message === 'string' &&
  typeof value.stack === 'string';

/** What is posted to /error and /init/error. Non-Error values keep their `typeof` as the type. */
export function toRapidResponse(error) {
  try {
    if (types.isNativeError(error) || looksLikeError(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}
