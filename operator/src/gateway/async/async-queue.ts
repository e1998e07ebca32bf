// The seam for asynchronous invocation (X-Amz-Invocation-Type: Event). The gateway accepts
// the event, hands it to the queue and answers 202; the queue must have stored it durably
// before `enqueue` resolves ("an accepted async invocation survives a gateway restart").
// Delivery, retries (2 by default), maximum event age, destinations and the DLQ are the
// queue's business; it runs each attempt through `Invoker.invoke(…, { invocationType: 'Event' })`.
export interface AsyncInvocation {
  requestId: string;
  namespace: string;
  functionName: string;
  /** The qualifier the client named (alias, version), undefined for $LATEST; resolved per attempt. */
  qualifier?: string;
  invokedFunctionArn: string;
  payload: Buffer;
  /** Milliseconds since the epoch. */
  receivedAt: number;
  traceId?: string;
}

export interface AsyncQueue {
  enqueue(invocation: AsyncInvocation): Promise<void>;
}
