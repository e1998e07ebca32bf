// Wires the reconcilers to the API server: one informer cache per kind (all namespaces,
// or a configured list), one work queue per kind, and the rules that turn a change of one
// object into work for the objects that depend on it:
//   Function → itself, its Versions and Aliases       Version → itself, its Function, its Aliases
//   Alias    → itself, its function's Versions/Aliases Layer   → itself, the Functions using it
//   EventSourceMapping → itself (and every change of its function re-checks it)
import type { KubeConfig } from '@kubernetes/client-node';
import {
  AliasResource,
  type CustomObject,
  EventSourceMappingResource,
  FunctionResource,
  LayerResource,
  VersionResource,
} from '../api/index.js';
import { apiMessage, ResourceClient, WatchedKind } from '../kube/index.js';
import type { EventRecorder } from '../kube/index.js';
import type { Clock, Logger } from '../shared/index.js';
import { reconcileAlias } from './alias.js';
import { reconcileEventSourceMapping, splitFunctionName } from './event-source-mapping.js';
import type { CodeResolver } from './code.js';
import type { ImageResolver } from './image-resolver.js';
import { type Caches, type Clients, type ControllerContext, type Kinds } from './context.js';
import { reconcileFunction } from './function.js';
import { KeyedMutex } from './framework/keyed-mutex.js';
import { reconcileLayer } from './layer.js';
import { parseLayerName } from './layer-pins.js';
import { kubeNetworkPolicies, networkPolicySync } from './network-policy.js';
import type { OperatorMetrics } from './metrics.js';
import { reconcileVersion } from './version.js';
import { type ReconcileResult, WorkQueue } from './framework/workqueue.js';

export interface ManagerOptions {
  kc: KubeConfig;
  namespaces?: readonly string[];
  code: CodeResolver;
  images?: ImageResolver;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  metrics: OperatorMetrics;
  workers: number;
  maxUnzippedBytes: number;
  gatewayUrl?: string;
}

type Reconcile = (ctx: ControllerContext, namespace: string, name: string) => Promise<ReconcileResult | void>;
type Kind = keyof Kinds;

/**
 * Every kind the operator reconciles: its API resource and its reconciler. A new kind adds
 * its object type to `Kinds` (context.ts), a line here, and its dependency rules in `wire()`.
 */
const REGISTRY: { [K in Kind]: { resource: { plural: string; kind: string }; reconcile: Reconcile } } = {
  functions: { resource: FunctionResource, reconcile: reconcileFunction },
  versions: { resource: VersionResource, reconcile: reconcileVersion },
  aliases: { resource: AliasResource, reconcile: reconcileAlias },
  layers: { resource: LayerResource, reconcile: reconcileLayer },
  eventsourcemappings: { resource: EventSourceMappingResource, reconcile: reconcileEventSourceMapping },
};
const KINDS = Object.keys(REGISTRY) as Kind[];

function byKind<V>(make: (kind: Kind) => V): Record<Kind, V> {
  return Object.fromEntries(KINDS.map((kind) => [kind, make(kind)])) as Record<Kind, V>;
}

