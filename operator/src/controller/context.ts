// What every reconciler gets: typed clients for writes, informer caches for reads, the
// artifact store, events, the clock and a logger. Built once by the manager.
import type { Alias, EventSourceMapping, LaminaFunction, Layer, Version } from '../api/index.js';
import {
  type EventRecorder,
  type ReadCache,
  type ResourceClient,
  withControllerReference,
} from '../kube/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { CodeResolver } from './code.js';
import type { ImageResolver } from './image-resolver.js';
import type { KeyedMutex } from './framework/keyed-mutex.js';

/** The kinds the operator reconciles, by their plural: a new kind is added here first. */
export interface Kinds {
  functions: LaminaFunction;
  versions: Version;
  aliases: Alias;
  layers: Layer;
  eventsourcemappings: EventSourceMapping;
}

export type Clients = { [K in keyof Kinds]: ResourceClient<Kinds[K]> };
export type Caches = { [K in keyof Kinds]: ReadCache<Kinds[K]> };

export interface ControllerContext {
  clients: Clients;
  cache: Caches;
  code: CodeResolver;
  /** Image functions: tag to digest (a default resolver when absent). */
  images?: ImageResolver;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Function code + layers, unzipped (Lambda: 250 MB). */
  maxUnzippedBytes: number;
  /** Where clients reach the gateway; a Function's status.url derives from it. */
  gatewayUrl?: string;
  publishLock: KeyedMutex;
  /** Writes or removes a Function's own NetworkPolicy (spec.network); absent in unit tests. */
  syncNetworkPolicy?: (fn: LaminaFunction) => Promise<void>;
}

export { isoTime } from './framework/reconciler.js';

/** Versions of one function that exist and are not being deleted. */
export function versionsOf(cache: ReadCache<Version>, namespace: string, functionName: string): Version[] {
  return cache
    .list(namespace)
    .filter((v) => v.spec.functionName === functionName && !v.metadata.deletionTimestamp);
}

export function aliasesOf(cache: ReadCache<Alias>, namespace: string, functionName: string): Alias[] {
  return cache
    .list(namespace)
    .filter((a) => a.spec.functionName === functionName && !a.metadata.deletionTimestamp);
}

/** The qualifier clients use for an alias: spec.name, defaulting to metadata.name. */
export const aliasName = (alias: Alias) => alias.spec.name ?? alias.metadata.name;

/** The version numbers an alias sends traffic to. */
export function routedVersions(alias: Alias): string[] {
  return [
    alias.spec.functionVersion,
    ...Object.keys(alias.spec.routingConfig?.additionalVersionWeights ?? {}),
  ];
}

export const FUNCTION_LABEL = 'lamina.dev/function';
export const VERSION_IN_USE_FINALIZER = 'lamina.dev/version-in-use';

/**
 * The Function of a Version or Alias (from the cache), after giving the object an owner
 * reference and label to it (a user-created object has neither), so it goes with its
 * Function. `patched`: that took a write, and the update brings the object back.
 */
export async function adoptByFunction<O extends Version | Alias>(
  ctx: ControllerContext,
  client: ResourceClient<O>,
  object: O,
): Promise<{ fn: LaminaFunction | undefined; patched: boolean }> {
  const namespace = object.metadata.namespace ?? 'default';
  const fn = ctx.cache.functions.get(namespace, object.spec.functionName);
  if (!fn?.metadata.uid) return { fn, patched: false };
  const owner = withControllerReference(object.metadata.ownerReferences, fn);
  if (!owner.changed && object.metadata.labels?.[FUNCTION_LABEL] === fn.metadata.name)
    return { fn, patched: false };
  await client.patch(
    namespace,
    object.metadata.name,
    { metadata: { labels: { [FUNCTION_LABEL]: fn.metadata.name }, ownerReferences: owner.refs } },
    object.metadata.resourceVersion,
  );
  return { fn, patched: true };
}
