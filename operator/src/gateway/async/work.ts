// What the processor stores in the queue: an invocation still to run (with its attempt
// counters) or a destination/dead-letter record still to POST. Stored as JSON so any
// backend can hold it and a new gateway version can read what an old one wrote.
import type { AsyncInvocation } from './async-queue.js';

/** An AsyncInvocation in storable form (the payload is JSON text, validated by the gateway). */
export interface StoredInvocation {
  requestId: string;
  namespace: string;
  functionName: string;
  qualifier?: string;
  invokedFunctionArn: string;
  payload: string;
  receivedAt: number;
  traceId?: string;
}

export interface LastError {
  /** HTTP status of the attempt: 200 for a function error, 429 throttled, 5xx system error. */
  statusCode: number;
  message: string;
}

export interface InvokeWork {
  kind: 'invoke';
  invocation: StoredInvocation;
  /** Attempts that reached the function (Lambda's approximateInvokeCount so far). */
  attempts: number;
  /** Throttled or failed-in-Lamina attempts since the last one that reached the function. */
  systemFailures: number;
  lastError?: LastError;
}

export type DeliveryPurpose = 'onSuccess' | 'onFailure' | 'deadLetter';

export interface DeliverWork {
  kind: 'deliver';
  /** The source event's request id and function, for logs and metrics. */
  requestId: string;
  namespace: string;
  functionName: string;
  purpose: DeliveryPurpose;
  url: string;
  body: string;
  headers: Record<string, string>;
  createdAt: number;
  failures: number;
}

export type Work = InvokeWork | DeliverWork;

export function storedInvocation(invocation: AsyncInvocation): StoredInvocation {
  return {
    requestId: invocation.requestId,
    namespace: invocation.namespace,
    functionName: invocation.functionName,
    ...(invocation.qualifier !== undefined ? { qualifier: invocation.qualifier } : {}),
    invokedFunctionArn: invocation.invokedFunctionArn,
    payload: invocation.payload.toString('utf8'),
    receivedAt: invocation.receivedAt,
    ...(invocation.traceId !== undefined ? { traceId: invocation.traceId } : {}),
  };
}

export function newInvokeWork(invocation: StoredInvocation): InvokeWork {
  return { kind: 'invoke', invocation, attempts: 0, systemFailures: 0 };
}

export function encodeWork(work: Work): Buffer {
  return Buffer.from(JSON.stringify(work), 'utf8');
}

export class UnreadableWorkError extends Error {}

export function decodeWork(body: Buffer): Work {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new UnreadableWorkError(`stored event is not JSON: ${(err as Error).message}`);
  }
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (kind !== 'invoke' && kind !== 'deliver') {
    throw new UnreadableWorkError(`stored event has unknown kind ${JSON.stringify(kind)}`);
  }
  return value as Work;
}