const keyOf = (object: CustomObject<unknown, unknown>) =>
  `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;

export class Manager {
  readonly clients: Clients;
  readonly watched: { [K in Kind]: WatchedKind<Kinds[K]> };
  readonly queues: Record<Kind, WorkQueue>;
  readonly context: ControllerContext;
  private synced = false;

  constructor(private readonly options: ManagerOptions) {
    const { kc, namespaces, clock, log } = options;
    this.clients = byKind(
      (kind) => new ResourceClient(kc, REGISTRY[kind].resource.plural, REGISTRY[kind].resource.kind),
    ) as Clients;
    this.watched = byKind(
      (kind) => new WatchedKind(kc, REGISTRY[kind].resource.plural, namespaces, clock, log),
    ) as Manager['watched'];
    const cache: Caches = this.watched;
    this.context = {
      clients: this.clients,
      cache,
      code: options.code,
      ...(options.images ? { images: options.images } : {}),
      events: options.events,
      clock,
      log,
      maxUnzippedBytes: options.maxUnzippedBytes,
      gatewayUrl: options.gatewayUrl,
      publishLock: new KeyedMutex(),
      syncNetworkPolicy: networkPolicySync(kubeNetworkPolicies(kc)),
    };
    this.queues = byKind((kind) => this.queue(kind));
    this.wire();
  }

  get isSynced(): boolean {
    return this.synced;
  }

  private queue(plural: Kind): WorkQueue {
    const { metrics, log, clock, workers } = this.options;
    const { reconcile, resource } = REGISTRY[plural];
    const kind = resource.kind;
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
          metrics.queueDepth.set({ kind }, this.queues[plural].depth);
        }
      },
      onError: (key, err, retryInMs) =>
        log.warn('reconcile failed; retrying', { kind, key, retryInMs, error: apiMessage(err) }),
    });
  }

  private wire(): void {
    const { functions, versions, aliases, layers, eventsourcemappings } = this.watched;
    const q = this.queues;
    const mappingsOf = (namespace: string, functionName: string) => {
      for (const m of eventsourcemappings.list(namespace))
        if (splitFunctionName(m.spec.functionName).name === functionName) q.eventsourcemappings.add(keyOf(m));
    };
    // Including objects being deleted: a Version held by its finalizer waits for these events.
    const dependantsOf = (namespace: string, functionName: string) => {
      for (const v of versions.list(namespace))
        if (v.spec.functionName === functionName) q.versions.add(keyOf(v));
      for (const a of aliases.list(namespace))
        if (a.spec.functionName === functionName) q.aliases.add(keyOf(a));
      mappingsOf(namespace, functionName);
    };
    functions.on((_event, fn) => {
      q.functions.add(keyOf(fn));
      dependantsOf(fn.metadata.namespace ?? 'default', fn.metadata.name);
    });
    versions.on((_event, v) => {
      const namespace = v.metadata.namespace ?? 'default';
      q.versions.add(keyOf(v));
      q.functions.add(`${namespace}/${v.spec.functionName}`);
      for (const a of aliases.list(namespace))
        if (a.spec.functionName === v.spec.functionName) q.aliases.add(keyOf(a));
      mappingsOf(namespace, v.spec.functionName);
    });
    aliases.on((_event, a) => {
      q.aliases.add(keyOf(a));
      dependantsOf(a.metadata.namespace ?? 'default', a.spec.functionName);
    });
    eventsourcemappings.on((_event, m) => q.eventsourcemappings.add(keyOf(m)));
    layers.on((_event, layer) => {
      q.layers.add(keyOf(layer));
      const namespace = layer.metadata.namespace ?? 'default';
      for (const fn of functions.list()) {
        const fnNamespace = fn.metadata.namespace ?? 'default';
        const uses = (fn.spec.layers ?? []).some((ref) => {
          const target = parseLayerName(ref.name, fnNamespace);
          return target.namespace === namespace && target.name === layer.metadata.name;
        });
        if (uses) q.functions.add(keyOf(fn));
      }
    });
  }

  /** Lists every kind (caches synced), then starts reconciling. */
  async start(): Promise<void> {
    await Promise.all(KINDS.map((kind) => this.watched[kind].start()));
    this.synced = true;
    for (const queue of Object.values(this.queues)) queue.start();
    this.options.log.info(
      'operator caches synced; reconciling',
      byKind((kind) => this.watched[kind].list().length),
    );
  }

  async stop(): Promise<void> {
    this.synced = false;
    await Promise.all(KINDS.map((kind) => this.watched[kind].stop()));
    await Promise.all(Object.values(this.queues).map((queue) => queue.stop()));
  }

  /** Resolves when every queue is momentarily empty and idle (tests). */
  async idle(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((queue) => queue.idle()));
  }
}
