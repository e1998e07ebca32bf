// A rolling upgrade of the highly available shape on the installed release (values-ha.yaml: 3
// gateway replicas sharing the functions through Leases, NATS JetStream for async, a
// PodDisruptionBudget): a new gateway pod template is rolled out, one replica at a time (a
// surge pod becomes ready, an old one drains in its preStop and hands its shards over), while a
// client sends a steady 100 invokes/s on keep-alive connections. Not one invoke may fail.
// The release's values are restored afterwards.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../harness/gateway-kube.js';
import { gatewayPods, type Outcome, useHighlyAvailable } from '../harness/ha.js';
import { createFunction, RELEASE_NAMESPACE, setReleaseValues } from '../harness/release.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a rolling upgrade of 3 gateway replicas', { timeout: 900_000 }, () => {
  // No warm pool (each replica would keep its own on the 2-core test node); the gateway's CPU
  // request stays the chart's, which keeps its Lease renewals on time on a busy node.
  const ha = useHighlyAvailable({
    'environments.pool.size': 0,
    'gateway.resources.requests.cpu': process.env.ROLL_GATEWAY_CPU ?? '100m',
  });

  it('rolls every gateway replica under a steady 100 invokes/s without a failed invoke', async () => {
    const { release, ns, core, invoke } = ha;
    await createFunction(
      release,
      ns.name,
      'steady',
      'export const handler = async (event) => ({ n: event.n });\n',
    );
    // Warm first, as a service under steady traffic is: enough environments that 100/s never
    // needs a cold start (the node has no warm pool here, and a pod takes seconds to start) —
    // with room for the bursts a client stalled on the busy 2-core node sends when it catches up.
    const WARM = 10;
    const warm = await Promise.all(Array.from({ length: WARM }, (_, i) => invoke('steady', { n: -1 - i })));
    assert.deepEqual(
      warm.map((o) => o.status),
      Array<number>(WARM).fill(200),
      `steady answers before the roll: ${JSON.stringify(warm.map((o) => o.body))}`,
    );
    const before = new Set((await gatewayPods(core)).map((p) => p.metadata!.name!));
    // Every gateway pod's log as last read, kept for a failing run's reader (replaced pods
    // take theirs with them).
    const logs = new Map<string, string>();
    const readLogs = async () => {
      const pods = (
        await core.listNamespacedPod({
          namespace: RELEASE_NAMESPACE,
          labelSelector: 'app.kubernetes.io/component=gateway',
        })
      ).items;
      await Promise.all(
        pods.map(async (p) => {
          const name = p.metadata!.name!;
          const text = await core
            .readNamespacedPodLog({ name, namespace: RELEASE_NAMESPACE, container: 'gateway' })
            .catch(() => undefined);
          if (text) logs.set(name, text);
        }),
      );
    };
    // The load ramps up to 100/s over its first RAMP_MS (a service's traffic does not step from
    // nothing to full rate); the roll begins once it runs at full rate.
    const RAMP_MS = 5000;
    const rollStarted = Date.now() + RAMP_MS + 2000;
    let rolling = true;
    const pending: Array<Promise<Outcome>> = [];
    const load = (async () => {
      const started = Date.now();
      let n = 0;
      let lastRead = 0;
      while (rolling) {
        if (Date.now() - lastRead > 2000) {
          lastRead = Date.now();
          void readLogs();
        }
        // 100 per second, paced against the clock, on the client's keep-alive connections.
        const elapsed = Date.now() - started;
        const sent = elapsed < RAMP_MS ? (elapsed * elapsed) / (2 * RAMP_MS) : elapsed - RAMP_MS / 2; // ms at full rate
        for (const due = Math.floor((sent / 1000) * 100); n < due; n++) {
          pending.push(invoke('steady', { n }));
        }
        await sleep(10);
      }
    })();
    try {
      await sleep(RAMP_MS + 2000);
      // A new pod template for the gateway (what a new image does): a rolling update.
      await setReleaseValues(release, { 'images.operatorRevision': `rollout-${Date.now()}` });
      await waitFor(
        'every gateway replica replaced and serving',
        async () => {
          const now = await gatewayPods(core);
          return now.length === 3 && now.every((p) => !before.has(p.metadata!.name!)) ? true : undefined;
        },
        240_000,
        1000,
      );
      await sleep(2000);
    } finally {
      rolling = false;
      await load;
    }
    const outcomes = await Promise.all(pending);
    const failed = outcomes.filter((o) => o.status !== 200);
    const seconds = (t: number) => ((t - rollStarted) / 1000).toFixed(1);
    console.log(
      `# rolling upgrade: ${outcomes.length} invokes over ${seconds(Date.now())} s, ${failed.length} failed ` +
        `(+0 s = ${new Date(rollStarted).toISOString()})`,
    );
    // Where the failures fell, by second of the roll and answer (for a failing run's reader).
    const histogram = new Map<string, number>();
    for (const o of failed) {
      const key = `+${Math.floor((o.doneAt - rollStarted) / 5000) * 5} s ${o.status} ${o.error ?? String(o.body?.Message ?? '').slice(0, 60)}`;
      histogram.set(key, (histogram.get(key) ?? 0) + 1);
    }
    if (histogram.size > 0) {
      console.log(`# failures: ${JSON.stringify(Object.fromEntries(histogram))}`);
      await readLogs();
      for (const [pod, text] of logs) {
        const file = join(tmpdir(), `lamina-rolling-${pod}.log`);
        writeFileSync(file, text);
        console.log(`# ${pod}: ${text.split('\n').length} log lines in ${file}`);
      }
    }
    assert.ok(outcomes.length >= 1000, `only ${outcomes.length} invokes were sent`);
    assert.deepEqual(
      failed
        .slice(0, 20)
        .map(
          (o) =>
            `+${seconds(o.sentAt)} s → +${seconds(o.doneAt)} s: ${o.status} ${o.error ?? JSON.stringify(o.body)}`,
        ),
      [],
      `no invoke fails during the rolling upgrade (${failed.length} failed)`,
    );
  });
});
