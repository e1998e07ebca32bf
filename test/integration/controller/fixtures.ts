// Shared set-up for the operator's integration tests: a namespace (or several) on the real
// API server, the CRDs, an operator watching them, typed clients and polling helpers.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Alias, CustomObject, Layer, LaminaFunction, Version } from '../../../operator/src/api/index.js';
import {
  AliasResource,
  FunctionResource,
  LayerResource,
  VersionResource,
} from '../../../operator/src/api/index.js';
import type { RunningOperator } from '../../../operator/src/controller/operator.js';
import { ResourceClient } from '../../../operator/src/kube/custom-objects.js';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig } from '../../harness/gateway-kube.js';
import {
  deleteNamespaceCompletely,
  startTestOperator,
  type TestOperatorOptions,
} from '../../harness/operator.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `check` until it stops throwing (or returns a value), up to `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}

export interface Clients {
  functions: ResourceClient<LaminaFunction>;
  versions: ResourceClient<Version>;
  aliases: ResourceClient<Alias>;
  layers: ResourceClient<Layer>;
}

export function clientsFor(kc: KubeConfig): Clients {
  return {
    functions: new ResourceClient(kc, FunctionResource.plural, FunctionResource.kind),
    versions: new ResourceClient(kc, VersionResource.plural, VersionResource.kind),
    aliases: new ResourceClient(kc, AliasResource.plural, AliasResource.kind),
    layers: new ResourceClient(kc, LayerResource.plural, LayerResource.kind),
  };
}

export interface Environment {
  kc: KubeConfig;
  namespaces: string[];
  ns: string;
  api: Clients;
  operator: RunningOperator;
  /** Stops the operator and deletes the namespaces. */
  dispose(): Promise<void>;
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name, labels: { 'lamina.dev/test': 'true' } } } });
  return name;
}

/** `count` fresh namespaces, the CRDs, and an in-process operator watching them. */
export async function setUp(
  prefix: string,
  count = 1,
  options: Partial<TestOperatorOptions> = {},
): Promise<Environment> {
  const kc = await adminKubeConfig();
  await installCrds(kc);
  const namespaces: string[] = [];
  for (let i = 0; i < count; i++) namespaces.push(await createNamespace(kc, prefix));
  const operator = await startTestOperator(kc, { ...options, namespaces });
  await eventually(() => {
    if (!operator.isLeader()) throw new Error('operator is not leading yet');
  });
  return {
    kc,
    namespaces,
    ns: namespaces[0] as string,
    api: clientsFor(kc),
    operator,
    async dispose() {
      await operator.stop();
      for (const namespace of namespaces) await deleteNamespaceCompletely(kc, namespace);
    },
  };
}

type Spec<T extends CustomObject<unknown, unknown>> = T['spec'];

export function fnObject(name: string, spec: Partial<Spec<LaminaFunction>> = {}, namespace?: string) {
  return {
    metadata: { name, ...(namespace && { namespace }) },
    spec: {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: { 'index.js': `exports.handler = async () => '${name}';` } },
      ...spec,
    } as Spec<LaminaFunction>,
  };
}

export function layerObject(name: string, spec: Partial<Spec<Layer>> = {}) {
  return {
    metadata: { name },
    spec: {
      content: { inline: { 'nodejs/node_modules/lib/index.js': 'module.exports = 1;' } },
      ...spec,
    } as Spec<Layer>,
  };
}

export function versionObject(name: string, functionName: string, spec: Partial<Spec<Version>> = {}) {
  return { metadata: { name }, spec: { functionName, ...spec } as Spec<Version> };
}

export function aliasObject(
  name: string,
  functionName: string,
  functionVersion: string,
  spec: Partial<Spec<Alias>> = {},
) {
  return { metadata: { name }, spec: { functionName, functionVersion, ...spec } as Spec<Alias> };
}

/** Waits until a Function is reconciled at its current generation with the given state. */
export async function waitForFunction(
  api: Clients,
  namespace: string,
  name: string,
  state: 'Active' | 'Failed' | 'Pending',
  timeoutMs?: number,
): Promise<LaminaFunction> {
  return eventually(async () => {
    const fn = await api.functions.get(namespace, name);
    if (!fn) throw new Error(`function ${name} missing`);
    if (fn.status?.observedGeneration !== fn.metadata.generation || fn.status?.state !== state) {
      throw new Error(
        `function ${name} is ${fn.status?.state} at ${fn.status?.observedGeneration}/${fn.metadata.generation}: ${fn.status?.stateReason ?? ''}`,
      );
    }
    return fn;
  }, timeoutMs);
}

/** Numbered versions of a function, by number. */
export async function publishedVersions(
  api: Clients,
  namespace: string,
  functionName: string,
): Promise<number[]> {
  return (await api.versions.list(namespace))
    .filter((v) => v.spec.functionName === functionName && v.spec.version !== undefined)
    .map((v) => v.spec.version as number)
    .sort((a, b) => a - b);
}

export async function eventsFor(kc: KubeConfig, namespace: string, name: string) {
  const list = await kc
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e) => ({
    type: e.type,
    reason: e.reason,
    message: e.message ?? '',
    reportingInstance: e.reportingInstance,
  }));
}
