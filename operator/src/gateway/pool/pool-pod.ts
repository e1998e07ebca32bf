// The manifests of the warm pool (pure): a generic environment pod, and the merge patch that
// hands one over to a function version.
//
// A pool pod is an environment pod in every respect that is fixed at creation (image,
// security context, resources, volumes — built by the same environmentPod) except that it has
// no function: no LAMINA_FUNCTION, so the agent waits generic (with its language runtimes
// already started, see the agent's standby runtimes), and no owner. Claiming it
// moves it from the pool's label set to the environments' label set and makes the Function
// its owner, so from then on it is tracked, reclaimed and garbage-collected exactly like a
// pod created for that function.
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { environmentLabels, environmentOwners, environmentPod } from '../environments/pod-spec.js';
import type { EnvironmentSpec } from '../environments/types.js';
import { shapeName, type PoolShape } from './shapes.js';

export const POOL_LABELS = {
  /** "true" while the pod waits generic in the pool. */
  pool: 'lamina.dev/pool',
  /** Which gateway manages this pool pod (several replicas keep separate pools). */
  owner: 'lamina.dev/pool-owner',
  shape: 'lamina.dev/pool-shape',
  /** Set when a pool pod was specialised for a function: it stays on the pod for life. */
  fromPool: 'lamina.dev/from-pool',
} as const;

/**
 * Annotation: a digest of the pod spec the pool would create now, and of the runtime image's
 * revision. A pool pod whose value differs (an upgrade changed the image, resources or agent
 * settings; a rebuilt image kept its tag) is replaced instead of being handed out.
 */
export const POOL_TEMPLATE_ANNOTATION = 'lamina.dev/pool-template';

export interface PoolPodSettings {
  owner: string;
  image: string;
  /** The runtime image's content revision, when its tag does not change with it. */
  imageRevision?: string;
}

export function poolPod(shape: PoolShape, namespace: string, name: string, settings: PoolPodSettings): V1Pod {
  const { owner, image, imageRevision = '' } = settings;
  // environmentPod reads the spec's resources and identity only; the function parts are
  // removed below, so the placeholder names never reach the cluster.
  const placeholder = {
    key: '',
    namespace,
    functionName: 'pool',
    version: '$LATEST',
    configHash: '',
    initializationType: 'on-demand',
    config: { memorySize: shape.memorySize },
    ephemeralStorageSize: shape.ephemeralStorageSize,
    secretRefs: [],
    owner: { apiVersion: '', kind: '', name: '', uid: '' },
  } as unknown as EnvironmentSpec;
  const pod = environmentPod(placeholder, { image, podName: name });
  pod.metadata = {
    name,
    namespace,
    labels: {
      'app.kubernetes.io/managed-by': 'lamina-gateway',
      [POOL_LABELS.pool]: 'true',
      [POOL_LABELS.owner]: owner,
      [POOL_LABELS.shape]: shapeName(shape),
    },
  };
  for (const container of pod.spec?.containers ?? []) {
    // The agent starts the language runtimes of this memory size while it waits.
    container.env = [{ name: 'LAMINA_STANDBY_MEMORY_SIZE', value: String(shape.memorySize) }];
    delete container.envFrom;
  }
  const template = createHash('sha256').update(JSON.stringify(pod.spec)).update(`\n${imageRevision}`);
  pod.metadata.annotations = { [POOL_TEMPLATE_ANNOTATION]: template.digest('hex').slice(0, 32) };
  return pod;
}

/** JSON merge patch that turns a pool pod into an environment of `spec` (owned by its Function). */
export function claimPatch(spec: EnvironmentSpec): Record<string, unknown> {
  return {
    metadata: {
      labels: {
        [POOL_LABELS.pool]: null,
        [POOL_LABELS.owner]: null,
        [POOL_LABELS.fromPool]: 'true',
        ...environmentLabels(spec),
      },
      ownerReferences: environmentOwners(spec),
    },
  };
}
