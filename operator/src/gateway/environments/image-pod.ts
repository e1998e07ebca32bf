// The pod of an image function's environment (pure): the function's image is the main
// container; the agent is a native sidecar (an init container with restartPolicy Always)
// serving the Runtime API on 127.0.0.1 and the gateway protocol on the agent port.
//
// The function's container runs the image unchanged, but behind lamina-launch: a static
// launcher the agent copies into the `lamina` emptyDir (mounted read-only in the function's
// container), given the image's entry point and command as its arguments. The launcher runs
// them when the agent asks (each Init), sends their stdout/stderr to the agent (which frames
// them with START / END / REPORT in its log and returns the tail for LogType Tail) and
// reports their exit status; so an Init that fails, a timeout or a crash is answered and
// re-initialised in place as for a zip function (container-runtime.ts). The pod shares one
// process namespace so the agent samples the runtime's memory and kills it.
//
// Order at start: the sidecar's postStart hook holds the function's container back until
// the agent listens for the launcher. Init's 10 s start when the entry point runs, after the
// image pull.
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { AGENT_PATHS, AGENT_PORT } from '../../protocol/index.js';
import type { EnvironmentSpec } from './types.js';

/** The Runtime API's port inside the pod (the agent's LAMINA_RUNTIME_API_PORT). */
export const IMAGE_RUNTIME_API_PORT = 9001;
const EXPECTED_FILE = '/tmp/.lamina-runtime-expected';
/** The emptyDir holding the launcher and the agent's sockets (the agent's LAMINA_LAUNCH_DIR). */
const LAUNCH_DIR = '/lamina';
export const LAUNCHER = `${LAUNCH_DIR}/lamina-launch`;
/** The postStart hook gives up after this long (the agent failed to start: kubelet restarts it). */
const SIDECAR_WAIT_SECONDS = 30;

/** Lambda's reserved variables of an image function's runtime, then the function's own [LAMBDA-SPEC §3]. */
export function imageRuntimeEnvironment(spec: EnvironmentSpec, podName: string): V1EnvVar[] {
  const c = spec.config;
  const reserved: Record<string, string> = {
    AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${IMAGE_RUNTIME_API_PORT}`,
    AWS_LAMBDA_FUNCTION_NAME: c.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: c.version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(c.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${c.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `[${c.version}]${podName}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: c.initializationType,
    AWS_REGION: c.region,
    AWS_DEFAULT_REGION: c.region,
    LAMBDA_TASK_ROOT: '/var/task',
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    TZ: ':UTC',
  };
  // The AWS base images read the handler from _HANDLER when CMD is overridden.
  const command = spec.image?.imageConfig?.command;
  if (command?.[0]) reserved._HANDLER = command[0];
  const user = Object.entries(c.environment).filter(([k]) => !(k in reserved));
  return [...Object.entries(reserved), ...user].map(([name, value]) => ({ name, value }));
}

/** What the image itself runs when imageConfig does not override it (its config's ENTRYPOINT, CMD). */
export interface ImageDefaults {
  entrypoint: string[];
  cmd: string[];
}

/**
 * The function container's command: the launcher, then what the container would have run —
 * imageConfig's entryPoint and command over the image's ENTRYPOINT and CMD, with Kubernetes'
 * rule (an entry point given without a command drops the image's CMD).
 */
export function launchCommand(
  image: NonNullable<EnvironmentSpec['image']>,
  defaults?: ImageDefaults,
): string[] {
  const config = image.imageConfig ?? {};
  const entry = config.entryPoint ?? defaults?.entrypoint ?? [];
  const args = config.command ?? (config.entryPoint ? [] : (defaults?.cmd ?? []));
  const argv = [...entry, ...args];
  if (argv.length === 0) throw new Error(`image ${image.uri} has no entry point or command to run`);
  return [LAUNCHER, ...argv];
}

