// A watched kind: client-node informers (list + watch + cache) for all namespaces or for a
// given set, behind one cache. client-node's ListWatch stops on a watch error; we restart it
// with backoff, so a flapping API server never leaves the operator blind.
import {
  CustomObjectsApi,
  type Informer,
  type KubeConfig,
  makeInformer,
  type ObjectCache,
} from '@kubernetes/client-node';
import { API_VERSION, type CustomObject, GROUP } from '../api/index.js';
import type { Clock, Logger } from '../shared/index.js';

export type WatchEvent = 'add' | 'update' | 'delete';
type AnyObject = CustomObject<unknown, unknown>;

export interface ReadCache<T> {
  get(namespace: string, name: string): T | undefined;
  /** Every cached object, or those of one namespace. */
  list(namespace?: string): readonly T[];
}

const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;

export class WatchedKind<T extends AnyObject> implements ReadCache<T> {
  /** Keyed by namespace; '' is the all-namespaces informer. */
  private readonly informers = new Map<string, Informer<T> & ObjectCache<T>>();
  private readonly handlers: Array<(event: WatchEvent, object: T) => void> = [];
  private stopped = false;
  private failures = 0;

  constructor(
    kc: KubeConfig,
    readonly plural: string,
    namespaces: readonly string[] | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    const api = kc.makeApiClient(CustomObjectsApi);
    const base = `/apis/${GROUP}/${API_VERSION}`;
    for (const namespace of namespaces?.length ? namespaces : ['']) {
      const path = namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
      const list = () =>
        (namespace
          ? api.listNamespacedCustomObject({ group: GROUP, version: API_VERSION, plural, namespace })
          : api.listClusterCustomObject({ group: GROUP, version: API_VERSION, plural })) as Promise<{
          items: T[];
          metadata?: { resourceVersion?: string };
        }>;
      const informer = makeInformer<T>(kc, path, list);
      for (const event of ['add', 'update', 'delete'] as const) {
        informer.on(event, (object) => {
          this.failures = 0;
          for (const handler of this.handlers) handler(event, object);
        });
      }
      informer.on('error', (err) => this.restart(namespace, informer, err));
      this.informers.set(namespace, informer);
    }
  }

  on(handler: (event: WatchEvent, object: T) => void): void {
    this.handlers.push(handler);
  }

  /** Resolves once every informer has listed (the cache is synced). */
  async start(): Promise<void> {
    this.stopped = false;
    await Promise.all([...this.informers.values()].map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
  }

  private restart(namespace: string, informer: Informer<T>, err: unknown): void {
    if (this.stopped) return;
    this.failures += 1;
    const delay = Math.min(RESTART_BASE_MS * 2 ** (this.failures - 1), RESTART_MAX_MS);
    this.log.warn('watch failed; restarting', {
      plural: this.plural,
      namespace,
      delayMs: delay,
      error: String(err),
    });
    this.clock.setTimeout(() => {
      if (!this.stopped) informer.start().catch((e: unknown) => this.restart(namespace, informer, e));
    }, delay);
  }

  get(namespace: string, name: string): T | undefined {
    return (this.informers.get(namespace) ?? this.informers.get(''))?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined)
      return (this.informers.get(namespace) ?? this.informers.get(''))?.list(namespace) ?? [];
    return [...this.informers.values()].flatMap((informer) => informer.list());
  }
}
