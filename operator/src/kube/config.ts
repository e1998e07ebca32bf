// Where the operator finds the API server: $KUBECONFIG, ~/.kube/config, or the pod's
// service account when running in the cluster (client-node's default order).
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
