// values-ha.yaml applied to the installed release (`helm upgrade --reuse-values -f
// charts/lamina/values-ha.yaml`), as a user turns a `npm run up` install highly available:
// the chart's NATS JetStream becomes ready, the gateway replicas use it as their async queue,
// a PodDisruptionBudget covers them, and Event invokes accepted by any replica each run once —
// counted by NATS (the stream and its consumer) and by the gateways' own metrics. Then `--set
// gateway.replicas=1 --set async.backend=sqlite --set nats.enabled=false` turns it back and an
// event runs from the SQLite queue. In between, one replica is killed with SIGKILL while events
// are being delivered: every accepted event still runs. The release's own values are put back at the end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import { gatewayProcess } from '../harness/host-view.js';
import { kubectl } from '../harness/kube.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  RELEASE_NAMESPACE,
  setReleaseValues,
  testNamespace,
  type Release,
} from '../harness/release.js';

const EVENTS = 20;
const REPLICAS = 3;
const FUNCTION = 'ha-async';
const HANDLER = 'export const handler = async (event) => ({ i: event.i });\n';
const KILL_EVENTS = 40;
const KILL_FUNCTION = 'ha-async-kill';
// Each event takes a moment, so some are running on every replica when one is killed; its
// line in the environment's log says which ran (the killed replica's metrics die with it).
const KILL_HANDLER =
  'export const handler = async (event) => {\n' +
  '  await new Promise((r) => setTimeout(r, 150));\n' +
  '  console.log(`event-done ${event.i}`);\n' +
  '  return { i: event.i };\n' +
  '};\n';

interface Jsz {
  account_details?: {
    stream_detail?: {
      name: string;
      state: { messages: number; last_seq: number };
      consumer_detail?: {
        name: string;
        num_ack_pending: number;
        num_pending: number;
        delivered: { consumer_seq: number };
      }[];
    }[];
  }[];
}

/** GET through the API server's pod proxy: reaches a pod's port wherever this test runs. */
const podProxy = async (pod: string, port: number, path: string) =>
  (await kubectl('get', '--raw', `/api/v1/namespaces/${RELEASE_NAMESPACE}/pods/${pod}:${port}/proxy${path}`))
    .stdout;

const gatewayPods = async () =>
  (
    await kubectl(
      '-n',
      RELEASE_NAMESPACE,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/component=gateway',
      '--field-selector',
      'status.phase=Running',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    )
  ).stdout
    .split(/\s+/)
    .filter(Boolean);

/** lamina_async_attempts_total for one function and outcome, summed over every gateway replica. */
async function attempts(namespace: string, outcome: string): Promise<number> {
  let total = 0;
  for (const pod of await gatewayPods()) {
    // A replica that does not answer yet (starting, stopping) makes the sum unknown, not smaller.
    const text = await podProxy(pod, 8080, '/metrics').catch(() => undefined);
    if (text === undefined) return Number.NaN;
    for (const line of text.split('\n')) {
      if (!line.startsWith('lamina_async_attempts_total{')) continue;
      if (!line.includes(`namespace="${namespace}"`) || !line.includes(`function="${FUNCTION}"`)) continue;
      if (line.includes(`outcome="${outcome}"`)) total += Number(line.split(' ').pop());
    }
  }
  return total;
}

