// What the invoker sees of tracing: one optional hook, `begin` at the start of an invocation
// and `end` once at its close. With tracing off the invoker has no hook at all and nothing of
// OpenTelemetry is loaded (otlp-tracing.ts is imported only when an endpoint is configured).
import { LambdaError, TooManyRequestsException } from '../../errors.js';
import type { AgentInvokeResult } from '../environments/agent-client.js';
import type { Lease } from '../environments/environment-pool.js';
import type { InvokeTarget } from '../routing/resolve-target.js';
import type { InvocationFacts } from './invocation-spans.js';

/** The invocation as the invoker starts it. */
export interface InvocationStart {
  requestId: string;
  invocationType: string;
  /** The trace header the route computed (the caller's, or a new root). */
  traceId?: string;
}

/** How it went, as far as it got. */
export interface InvocationEnd {
  endedAt: number;
  lease?: Pick<Lease, 'env' | 'coldStart' | 'spillover'>;
  agentStartedAt?: number;
  result?: AgentInvokeResult;
  error?: unknown;
}

export interface InvocationTrace {
  /** The trace header for the environment: Parent is the span the function's spans join. */
  readonly header: string;
  end(end: InvocationEnd): void;
}

export interface InvokeTracing {
  /** `undefined`: this invocation is not recorded (sampled out). */
  begin(target: InvokeTarget, start: InvocationStart, startedAt: number): InvocationTrace | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The error a caller got, by its Lambda error type (anything unexpected is a ServiceException). */
function errorOf(err: unknown): InvocationFacts['error'] {
  if (err instanceof TooManyRequestsException) return { type: err.code, throttleReason: err.reason };
  if (err instanceof LambdaError) return { type: err.code };
  return { type: 'ServiceException' };
}

export function invocationFacts(
  target: InvokeTarget,
  start: InvocationStart,
  startedAt: number,
  end: InvocationEnd,
): InvocationFacts {
  const qualifier = target.alias ?? (target.version !== '$LATEST' ? target.version : undefined);
  const { lease, result } = end;
  return {
    namespace: target.namespace,
    functionName: target.functionName,
    version: target.version,
    ...(qualifier !== undefined ? { qualifier } : {}),
    invokedFunctionArn: target.invokedFunctionArn,
    invocationType: start.invocationType,
    requestId: start.requestId,
    startedAt,
    endedAt: end.endedAt,
    ...(lease
      ? {
          environment: {
            id: lease.env.id,
            address: lease.env.address,
            coldStart: lease.coldStart,
            initializationType: lease.env.initializationType,
            spillover: lease.spillover,
          },
        }
      : {}),
    ...(end.agentStartedAt !== undefined ? { agentStartedAt: end.agentStartedAt } : {}),
    ...(result
      ? {
          agent: {
            ...(result.functionError ? { functionError: result.functionError } : {}),
            environmentReset: result.environmentReset,
            ...(result.initDurationMs !== undefined ? { initDurationMs: result.initDurationMs } : {}),
            ...(result.phases ? { phases: result.phases } : {}),
          },
        }
      : {}),
    ...(end.error !== undefined ? { error: errorOf(end.error) } : {}),
  };
}
