// Nothing lost under a kill, on the installed release: a steady stream of 10,000 records into a
// Kafka topic of 4 partitions, read by a mapping (batch size 100, parallelization factor 2)
// whose function reports every record it sees to a recorder on the node. Mid-stream, while a
// batch is inside the function (the recorder holds its answer), the function's environment
// pods are SIGKILLed and deleted; later, the same way, the operator process (where the pollers
// run) is SIGKILLed and restarts. Then every record has been delivered at least once, the
// duplicates stay within the batches that can be in flight at a kill (parallelization factor ×
// batch size per kill), every partition is delivered in offset order (a batch never starts
// past the highest offset delivered so far plus one) and the group commits every partition to
// its end. The operator's lag gauge for the mapping showed the backlog and comes back to 0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { Admin, Producer } from '@platformatic/kafka';
import { NODE_IP } from '../../harness/cluster.js';
import { ensureEventServers, KAFKA_IN_CLUSTER } from '../../harness/event-servers.js';
import { kubectl } from '../../harness/kube.js';
import {
  createFunction,
  installedRelease,
  RELEASE_NAMESPACE,
  testNamespace,
  type Release,
} from '../../harness/release.js';

const RECORDS = 10_000;
const PARTITIONS = 4;
const BATCH_SIZE = 100;
const PARALLELIZATION = 2;
/** The stream: RECORDS in chunks of CHUNK, one every CHUNK_MS (400 records/s). */
const CHUNK = 100;
const CHUNK_MS = 250;
const FUNCTION = `esm-kill-${randomBytes(3).toString('hex')}`;
const MAPPING = `${FUNCTION}-orders`;
const OPERATOR_METRICS_PORT = 8081;

/** One batch as the function saw it: per `topic-partition`, [offset, i] of each record. */
type Batch = Record<string, [number, number][]>;

const handler = (recorder: string) =>
  [
    'export const handler = async (event) => {',
    '  const seen = {};',
    '  for (const [key, records] of Object.entries(event.records))',
    "    seen[key] = records.map((r) => [r.offset, JSON.parse(Buffer.from(r.value, 'base64')).i]);",
    `  const res = await fetch('${recorder}', { method: 'POST', body: JSON.stringify(seen) });`,
    '  if (!res.ok) throw new Error(`the recorder answered ${res.status}`);',
    '  return {};',
    '};',
  ].join('\n');

