// The warm pool on Kubernetes: generic environment pods (no function yet) kept running per
// namespace and shape, taken one at a time by cold starts and refilled in the background.
// A namespace without cold starts for LAMINA_POOL_IDLE_NAMESPACE_SECONDS keeps none until
// its next cold start (PoolDemand in pool-plan.ts).
//
// Pool pods live in the namespace of the functions they will serve, because a pod cannot
// move between namespaces and everything that scopes a function — its owner reference (GC),
// ResourceQuota/LimitRange, NetworkPolicy, RBAC on `pods/log` — is namespaced. So a
// namespace gets a pool once it has a Function (optionally only the namespaces listed in
// LAMINA_POOL_NAMESPACES), and loses it when its last Function is gone. Each gateway keeps
// its own pool pods (label lamina.dev/pool-owner) so replicas never fight over sizes; a
// restarted gateway with the same identity adopts its pool.
import { randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { type Clock, type Logger, systemClock } from '../../shared/index.js';
import { AGENT_PORT, RUNTIME_IMAGE_KEYS, type RuntimeImageKey } from '../../protocol/index.js';
import { type ImageMap, imageKeyOf, imageOf } from '../environments/runtime-images.js';
import type { EnvironmentSpec } from '../environments/types.js';
import { FastReadiness } from '../kubernetes/fast-readiness.js';
import { podInformer, type ResilientInformer } from '../kubernetes/informers.js';
import { describeApiError, podFailure } from '../kubernetes/kubernetes-provider.js';
import {
  claimPatch,
  POOL_LABELS,
  POOL_TEMPLATE_ANNOTATION,
  poolPod,
  type PoolPodSettings,
} from './pool-pod.js';
import { groupKey, planPool, PoolDemand, type PoolPodView } from './pool-plan.js';
import { type PoolShape, shapeName, shapesOfImage } from './shapes.js';

export interface WarmPoolSettings {
  /** The default runtime image. */
  image: string;
  /** The runtime image's content revision (pool pods of another are replaced). */
  imageRevision?: string;
  /** The other runtime images and their revisions, by image key (runtime-images.ts). */
  images?: ImageMap;
  imageRevisions?: ImageMap;
  /** Generic environments kept per namespace and shape (0 turns the pool off). */
  size: number;
  /** Per runtime image, instead of `size` (0: no pool for that image). */
  sizes?: Partial<Record<RuntimeImageKey, number>>;
  /** A namespace without a cold start this long keeps no pool pods (0: always keeps them). */
  idleNamespaceSeconds: number;
  shapes: PoolShape[];
  /** Only these namespaces get a pool; empty: every namespace that has a Function. */
  namespaces: string[];
  /** This gateway's identity on its pool pods (a label value). */
  owner: string;
  reconcileIntervalMs: number;
}

/** A Function as the pool sees it: where it lives and which runtime image it needs. */
export interface PoolFunction {
  namespace: string;
  runtime?: string;
}

/** A generic environment taken out of the pool (no longer offered to anyone else). */
export interface GenericEnvironment {
  /** `<namespace>/<pod name>`. */
  id: string;
  namespace: string;
  name: string;
  shape: string;
  address: string;
}

export interface WarmPoolStatus {
  namespace: string;
  shape: string;
  target: number;
  ready: number;
  starting: number;
  /** Memory requested by one pool pod of this shape, in bytes. */
  podMemoryBytes: number;
  /** Seconds pool pods of this group have existed untaken, summed over pods (idle cost). */
  idlePodSeconds: number;
}

/** Backoff after a failed pool pod creation (missing namespace, quota …). */
const CREATE_BACKOFF_MS = 10_000;

/** A label value: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends. */
export function labelValue(value: string): string {
  const cleaned = value
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || 'gateway';
}

export class WarmPool {
  private readonly core: CoreV1Api;
  private readonly informer: ResilientInformer<V1Pod>;
  private readonly fastReadiness: FastReadiness;
  /** Pool pods handed out; they leave the informer's label set once relabelled. */
  private readonly taken = new Set<string>();
  /** Pods asked for but not seen by the informer yet, by id → group. */
  private readonly pending = new Map<string, string>();
  private readonly templates = new Map<string, string | undefined>();
  private readonly podMemory = new Map<string, number>();
  private readonly backoffUntil = new Map<string, number>();
  private readonly demand: PoolDemand;
  /** Pod-seconds spent untaken per group, and when they were last added up. */
  private readonly idlePodSeconds = new Map<string, number>();
  private idleCountedAt: number;
  private timer?: NodeJS.Timeout;
  private cachedShapes?: PoolShape[];
  private queued = false;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly settings: WarmPoolSettings,
    /** Each Function's namespace and runtime, one entry per Function. */
    private readonly functions: () => Iterable<PoolFunction>,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.demand = new PoolDemand(
      // Only whether a namespace is in demand is read from it; sizes are per image.
      { size: 1, idleNamespaceMs: settings.idleNamespaceSeconds * 1000 },
      clock,
    );
    this.idleCountedAt = clock.now();
    this.informer = podInformer(kc, `${POOL_LABELS.pool}=true,${POOL_LABELS.owner}=${settings.owner}`, log);
    this.fastReadiness = new FastReadiness(() => undefined, log);
    const seen = (pod: V1Pod) => {
      const id = podId(pod);
      this.pending.delete(id);
      const ip = pod.status?.podIP;
      this.fastReadiness.observe(id, ip ? `http://${ip}:${AGENT_PORT}` : undefined, kubeletReady(pod), false);
    };
    this.informer.on('add', seen);
    this.informer.on('update', seen);
    this.informer.on('delete', (pod) => {
      const id = podId(pod);
      this.taken.delete(id);
      this.fastReadiness.forget(id);
      this.queueReconcile();
    });
  }

  get enabled(): boolean {
    const sizes = [this.settings.size, ...Object.values(this.settings.sizes ?? {})];
    return sizes.some((n) => n > 0) && this.settings.shapes.length > 0;
  }

  /** Every pool shape: the memory shapes for each runtime image. */
  get shapes(): readonly PoolShape[] {
    return this.allShapes;
  }

  private get allShapes(): PoolShape[] {
    return (this.cachedShapes ??= RUNTIME_IMAGE_KEYS.flatMap((image) =>
      shapesOfImage(this.settings.shapes, image),
    ));
  }

  private sizeOf(image: RuntimeImageKey): number {
    return this.settings.sizes?.[image] ?? this.settings.size;
  }

  /** The pod settings of a shape's image: reference and content revision. */
  private podSettings(shape: PoolShape): PoolPodSettings {
    const key = shape.image ?? 'default';
    const revisions = { default: this.settings.imageRevision, ...this.settings.imageRevisions };
    return {
      owner: this.settings.owner,
      image: imageOf(key, this.settings.image, this.settings.images),
      imageRevision: revisions[key] ?? '',
    };
  }

  async start(): Promise<void> {
    await this.informer.start();
    const tick = () => {
      if (this.stopped) return;
      this.reconcile();
      this.timer = setTimeout(tick, this.settings.reconcileIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.fastReadiness.stop();
    void this.informer.stop();
  }

  /** Deletes this gateway's untaken pool pods (on shutdown: a pool is cheap to rebuild). */
  async drain(timeoutMs = 5000): Promise<void> {
    const pods = this.informer.list().filter((p) => !this.taken.has(podId(p)));
    const deletions = pods.map((p) => this.deletePod(podId(p), 'gateway shutting down'));
    await Promise.race([Promise.allSettled(deletions), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** A ready generic environment of `shape` in `namespace`, now reserved for the caller. */
  take(namespace: string, shape: PoolShape): GenericEnvironment | undefined {
    if (!this.enabled) return undefined;
    // A namespace that had let its pool go gets it back now; this cold start creates a pod.
    if (this.demand.coldStart(namespace)) this.queueReconcile();
    const wanted = shapeName(shape);
    for (const pod of this.informer.list()) {
      const id = podId(pod);
      if (
        pod.metadata?.namespace !== namespace ||
        pod.metadata.labels?.[POOL_LABELS.shape] !== wanted ||
        pod.metadata.deletionTimestamp ||
        this.taken.has(id) ||
        !pod.status?.podIP ||
        podFailure(pod) ||
        !(kubeletReady(pod) || this.fastReadiness.isReady(id))
      )
        continue;
      this.taken.add(id);
      this.queueReconcile();
      return {
        id,
        namespace,
        name: pod.metadata.name ?? '',
        shape: wanted,
        address: `http://${pod.status.podIP}:${AGENT_PORT}`,
      };
    }
    return undefined;
  }

  /** Relabels a taken pod as an environment of `spec`, owned by its Function. */
  async assign(env: GenericEnvironment, spec: EnvironmentSpec): Promise<void> {
    try {
      await this.core.patchNamespacedPod(
        { namespace: env.namespace, name: env.name, body: claimPatch(spec) },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw new Error(`relabelling pool pod ${env.id} failed: ${describeApiError(err)}`, { cause: err });
    }
  }

  /** Deletes a taken pod that could not be specialised. */
  async discard(env: GenericEnvironment, reason: string): Promise<void> {
    await this.deletePod(env.id, reason);
  }

  status(): WarmPoolStatus[] {
    const out = new Map<string, WarmPoolStatus>();
    for (const [key, target] of this.desired()) {
      const [namespace = '', shape = ''] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      out.set(key, {
        namespace,
        shape,
        target,
        ready: 0,
        starting: 0,
        podMemoryBytes: this.podMemoryBytes(shape),
        idlePodSeconds: this.idlePodSeconds.get(key) ?? 0,
      });
    }
    for (const pod of this.views()) {
      const s = out.get(groupKey(pod.namespace, pod.shape));
      if (!s || pod.failed) continue;
      if (pod.ready) s.ready += 1;
      else s.starting += 1;
    }
    for (const group of this.pending.values()) {
      const s = out.get(group);
      if (s) s.starting += 1;
    }
    return [...out.values()];
  }

  /** One pass: create missing pool pods, delete failed and unwanted ones. */
  reconcile(): void {
    const desired = this.desired();
    const pending = new Map<string, number>();
    for (const group of this.pending.values()) pending.set(group, (pending.get(group) ?? 0) + 1);
    const views = this.views();
    this.countIdle(views);
    const plan = planPool(desired, views, pending);
    for (const id of plan.delete) void this.deletePod(id, 'not wanted or failed');
    const now = this.clock.now();
    for (const { namespace, shape, count } of plan.create) {
      const key = groupKey(namespace, shape);
      if ((this.backoffUntil.get(key) ?? 0) > now) continue;
      const poolShape = this.allShapes.find((s) => shapeName(s) === shape);
      if (!poolShape) continue;
      for (let i = 0; i < count; i++) this.createPod(namespace, poolShape, key);
    }
  }

  /**
   * namespace/shape → size. A namespace in demand keeps pool pods of the runtime images its
   * Functions use, and only those (a namespace of Python functions starts no JVM image).
   */
  private desired(): Map<string, number> {
    const desired = new Map<string, number>();
    if (!this.enabled) return desired;
    const only = new Set(this.settings.namespaces);
    const functions = [...this.functions()];
    this.demand.observeFunctions(functions.map((f) => f.namespace));
    const imagesInUse = new Map<string, Set<RuntimeImageKey>>();
    for (const { namespace, runtime } of functions)
      imagesInUse.set(namespace, (imagesInUse.get(namespace) ?? new Set()).add(imageKeyOf(runtime)));
    for (const namespace of this.demand.namespaces()) {
      if (only.size > 0 && !only.has(namespace)) continue;
      const inDemand = this.demand.targetSize(namespace) > 0;
      for (const image of imagesInUse.get(namespace) ?? []) {
        const size = inDemand ? this.sizeOf(image) : 0;
        for (const shape of shapesOfImage(this.settings.shapes, image))
          desired.set(groupKey(namespace, shapeName(shape)), size);
      }
    }
    return desired;
  }

  /** Adds the time since the last pass to each group's idle pod-seconds (pods untaken now). */
  private countIdle(views: readonly PoolPodView[]): void {
    const now = this.clock.now();
    const seconds = Math.max(0, now - this.idleCountedAt) / 1000;
    this.idleCountedAt = now;
    for (const pod of views) {
      const key = groupKey(pod.namespace, pod.shape);
      this.idlePodSeconds.set(key, (this.idlePodSeconds.get(key) ?? 0) + seconds);
    }
  }

  /** The memory request of a pool pod of `shape` (its manifest's, so it follows the template). */
  private podMemoryBytes(shape: string): number {
    let bytes = this.podMemory.get(shape);
    if (bytes === undefined) {
      const known = this.allShapes.find((s) => shapeName(s) === shape);
      const request =
        known &&
        poolPod(known, '', '', this.podSettings(known)).spec?.containers[0]?.resources?.requests?.memory;
      const match = /^(\d+)Mi$/.exec(String(request ?? ''));
      bytes = match ? Number(match[1]) * 1024 * 1024 : 0;
      this.podMemory.set(shape, bytes);
    }
    return bytes;
  }

  private views(): PoolPodView[] {
    return this.informer
      .list()
      .filter((pod) => !pod.metadata?.deletionTimestamp && !this.taken.has(podId(pod)))
      .map((pod) => {
        const id = podId(pod);
        const shape = pod.metadata?.labels?.[POOL_LABELS.shape] ?? '';
        return {
          id,
          namespace: pod.metadata?.namespace ?? '',
          shape,
          ready: Boolean(pod.status?.podIP) && (kubeletReady(pod) || this.fastReadiness.isReady(id)),
          failed: podFailure(pod) !== undefined,
          outdated: pod.metadata?.annotations?.[POOL_TEMPLATE_ANNOTATION] !== this.templateOf(shape),
        };
      });
  }

  /** The template annotation this gateway's pool pods of `shape` carry (undefined: no such shape). */
  private templateOf(shape: string): string | undefined {
    if (!this.templates.has(shape)) {
      const known = this.allShapes.find((s) => shapeName(s) === shape);
      const pod = known && poolPod(known, '', '', this.podSettings(known));
      this.templates.set(shape, pod?.metadata?.annotations?.[POOL_TEMPLATE_ANNOTATION]);
    }
    return this.templates.get(shape);
  }

  private createPod(namespace: string, shape: PoolShape, group: string): void {
    const image = shape.image && shape.image !== 'default' ? `${shape.image}-` : '';
    const name = `lamina-pool-${image}${shape.memorySize}m-${randomBytes(4).toString('hex')}`;
    const id = `${namespace}/${name}`;
    this.pending.set(id, group);
    const body = poolPod(shape, namespace, name, this.podSettings(shape));
    this.core.createNamespacedPod({ namespace, body }).then(
      () => this.log.debug('pool pod created', { id }),
      (err: unknown) => {
        this.pending.delete(id);
        this.backoffUntil.set(group, this.clock.now() + CREATE_BACKOFF_MS);
        this.log.warn('pool pod creation failed', {
          id,
          retryInMs: CREATE_BACKOFF_MS,
          error: describeApiError(err),
        });
      },
    );
  }

  private async deletePod(id: string, reason: string): Promise<void> {
    const [namespace = '', name = ''] = id.split('/');
    this.log.debug('deleting pool pod', { id, reason });
    try {
      await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
    } catch (err) {
      if ((err as { code?: number }).code !== 404)
        this.log.warn('pool pod deletion failed', { id, error: describeApiError(err) });
    }
  }

  private queueReconcile(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.stopped) this.reconcile();
    });
  }
}

function podId(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function kubeletReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
