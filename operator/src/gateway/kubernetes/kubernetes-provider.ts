// Execution environments as pods: created from the pod spec, watched by an informer on the
// environment label (in every namespace), deleted when reclaimed. Pods that exist when the
// gateway starts are listed first, so they are adopted rather than duplicated.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../shared/index.js';
import type { InitializationType } from '../scaling/environment-plan.js';
import { AGENT_PORT } from '../../protocol/index.js';
import { AGENT_MEMORY_MIB, environmentPod, LABELS, versionFromLabel } from '../environments/pod-spec.js';
import { type ImageMap, imageKeyOf, imageOf } from '../environments/runtime-images.js';
import {
  type EnvironmentEvent,
  environmentKey,
  type EnvironmentProvider,
  type EnvironmentRecord,
  type EnvironmentSpec,
} from '../environments/types.js';
import { ImageConfigReader } from '../environments/image-config.js';
import { FastReadiness } from './fast-readiness.js';
import { podInformer, type ResilientInformer } from './informers.js';

/** Container states from which a pod will not become a usable environment. */
const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'CrashLoopBackOff',
  'RunContainerError',
]);

export function podFailure(pod: V1Pod): string | undefined {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded')
    return `pod ${phase}${pod.status?.reason ? `: ${pod.status.reason}` : ''}`;
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting?.reason;
    if (waiting && FATAL_WAITING.has(waiting))
      return `${waiting}${c.state?.waiting?.message ? `: ${c.state.waiting.message}` : ''}`;
    const terminated = c.state?.terminated;
    if (terminated && c.name === 'function' && isImagePod(pod)) return imageRuntimeExit(terminated);
    if (terminated) return `container exited (${terminated.reason ?? terminated.exitCode})`;
  }
  return undefined;
}

/** An image function's pod: the agent is a sidecar (image-pod.ts), the function's image the main container. */
function isImagePod(pod: V1Pod): boolean {
  return (pod.spec?.initContainers ?? []).some((c) => c.name === 'agent');
}

/**
 * An image function's container ended (its launcher could not reach the agent, or the agent
 * went; the entry point's own exits are the agent's to answer): Lambda's words for it, with
 * the last lines it wrote (terminationMessagePolicy FallbackToLogsOnError).
 */
function imageRuntimeExit(t: { exitCode: number; reason?: string; message?: string }): string {
  const errorType = t.reason === 'OOMKilled' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError';
  const tail = t.message?.trim().slice(-2048);
  return `${errorType}: Runtime exited with error: exit status ${t.exitCode}${tail ? `\nLog tail:\n${tail}` : ''}`;
}

export function podToRecord(pod: V1Pod): EnvironmentRecord | undefined {
  const labels = pod.metadata?.labels ?? {};
  const namespace = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  const functionName = labels[LABELS.function];
  const hash = labels[LABELS.configHash];
  if (!namespace || !name || !functionName || !hash) return undefined;
  const version = versionFromLabel(labels[LABELS.version]);
  const ip = pod.status?.podIP;
  const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const failure = podFailure(pod);
  const requested = /^(\d+)Mi$/.exec(pod.spec?.containers?.[0]?.resources?.requests?.memory ?? '');
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const unschedulable =
    scheduled?.status === 'False' && scheduled.reason === 'Unschedulable'
      ? (scheduled.message ?? 'Unschedulable')
      : undefined;
  return {
    id: `${namespace}/${name}`,
    key: environmentKey(namespace, functionName, version, hash),
    namespace,
    functionName,
    version,
    initializationType: (labels[LABELS.initializationType] as InitializationType | undefined) ?? 'on-demand',
    ...(ip ? { address: `http://${ip.includes(':') ? `[${ip}]` : ip}:${AGENT_PORT}` } : {}),
    ready: ready && Boolean(ip),
    ...(requested ? { memorySize: Number(requested[1]) - (isImagePod(pod) ? 0 : AGENT_MEMORY_MIB) } : {}),
    ...(failure ? { failure } : {}),
    ...(unschedulable ? { unschedulable } : {}),
  };
}

/** "403 pods is forbidden: …" instead of client-node's full HTTP dump. */
export function describeApiError(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number') {
    let message: string;
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : undefined;
      message = body?.message ?? '';
    } catch {
      message = String(e.body).slice(0, 200);
    }
    return `${e.code} ${message}`.trim();
  }
  return e.message ?? String(err);
}

