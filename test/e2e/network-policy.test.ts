// NetworkPolicy with real connections on the local cluster, which enforces it (kube-router's
// network-policy controller, scripts/cluster/up.sh). A probe function opens TCP connections
// from inside its execution environment and reports which ones were established; a plain pod
// does the same from outside Lamina. Every denied connection has an allowed one beside it, so
// a probe that cannot connect at all fails the test instead of passing it.
//
// The two test namespaces get the release's function policies as installed in the gateway's
// default namespace (what listing them in networkPolicy.functionNamespaces renders).
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, NetworkingV1Api, type V1NetworkPolicy } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  RELEASE_NAMESPACE,
  testNamespace,
  type Release,
} from '../harness/release.js';
import { NODE_IP } from '../harness/cluster.js';

const API_SERVICE = '10.96.0.1'; // the `kubernetes` Service
const STORE = `lamina-store.${RELEASE_NAMESPACE}.svc`;
const STORE_PORT = 8090;
const METRICS_PORT = 8081; // the operator's metrics and health, on the same pod and Service

// One connection attempt: established, or the error (refused, or a dropped SYN timing out).
const CONNECT = `
import net from 'node:net';
const connect = ({ host, port }) =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    const done = (result) => { socket.destroy(); resolve({ host, port, ...result }); };
    socket.on('connect', () => done({ connected: true }));
    socket.on('timeout', () => done({ connected: false, error: 'timeout' }));
    socket.on('error', (err) => done({ connected: false, error: err.code }));
  });
`;
const PROBE_FUNCTION = `${CONNECT}
export const handler = async ({ targets }) => Promise.all(targets.map(connect));
`;

// Plain pods of the runtime image (it has node), as Pod Security's restricted profile wants them.
const RESTRICTED_POD = {
  restartPolicy: 'Never',
  automountServiceAccountToken: false,
  securityContext: { runAsNonRoot: true, runAsUser: 993, seccompProfile: { type: 'RuntimeDefault' } },
};
const probeContainer = (command: string[]) => ({
  name: 'probe',
  image: 'docker.io/lamina/runtime:dev',
  imagePullPolicy: 'Never',
  command,
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
});

interface Target {
  host: string;
  port: number;
}
interface Attempt extends Target {
  connected: boolean;
  error?: string;
}

