// Scale-out of the gateway: the same warm environments (one per function, 8 functions spread
// over the shards) driven by a closed loop through the Service with 1, 2 and 3 gateway
// replicas (values-ha.yaml: NATS for async; sharding from 2 replicas on). Beside invokes/s
// and latency, the gateways' own CPU per 1,000 invokes, read from each gateway container's
// cpuacct cgroup on this machine (the local cluster's containers are host processes) — the
// figure that sizes replicas for a load on real nodes.
import { readFileSync } from 'node:fs';
import { CoordinationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { LEASE_LABEL } from '../../operator/src/gateway/index.js';
import { shardOf } from '../../operator/src/gateway/sharding/ring.js';
import { waitFor } from '../harness/gateway-kube.js';
import { gatewayProcess } from '../harness/host-view.js';
import { RELEASE_NAMESPACE, setReleaseValues, type Release } from '../harness/release.js';
import { closedLoop, fmt, percentile, sequential } from './lib.js';

export const SCALE_FUNCTIONS = 8;
/** Sequential invokes per replica for the forwarding cost (BENCH_SAMPLES scales the rest, not this). */
const FORWARDING_SAMPLES = Number(process.env.BENCH_FORWARDING_SAMPLES ?? 300);

/** CPU nanoseconds used by the gateway container of a pod (its cpuacct cgroup). */
function containerCpuNanos(podName: string): number {
  const pid = gatewayProcess(podName);
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => (l.split(':')[1] ?? '').split(',').includes('cpuacct'));
  const path = line?.split(':')[2];
  if (!path) throw new Error(`no cpuacct cgroup for process ${pid}`);
  for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpuacct']) {
    try {
      return Number(readFileSync(`${mount}${path}/cpuacct.usage`, 'utf8').trim());
    } catch {
      // try the other mount point
    }
  }
  throw new Error(`cannot read cpuacct.usage of ${path}`);
}

/** An invoke of a function through the Service, or straight at one replica (`gatewayUrl`). */
export type ReplicaInvoke = (fn: string, gatewayUrl?: string) => Promise<{ status: number; text: string }>;

/**
 * What forwarding costs: sequential invokes of one warm function sent straight to its owner's
 * pod and to a replica that forwards them there (p50 ms of each). The owner is the holder of the
 * function's shard Lease.
 */
async function forwardingCost(
  release: Release,
  pods: V1Pod[],
  fn: string,
  invoke: ReplicaInvoke,
  samples: number,
): Promise<{ owner: number; forwarded: number }> {
  const leases = (
    await release.kc.makeApiClient(CoordinationV1Api).listNamespacedLease({
      namespace: RELEASE_NAMESPACE,
      labelSelector: `${LEASE_LABEL}=shard`,
    })
  ).items;
  const shard = `lamina-gateway-shard-${shardOf(fn, leases.length)}`;
  const holder = leases.find((l) => l.metadata?.name === shard)?.spec?.holderIdentity;
  const owner = pods.find((p) => p.metadata?.name === holder);
  const other = pods.find((p) => p !== owner);
  if (!owner || !other)
    throw new Error(`no owner (${holder ?? 'none'}) and non-owner among the gateway pods for ${fn}`);
  const at = (pod: V1Pod) => () => invoke(fn, `http://${pod.status!.podIP}:8080`);
  const p50 = async (pod: V1Pod) => percentile(await sequential(samples, 20, at(pod)), 50);
  return { owner: await p50(owner), forwarded: await p50(other) };
}

const ready = (p: V1Pod) =>
  (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Rows "replicas | invokes/s | p50 | p99 | errors | gateway CPU ms per 1,000 invokes | p50 at the
 * owner | p50 via a non-owner". Leaves
 * the release in the last shape; the caller restores its values.
 */
export async function scaleOutRows(
  release: Release,
  invoke: ReplicaInvoke,
  functions: string[],
  seconds: number,
  replicaCounts = [1, 2, 3],
): Promise<{ rows: string[][]; restore: () => Promise<void> }> {
  const core = release.kc.makeApiClient(CoreV1Api);
  let restore: (() => Promise<void>) | undefined;
  const rows: string[][] = [];
  try {
    for (const replicas of replicaCounts) {
      // No warm pool meanwhile: every replica keeps its own, and only warm invokes are measured.
      const back = await setReleaseValues(
        release,
        { 'gateway.replicas': replicas, 'environments.pool.size': 0 },
        ['charts/lamina/values-ha.yaml'],
      );
      restore ??= back;
      const pods = await waitFor(
        `${replicas} ready gateway replicas`,
        async () => {
          const list = (
            await core.listNamespacedPod({
              namespace: RELEASE_NAMESPACE,
              labelSelector: 'app.kubernetes.io/component=gateway',
            })
          ).items.filter((p) => !p.metadata?.deletionTimestamp);
          return list.length === replicas && list.every(ready) ? list : undefined;
        },
        180_000,
        500,
      );
      // Warm: every function has its environment, and every replica has routed to every owner.
      // Right after a rollout the node may still route a new connection to the replaced pod
      // for a moment (kube-proxy catching up): a warm-up invoke that cannot connect goes again.
      const warm = async (fn: string) => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await invoke(fn);
          } catch (err) {
            if (attempt >= 5) throw err;
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        }
      };
      for (let i = 0; i < 3; i++) await Promise.all(functions.map(warm));
      const names = pods.map((p) => p.metadata!.name!);
      const before = names.map(containerCpuNanos);
      // One worker per function: one invoke in flight per function, so each stays on its one
      // warm environment (a second concurrent invoke would start another).
      const r = await closedLoop(functions.length, seconds, (worker) => invoke(functions[worker]!));
      const after = names.map(containerCpuNanos);
      const cpuMs = after.reduce((sum, v, i) => sum + (v - before[i]!), 0) / 1e6;
      const forwarding =
        replicas > 1
          ? await forwardingCost(release, pods, functions[0]!, invoke, FORWARDING_SAMPLES)
          : undefined;
      rows.push([
        `${replicas}${replicas > 1 ? ' (sharded)' : ''}`,
        r.perSecond.toFixed(0),
        fmt(percentile(r.samples, 50)),
        fmt(percentile(r.samples, 99)),
        `${r.errors}`,
        fmt((cpuMs / Math.max(1, r.samples.length)) * 1000),
        forwarding ? fmt(forwarding.owner) : '—',
        forwarding ? fmt(forwarding.forwarded) : '—',
      ]);
    }
  } catch (err) {
    // A later shape failed (its own values are already back): put the first shape's back too.
    await restore?.().catch(() => undefined);
    throw err;
  }
  return { rows, restore: restore ?? (async () => undefined) };
}
