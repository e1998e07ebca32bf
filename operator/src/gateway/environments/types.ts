// Execution environments: one pod each, one invocation at a time. The provider is the only
// thing that knows how environments are made (Kubernetes pods today; a specialised generic
// pod from a warm pool later), so the pool and the scaler are tested with a fake one.
import type { ImageSnapshot } from '../../api/index.js';
import type { FunctionConfig, InitializationType } from '../../protocol/index.js';

/** The function configuration the in-pod agent runs (env LAMINA_FUNCTION or specialize body). */
export type AgentFunctionConfig = FunctionConfig;

/** Everything needed to create one environment. */
export interface EnvironmentSpec {
  /** namespace/function/version/configHash: environments with equal keys are interchangeable. */
  key: string;
  namespace: string;
  functionName: string;
  version: string;
  configHash: string;
  initializationType: InitializationType;
  config: AgentFunctionConfig;
  ephemeralStorageSize: number;
  serviceAccountName?: string;
  secretRefs: string[];
  /** An image function: its image by digest, entry point overrides and pull Secrets (its own pod). */
  image?: ImageSnapshot;
  /** The Function that owns the environment (deleting it deletes its pods). */
  owner: { apiVersion: string; kind: string; name: string; uid: string };
}

/** What the provider knows about one environment. */
export interface EnvironmentRecord {
  /** Unique id, `<namespace>/<pod name>` for pods. */
  id: string;
  key: string;
  namespace: string;
  functionName: string;
  version: string;
  initializationType: InitializationType;
  /** Base URL of the agent, once known (http://10.0.0.7:8080). */
  address?: string;
  /** The agent answered its readiness check. */
  ready: boolean;
  /** Set when the environment cannot become or stay usable (image pull error, crash …). */
  failure?: string;
  /** The function's memory size (MB): what the environment holds of a node (CPU is in proportion). */
  memorySize?: number;
  /** The scheduler's message while no node has room for the environment (pod Unschedulable). */
  unschedulable?: string;
}

/** The record of environment `id` of `spec`: not ready until `fields` or a later event say so. */
export function environmentRecord(
  spec: EnvironmentSpec,
  id: string,
  fields: Partial<Pick<EnvironmentRecord, 'address' | 'ready'>> = {},
): EnvironmentRecord {
  const { key, namespace, functionName, version, initializationType } = spec;
  const memorySize = spec.config.memorySize;
  return {
    id,
    key,
    namespace,
    functionName,
    version,
    initializationType,
    memorySize,
    ready: false,
    ...fields,
  };
}

export type EnvironmentEvent =
  | { type: 'upsert'; env: EnvironmentRecord }
  /**
   * The environment is going (a pod's deletion began) or, with `removed`, is gone and holds
   * nothing of its node any more (the pod object was removed).
   */
  | { type: 'delete'; id: string; removed?: boolean };

export interface EnvironmentProvider {
  /** Begins watching; resolves once the environments that already exist are listed. */
  start(): Promise<void>;
  stop(): void;
  /**
   * Asks for a new environment with the given id (`<namespace>/<name>`, chosen by the pool so
   * it can recognise the environment's events before this call returns). Readiness is
   * reported later through `subscribe`.
   */
  create(spec: EnvironmentSpec, id: string): Promise<EnvironmentRecord>;
  destroy(id: string): Promise<void>;
  /** The environments known now (after `start`, including those made before a restart). */
  list(): EnvironmentRecord[];
  subscribe(listener: (event: EnvironmentEvent) => void): () => void;
  /**
   * Gets ahead what a cold start of `spec` will need (a small zip to hand over with the
   * specialisation), so that the function's first cold start does not wait for it. Never fails.
   */
  prepare?(spec: EnvironmentSpec): void;
}

export function environmentKey(namespace: string, functionName: string, version: string, configHash: string) {
  return `${namespace}/${functionName}/${version}/${configHash}`;
}

/** Why an environment could not be created that its function's caller is told (a bad image …). */
export class FunctionEnvironmentError extends Error {}
