// The warm pool behind the EnvironmentProvider seam. `create` takes a generic pod of the
// right shape from the pool when there is one, relabels it for the function version (owner:
// the Function) and specialises it, small zips sent inline (InlineArtifacts); otherwise — a
// shape the pool does not keep, a service account or Secret refs, an empty pool, a failed
// hand-over — it creates a pod as before.
//
// A pod taken from the pool keeps its own name, so `create` answers with that id instead of
// the one asked for (EnvironmentPool re-keys). Its watch events are held back until the
// specialisation is over: the kubelet saw the generic agent Ready, and the pod must not look
// usable before its function is installed.
import type { Logger } from '../../shared/index.js';
import {
  type EnvironmentEvent,
  type EnvironmentProvider,
  type EnvironmentRecord,
  environmentRecord,
  type EnvironmentSpec,
} from '../environments/types.js';
import { type PoolShape, poolShapeFor } from './shapes.js';
import type { Specializer } from '../environments/agent-client.js';
import type { InlineArtifacts } from './inline-artifacts.js';
import type { GenericEnvironment, WarmPoolStatus } from './warm-pool.js';

/** What the provider needs from the pool (the Kubernetes WarmPool, or a fake in tests). */
export interface WarmPoolPort {
  readonly shapes: readonly PoolShape[];
  start(): Promise<void>;
  stop(): void;
  take(namespace: string, shape: PoolShape): GenericEnvironment | undefined;
  assign(env: GenericEnvironment, spec: EnvironmentSpec): Promise<void>;
  discard(env: GenericEnvironment, reason: string): Promise<void>;
  status(): WarmPoolStatus[];
}

/** hit: served from the pool; empty: no ready pool pod; failed: the hand-over failed (pod created instead). */
export type ClaimResult = 'hit' | 'empty' | 'failed';

export interface ClaimEvent {
  namespace: string;
  shape: string;
  result: ClaimResult;
}

/** The pool as /metrics sees it. */
export interface WarmPoolObserver {
  status(): WarmPoolStatus[];
  onClaim(listener: (event: ClaimEvent) => void): () => void;
}

export class PooledProvider implements EnvironmentProvider, WarmPoolObserver {
  /** Pool pods being handed over: their events are held back. */
  private readonly handingOver = new Set<string>();
  private readonly listeners = new Set<(event: EnvironmentEvent) => void>();
  private readonly claimListeners = new Set<(event: ClaimEvent) => void>();
  private unsubscribe?: () => void;

  constructor(
    private readonly inner: EnvironmentProvider,
    private readonly pool: WarmPoolPort,
    private readonly specializer: Specializer,
    private readonly log: Logger,
    private readonly specializeTimeoutMs: number,
    /** Sends small zips with the specialisation (none: the agent fetches every zip). */
    private readonly inline?: InlineArtifacts,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.inner.subscribe((event) => {
      const id = event.type === 'delete' ? event.id : event.env.id;
      if (this.handingOver.has(id)) return;
      for (const listener of this.listeners) listener(event);
    });
    await Promise.all([this.inner.start(), this.pool.start()]);
  }

  stop(): void {
    this.unsubscribe?.();
    this.pool.stop();
    this.inner.stop();
    void this.specializer.close();
    void this.inline?.close();
  }

  async create(spec: EnvironmentSpec, id: string): Promise<EnvironmentRecord> {
    const shape = poolShapeFor(spec, this.pool.shapes);
    const generic = shape && this.pool.take(spec.namespace, shape);
    if (!shape) return this.inner.create(spec, id);
    const shapeLabel = `${shape.memorySize}-${shape.ephemeralStorageSize}`;
    if (!generic) {
      this.claimed({ namespace: spec.namespace, shape: shapeLabel, result: 'empty' });
      return this.inner.create(spec, id);
    }
    this.handingOver.add(generic.id);
    try {
      // Relabelling and specialising are independent; the agent refuses a second
      // specialisation, so even a pod whose relabel is lost can never serve two functions.
      const started = Date.now();
      const took = { relabelMs: 0, inlineMs: 0, specializeMs: 0 };
      const [, result] = await Promise.all([
        this.pool.assign(generic, spec).then(() => (took.relabelMs = Date.now() - started)),
        (this.inline ? this.inline.withInline(spec.config) : Promise.resolve(spec.config))
          .then((config) => {
            took.inlineMs = Date.now() - started;
            return this.specializer.specialize(generic.address, config, this.specializeTimeoutMs);
          })
          .then((r) => ((took.specializeMs = Date.now() - started), r)),
      ]);
      this.log.debug('pool environment specialised', { id: generic.id, key: spec.key, ...took, ...result });
    } catch (err) {
      this.handingOver.delete(generic.id);
      this.claimed({ namespace: spec.namespace, shape: shapeLabel, result: 'failed' });
      this.log.warn('pool hand-over failed; creating a pod instead', {
        id: generic.id,
        key: spec.key,
        error: String((err as Error).message ?? err),
      });
      void this.pool.discard(generic, 'hand-over failed');
      return this.inner.create(spec, id);
    }
    this.handingOver.delete(generic.id);
    this.claimed({ namespace: spec.namespace, shape: shapeLabel, result: 'hit' });
    return environmentRecord(spec, generic.id, { address: generic.address, ready: true });
  }

  destroy(id: string): Promise<void> {
    return this.inner.destroy(id);
  }

  prepare(spec: EnvironmentSpec): void {
    void this.inline?.withInline(spec.config);
  }

  list(): EnvironmentRecord[] {
    return this.inner.list().filter((env) => !this.handingOver.has(env.id));
  }

  subscribe(listener: (event: EnvironmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(): WarmPoolStatus[] {
    return this.pool.status();
  }

  onClaim(listener: (event: ClaimEvent) => void): () => void {
    this.claimListeners.add(listener);
    return () => this.claimListeners.delete(listener);
  }

  private claimed(event: ClaimEvent): void {
    for (const listener of this.claimListeners) listener(event);
  }
}
