// Wires the four reconcilers to the API server: one informer cache per kind (all namespaces,
// or a configured list), one work queue per kind, and the rules that turn a change of one
// object into work for the objects that depend on it:
//   Function → itself, its Versions and Aliases       Version → itself, its Function, its Aliases
//   Alias    → itself, its function's Versions/Aliases Layer   → itself, the Functions using it
import type { KubeConfig } from '@kubernetes/client-node';
import {
  type Alias,
  AliasResource,
  type CustomObject,
  FunctionResource,
  type LaminaFunction,
  type Layer,
  LayerResource,
  type Version,
  VersionResource,
} from '../api/index.js';
import { apiMessage, ResourceClient, WatchedKind } from '../kube/index.js';
import type { EventRecorder } from '../kube/index.js';
import type { Clock, Logger } from '../shared/index.js';
import { reconcileAlias } from './alias.js';
import type { CodeResolver } from './code.js';
import { type Caches, type Clients, type ControllerContext } from './context.js';
import { reconcileFunction } from './function.js';
import { KeyedMutex } from './framework/keyed-mutex.js';
import { reconcileLayer } from './layer.js';
import { parseLayerName } from './layer-pins.js';
import type { OperatorMetrics } from './metrics.js';
import { reconcileVersion } from './version.js';
import { type ReconcileResult, WorkQueue } from './framework/workqueue.js';

export interface ManagerOptions {
  kc: KubeConfig;
  namespaces?: readonly string[];
  code: CodeResolver;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  metrics: OperatorMetrics;
  workers: number;
  maxUnzippedBytes: number;
  gatewayUrl?: string;
}

type Kind = 'Function' | 'Version' | 'Alias' | 'Layer';
type Reconcile = (ctx: ControllerContext, namespace: string, name: string) => Promise<ReconcileResult | void>;

const keyOf = (object: CustomObject<unknown, unknown>) =>
  `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;

export class Manager {
  readonly clients: Clients;
  readonly watched: {
    functions: WatchedKind<LaminaFunction>;
    versions: WatchedKind<Version>;
    aliases: WatchedKind<Alias>;
    layers: WatchedKind<Layer>;
  };
  readonly queues: Record<Kind, WorkQueue>;
  readonly context: ControllerContext;
  private synced = false;

  constructor(private readonly options: ManagerOptions) {
    const { kc, namespaces, clock, log } = options;
    this.clients = {
      functions: new ResourceClient(kc, FunctionResource.plural, FunctionResource.kind),
      versions: new ResourceClient(kc, VersionResource.plural, VersionResource.kind),
      aliases: new ResourceClient(kc, AliasResource.plural, AliasResource.kind),
      layers: new ResourceClient(kc, LayerResource.plural, LayerResource.kind),
    };
    this.watched = {
      functions: new WatchedKind(kc, FunctionResource.plural, namespaces, clock, log),
      versions: new WatchedKind(kc, VersionResource.plural, namespaces, clock, log),
      aliases: new WatchedKind(kc, AliasResource.plural, namespaces, clock, log),
      layers: new WatchedKind(kc, LayerResource.plural, namespaces, clock, log),
    };
    const cache: Caches = this.watched;
    this.context = {
      clients: this.clients,
      cache,
      code: options.code,
      events: options.events,
      clock,
      log,
      maxUnzippedBytes: options.maxUnzippedBytes,
      gatewayUrl: options.gatewayUrl,
      publishLock: new KeyedMutex(),
    };
    this.queues = {
      Function: this.queue('Function', reconcileFunction),
      Version: this.queue('Version', reconcileVersion),
      Alias: this.queue('Alias', reconcileAlias),
      Layer: this.queue('Layer', reconcileLayer),
    };
    this.wire();
  }

  get isSynced(): boolean {
    return this.synced;
  }

  private queue(kind: Kind, reconcile: Reconcile): WorkQueue {
    const { metrics, log, clock, workers } = this.options;
    return new WorkQueue({
      workers,
      clock,
      process: async (key) => {
        const [namespace = '', name = ''] = key.split('/');
        const stop = metrics.duration.startTimer({ kind });
        try {
          const result = await reconcile(this.context, namespace, name);
          metrics.reconciles.inc({
            kind,
            result: result?.requeueAfterMs !== undefined ? 'requeue' : 'success',
          });
          return result;
        } catch (err) {
          metrics.reconciles.inc({ kind, result: 'error' });
          metrics.errors.inc({ kind });
          throw err;
        } finally {
          stop();
          metrics.queueDepth.set({ kind }, this.queues[kind].depth);
        }
      },
      onError: (key, err, retryInMs) =>
        log.warn('reconcile failed; retrying', { kind, key, retryInMs, error: apiMessage(err) }),
    });
  }

  private wire(): void {
    const { functions, versions, aliases, layers } = this.watched;
    const q = this.queues;
    // Including objects being deleted: a Version held by its finalizer waits for these events.
    const dependantsOf = (namespace: string, functionName: string) => {
      for (const v of versions.list(namespace))
        if (v.spec.functionName === functionName) q.Version.add(keyOf(v));
      for (const a of aliases.list(namespace))
        if (a.spec.functionName === functionName) q.Alias.add(keyOf(a));
    };
    functions.on((_event, fn) => {
      q.Function.add(keyOf(fn));
      dependantsOf(fn.metadata.namespace ?? 'default', fn.metadata.name);
    });
    versions.on((_event, v) => {
      const namespace = v.metadata.namespace ?? 'default';
      q.Version.add(keyOf(v));
      q.Function.add(`${namespace}/${v.spec.functionName}`);
      for (const a of aliases.list(namespace))
        if (a.spec.functionName === v.spec.functionName) q.Alias.add(keyOf(a));
    });
    aliases.on((_event, a) => {
      q.Alias.add(keyOf(a));
      dependantsOf(a.metadata.namespace ?? 'default', a.spec.functionName);
    });
    layers.on((_event, layer) => {
      q.Layer.add(keyOf(layer));
      const namespace = layer.metadata.namespace ?? 'default';
      for (const fn of functions.list()) {
        const fnNamespace = fn.metadata.namespace ?? 'default';
        const uses = (fn.spec.layers ?? []).some((ref) => {
          const target = parseLayerName(ref.name, fnNamespace);
          return target.namespace === namespace && target.name === layer.metadata.name;
        });
        if (uses) q.Function.add(keyOf(fn));
      }
    });
  }

  /** Lists every kind (caches synced), then starts reconciling. */
  async start(): Promise<void> {
    const { functions, versions, aliases, layers } = this.watched;
    await Promise.all([functions.start(), versions.start(), aliases.start(), layers.start()]);
    this.synced = true;
    for (const queue of Object.values(this.queues)) queue.start();
    this.options.log.info('operator caches synced; reconciling', {
      functions: functions.list().length,
      versions: versions.list().length,
      aliases: aliases.list().length,
      layers: layers.list().length,
    });
  }

  async stop(): Promise<void> {
    this.synced = false;
    const { functions, versions, aliases, layers } = this.watched;
    await Promise.all([functions.stop(), versions.stop(), aliases.stop(), layers.stop()]);
    await Promise.all(Object.values(this.queues).map((queue) => queue.stop()));
  }

  /** Resolves when every queue is momentarily empty and idle (tests). */
  async idle(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((queue) => queue.idle()));
  }
}
