// A real kube-apiserver + etcd for integration tests (no mocks of the Kubernetes API).
// All the work is done by scripts/k8s/control-plane.sh: it builds the binaries from the
// Kubernetes Go modules on first use (cached), starts them on 127.0.0.1 only and is
// idempotent. The processes outlive the test run on purpose (the next run starts in well
// under a second); `scripts/k8s/control-plane.sh down` stops them.
import { provision } from './provision.js';

export interface ControlPlane {
  kubeconfigPath: string;
}

/** Starts (or reuses) the test control plane and returns its admin kubeconfig path. */
export async function ensureControlPlane(): Promise<ControlPlane> {
  const { KUBECONFIG } = await provision('scripts/k8s/control-plane.sh', ['up']);
  return { kubeconfigPath: KUBECONFIG! };
}
