// The real single-node cluster for e2e tests: etcd, kube-apiserver, controller-manager,
// scheduler, kubelet, kube-proxy, containerd, CNI bridge and CoreDNS on this machine (or
// kind where a Docker engine exists), all set up by scripts/cluster/up.sh. That script
// is idempotent and returns within seconds when the cluster is already up, so calling
// ensureCluster() from many test files is cheap. The cluster outlives the test run on
// purpose; `npm run cluster:down` stops it and cleans up.
import { existsSync } from 'node:fs';
import { provision } from './provision.js';

/**
 * The local cluster's node as its pods see it: the CNI bridge address (scripts/cluster/lib.sh),
 * where the API server (:6443), the kubelet (:10250), DNS (:53) and test servers on the host are.
 */
export const NODE_IP = '10.88.0.1';

export interface Cluster {
  kubeconfigPath: string;
}

/**
 * The e2e cluster's admin kubeconfig. Under `npm run test:e2e` scripts/test.mjs has
 * already run up.sh and passes KUBECONFIG with LAMINA_TEST_TIER=e2e; otherwise (a single
 * test file run by hand) this runs up.sh itself. Progress goes to stderr.
 */
export function ensureCluster(): Promise<Cluster> {
  const fromEnv = process.env.KUBECONFIG;
  if (process.env.LAMINA_TEST_TIER === 'e2e' && fromEnv && existsSync(fromEnv)) {
    return Promise.resolve({ kubeconfigPath: fromEnv });
  }
  return provision('scripts/cluster/up.sh').then(({ KUBECONFIG }) => ({ kubeconfigPath: KUBECONFIG! }));
}
