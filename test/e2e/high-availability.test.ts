// The highly available shape on the installed release (values-ha.yaml: 3 gateway replicas
// sharing the functions through Leases, NATS JetStream for async, a PodDisruptionBudget):
//   - a storm of invokes against functions with reserved concurrency 3, 5 and 0 while one
//     replica is deleted and another killed with SIGKILL: no handler overlap beyond its
//     reservation (from the handlers' own timestamps), the only failures are invokes that were
//     in flight when the replica was killed, and every environment pod is tracked by exactly
//     one live replica afterwards.
// The release's values are restored afterwards.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DiscoveryV1Api } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import { gatewayPods, type Outcome, useHighlyAvailable } from '../harness/ha.js';
import { gatewayProcess, maxOverlap } from '../harness/host-view.js';
import { createFunction, RELEASE_NAMESPACE } from '../harness/release.js';

const TIMED = `export const handler = async () => {
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { start, end: Date.now() };
};
`;

const RESERVED: Record<string, number> = { r3: 3, r5: 5, r0: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a highly available gateway (3 replicas)', { timeout: 900_000 }, () => {
  // The 2-core test node: no warm pool, and gateway requests small enough that a rolling
  // update's extra replica still fits beside the functions' environments.
  const ha = useHighlyAvailable({ 'environments.pool.size': 0, 'gateway.resources.requests.cpu': '20m' });

  before(async () => {
    for (const [fn, reserved] of Object.entries(RESERVED)) {
      await createFunction(ha.release, ha.ns.name, fn, TIMED, { reservedConcurrentExecutions: reserved });
    }
  });

  it('keeps every reservation while one replica is deleted and another is killed; only invokes in flight on it fail', async () => {
    const { release, ns, core, invoke } = ha;
    const [deleted, killed] = await gatewayPods(core);
    assert.ok(deleted && killed);
    const killedPid = gatewayProcess(killed.metadata!.name!);
    const fns = Object.keys(RESERVED);
    const pending: Array<Promise<Outcome>> = [];
    let killedAt = 0;
    let routedUntil: Promise<number> = Promise.resolve(0);
    /** When the gateway Service stops sending connections to a pod (its endpoint not ready or gone). */
    const untilUnrouted = async (ip: string) => {
      const discovery = release.kc.makeApiClient(DiscoveryV1Api);
      for (;;) {
        const slices = await discovery.listNamespacedEndpointSlice({
          namespace: RELEASE_NAMESPACE,
          labelSelector: 'kubernetes.io/service-name=lamina-gateway',
        });
        const routed = slices.items
          .flatMap((sl) => sl.endpoints ?? [])
          .some((e) => e.addresses.includes(ip) && e.conditions?.ready !== false);
        if (!routed) return Date.now();
        await sleep(100);
      }
    };
    /**
     * When every shard is served again after the SIGKILL: the gateway processes alive (the
     * others, a replacement, or the killed pod's restarted container) own all of them between
     * them, as their /healthz says. A figure, not asserted; NaN if not within 2 minutes.
     */
    const untilServed = async (): Promise<number> => {
      for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
        const pods = await gatewayPods(core);
        const owned = await Promise.all(
          pods.map(async (p) => {
            const res = await fetch(`http://${p.status!.podIP}:8080/healthz`).catch(() => undefined);
            const health = (await res?.json().catch(() => undefined)) as
              { sharding?: { ownedShards: number } } | undefined;
            return health?.sharding?.ownedShards ?? 0;
          }),
        );
        if (owned.reduce((a, b) => a + b, 0) >= 64) return Date.now();
        await sleep(200);
      }
      return NaN;
    };
    let servedAgain: Promise<number> = Promise.resolve(0);
    // 200 invokes over about 10 s, 20 at a time; the replicas go at 2 s and 4 s.
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 20; i++) pending.push(invoke(fns[(wave * 20 + i) % fns.length]!, {}, true));
      if (wave === 2) {
        await core.deleteNamespacedPod({ namespace: RELEASE_NAMESPACE, name: deleted.metadata!.name! });
      }
      if (wave === 4) {
        killedAt = Date.now();
        process.kill(killedPid, 'SIGKILL');
        routedUntil = untilUnrouted(killed.status!.podIP!);
        servedAgain = untilServed();
      }
      await sleep(1000);
    }
    const outcomes = await Promise.all(pending);
    assert.equal(outcomes.length, 200);

    const summary = (fn: string) => {
      const counts = new Map<string, number>();
      for (const o of outcomes.filter((x) => x.fn === fn)) {
        const key = `${o.status}${o.reason ? ` ${o.reason}` : o.status >= 500 ? ` ${JSON.stringify(o.body)}` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return `${fn}: ${JSON.stringify(Object.fromEntries(counts))}`;
    };
    console.log(`# ${Object.keys(RESERVED).map(summary).join('; ')}`);
    for (const [fn, reserved] of Object.entries(RESERVED)) {
      const ran = outcomes
        .filter((o) => o.fn === fn && o.status === 200)
        .map((o) => o.body as { start: number; end: number });
      assert.ok(
        maxOverlap(ran) <= reserved,
        `${fn}: ${maxOverlap(ran)} handlers overlapped with reserved concurrency ${reserved}`,
      );
      if (reserved === 0) assert.equal(ran.length, 0, 'reserved concurrency 0 runs nothing');
      else assert.ok(ran.length > 0, `${fn} ran: ${summary(fn)}`);
    }
    for (const o of outcomes.filter((x) => x.status === 429)) {
      assert.equal(o.reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
    }
    // Anything that is neither an answer nor a throttle reached the killed replica: it was in
    // flight there, or sent while the Service still routed new connections to it. Such a caller
    // gets no HTTP answer at all (the process is gone), never an error from a live replica.
    const unroutedAt = await routedUntil;
    const failed = outcomes.filter((o) => o.status !== 200 && o.status !== 429);
    const reachedKilled = outcomes.filter((o) => o.doneAt >= killedAt && o.sentAt <= unroutedAt);
    const lostOwner = (o: Outcome) =>
      o.status === 500 && /gateway replica that owns function .* failed/.test(String(o.body?.Message));
    for (const o of failed) {
      // No HTTP answer (the process is gone), or a live replica saying the owner it forwarded to died.
      assert.ok(
        o.status === 0 || lostOwner(o),
        `a live replica answered ${o.status}: ${JSON.stringify(o.body)}`,
      );
      assert.ok(
        o.doneAt >= killedAt && o.sentAt <= unroutedAt,
        `an invoke of ${o.fn} failed that was neither in flight at the SIGKILL nor sent while the Service still routed to that replica: ` +
          `sent ${o.sentAt - killedAt} ms and done ${o.doneAt - killedAt} ms after the SIGKILL, the Service stopped routing at ${unroutedAt - killedAt} ms; ` +
          `${o.status} ${JSON.stringify(o.body)}`,
      );
    }
    console.log(
      `# storm: ${outcomes.filter((o) => o.status === 200).length} ran, ` +
        `${outcomes.filter((o) => o.status === 429).length} throttled, ${failed.length} failed ` +
        `(of ${reachedKilled.length} in flight at the SIGKILL or sent in the ${unroutedAt - killedAt} ms the Service still routed to the killed replica)`,
    );
    console.log(
      `# failover: every shard served again ${(await servedAgain) - killedAt} ms after the SIGKILL`,
    );

    // Afterwards: three live replicas again, and each environment pod tracked by exactly one.
    await waitFor(
      'every environment pod tracked by exactly one live replica',
      async () => {
        const pods = await gatewayPods(core);
        if (pods.length !== 3) return undefined;
        const envPods = (
          await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'lamina.dev/environment=true' })
        ).items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
        let tracked = 0;
        for (const p of pods) {
          const res = await fetch(`http://${p.status!.podIP}:8080/metrics`).catch(() => undefined);
          const text = (await res?.text()) ?? '';
          for (const line of text.split('\n')) {
            const m = new RegExp(`^lamina_environments\\{namespace="${ns.name}",[^}]*\\} (\\d+)`).exec(line);
            if (m) tracked += Number(m[1]);
          }
        }
        return tracked === envPods.length ? true : undefined;
      },
      60_000,
      1000,
    );
    for (const fn of ['r3', 'r5']) assert.equal((await invoke(fn)).status, 200, `${fn} answers afterwards`);
  });
});