describe(
  'values-ha.yaml on the installed release: NATS JetStream, replicas, PodDisruptionBudget',
  {
    timeout: 600_000,
  },
  () => {
    let release: Release;
    let ns: Awaited<ReturnType<typeof testNamespace>>;
    let restore: (() => Promise<void>) | undefined;

    before(async () => {
      release = await installedRelease();
      ns = await testNamespace(release, 'ha-values');
      // The single test node is small (2 CPUs of requests): one async worker per replica keeps
      // the events to at most REPLICAS environments, and no warm pool (one per replica and
      // namespace) leaves room for them.
      restore = await setReleaseValues(release, { 'async.workers': 1, 'environments.pool.size': 0 }, [
        'charts/lamina/values-ha.yaml',
      ]);
      await kubectl(
        '-n',
        RELEASE_NAMESPACE,
        'rollout',
        'status',
        'statefulset/lamina-nats',
        '--timeout=120s',
      );
    });

    after(async () => {
      try {
        await restore?.();
      } finally {
        await ns?.dispose();
      }
    });

    it('runs NATS JetStream and the gateway replicas on it, covered by a PodDisruptionBudget', async () => {
      const apps = release.kc.makeApiClient(AppsV1Api);
      const nats = await apps.readNamespacedStatefulSet({
        namespace: RELEASE_NAMESPACE,
        name: 'lamina-nats',
      });
      assert.equal(nats.status?.readyReplicas, 1);
      const health = JSON.parse(await podProxy('lamina-nats-0', 8222, '/healthz?js-enabled-only=true')) as {
        status: string;
      };
      assert.equal(health.status, 'ok');
      // The API server itself says whether the running pods (NATS included) pass `restricted`.
      const { stderr } = await kubectl(
        'label',
        '--dry-run=server',
        '--overwrite',
        'namespace',
        RELEASE_NAMESPACE,
        'pod-security.kubernetes.io/enforce=restricted',
      );
      assert.doesNotMatch(stderr, /violate/i, stderr);

      const gateway = await apps.readNamespacedDeployment({
        namespace: RELEASE_NAMESPACE,
        name: 'lamina-gateway',
      });
      assert.equal(gateway.status?.readyReplicas, REPLICAS);
      const env = gateway.spec?.template.spec?.containers.find((c) => c.name === 'gateway')?.env ?? [];
      const value = (name: string) => env.find((e) => e.name === name)?.value;
      assert.equal(value('LAMINA_ASYNC_BACKEND'), 'nats');
      assert.equal(value('LAMINA_ASYNC_NATS_URL'), `nats://lamina-nats.${RELEASE_NAMESPACE}.svc:4222`);

      const pdb = await release.kc
        .makeApiClient(PolicyV1Api)
        .readNamespacedPodDisruptionBudget({ namespace: RELEASE_NAMESPACE, name: 'lamina-gateway' });
      assert.equal(pdb.spec?.maxUnavailable, 1);
      await waitFor(
        'the PodDisruptionBudget to count the ready gateway replicas',
        async () => {
          const current = await release.kc
            .makeApiClient(PolicyV1Api)
            .readNamespacedPodDisruptionBudget({ namespace: RELEASE_NAMESPACE, name: 'lamina-gateway' });
          return current.status?.currentHealthy === REPLICAS ? current : undefined;
        },
        30_000,
        500,
      );
    });

    it('stores Event invokes in the JetStream stream and runs each one once', async () => {
      await createFunction(release, ns.name, FUNCTION, HANDLER);
      // One warm environment first, so the events mostly reuse it instead of each starting one.
      // A node that other work has filled answers 429 ClusterCapacityExceeded: retried, as an SDK would.
      await waitFor(
        `a synchronous invoke of ${FUNCTION}`,
        async () => {
          const res = await fetch(invokeUrl(release, ns.name, FUNCTION), {
            method: 'POST',
            body: '{"i":-1}',
          });
          const text = await res.text();
          if (res.status === 429) return undefined;
          assert.equal(res.status, 200, text);
          return true;
        },
        120_000,
        2_000,
      );
      const before = JSON.parse(
        await podProxy('lamina-nats-0', 8222, '/jsz?streams=true&consumers=true'),
      ) as Jsz;
      const seqBefore =
        before.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === 'LAMINA_ASYNC')
          ?.state.last_seq ?? 0;

      const statuses = await Promise.all(
        Array.from({ length: EVENTS }, (_, i) =>
          fetch(invokeUrl(release, ns.name, FUNCTION), {
            method: 'POST',
            headers: { 'X-Amz-Invocation-Type': 'Event' },
            body: JSON.stringify({ i }),
          }).then(async (res) => `${res.status} ${await res.text()}`),
        ),
      );
      assert.deepEqual(
        statuses.filter((s) => !s.startsWith('202')),
        [],
        'every Event invoke is accepted with 202',
      );

      // Attempts a full node cannot place yet are retried with Lambda's backoff (throttled or
      // system_error): the count that matters is one success per event.
      await waitFor(
        `${EVENTS} successful attempts of ${FUNCTION} over the gateway replicas`,
        async () => ((await attempts(ns.name, 'success')) >= EVENTS ? true : undefined),
        180_000,
        1_000,
      ).catch(async (err: Error) => {
        const outcomes = ['success', 'function_error', 'throttled', 'system_error', 'function_not_found'];
        const counts = await Promise.all(outcomes.map(async (o) => `${o}=${await attempts(ns.name, o)}`));
        const events = await kubectl('-n', ns.name, 'get', 'events', '--sort-by=.lastTimestamp').catch(
          () => ({
            stdout: '',
          }),
        );
        throw new Error(`${err.message}; attempts ${counts.join(' ')}\n${events.stdout.slice(-3000)}`);
      });
      assert.equal(await attempts(ns.name, 'success'), EVENTS, 'each event ran once');

      // The stream took every event and its work-queue consumer has acknowledged all of them.
      const jsz = await waitFor(
        'the JetStream consumer to acknowledge every event',
        async () => {
          const now = JSON.parse(
            await podProxy('lamina-nats-0', 8222, '/jsz?streams=true&consumers=true'),
          ) as Jsz;
          const stream = now.account_details
            ?.flatMap((a) => a.stream_detail ?? [])
            .find((s) => s.name === 'LAMINA_ASYNC');
          const consumer = stream?.consumer_detail?.find((c) => c.name === 'lamina-async-processor');
          return stream && consumer && consumer.num_ack_pending === 0 && consumer.num_pending === 0
            ? { stream, consumer }
            : undefined;
        },
        30_000,
        500,
      );
      assert.ok(
        jsz.stream.state.last_seq - seqBefore >= EVENTS,
        `stream sequence ${seqBefore} → ${jsz.stream.state.last_seq}`,
      );
      assert.equal(jsz.stream.state.messages, 0, 'a work queue keeps no acknowledged event');
    });

    it('runs every accepted event after a replica is killed with SIGKILL mid-delivery', async () => {
      await createFunction(release, ns.name, KILL_FUNCTION, KILL_HANDLER);
      const done = async () => {
        const { stdout } = await kubectl(
          '-n',
          ns.name,
          'logs',
          '-l',
          `lamina.dev/function=${KILL_FUNCTION}`,
          '--tail=-1',
          '--max-log-requests=20',
        ).catch(() => ({ stdout: '' }));
        return [...stdout.matchAll(/event-done (\d+)/g)].map((m) => Number(m[1]));
      };
      const statuses = await Promise.all(
        Array.from({ length: KILL_EVENTS }, (_, i) =>
          fetch(invokeUrl(release, ns.name, KILL_FUNCTION), {
            method: 'POST',
            headers: { 'X-Amz-Invocation-Type': 'Event' },
            body: JSON.stringify({ i }),
          }).then((res) => res.status),
        ),
      );
      assert.deepEqual(
        statuses.filter((s) => s !== 202),
        [],
        'every Event invoke is accepted with 202',
      );
      // Delivery under way (the first events ran): kill one replica, attempts in flight and all.
      await waitFor(
        'the first events to run',
        async () => ((await done()).length >= 3 ? true : undefined),
        180_000,
        500,
      );
      const [victim] = await gatewayPods();
      assert.ok(victim, 'a gateway replica to kill');
      process.kill(gatewayProcess(victim), 'SIGKILL');
      const ranBeforeKill = new Set(await done()).size;
      // What the killed replica had taken but not acknowledged is delivered again once its
      // acknowledgement wait (60 s) is over: every event runs at least once.
      const ran = await waitFor(
        `all ${KILL_EVENTS} events to run`,
        async () => {
          const seen = new Set(await done());
          return seen.size === KILL_EVENTS ? seen : undefined;
        },
        240_000,
        2_000,
      ).catch(async (err: Error) => {
        const seen = new Set(await done());
        const missing = Array.from({ length: KILL_EVENTS }, (_, i) => i).filter((i) => !seen.has(i));
        throw new Error(`${err.message}; missing ${JSON.stringify(missing)}`);
      });
      const runs = (await done()).length;
      console.log(
        `# async kill: ${KILL_EVENTS} accepted, ${ranBeforeKill} ran before the SIGKILL of ${victim}, ` +
          `all ${ran.size} ran, ${runs - KILL_EVENTS} of them twice by then`,
      );
    });

    it('goes back to one replica with the SQLite queue with --set (the way back documented in values-ha.yaml)', async () => {
      // Its own undo is not needed: after() restores the values the release had before the test.
      await setReleaseValues(release, {
        'gateway.replicas': 1,
        'async.backend': 'sqlite',
        'nats.enabled': false,
      });
      const apps = release.kc.makeApiClient(AppsV1Api);
      const gateway = await apps.readNamespacedDeployment({
        namespace: RELEASE_NAMESPACE,
        name: 'lamina-gateway',
      });
      const env = gateway.spec?.template.spec?.containers.find((c) => c.name === 'gateway')?.env ?? [];
      assert.equal(env.find((e) => e.name === 'LAMINA_ASYNC_BACKEND')?.value, 'sqlite');
      assert.equal(gateway.spec?.replicas, 1);
      await waitFor(
        'the NATS StatefulSet and the PodDisruptionBudget to be removed',
        async () => {
          const gone = (p: Promise<unknown>) =>
            p.then(
              () => false,
              () => true,
            );
          const nats = await gone(
            apps.readNamespacedStatefulSet({ namespace: RELEASE_NAMESPACE, name: 'lamina-nats' }),
          );
          const pdb = await gone(
            release.kc
              .makeApiClient(PolicyV1Api)
              .readNamespacedPodDisruptionBudget({ namespace: RELEASE_NAMESPACE, name: 'lamina-gateway' }),
          );
          return nats && pdb;
        },
        60_000,
        500,
      );
      const res = await fetch(invokeUrl(release, ns.name, FUNCTION), {
        method: 'POST',
        headers: { 'X-Amz-Invocation-Type': 'Event' },
        body: JSON.stringify({ i: EVENTS }),
      });
      assert.equal(res.status, 202, await res.text());
      await waitFor(
        'the event accepted by the SQLite queue to run',
        async () => ((await attempts(ns.name, 'success')) >= 1 ? true : undefined),
        60_000,
        500,
      );
    });
  },
);
