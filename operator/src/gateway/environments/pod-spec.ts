// The pod of one execution environment (pure: spec in, manifest out). An image function's
// pod has its own containers (image-pod.ts); the pod-level settings below are shared.
//
// Resources: memory request = limit = memorySize MiB for the function plus AGENT_MEMORY_MIB for
// the agent beside it. The function gets all of its memorySize, as on Lambda, where the
// platform's own processes are not charged to it: the agent holds the runtime's process tree
// to memorySize (an OOM resets the environment as in Lambda), and the container limit is the
// hard stop behind it. CPU is requested in proportion to memory
// (1769 MB = 1 vCPU, LAMBDA-SPEC §11) with no CPU limit: the request is what the scheduler
// packs by, while a CFS quota as small as 72m for a 128 MB function would stretch runtime
// start-up, code extraction and every invoke by an order of magnitude and throttle in
// bursts; Lambda itself does not slow Init down like that. Idle CPU on the node is shared.
//
// Secrets: every Secret in `environment.secretRefs` is attached with `envFrom` under the
// prefix LAMINA_SECRET_; the agent strips the prefix and passes those variables to the
// function (plain `environment.variables` win on a clash; reserved names are dropped). The
// gateway never reads Secrets itself.
import type { V1Pod } from '@kubernetes/client-node';
import { AGENT_PATHS, AGENT_PORT } from '../../protocol/index.js';
import { AGENT_LIFECYCLE, type ImageDefaults, imageEnvironmentPodSpec } from './image-pod.js';
import type { EnvironmentSpec } from './types.js';

export const LABELS = {
  environment: 'lamina.dev/environment',
  function: 'lamina.dev/function',
  version: 'lamina.dev/version',
  configHash: 'lamina.dev/config-hash',
  initializationType: 'lamina.dev/initialization-type',
} as const;

export const SECRET_ENV_PREFIX = 'LAMINA_SECRET_';
/** Lambda's sandbox user and group (sbx_user1051), as in the runtime image. */
export const RUNTIME_UID = 993;
export const RUNTIME_GID = 990;
const MB_PER_VCPU = 1769;
/**
 * The agent's own memory (runtime-image/agent-go, one Go process, ~13 MiB resident after
 * thousands of invokes), on top of memorySize.
 */
export const AGENT_MEMORY_MIB = 32;

/** "$LATEST" is not a valid label value. */
export function versionLabel(version: string): string {
  return version === '$LATEST' ? 'LATEST' : version;
}

export function versionFromLabel(label: string | undefined): string {
  return label === 'LATEST' || label === undefined ? '$LATEST' : label;
}

export function cpuRequestMillis(memorySize: number): number {
  return Math.max(1, Math.round((memorySize * 1000) / MB_PER_VCPU));
}

export interface PodSettings {
  image: string;
  podName: string;
  /** An image function's own ENTRYPOINT and CMD (image-config.ts), unless imageConfig.entryPoint replaces them. */
  imageDefaults?: ImageDefaults;
}

/** The labels that make a pod an environment of one function version (see LABELS). */
export function environmentLabels(spec: EnvironmentSpec): Record<string, string> {
  return {
    [LABELS.environment]: 'true',
    [LABELS.function]: spec.functionName,
    [LABELS.version]: versionLabel(spec.version),
    [LABELS.configHash]: spec.configHash,
    [LABELS.initializationType]: spec.initializationType,
  };
}

/** The Function owns its environments: deleting it garbage-collects them. */
export const environmentOwners = (spec: EnvironmentSpec) => [{ ...spec.owner, blockOwnerDeletion: false }];

const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

export function environmentPod(spec: EnvironmentSpec, settings: PodSettings): V1Pod {
  const pod = zipEnvironmentPod(spec, settings);
  if (!spec.image || !pod.spec) return pod;
  // Image functions (image-pod.ts): the same pod-level settings, their own containers.
  const { containers: _zip, volumes: _volumes, ...common } = pod.spec;
  pod.spec = {
    ...common,
    ...imageEnvironmentPodSpec(spec, {
      agentImage: settings.image,
      podName: settings.podName,
      agentMemoryMiB: AGENT_MEMORY_MIB,
      cpuRequestMillis: cpuRequestMillis(spec.config.memorySize),
      securityContext: CONTAINER_SECURITY,
      ...(settings.imageDefaults ? { defaults: settings.imageDefaults } : {}),
    }),
  };
  return pod;
}

function zipEnvironmentPod(spec: EnvironmentSpec, settings: PodSettings): V1Pod {
  const memory = `${spec.config.memorySize + AGENT_MEMORY_MIB}Mi`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: settings.podName,
      namespace: spec.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'lamina-gateway', ...environmentLabels(spec) },
      ownerReferences: environmentOwners(spec),
    },
    spec: {
      restartPolicy: 'Never',
      enableServiceLinks: false,
      // The agent's last second of serving (AGENT_LIFECYCLE), then Lambda's Shutdown phase:
      // 2 s for extensions, and a moment beyond it to flush their telemetry and reap them.
      terminationGracePeriodSeconds: 4,
      // Extensions listen for the Telemetry API on sandbox.localdomain, as on Lambda.
      hostAliases: [{ ip: '127.0.0.1', hostnames: ['sandbox.localdomain', 'sandbox'] }],
      automountServiceAccountToken: spec.serviceAccountName !== undefined,
      ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUNTIME_UID,
        runAsGroup: RUNTIME_GID,
        fsGroup: RUNTIME_GID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'function',
          image: settings.image,
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: AGENT_PORT }],
          env: [{ name: 'LAMINA_FUNCTION', value: JSON.stringify(spec.config) }],
          envFrom: spec.secretRefs.map((name) => ({ prefix: SECRET_ENV_PREFIX, secretRef: { name } })),
          resources: {
            requests: { cpu: `${cpuRequestMillis(spec.config.memorySize)}m`, memory },
            limits: { memory },
          },
          readinessProbe: {
            httpGet: { path: AGENT_PATHS.health, port: AGENT_PORT },
            periodSeconds: 1,
            failureThreshold: 1,
            timeoutSeconds: 1,
          },
          lifecycle: AGENT_LIFECYCLE,
          securityContext: CONTAINER_SECURITY,
          volumeMounts: [
            { name: 'task', mountPath: '/var/task' },
            { name: 'opt', mountPath: '/opt' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'task', emptyDir: {} },
        { name: 'opt', emptyDir: {} },
        { name: 'tmp', emptyDir: { sizeLimit: `${spec.ephemeralStorageSize}Mi` } },
      ],
    },
  };
}