/**
 * The agent of a pod being deleted (scaled in, preempted, its function gone) goes on serving
 * for a second before its SIGTERM: the gateways' pod watches drop the environment meanwhile,
 * so no invoke is sent to it as it closes its connections (one that was: ECONNRESET, failed).
 * The kubelet's own sleep (Kubernetes 1.30+): no shell needed in the image.
 */
export const AGENT_LIFECYCLE = { preStop: { sleep: { seconds: 1 } } };

export interface ImagePodParts {
  /** The agent's image (the default runtime image). */
  agentImage: string;
  podName: string;
  agentMemoryMiB: number;
  cpuRequestMillis: number;
  /** Both containers' security context (the zip pod's: no privileges, read-only root). */
  securityContext: NonNullable<V1Container['securityContext']>;
  /** The image's own ENTRYPOINT and CMD (image-config.ts); needed unless imageConfig.entryPoint is set. */
  defaults?: ImageDefaults;
}

export function imageEnvironmentPodSpec(
  spec: EnvironmentSpec,
  parts: ImagePodParts,
): NonNullable<V1Pod['spec']> {
  const image = spec.image;
  if (!image) throw new Error('imageEnvironmentPodSpec: not an image function');
  const config = image.imageConfig ?? {};
  const functionMemory = `${spec.config.memorySize}Mi`;
  const agentMemory = `${parts.agentMemoryMiB}Mi`;
  const wait = `i=0; until [ -e ${EXPECTED_FILE} ]; do i=$((i+1)); [ $i -gt ${SIDECAR_WAIT_SECONDS * 20} ] && exit 1; sleep 0.05; done`;
  return {
    shareProcessNamespace: true,
    ...(image.imagePullSecrets?.length ? { imagePullSecrets: image.imagePullSecrets } : {}),
    initContainers: [
      {
        name: 'agent',
        image: parts.agentImage,
        imagePullPolicy: 'IfNotPresent',
        restartPolicy: 'Always',
        ports: [{ name: 'http', containerPort: AGENT_PORT }],
        env: [
          { name: 'LAMINA_FUNCTION', value: JSON.stringify(spec.config) },
          { name: 'LAMINA_RUNTIME_API_PORT', value: String(IMAGE_RUNTIME_API_PORT) },
        ],
        resources: { requests: { cpu: '10m', memory: agentMemory }, limits: { memory: agentMemory } },
        readinessProbe: {
          httpGet: { path: AGENT_PATHS.health, port: AGENT_PORT },
          periodSeconds: 1,
          failureThreshold: 1,
          timeoutSeconds: 1,
        },
        lifecycle: { ...AGENT_LIFECYCLE, postStart: { exec: { command: ['sh', '-c', wait] } } },
        securityContext: parts.securityContext,
        volumeMounts: [
          { name: 'agent-tmp', mountPath: '/tmp' },
          { name: 'lamina', mountPath: LAUNCH_DIR },
        ],
      },
    ],
    containers: [
      {
        name: 'function',
        image: image.uri,
        imagePullPolicy: 'IfNotPresent',
        command: launchCommand(image, parts.defaults),
        ...(config.workingDirectory ? { workingDir: config.workingDirectory } : {}),
        env: imageRuntimeEnvironment(spec, parts.podName),
        envFrom: spec.secretRefs.map((name) => ({ secretRef: { name } })),
        resources: {
          requests: { cpu: `${parts.cpuRequestMillis}m`, memory: functionMemory },
          limits: { memory: functionMemory },
        },
        // A launcher that cannot start leaves its last lines in the container's status.
        terminationMessagePolicy: 'FallbackToLogsOnError',
        securityContext: parts.securityContext,
        volumeMounts: [
          { name: 'tmp', mountPath: '/tmp' },
          { name: 'lamina', mountPath: LAUNCH_DIR, readOnly: true },
        ],
      },
    ],
    volumes: [
      { name: 'tmp', emptyDir: { sizeLimit: `${spec.ephemeralStorageSize}Mi` } },
      { name: 'agent-tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'lamina', emptyDir: { sizeLimit: '16Mi' } },
    ],
  };
}