/** Host processes (ordinary processes on this machine) of a pod: those in its pod's cgroup. */
function podProcesses(podUid: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cgroup`, 'utf8').includes(`/pod${podUid}/`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function sigkill(pids: number[], what: string): void {
  assert.ok(pids.length > 0, `no host process of ${what}`);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

async function operatorRolledOut(): Promise<void> {
  await kubectl('-n', RELEASE_NAMESPACE, 'rollout', 'status', 'deployment/lamina-operator', '--timeout=120s');
  await kubectl(
    '-n',
    RELEASE_NAMESPACE,
    'wait',
    '--for=condition=Ready',
    'pod',
    '-l',
    'app.kubernetes.io/component=operator,app.kubernetes.io/instance=lamina',
    '--timeout=120s',
  );
}

describe('Kafka mapping: nothing lost when the function and the operator are killed mid-batch', () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>> | undefined;
  let core: CoreV1Api;
  let admin: Admin;
  let producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  let server: Server;
  const topic = `e2e-kill-${randomBytes(3).toString('hex')}`;
  const group = `e2e-kill-${randomBytes(3).toString('hex')}`;
  const batches: Batch[] = [];
  /** Armed: the next batch's answer is held and handed here instead. */
  let hold: ((res: ServerResponse) => void) | undefined;

  before(async () => {
    release = await installedRelease();
    core = release.kc.makeApiClient(CoreV1Api);
    const servers = await ensureEventServers(['kafka']);
    admin = new Admin({ clientId: 'lamina-e2e-kill', bootstrapBrokers: [servers.kafkaBootstrap!] });
    producer = new Producer({
      clientId: 'lamina-e2e-kill',
      bootstrapBrokers: [servers.kafkaBootstrap!],
      idempotent: true,
    });
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        batches.push(JSON.parse(body) as Batch);
        const held = hold;
        hold = undefined;
        if (held) held(res);
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, NODE_IP, resolve));
    const port = (server.address() as AddressInfo).port;
    ns = await testNamespace(release, 'esm-kill');
    await createFunction(release, ns.name, FUNCTION, handler(`http://${NODE_IP}:${port}/batch`), {
      timeout: 30,
      // NetworkPolicy keeps functions off the node's address; this opens the recorder's port.
      network: { egress: [{ to: [{ cidr: `${NODE_IP}/32` }], ports: [{ port }] }] },
    });
  });

  after(async () => {
    hold = undefined;
    // Whatever happened, the operator is back before the next test file.
    await operatorRolledOut().catch((err: unknown) => console.error(String(err)));
    if (ns) {
      await kubectl('delete', '-n', ns.name, '--ignore-not-found', 'esm', MAPPING).catch(() => undefined);
      await ns.dispose();
    }
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    server?.close();
  });

  /** Holds the next batch inside the function, runs `kill`, then lets the answer go (or drops it). */
  const killMidBatch = async (kill: () => Promise<number>, answer: 'answer' | 'drop') => {
    const res = await new Promise<ServerResponse>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no batch reached the function to kill it in')),
        30_000,
      );
      hold = (held) => {
        clearTimeout(timer);
        resolve(held);
      };
    });
    const held = Object.values(batches.at(-1) ?? {})
      .flat()
      .map(([, i]) => i);
    const killed = await kill();
    if (answer === 'answer') res.writeHead(200).end();
    else res.destroy();
    return { held, killed };
  };

  const killFunction = async (): Promise<number> => {
    const pods = (
      await core.listNamespacedPod({ namespace: ns!.name, labelSelector: `lamina.dev/function=${FUNCTION}` })
    ).items.filter((p) => p.status?.phase === 'Running');
    for (const pod of pods)
      sigkill(podProcesses(pod.metadata!.uid!), `environment pod ${pod.metadata!.name}`);
    for (const pod of pods)
      await core.deleteNamespacedPod({
        namespace: ns!.name,
        name: pod.metadata!.name!,
        gracePeriodSeconds: 0,
      });
    return pods.length;
  };

  const operatorPod = async () =>
    (
      await core.listNamespacedPod({
        namespace: RELEASE_NAMESPACE,
        labelSelector: 'app.kubernetes.io/component=operator,app.kubernetes.io/instance=lamina',
      })
    ).items.find((p) => !p.metadata?.deletionTimestamp);

  /** The mapping's lamina_event_source_offset_lag on the operator's metrics port, if it has one. */
  const operatorLag = async (): Promise<number | undefined> => {
    const ip = (await operatorPod())?.status?.podIP;
    if (!ip) return undefined;
    const text = await (await fetch(`http://${ip}:${OPERATOR_METRICS_PORT}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('lamina_event_source_offset_lag{') &&
          l.includes(`mapping="${MAPPING}"`) &&
          l.includes(`namespace="${ns!.name}"`),
      );
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  const killOperator = async (): Promise<number> => {
    const pod = await operatorPod();
    assert.ok(pod, 'the operator pod');
    const pids = podProcesses(pod.metadata!.uid!).filter((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main-operator.mjs'),
    );
    sigkill(pids, 'the operator');
    return pids.length;
  };

  it('delivers all 10,000 records at least once, in order per partition, duplicates within the in-flight batches', async () => {
    const started = Date.now();
    const lagSamples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const lag = await operatorLag().catch(() => undefined); // the operator may be down
        if (lag !== undefined) lagSamples.push(lag);
        await sleep(500);
      }
    })();
    await release.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'lamina.dev',
      version: 'v1alpha1',
      namespace: ns!.name,
      plural: 'eventsourcemappings',
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'EventSourceMapping',
        metadata: { name: MAPPING },
        spec: {
          functionName: FUNCTION,
          source: {
            kafka: { bootstrapServers: [KAFKA_IN_CLUSTER], topics: [topic], consumerGroupId: group },
          },
          startingPosition: 'TRIM_HORIZON',
          batchSize: BATCH_SIZE,
          maximumBatchingWindowInSeconds: 1,
          parallelizationFactor: PARALLELIZATION,
        },
      },
    });

    // The stream goes on once the first batch reached the function (the group joined, the
    // function started). The kills are armed when a quarter and half of the records have been
    // delivered and strike the next batch that reaches the function.
    const seen = () =>
      new Set(batches.flatMap((b) => Object.values(b).flatMap((rs) => rs.map(([, i]) => i))));
    type Kill = { held: number[]; killed: number; what: string; at: number };
    const strike = (what: string, kill: () => Promise<number>, answer: 'answer' | 'drop') =>
      killMidBatch(kill, answer).then((k): Kill => ({ ...k, what, at: Date.now() - started }));
    let functionKill: Promise<Kill> | undefined;
    let functionKilled = false;
    let operatorKill: Promise<Kill> | undefined;
    let streamFrom = 0;
    for (let sent = 0; sent < RECORDS; sent += CHUNK) {
      const tick = Date.now();
      await producer.send({
        messages: Array.from({ length: CHUNK }, (_, j) => {
          const i = sent + j;
          return { topic, partition: i % PARTITIONS, value: Buffer.from(JSON.stringify({ i })) };
        }),
      });
      if (sent === 0) {
        await waitFor(
          'the first batch in the function',
          async () => (batches.length > 0 ? true : undefined),
          60_000,
        );
        streamFrom = Date.now();
      }
      const delivered = seen().size;
      if (!functionKill && delivered >= RECORDS / 4)
        functionKill = strike('function', killFunction, 'drop').finally(() => (functionKilled = true));
      if (!operatorKill && functionKilled && delivered >= RECORDS / 2)
        operatorKill = strike('operator', killOperator, 'answer');
      await sleep(Math.max(0, CHUNK_MS - (Date.now() - tick)));
    }
    const streamed = Date.now() - streamFrom;
    // A slow start may leave a kill for after the stream; it still strikes a batch in flight.
    functionKill ??= strike('function', killFunction, 'drop');
    await functionKill;
    operatorKill ??= strike('operator', killOperator, 'answer');
    const kills = [functionKill, operatorKill];
    const struck = await Promise.all(kills);
    for (const k of struck) assert.ok(k.killed > 0, `the ${k.what} kill found nothing to kill`);

    await waitFor('every record delivered', async () => (seen().size === RECORDS ? true : undefined), 90_000);
    const delivered = Date.now() - started;
    await waitFor(
      'the group to commit every partition to its end',
      async () => {
        const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
        const committed = offsets?.topics.find((t) => t.name === topic)?.partitions ?? [];
        return committed.length === PARTITIONS &&
          committed.every((p) => Number(p.committedOffset) === RECORDS / PARTITIONS)
          ? true
          : undefined;
      },
      30_000,
    );
    // The gauge is measured every 15 s: it showed the backlog and comes back to 0.
    await waitFor(
      'the lag gauge to come back to 0',
      async () => ((await operatorLag()) === 0 ? true : undefined),
      40_000,
    );
    sampling = false;
    await sampler;
    assert.ok(
      lagSamples.some((lag) => lag > 0),
      `the operator's lag gauge never showed a backlog: ${JSON.stringify(lagSamples)}`,
    );

    // Order per partition: within a batch consecutive offsets; a batch starts at most one past
    // the highest offset delivered so far (redeliveries start lower, nothing is skipped).
    const highest = new Map<string, number>();
    for (const batch of batches)
      for (const [key, records] of Object.entries(batch)) {
        const partition = Number(key.slice(key.lastIndexOf('-') + 1));
        for (const [n, [offset, i]] of records.entries()) {
          assert.equal(i % PARTITIONS, partition, `record ${i} in ${key}`);
          assert.equal(offset, Math.floor(i / PARTITIONS), `record ${i} at offset ${offset} of ${key}`);
          if (n > 0)
            assert.equal(offset, records[n - 1]![0] + 1, `${key}: ${records[n - 1]![0]} then ${offset}`);
        }
        const first = records[0]![0];
        const top = highest.get(key) ?? -1;
        assert.ok(first <= top + 1, `${key}: a batch starts at ${first} after ${top}: records skipped`);
        highest.set(key, Math.max(top, records.at(-1)![0]));
      }
    assert.equal(highest.size, PARTITIONS);
    for (const [key, top] of highest)
      assert.equal(top, RECORDS / PARTITIONS - 1, `${key} delivered to its end`);

    const deliveries = batches.reduce((n, b) => n + Object.values(b).flat().length, 0);
    const duplicates = deliveries - RECORDS;
    const bound = struck.length * PARALLELIZATION * BATCH_SIZE;
    console.log(
      `[kill] ${RECORDS} records in ${PARTITIONS} partitions; first batch in the function at ${streamFrom - started} ms, ` +
        `then streamed in ${streamed} ms; all delivered at ${delivered} ms in ${batches.length} batches; kills: ` +
        struck.map((k) => `${k.what} at ${k.at} ms (${k.held.length} records in the held batch)`).join(', ') +
        `; ${duplicates} duplicates, bound ${bound} (${struck.length} kills × parallelization ${PARALLELIZATION} × batch ${BATCH_SIZE}); ` +
        `lag gauge peaked at ${Math.max(...lagSamples)}`,
    );
    const times = new Map<number, number>();
    for (const b of batches)
      for (const [, i] of Object.values(b).flat()) times.set(i, (times.get(i) ?? 0) + 1);
    for (const k of struck)
      assert.deepEqual(
        k.held.filter((i) => (times.get(i) ?? 0) < 2),
        [],
        `the batch inside the function when the ${k.what} was killed is delivered again`,
      );
    assert.ok(
      duplicates <= bound,
      `${duplicates} duplicates exceed the ${bound} records that can be in flight`,
    );
    await operatorRolledOut();
  });
});
