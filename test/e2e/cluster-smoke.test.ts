// The e2e cluster does what Lamina needs from Kubernetes: the offline-built runtime image
// runs as a locked-down pod (non-root, read-only root filesystem, writable /tmp), becomes
// Ready through the agent's /healthz, is reachable from the host by pod IP, and pods
// reach Services by DNS name (CoreDNS + kube-proxy). exec and logs work (kubelet serving
// certificate signed by the cluster CA). Everything happens in a throwaway namespace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, Exec, KubeConfig, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { ensureCluster } from '../harness/cluster.js';

const IMAGE = 'lamina/runtime:dev';
const SANDBOX_UID = 993; // Lambda's sbx_user1051
const SANDBOX_GID = 990;

interface ExecResult {
  stdout: string;
  stderr: string;
  status: V1Status;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}

/** A pod like a Lamina execution environment: non-root, read-only root, /tmp emptyDir. */
function environmentPod(name: string, command?: string[]): V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: SANDBOX_UID,
        runAsGroup: SANDBOX_GID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'env',
          image: IMAGE,
          imagePullPolicy: 'Never',
          ...(command ? { command } : {}),
          ports: [{ name: 'http', containerPort: 8080 }],
          ...(command
            ? {}
            : {
                readinessProbe: {
                  httpGet: { path: '/healthz', port: 8080 },
                  periodSeconds: 1,
                  failureThreshold: 30,
                },
              }),
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          resources: { limits: { memory: '256Mi' }, requests: { memory: '64Mi', cpu: '50m' } },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
    },
  };
}

describe('e2e cluster smoke test', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  let envPodIP: string;

  async function podReady(name: string): Promise<V1Pod> {
    return waitFor(`pod ${name} Ready`, 120_000, async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (
        waiting?.reason &&
        /ErrImage|ImagePull|InvalidImageName|CreateContainerConfigError/.test(waiting.reason)
      ) {
        throw new Error(`pod ${name}: ${waiting.reason}: ${waiting.message ?? ''}`);
      }
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return ready ? pod : undefined;
    });
  }

  function exec(pod: string, command: string[]): Promise<ExecResult> {
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) =>
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          append(chunk.toString());
          done();
        },
      });
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`exec ${command.join(' ')} timed out`)), 30_000);
      new Exec(kc)
        .exec(
          namespace,
          pod,
          'env',
          command,
          sink((s) => (stdout += s)),
          sink((s) => (stderr += s)),
          null,
          false,
          (status) => {
            clearTimeout(timer);
            // Let the last frames of output arrive before resolving.
            setImmediate(() => resolve({ stdout, stderr, status }));
          },
        )
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  }

  before(async () => {
    const { kubeconfigPath } = await ensureCluster();
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    namespace = `smoke-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { 'lamina.dev/test': 'true' } } },
    });
    // Pods are admitted only once the service-account controller made "default".
    await waitFor('service account default', 30_000, async () =>
      (await core.readNamespacedServiceAccount({ name: 'default', namespace })) ? true : undefined,
    );
  });

  after(async () => {
    if (!namespace) return;
    await core.deleteNamespace({ name: namespace });
    // Wait until it is gone, so the cluster is idle again when the run ends.
    await waitFor(`namespace ${namespace} deleted`, 90_000, async () => {
      try {
        await core.readNamespace({ name: namespace });
        return undefined;
      } catch {
        return true;
      }
    });
  });

  it('runs lamina/runtime:dev and the agent makes it Ready', async () => {
    await core.createNamespacedPod({ namespace, body: environmentPod('env') });
    const pod = await podReady('env');
    envPodIP = pod.status?.podIP ?? '';
    assert.match(envPodIP, /^10\.88\.\d+\.\d+$/, 'pod IP on the cni0 bridge');
  });

  it('the host reaches the pod directly by its IP', async () => {
    const response = await fetch(`http://${envPodIP}:8080/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(response.status, 200);
  });

  it('runs as the sandbox user with a read-only root filesystem and a writable /tmp', async () => {
    const id = await exec('env', ['id', '-u']);
    assert.equal(id.stdout.trim(), String(SANDBOX_UID));

    const root = await exec('env', ['sh', '-c', 'echo x > /lamina-probe']);
    assert.equal(root.status.status, 'Failure', 'writing to / must fail');
    assert.match(root.stderr, /Read-only file system/);

    const tmp = await exec('env', ['sh', '-c', 'echo written > /tmp/probe && cat /tmp/probe']);
    assert.equal(tmp.status.status, 'Success', tmp.stderr);
    assert.equal(tmp.stdout.trim(), 'written');
  });

  it('a pod reaches a Service by its DNS name', async () => {
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'env' },
        spec: { selector: { app: 'env' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await core.createNamespacedPod({ namespace, body: environmentPod('client', ['sleep', '3600']) });
    await podReady('client');

    const fqdn = `env.${namespace}.svc.cluster.local`;
    // Node's resolver goes through the pod's resolv.conf (cluster DNS); then HTTP through
    // the Service's ClusterIP (kube-proxy) to the env pod. Short name via search path too.
    const script = `
      const dns = require('node:dns/promises');
      const http = require('node:http');
      const get = (url) => new Promise((ok, fail) => {
        http.get(url, { timeout: 5000 }, (res) => { res.resume(); ok(res.statusCode); }).on('error', fail);
      });
      (async () => {
        const full = await dns.lookup(${JSON.stringify(fqdn)});
        const short = await dns.lookup('env');
        const status = await get('http://${fqdn}/healthz');
        console.log(JSON.stringify({ full: full.address, short: short.address, status }));
      })().catch((e) => { console.error(String(e)); process.exit(1); });`;
    const service = await core.readNamespacedService({ name: 'env', namespace });
    const result = await waitFor('DNS + Service from the client pod', 30_000, async () => {
      const r = await exec('client', ['node', '-e', script]);
      return r.status.status === 'Success' ? r : undefined;
    });
    const answer = JSON.parse(result.stdout) as { full: string; short: string; status: number };
    assert.equal(answer.full, service.spec?.clusterIP);
    assert.equal(answer.short, service.spec?.clusterIP);
    assert.equal(answer.status, 200);
  });

  it('serves container logs through the kubelet', async () => {
    const log = await core.readNamespacedPodLog({ name: 'env', namespace, container: 'env' });
    // The agent's first structured line, written by the container and read back by the kubelet.
    assert.match(log, /"msg":"agent listening".*"invokePort":8080/);
  });
});
