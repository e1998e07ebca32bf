// The control plane's adapters for a real cluster: the custom resources through
// ResourceClient (acting as the gateway's identity), the artifact store over HTTP (with the
// caller's token, else the gateway's own service-account token).
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { AliasResource, FunctionResource, LayerResource, VersionResource } from '../api/index.js';
import type { Alias, LaminaFunction, Layer, Version } from '../api/index.js';
import { ResourceClient } from '../kube/index.js';
import { StoreClient } from '../store/index.js';
import type { LaminaObjects } from './objects.js';

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
