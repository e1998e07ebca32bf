// A Function's spec.network.egress as one NetworkPolicy in its namespace, owned by the
// Function (deleted with it), selecting its execution environments (lamina.dev/environment and
// lamina.dev/function labels, which a warm-pool pod gets when a function claims it). Egress
// only: policies add up, so this widens what the namespace's function policy (chart:
// networkPolicy) allows those pods and closes nothing; a namespace without that policy has its
// functions' egress limited to these rules (and nothing else: not even DNS or the store).
import {
  type KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1NetworkPolicy,
  type V1NetworkPolicyPeer,
} from '@kubernetes/client-node';
import { API_VERSION, type EgressPeer, type EgressRule, GROUP, type LaminaFunction } from '../api/index.js';
import { apiStatus, controllerReference } from '../kube/index.js';

export const NETWORK_POLICY_PREFIX = 'lamina-fn-';
const FIELD_MANAGER = 'lamina-operator';

export const networkPolicyName = (functionName: string) => `${NETWORK_POLICY_PREFIX}${functionName}`;

function peer(p: EgressPeer): V1NetworkPolicyPeer {
  if (p.cidr !== undefined)
    return { ipBlock: { cidr: p.cidr, ...(p.except?.length ? { except: p.except } : {}) } };
  return {
    podSelector: { matchLabels: p.podSelector ?? {} },
    ...(p.namespace !== undefined
      ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } } }
      : {}),
  };
}

function rule(r: EgressRule) {
  return {
    to: r.to.map(peer),
    ...(r.ports?.length
      ? {
          ports: r.ports.map((p) => ({
            protocol: p.protocol,
            port: p.port,
            ...(p.endPort !== undefined && p.endPort !== p.port ? { endPort: p.endPort } : {}),
          })),
        }
      : {}),
  };
}

/** The policy a function should have; undefined when it lists no egress rules. Pure. */
export function functionNetworkPolicy(fn: LaminaFunction): V1NetworkPolicy | undefined {
  const egress = fn.spec.network?.egress ?? [];
  if (egress.length === 0 || !fn.metadata.uid) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: networkPolicyName(fn.metadata.name),
      namespace: fn.metadata.namespace ?? 'default',
      labels: { 'app.kubernetes.io/managed-by': 'lamina-operator', 'lamina.dev/function': fn.metadata.name },
      ownerReferences: [
        controllerReference({
          apiVersion: `${GROUP}/${API_VERSION}`,
          kind: 'Function',
          metadata: fn.metadata,
        }),
      ],
    },
    spec: {
      podSelector: {
        matchLabels: { 'lamina.dev/environment': 'true', 'lamina.dev/function': fn.metadata.name },
      },
      policyTypes: ['Egress'],
      egress: egress.map(rule),
    },
  };
}

/** Where the policies go: the API server, or a fake in unit tests. */
export interface NetworkPolicyWriter {
  apply(policy: V1NetworkPolicy): Promise<void>;
  remove(namespace: string, name: string): Promise<void>;
}

export function kubeNetworkPolicies(kc: KubeConfig): NetworkPolicyWriter {
  const api = kc.makeApiClient(NetworkingV1Api);
  return {
    async apply(policy) {
      await api.patchNamespacedNetworkPolicy(
        {
          name: policy.metadata!.name!,
          namespace: policy.metadata!.namespace!,
          body: policy,
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    },
    async remove(namespace, name) {
      await api.deleteNamespacedNetworkPolicy({ namespace, name }).catch((err: unknown) => {
        if (apiStatus(err) !== 404) throw err;
      });
    },
  };
}

/**
 * Applies or removes the function's policy. Applying is a server-side apply on every call (a
 * policy edited by hand is put back on the next reconcile); removal is remembered, so a function
 * without rules costs one DELETE per operator start, not one per reconcile.
 */
export function networkPolicySync(writer: NetworkPolicyWriter) {
  const absent = new Set<string>();
  return async (fn: LaminaFunction): Promise<void> => {
    const namespace = fn.metadata.namespace ?? 'default';
    const key = `${namespace}/${fn.metadata.name}`;
    const desired = functionNetworkPolicy(fn);
    if (desired) {
      absent.delete(key);
      await writer.apply(desired);
    } else if (!absent.has(key)) {
      await writer.remove(namespace, networkPolicyName(fn.metadata.name));
      absent.add(key);
    }
  };
}
