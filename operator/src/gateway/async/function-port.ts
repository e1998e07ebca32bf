// What the processor needs from the rest of the gateway: a function's async settings and
// one attempt at running it. `InvokerFunctionPort` provides both from the gateway's
// catalog and Invoker, so each attempt obeys the function's concurrency rules (a 429 from
// the pool is a throttle the processor backs off from).
import { limits } from '../../api/index.js';
import { LambdaError, ResourceNotFoundException, TooManyRequestsException } from '../../errors.js';
import type { FunctionCatalog } from '../catalog/catalog.js';
import type { Invoker } from '../dispatch/invoker.js';
import type { AsyncSettings, AttemptOutcome } from './decisions.js';
import type { StoredInvocation } from './work.js';

export interface FunctionPort {
  /** The function's async settings as they are now; undefined once the function is gone. */
  settings(invocation: StoredInvocation): AsyncSettings | undefined;
  /** One attempt (invocation type Event). Never rejects: every failure is an outcome. */
  invoke(invocation: StoredInvocation): Promise<AttemptOutcome>;
}

export class InvokerFunctionPort implements FunctionPort {
  constructor(
    private readonly invoker: Pick<Invoker, 'resolve' | 'invoke'>,
    private readonly catalog: Pick<FunctionCatalog, 'getFunction'>,
  ) {}

  settings(invocation: StoredInvocation): AsyncSettings | undefined {
    const fn = this.catalog.getFunction(invocation.namespace, invocation.functionName);
    if (!fn || fn.metadata.deletionTimestamp) return undefined;
    const { asyncInvoke, deadLetterConfig, reservedConcurrentExecutions } = fn.spec;
    const destinations = asyncInvoke?.destinationConfig;
    return {
      maximumRetryAttempts: asyncInvoke?.maximumRetryAttempts ?? limits.maxRetryAttempts.default,
      maximumEventAgeInSeconds: asyncInvoke?.maximumEventAgeInSeconds ?? limits.maxEventAgeSeconds.default,
      ...(reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions } : {}),
      ...(destinations?.onSuccess ? { onSuccess: destinations.onSuccess.destination } : {}),
      ...(destinations?.onFailure ? { onFailure: destinations.onFailure.destination } : {}),
      ...(deadLetterConfig ? { deadLetterTarget: deadLetterConfig.targetArn } : {}),
    };
  }

  async invoke(invocation: StoredInvocation): Promise<AttemptOutcome> {
    try {
      // The ARN carries namespace and qualifier; an alias picks its version per attempt.
      const target = this.invoker.resolve(invocation.invokedFunctionArn, undefined);
      const outcome = await this.invoker.invoke(target, Buffer.from(invocation.payload, 'utf8'), {
        requestId: invocation.requestId,
        invocationType: 'Event',
        ...(invocation.traceId !== undefined ? { traceId: invocation.traceId } : {}),
      });
      return {
        kind: 'response',
        statusCode: 200,
        executedVersion: outcome.executedVersion,
        payload: outcome.payload,
        ...(outcome.functionError ? { functionError: outcome.functionError } : {}),
      };
    } catch (err) {
      return attemptFailure(err);
    }
  }
}

/** A failed attempt: throttles and anything else Lamina-side are retried until max age. */
export function attemptFailure(err: unknown): AttemptOutcome {
  if (err instanceof TooManyRequestsException) {
    return { kind: 'throttled', reason: err.reason, message: err.message };
  }
  if (err instanceof ResourceNotFoundException) return { kind: 'functionNotFound', message: err.message };
  if (err instanceof LambdaError) {
    // 409 (function not Active yet) and 5xx heal with time; retry them like system errors.
    return { kind: 'systemError', statusCode: err.statusCode, message: err.message };
  }
  return { kind: 'systemError', statusCode: 500, message: err instanceof Error ? err.message : String(err) };
}