describe('NetworkPolicy, enforced', { timeout: 240_000 }, () => {
  let release: Release;
  let a: Awaited<ReturnType<typeof testNamespace>>;
  let b: Awaited<ReturnType<typeof testNamespace>>;
  let core: CoreV1Api;

  before(async () => {
    release = await installedRelease();
    core = release.kc.makeApiClient(CoreV1Api);
    const net = release.kc.makeApiClient(NetworkingV1Api);
    [a, b] = await Promise.all([testNamespace(release, 'netpol-a'), testNamespace(release, 'netpol-b')]);
    for (const name of ['lamina-functions', 'lamina-pool']) {
      const installed = await net.readNamespacedNetworkPolicy({ namespace: 'default', name });
      for (const namespace of [a.name, b.name]) {
        const body: V1NetworkPolicy = { metadata: { name, namespace }, spec: installed.spec! };
        await net.createNamespacedNetworkPolicy({ namespace, body });
      }
    }
    await Promise.all([
      createFunction(release, a.name, 'probe', PROBE_FUNCTION),
      createFunction(release, b.name, 'probe', PROBE_FUNCTION),
    ]);
  });

  after(async () => {
    await Promise.all([a?.dispose(), b?.dispose()]);
  });

  /**
   * Invokes `namespace/name` with the targets; the gateway reaching the pod is itself allowed
   * ingress. A 5xx or 429 is retried twice, as the AWS SDKs do (a gateway replica handing the
   * function over answers ServiceException).
   */
  async function probe(namespace: string, targets: Target[], name = 'probe'): Promise<Attempt[]> {
    let res: Response;
    let text: string;
    for (let attempt = 1; ; attempt++) {
      res = await fetch(invokeUrl(release, namespace, name), {
        method: 'POST',
        body: JSON.stringify({ targets }),
      });
      text = await res.text();
      if (attempt === 3 || (res.status < 500 && res.status !== 429)) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text) as Attempt[];
  }

  // kube-router rejects a denied connection (ICMP unreachable: ECONNREFUSED); every denied
  // target below has a listener, so a refusal there is the policy's.
  const connected = (attempts: Attempt[]) =>
    Object.fromEntries(attempts.map((t) => [`${t.host}:${t.port}`, t.connected ? 'connected' : 'denied']));

  /**
   * Probes until the outcome is `expected` (30 s at most), then asserts it. The policy
   * controller applies a new policy or pod within a second or so of the API server having it:
   * until then a new environment is not yet isolated, or a new rule not yet open.
   */
  async function expectConnections(
    namespace: string,
    expected: Record<string, 'connected' | 'denied'>,
    name = 'probe',
  ): Promise<void> {
    const targets = Object.keys(expected).map((key) => {
      const at = key.lastIndexOf(':');
      return { host: key.slice(0, at), port: Number(key.slice(at + 1)) };
    });
    const deadline = Date.now() + 30_000;
    let result = connected(await probe(namespace, targets, name));
    while (!isDeepStrictEqual(result, expected) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      result = connected(await probe(namespace, targets, name));
    }
    assert.deepEqual(result, expected);
  }

  it('keeps a function away from the API server and the kubelet; DNS on the same node answers', async () => {
    await expectConnections(a.name, {
      [`${API_SERVICE}:443`]: 'denied',
      [`${NODE_IP}:6443`]: 'denied',
      [`${NODE_IP}:10250`]: 'denied',
      [`${NODE_IP}:53`]: 'connected',
    });
  });

  it("lets a function reach the store's port, not the operator's metrics port", async () => {
    await expectConnections(a.name, {
      [`${STORE}:${STORE_PORT}`]: 'connected',
      [`${STORE}:${METRICS_PORT}`]: 'denied',
    });
  });

  it('admits to the store only environments and the gateway: a plain pod reaches the metrics port only', async () => {
    const result = connected(
      await podProbe(a.name, [
        { host: STORE, port: STORE_PORT },
        { host: STORE, port: METRICS_PORT },
      ]),
    );
    assert.deepEqual(result, {
      [`${STORE}:${STORE_PORT}`]: 'denied',
      [`${STORE}:${METRICS_PORT}`]: 'connected',
    });
  });

  it("keeps a function away from another namespace's environments (and its own namespace's)", async () => {
    await probe(b.name, []); // the gateway reaches b's environment: ingress from the gateway is allowed
    const pods = await core.listNamespacedPod({
      namespace: b.name,
      labelSelector: 'lamina.dev/environment=true,lamina.dev/function=probe',
    });
    const target = pods.items.find((p) => p.status?.phase === 'Running' && p.status.podIP);
    assert.ok(target, `an environment of ${b.name}/probe is running`);
    const podIP = target.status!.podIP!;
    await expectConnections(a.name, { [`${podIP}:8080`]: 'denied', [`${STORE}:${STORE_PORT}`]: 'connected' });
  });

  it("holds a function's own egress allow-list (spec.network.egress): listed peers and ports only", async () => {
    const db = await tcpServer(b.name, 'db', [5432, 5433, 5434]);
    await createFunction(release, a.name, 'egress', PROBE_FUNCTION, {
      network: {
        egress: [
          { to: [{ podSelector: { app: 'db' }, namespace: b.name }], ports: [{ port: 5432 }] },
          { to: [{ cidr: `${db}/32` }], ports: [{ port: 5434 }] },
        ],
      },
    });
    const net = release.kc.makeApiClient(NetworkingV1Api);
    const policy = await waitFor(
      'the operator to write the function’s NetworkPolicy',
      () =>
        net
          .readNamespacedNetworkPolicy({ namespace: a.name, name: 'lamina-fn-egress' })
          .catch(() => undefined),
      30_000,
      250,
    );
    assert.equal(policy.metadata?.ownerReferences?.[0]?.kind, 'Function');
    await expectConnections(
      a.name,
      {
        [`${db}:5432`]: 'connected', // podSelector rule, its port
        [`${db}:5433`]: 'denied', // a port no rule lists
        [`${db}:5434`]: 'connected', // cidr rule, its port
      },
      'egress',
    );
    // A function of the same namespace without the rules.
    await expectConnections(a.name, {
      [`${db}:5432`]: 'denied',
      [`${db}:5433`]: 'denied',
      [`${db}:5434`]: 'denied',
    });
  });

  /** A pod outside Lamina (label app=<name>) accepting TCP connections on the ports; its IP. */
  async function tcpServer(namespace: string, name: string, ports: number[]): Promise<string> {
    const script = `import net from 'node:net';\nfor (const port of ${JSON.stringify(ports)}) net.createServer((s) => s.end()).listen(port);`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { app: name } },
        spec: {
          ...RESTRICTED_POD,
          containers: [
            {
              ...probeContainer(['node', '--input-type=module', '-e', script]),
              readinessProbe: { tcpSocket: { port: ports[0]! }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    return waitFor(
      `pod ${namespace}/${name} to be ready`,
      async () => {
        const pod = await core.readNamespacedPod({ namespace, name });
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return ready ? pod.status?.podIP : undefined;
      },
      60_000,
      500,
    );
  }

  /** The same connections from a pod that is not an execution environment (its log is the result). */
  async function podProbe(namespace: string, targets: Target[]): Promise<Attempt[]> {
    const name = 'plain-probe';
    const script = `${CONNECT}\nconsole.log(JSON.stringify(await Promise.all(${JSON.stringify(targets)}.map(connect))));`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          ...RESTRICTED_POD,
          containers: [probeContainer(['node', '--input-type=module', '-e', script])],
        },
      },
    });
    await waitFor(
      `pod ${namespace}/${name} to finish`,
      async () => {
        const pod = await core.readNamespacedPod({ namespace, name });
        return ['Succeeded', 'Failed'].includes(pod.status?.phase ?? '') ? true : undefined;
      },
      60_000,
      500,
    );
    const log = await core.readNamespacedPodLog({ namespace, name });
    return JSON.parse(log.trim().split('\n').pop()!) as Attempt[];
  }
});
