// The gateway's AsyncQueue (the Invoke route's seam) on top of an EventQueue: an accepted
// event is stored durably before `enqueue` resolves and the route answers 202. Listeners
// (the processor's wake-up, the enqueue counter) hear about each stored event.
import type { AsyncInvocation, AsyncQueue } from './async-queue.js';
import type { EventQueue } from './event-queue.js';
import { encodeWork, newInvokeWork, storedInvocation, type StoredInvocation } from './work.js';

export class GatewayAsyncQueue implements AsyncQueue {
  private readonly listeners = new Set<(invocation: StoredInvocation) => void>();

  constructor(readonly events: EventQueue) {}

  onEnqueued(listener: (invocation: StoredInvocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async enqueue(invocation: AsyncInvocation): Promise<void> {
    const stored = storedInvocation(invocation);
    await this.events.enqueue({ id: stored.requestId, body: encodeWork(newInvokeWork(stored)) });
    for (const listener of this.listeners) listener(stored);
  }

  /** Closes the backend; call after the HTTP server stopped accepting invokes. */
  close(): Promise<void> {
    return this.events.close();
  }
}