export interface KubernetesProviderSettings {
  /** The default runtime image (Debian trixie's lines, provided*). */
  image: string;
  /** The images of the other runtime lines (runtime-images.ts). */
  images?: ImageMap;
  /** Registries read over plain HTTP for image functions' ENTRYPOINT and CMD (image-config.ts). */
  insecureRegistries?: readonly string[];
}

export class KubernetesProvider implements EnvironmentProvider {
  private readonly core: CoreV1Api;
  private readonly informer: ResilientInformer<V1Pod>;
  private readonly listeners = new Set<(event: EnvironmentEvent) => void>();
  private readonly fastReadiness: FastReadiness;
  private readonly imageConfigs: ImageConfigReader;

  constructor(
    kc: KubeConfig,
    private readonly settings: KubernetesProviderSettings,
    private readonly log: Logger,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.imageConfigs = new ImageConfigReader({ insecureRegistries: settings.insecureRegistries ?? [] });
    this.informer = podInformer(kc, `${LABELS.environment}=true`, log);
    this.fastReadiness = new FastReadiness((id) => {
      const [namespace = '', name = ''] = id.split('/');
      const pod = this.informer.get(name, namespace);
      const env = pod && this.toRecord(pod);
      if (env) this.emit({ type: 'upsert', env });
    }, log);
    const upsert = (pod: V1Pod) => {
      if (pod.metadata?.deletionTimestamp) {
        this.gone(`${pod.metadata.namespace}/${pod.metadata.name}`);
        return;
      }
      const env = this.toRecord(pod);
      if (!env) return;
      this.fastReadiness.observe(env.id, env.address, env.ready, env.failure !== undefined);
      this.emit({ type: 'upsert', env });
    };
    this.informer.on('add', upsert);
    this.informer.on('update', upsert);
    this.informer.on('delete', (pod) => this.gone(`${pod.metadata?.namespace}/${pod.metadata?.name}`, true));
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  stop(): void {
    this.fastReadiness.stop();
    void this.informer.stop();
  }

  async create(spec: EnvironmentSpec, id: string): Promise<EnvironmentRecord> {
    const [, podName = id] = id.split('/');
    const image = imageOf(imageKeyOf(spec.config.runtime), this.settings.image, this.settings.images);
    // An image function's container runs its image's entry point behind the launcher: the pod
    // names it, so it is read from the registry unless imageConfig gives it.
    const imageDefaults =
      spec.image && !spec.image.imageConfig?.entryPoint
        ? await this.imageConfigs.defaults(spec.image.uri)
        : undefined;
    const body = environmentPod(spec, { image, podName, ...(imageDefaults ? { imageDefaults } : {}) });
    let created: V1Pod;
    try {
      created = await this.core.createNamespacedPod({ namespace: spec.namespace, body });
    } catch (err) {
      throw new Error(`creating pod ${id} failed: ${describeApiError(err)}`, { cause: err });
    }
    this.log.debug('environment pod created', { id, key: spec.key });
    const record = podToRecord(created);
    if (!record) throw new Error(`created pod ${id} lacks Lamina labels`);
    return record;
  }

  async destroy(id: string): Promise<void> {
    const [namespace = '', name = ''] = id.split('/');
    try {
      await this.core.deleteNamespacedPod({ namespace, name });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }

  list(): EnvironmentRecord[] {
    return this.informer
      .list()
      .filter((pod) => !pod.metadata?.deletionTimestamp)
      .map((pod) => this.toRecord(pod))
      .filter((r): r is EnvironmentRecord => r !== undefined);
  }

  subscribe(listener: (event: EnvironmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The pod as an environment, ready as soon as either the kubelet or the gateway saw it ready. */
  private toRecord(pod: V1Pod): EnvironmentRecord | undefined {
    const env = podToRecord(pod);
    if (env && !env.ready && !env.failure && env.address && this.fastReadiness.isReady(env.id))
      env.ready = true;
    return env;
  }

  private gone(id: string, removed = false): void {
    this.fastReadiness.forget(id);
    this.emit({ type: 'delete', id, ...(removed ? { removed } : {}) });
  }

  private emit(event: EnvironmentEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
