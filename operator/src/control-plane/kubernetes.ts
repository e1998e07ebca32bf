// The control plane's adapters for a real cluster: the custom resources through
// ResourceClient (acting as the gateway's identity), the artifact store over HTTP (with the
// caller's token, else the gateway's own service-account token).
import { readFileSync } from 'node:fs';
import { RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  AliasResource,
  EventSourceMappingResource,
  FunctionResource,
  LayerResource,
  VersionResource,
} from '../api/index.js';
import type { Alias, EventSourceMapping, LaminaFunction, Layer, Version } from '../api/index.js';
import { isNotFound, ResourceClient } from '../kube/index.js';
import { StoreClient } from '../store/index.js';
import type { LaminaObjects, PolicyObjects } from './objects.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Writes show up in managedFields as this manager, apart from the operator's. */
export const CONTROL_PLANE_FIELD_MANAGER = 'lamina-control-plane';

export function kubernetesObjects(kc: KubeConfig): LaminaObjects {
  const manager = CONTROL_PLANE_FIELD_MANAGER;
  return {
    functions: new ResourceClient<LaminaFunction>(
      kc,
      FunctionResource.plural,
      FunctionResource.kind,
      manager,
    ),
    versions: new ResourceClient<Version>(kc, VersionResource.plural, VersionResource.kind, manager),
    aliases: new ResourceClient<Alias>(kc, AliasResource.plural, AliasResource.kind, manager),
    layers: new ResourceClient<Layer>(kc, LayerResource.plural, LayerResource.kind, manager),
    eventSourceMappings: new ResourceClient<EventSourceMapping>(
      kc,
      EventSourceMappingResource.plural,
      EventSourceMappingResource.kind,
      manager,
    ),
    policies: rbacPolicies(kc, manager),
  };
}

async function unlessMissing<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Roles and RoleBindings, as the gateway (chart: lamina-gateway-function-policy). */
function rbacPolicies(kc: KubeConfig, fieldManager: string): PolicyObjects {
  const api = kc.makeApiClient(RbacAuthorizationV1Api);
  return {
    getRole: (namespace, name) => unlessMissing(api.readNamespacedRole({ namespace, name })),
    createRole: (namespace, body) => api.createNamespacedRole({ namespace, body, fieldManager }),
    listBindings: async (namespace, labelSelector) =>
      (await api.listNamespacedRoleBinding({ namespace, labelSelector })).items,
    getBinding: (namespace, name) => unlessMissing(api.readNamespacedRoleBinding({ namespace, name })),
    createBinding: (namespace, body) => api.createNamespacedRoleBinding({ namespace, body, fieldManager }),
    deleteBinding: async (namespace, name) => {
      await api.deleteNamespacedRoleBinding({ namespace, name });
    },
  };
}

function ownToken(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_TOKEN, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function httpStore(storeUrl: string) {
  return (callerToken: string | undefined) => new StoreClient(storeUrl, callerToken ?? ownToken());
}
